package org.castellan.store;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One authentication attempt as the auth log keeps it. It never holds a password, a SASL payload
 * or a secret.
 *
 * @param remote the client's address
 * @param listener the listener's configured name
 * @param protocol {@code smtp}, {@code imap} or {@code pop3}
 * @param mechanism the SASL mechanism or password command
 * @param account the account, or {@code "-"} when none was named
 * @param result {@code OK} or the failure ({@code INVALID_CREDENTIALS}, {@code TEMPORARY}, ...)
 * @param tlsVersion the TLS protocol version, empty without TLS
 * @param certificate {@code sha256:<hex>} of the verified client certificate, if any
 * @param reason why it failed, as the server log's {@code reason=} says it; empty for a success
 */
public record AuthAttempt(Instant time, String remote, String listener, String protocol, String mechanism,
        String account, String result, Optional<String> tlsVersion, Optional<String> certificate,
        Optional<String> reason) {

    /** What {@link #account()} holds when the client named no account. */
    public static final String NO_ACCOUNT = "-";

    public AuthAttempt {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(mechanism, "mechanism");
        Objects.requireNonNull(account, "account");
        Objects.requireNonNull(result, "result");
        Objects.requireNonNull(tlsVersion, "tlsVersion");
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(reason, "reason");
    }

    /** An attempt whose record gives no reason (a success). */
    public AuthAttempt(Instant time, String remote, String listener, String protocol, String mechanism,
            String account, String result, Optional<String> tlsVersion, Optional<String> certificate) {
        this(time, remote, listener, protocol, mechanism, account, result, tlsVersion, certificate, Optional.empty());
    }
}
