package org.castellan.server.pop3;

import io.netty.channel.ChannelPipeline;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.security.auth.AuthService;
import org.castellan.server.config.Listener;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.ProtocolService;
import org.castellan.server.transport.Relay;
import org.castellan.store.Directory;
import org.castellan.store.Mailboxes;

/**
 * The POP3 server (RFC 1939 with CAPA, RFC 2449; STLS, RFC 2595; AUTH, RFC 5034; response codes,
 * RFC 3206), plugged into the transport once per POP3 listener.
 *
 * <p>SECURITY: trusts nothing from the client before authentication except the command syntax,
 * parsed with fixed limits. Credentials go only to {@link AuthService}, which decides whether a
 * password may be used on this connection; USER, PASS and password mechanisms are neither offered
 * nor accepted without TLS unless the listener allows cleartext authentication. After STLS,
 * nothing received before the handshake is acted upon. An authenticated session reaches only its
 * own account's INBOX.
 *
 * <p>Exposes: the messages of the INBOX of the authenticated account, read-only except for
 * deletion, which happens only when the client ends the session with QUIT.
 *
 * <p>Failure: store errors reach the client as {@code -ERR [SYS/TEMP]} (temporary) or
 * {@code -ERR [SYS/PERM]} and the log gets the detail; a failure while sending a message closes
 * the connection, deleting nothing.
 */
public final class Pop3Service implements ProtocolService {

    /** RFC 1939 §3: the autologout timer must be at least 10 minutes. */
    public static final Duration AUTOLOGOUT = Duration.ofMinutes(10);

    /** The store's mailboxes and, for the accounts they belong to, its directory. */
    private final Mailboxes store;
    private final Directory directory;
    private final AuthService auth;
    private final ExecutorService blocking;
    private final Duration autologout;
    private final Optional<Duration> loginTimeout;
    private final MaildropLocks locks = new MaildropLocks();
    private final WireSizes sizes = new WireSizes();

    /**
     * @param blocking runs store calls, which block; shared with the other protocols and shut
     *     down by the caller
     */
    public <S extends Directory & Mailboxes> Pop3Service(
            S store, AuthService auth, ExecutorService blocking) {
        this(store, auth, blocking, AUTOLOGOUT);
    }

    /** With another autologout time; below {@link #AUTOLOGOUT} only for tests. */
    public <S extends Directory & Mailboxes> Pop3Service(
            S store, AuthService auth, ExecutorService blocking, Duration autologout) {
        this(store, auth, blocking, autologout, Optional.empty());
    }

    /** @param loginTimeout closes a connection that has not authenticated this long after it was accepted */
    public <S extends Directory & Mailboxes> Pop3Service(
            S store, AuthService auth, ExecutorService blocking, Duration autologout,
                       Optional<Duration> loginTimeout) {
        this.store = Objects.requireNonNull(store, "store");
        this.directory = store;
        this.auth = Objects.requireNonNull(auth, "auth");
        this.blocking = Objects.requireNonNull(blocking, "blocking");
        this.autologout = Objects.requireNonNull(autologout, "autologout");
        this.loginTimeout = Objects.requireNonNull(loginTimeout, "loginTimeout");
    }

    @Override
    public void open(Connection connection, ChannelPipeline pipeline) {
        // Output counts as activity: a long RETR to a slow client is not idleness.
        new Pop3Session(this, connection).open(pipeline, autologout);
    }

    @Override
    public void openRelayed(Connection connection, ChannelPipeline pipeline, LinkOpening opening) {
        new Pop3Session(this, connection).openRelayed(pipeline, autologout, opening);
    }

    /** On an edge: where sessions go after login (docs/roles.md §3); empty on every other role. */
    private Optional<Relay> relay = Optional.empty();

    /** Makes this the POP3 service of an edge: each session is relayed to its mailbox node after login. */
    public Pop3Service relayTo(Relay relay) {
        this.relay = Optional.of(relay);
        return this;
    }

    Optional<Relay> relay() { return relay; }

    /**
     * RFC 3206 §4: SYS/TEMP, a temporary problem, so the client tries again later (as it does
     * when the server shuts down).
     */
    @Override
    public String refusal(String reason) {
        return "-ERR [SYS/TEMP] " + reason;
    }

    @Override
    public Optional<Duration> loginTimeout(Listener listener) {
        return loginTimeout;
    }

    Mailboxes store() { return store; }

    Directory directory() { return directory; }

    AuthService auth() { return auth; }

    ExecutorService blocking() { return blocking; }

    MaildropLocks locks() { return locks; }

    WireSizes sizes() { return sizes; }
}
