package org.castellan.server.imap;

import io.netty.channel.ChannelPipeline;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.security.auth.AuthService;
import org.castellan.server.config.Listener;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.MessageSpool;
import org.castellan.server.transport.ProtocolService;
import org.castellan.server.transport.Relay;
import org.castellan.store.Directory;
import org.castellan.store.Mailboxes;

/**
 * The IMAP server (RFC 9051 IMAP4rev2 and RFC 3501 IMAP4rev1 clients; the extensions listed in
 * {@link Capability}), plugged into the transport once per IMAP listener.
 *
 * <p>SECURITY: trusts nothing from the client before authentication except the command syntax,
 * parsed with fixed limits (literals before login are tiny). Credentials go only to
 * {@link AuthService}, which decides whether a password may be used on this connection: without
 * TLS on a listener that does not allow cleartext authentication, LOGIN is refused and
 * LOGINDISABLED advertised. After STARTTLS nothing received before the handshake is acted upon.
 * Every mailbox is looked up by name within the authenticated account; mailbox ids never come
 * from the client, so a session reaches only its own account's mailboxes, except through an IMAP
 * URL whose URLAUTH token the owner's mailbox key confirms (RFC 4467, {@link UrlAccess}).
 *
 * <p>Exposes: the authenticated account's mailboxes and messages, read and write; the messages
 * (or parts) that other accounts authorized with URLAUTH, read only.
 *
 * <p>Failure: store errors reach the client as {@code NO [UNAVAILABLE]} (temporary) or
 * {@code NO [SERVERBUG]} and the log gets the detail; bad syntax gets {@code BAD} and the session
 * goes on; an oversized line or literal gets {@code * BYE} and the connection closes.
 */
public final class ImapService implements ProtocolService {

    /** RFC 9051 §5.4: the autologout timer must be at least 30 minutes. */
    public static final Duration AUTOLOGOUT = Duration.ofMinutes(30);

    /** The store's mailboxes and, for the accounts they belong to, its directory. */
    private final Mailboxes store;
    private final Directory directory;
    private final AuthService auth;
    private final ExecutorService blocking;
    private final Duration autologout;
    private final Optional<Duration> loginTimeout;
    private final StructureCache structures = new StructureCache();
    private final String hostname;
    private final java.util.Set<String> submitters;
    private final java.nio.file.Path spoolDirectory;

    /**
     * @param blocking runs store calls, which block; shared with the other protocols and shut
     *     down by the caller
     * @param hostname this server's name: IMAP URLs (RFC 5092) naming another host are not ours
     * @param submitters the accounts (addresses, any case) that act as message submission
     *     entities for RFC 4467 {@code submit+} URLs
     */
    public <S extends Directory & Mailboxes> ImapService(
            S store, AuthService auth, ExecutorService blocking, String hostname,
            java.util.Set<String> submitters) {
        this(store, auth, blocking, AUTOLOGOUT, hostname, submitters);
    }

    /** With another autologout time; below {@link #AUTOLOGOUT} only for tests. */
    public <S extends Directory & Mailboxes> ImapService(
            S store, AuthService auth, ExecutorService blocking, Duration autologout, String hostname,
            java.util.Set<String> submitters) {
        this(store, auth, blocking, autologout, hostname, submitters, Optional.empty());
    }

    /** @param loginTimeout closes a connection that has not authenticated this long after it was accepted */
    public <S extends Directory & Mailboxes> ImapService(
            S store, AuthService auth, ExecutorService blocking, Duration autologout, String hostname,
            java.util.Set<String> submitters, Optional<Duration> loginTimeout) {
        this(store, auth, blocking, autologout, hostname, submitters, loginTimeout, MessageSpool.SYSTEM_TEMP);
    }

    /** @param spoolDirectory where APPEND messages too large for memory are spooled ({@link MessageSpool#prepare}) */
    public <S extends Directory & Mailboxes> ImapService(
            S store, AuthService auth, ExecutorService blocking, Duration autologout, String hostname,
            java.util.Set<String> submitters, Optional<Duration> loginTimeout, java.nio.file.Path spoolDirectory) {
        this.spoolDirectory = Objects.requireNonNull(spoolDirectory, "spoolDirectory");
        this.store = Objects.requireNonNull(store, "store");
        this.directory = store;
        this.auth = Objects.requireNonNull(auth, "auth");
        this.blocking = Objects.requireNonNull(blocking, "blocking");
        this.autologout = Objects.requireNonNull(autologout, "autologout");
        this.hostname = Objects.requireNonNull(hostname, "hostname");
        this.submitters = submitters.stream().map(a -> a.toLowerCase(java.util.Locale.ROOT))
                .collect(java.util.stream.Collectors.toUnmodifiableSet());
        this.loginTimeout = Objects.requireNonNull(loginTimeout, "loginTimeout");
    }

    @Override
    public void open(Connection connection, ChannelPipeline pipeline) {
        new ImapSession(this, connection).open(pipeline, autologout);
    }

    @Override
    public void openRelayed(Connection connection, ChannelPipeline pipeline, LinkOpening opening) {
        new ImapSession(this, connection).openRelayed(pipeline, autologout, opening);
    }

    /** On an edge: where sessions go after login (docs/roles.md §3); empty on every other role. */
    private Optional<Relay> relay = Optional.empty();

    /** Makes this the IMAP service of an edge: each session is relayed to its mailbox node after login. */
    public ImapService relayTo(Relay relay) {
        this.relay = Optional.of(relay);
        return this;
    }

    Optional<Relay> relay() { return relay; }

    /** RFC 9051 §7.1.5: BYE as the greeting refuses a connection from this client. */
    @Override
    public String refusal(String reason) {
        return "* BYE " + reason;
    }

    @Override
    public Optional<Duration> loginTimeout(Listener listener) {
        return loginTimeout;
    }

    Mailboxes store() { return store; }

    Directory directory() { return directory; }

    AuthService auth() { return auth; }

    ExecutorService blocking() { return blocking; }

    StructureCache structures() { return structures; }

    java.nio.file.Path spoolDirectory() { return spoolDirectory; }

    String hostname() { return hostname; }

    /** Whether {@code account} may use RFC 4467 {@code submit+} URLs on behalf of others. */
    boolean submitter(String account) { return submitters.contains(account.toLowerCase(java.util.Locale.ROOT)); }
}
