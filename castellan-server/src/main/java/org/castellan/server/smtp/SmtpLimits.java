package org.castellan.server.smtp;

import java.time.Duration;
import java.util.Objects;

/**
 * The bounds of one SMTP session. {@link #DEFAULTS} is what every listener uses; the record exists
 * so that the numbers can become configuration without touching the session.
 *
 * <p>The constructor throws {@link IllegalArgumentException} naming a value that is out of range.
 *
 * @param maxMessageSize octets of content (after dot-unstuffing), announced as SIZE
 * @param maxRecipients distinct recipients of one message
 * @param maxCommands commands on one connection before it is closed
 * @param maxErrors refused commands on one connection before it is closed
 * @param maxAuthFailures failed AUTH exchanges on one connection before it is closed
 * @param idleTimeout how long the server waits for the client's next bytes
 * @param memorySpool octets of a message kept in memory; the rest goes to a temporary file
 */
public record SmtpLimits(long maxMessageSize, int maxRecipients, int maxCommands, int maxErrors,
                         int maxAuthFailures, Duration idleTimeout, int memorySpool) {

    /** What mail providers commonly accept (Gmail: 25 MB, Microsoft 365: 35 MB of encoded content). */
    public static final long DEFAULT_MAX_MESSAGE_SIZE = 50L * 1024 * 1024;
    /** RFC 5321 §4.5.3.1.8: a server must accept at least 100 recipients per message. */
    public static final int DEFAULT_MAX_RECIPIENTS = 100;
    /**
     * A busy sending server delivers a few hundred messages per connection (4-5 commands each);
     * beyond this, a connection is more likely a loop or an abuser holding a slot.
     */
    public static final int DEFAULT_MAX_COMMANDS = 10_000;
    /** A real client makes one or two mistakes; a scanner or a confused peer makes many. */
    public static final int DEFAULT_MAX_ERRORS = 10;
    /** A person mistyping a password gets three tries per connection; AuthService limits the rest. */
    public static final int DEFAULT_MAX_AUTH_FAILURES = 3;
    /** RFC 5321 §4.5.3.2.7: the server timeout is at least 5 minutes. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);
    /**
     * Messages up to 128 KiB (nine in ten) never touch a temporary file; with a thousand
     * connections in DATA at once this bounds the memory to 128 MiB.
     */
    public static final int DEFAULT_MEMORY_SPOOL = 128 * 1024;

    public static final SmtpLimits DEFAULTS = new SmtpLimits(DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_RECIPIENTS,
            DEFAULT_MAX_COMMANDS, DEFAULT_MAX_ERRORS, DEFAULT_MAX_AUTH_FAILURES, DEFAULT_IDLE_TIMEOUT,
            DEFAULT_MEMORY_SPOOL);

    public SmtpLimits {
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        if (maxMessageSize < 1) throw new IllegalArgumentException("maxMessageSize must be positive, not " + maxMessageSize);
        if (maxRecipients < 1) throw new IllegalArgumentException("maxRecipients must be positive, not " + maxRecipients);
        if (maxCommands < 1) throw new IllegalArgumentException("maxCommands must be positive, not " + maxCommands);
        if (maxErrors < 1) throw new IllegalArgumentException("maxErrors must be positive, not " + maxErrors);
        if (maxAuthFailures < 1) throw new IllegalArgumentException("maxAuthFailures must be positive, not " + maxAuthFailures);
        if (idleTimeout.isNegative() || idleTimeout.isZero()) throw new IllegalArgumentException("idleTimeout must be positive");
        if (memorySpool < 1024) throw new IllegalArgumentException("memorySpool must be at least 1024, not " + memorySpool);
    }
}
