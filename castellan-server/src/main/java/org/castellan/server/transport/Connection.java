package org.castellan.server.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSession;
import io.netty.handler.ssl.SslHandler;
import org.castellan.security.auth.AuthContext;
import org.castellan.security.tls.PeerVerification;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.config.Listener;

/**
 * One live client connection, as the rest of the server sees it: who is on the other end, what
 * protects the channel, and who authenticated. Protocol sessions update it; the
 * {@link SessionRegistry} lists and closes connections through it.
 *
 * <p>Thread safety: fields that change after accept are volatile and written only from the
 * connection's event loop; readers on other threads (the admin listing) see a consistent enough
 * snapshot for display.
 */
public final class Connection {

    private final long id;
    private final Listener listener;
    private final Channel channel;
    private final Instant started;
    private final AtomicLong bytesIn = new AtomicLong();
    private final AtomicLong bytesOut = new AtomicLong();
    private final AtomicLong peakQueuedOutput = new AtomicLong();
    private volatile InetSocketAddress remote;
    private volatile ClientCertMode clientCertMode;
    private volatile TlsInfo tls;
    private volatile List<X509Certificate> peerChain = List.of();
    private volatile String account;
    private volatile String mechanism;
    private volatile String relayNode;
    /** On a link of HTTPS or LDAP: the client's TLS as the edge asserted it; null elsewhere. */
    private volatile Optional<TlsInfo> assertedTls;
    private final TlsPolicy tlsPolicy;
    /** The connection a carried session travels on ({@link #carry}); null for a socket's own. */
    private final Connection carrier;
    /** Where {@link #carry} registers the sessions it makes; null where none are carried. */
    private final SessionRegistry registry;

    Connection(long id, Listener listener, Channel channel, InetSocketAddress remote, Instant started,
               TlsPolicy tlsPolicy) {
        this(id, listener, channel, remote, started, tlsPolicy, null, null);
    }

    Connection(long id, Listener listener, Channel channel, InetSocketAddress remote, Instant started,
               TlsPolicy tlsPolicy, SessionRegistry registry) {
        this(id, listener, channel, remote, started, tlsPolicy, null, registry);
    }

    private Connection(long id, Listener listener, Channel channel, InetSocketAddress remote, Instant started,
                       TlsPolicy tlsPolicy, Connection carrier, SessionRegistry registry) {
        this.id = id;
        this.carrier = carrier;
        this.registry = registry;
        this.tlsPolicy = tlsPolicy;
        this.listener = listener;
        this.channel = channel;
        this.remote = remote;
        this.started = started;
        this.clientCertMode = listener.clientCert();
    }

    public long id() { return id; }

    /**
     * A session carried on this connection (a link kept open by an edge, docs/roles.md §2): a
     * connection of its own, on {@code channel}, for the client the edge names, with this
     * connection's listener and TLS (the link's, which the node's revocation watch of edges
     * reads), in the session registry until the channel closes, so that the session list, kicks
     * and revocations reach it as they reach one on a socket. Call on the event loop, once the
     * channel is registered.
     *
     * @throws IllegalStateException if this connection is not in a registry
     */
    public Connection carry(CarriedChannel channel, InetSocketAddress client) {
        if (registry == null) throw new IllegalStateException("connection " + logId() + " carries no sessions");
        Connection session = new Connection(registry.nextId(), listener, channel, client, Instant.now(), tlsPolicy,
                this, registry);
        session.tls = tls;
        session.peerChain = peerChain;
        session.clientCertMode = clientCertMode;
        channel.pipeline().addFirst(Transport.BYTE_COUNTER, new ByteCounter(session));
        registry.register(session);
        channel.closeFuture().addListener(f -> registry.unregister(session));
        return session;
    }

    /** The connection this session is carried on; empty for a socket's own session. */
    public Optional<Connection> carrier() { return Optional.ofNullable(carrier); }

    /** The session id as it appears in logs: short, unique within a server run. */
    public String logId() { return Long.toString(id, 36); }

    public Listener listener() { return listener; }

    public Channel channel() { return channel; }

    public Instant started() { return started; }

    /** The client's address: the socket's peer, or the address a trusted PROXY header named. */
    public InetSocketAddress remote() { return remote; }

    void remote(InetSocketAddress realClient) { this.remote = realClient; }

    /**
     * On a mailbox node's link: the client an edge relays for, as the edge asserts it in the opening
     * exchange (docs/roles.md §2). Logs, the session list and AuthService then name the client;
     * the edge stays the socket's peer, which the link session logs.
     */
    public void relayedFor(InetSocketAddress client) { this.remote = client; }

    /**
     * On a mailbox node's link of HTTPS or LDAP: the client as {@link #relayedFor(InetSocketAddress)},
     * and the client's TLS as the edge asserted it, its certificate only if it verified here too.
     * {@link #clientTls} answers with it; {@link #tls} stays the link's own, which the node's
     * revocation watch of edges reads.
     */
    public void relayedFor(InetSocketAddress client, Optional<TlsInfo> clientTls) {
        this.remote = client;
        this.assertedTls = clientTls;
    }

    /** On an edge: the mailbox node this session is relayed to once its link is open (docs/roles.md §3). */
    public Optional<String> relayNode() { return Optional.ofNullable(relayNode); }

    public void relayedTo(String node) { this.relayNode = node; }

    /** The client-certificate demand in force: the listener's, raised by a connection rule. */
    public ClientCertMode clientCertMode() { return clientCertMode; }

    void clientCertMode(ClientCertMode mode) { this.clientCertMode = mode; }

    /** TLS parameters once a handshake has completed; empty on a cleartext channel. */
    public Optional<TlsInfo> tls() { return Optional.ofNullable(tls); }

    /**
     * What protects the client's connection, as the routes of HTTPS and the LDAP session read it:
     * the channel's own TLS, or on a link the client's TLS with the edge as asserted there
     * ({@link #relayedFor(InetSocketAddress, Optional)}).
     */
    public Optional<TlsInfo> clientTls() {
        Optional<TlsInfo> asserted = assertedTls;
        return asserted != null ? asserted : tls();
    }

    /** The authenticated account, once a protocol session has authenticated one. */
    public Optional<String> account() { return Optional.ofNullable(account); }

    public Optional<String> mechanism() { return Optional.ofNullable(mechanism); }

    /** Records a successful authentication; called by protocol sessions through AuthService. */
    public void authenticated(String account, String mechanism) {
        this.account = account;
        this.mechanism = mechanism;
    }

    public long bytesIn() { return bytesIn.get(); }

    public long bytesOut() { return bytesOut.get(); }

    void countIn(long n) { bytesIn.addAndGet(n); }

    void countOut(long n) { bytesOut.addAndGet(n); }

    /**
     * Octets the server has queued for this client and the socket has not taken yet: written and
     * not flushed, flushed and not sent, and writes handed over from other threads. Sessions stop
     * producing above the channel's high-water mark ({@link Transport#WRITE_HIGH_WATER}).
     */
    public long queuedOutput() {
        var out = channel.unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    /** The most {@link #queuedOutput} ever was when a write reached the socket's end of the pipeline. */
    public long peakQueuedOutput() { return peakQueuedOutput.get(); }

    void noteQueuedOutput() { peakQueuedOutput.accumulateAndGet(queuedOutput(), Math::max); }

    /**
     * Starts TLS on a cleartext connection (STARTTLS, STLS). Call it on the event loop before
     * writing the protocol's "go ahead" reply: that one reply still leaves in cleartext and
     * everything after it is TLS. The protocol's decoder must drop whatever the client pipelined
     * after the command — those bytes arrived before TLS and are never acted upon (docs/design.md §5.4).
     *
     * @throws IllegalStateException if TLS is already active on this connection
     */
    public void startTls() {
        var pipeline = channel.pipeline();
        if (tlsStarted()) throw new IllegalStateException("TLS is already active");
        pipeline.addAfter(Transport.BYTE_COUNTER, "tls", newTlsHandler(true));
    }

    /**
     * Starts raw DEFLATE (RFC 1951) in both directions (IMAP COMPRESS=DEFLATE, RFC 4978): inside
     * TLS when there is TLS, each write flushed so that every response reaches the client whole.
     * Call it on the event loop right after writing the protocol's OK, which still leaves
     * uncompressed. A stream that does not inflate closes the connection.
     *
     * @throws IllegalStateException if compression is already active
     */
    public void startCompression() {
        var pipeline = channel.pipeline();
        if (compressionActive()) throw new IllegalStateException("compression is already active");
        // A carried session's pipeline has no gate: its octets are the client's from the first.
        var gate = pipeline.context(ConnectionGate.class);
        pipeline.addAfter(gate != null ? gate.name() : Transport.BYTE_COUNTER, DeflateCodec.NAME, new DeflateCodec());
    }

    /** Whether {@link #startCompression} has run on this connection. */
    public boolean compressionActive() {
        return channel.pipeline().get(DeflateCodec.NAME) != null;
    }

    /**
     * A TLS handler from the server's one policy, demanding this connection's client-certificate
     * mode; with SNI certificates it chooses the certificate from the ClientHello first.
     */
    ChannelHandler newTlsHandler(boolean startTls) {
        return tlsPolicy.newServerHandler(channel.alloc(), clientCertMode, startTls);
    }

    /**
     * Records the parameters of a completed handshake; the peer is set only if its certificate
     * verified. Returns what became of the client certificate, for the log.
     */
    PeerVerification handshakeCompleted(SSLSession session) {
        PeerVerification verification = tlsPolicy.peerVerification(session);
        Optional<X509Certificate> peer = Optional.empty();
        if (verification instanceof PeerVerification.Verified verified) {
            peer = Optional.of(verified.leaf());
            this.peerChain = verified.chain();
        }
        this.tls = new TlsInfo(session.getProtocol(), session.getCipherSuite(), peer);
        return verification;
    }

    /** The verified client certificate chain, leaf first; empty without one. For revocation re-checks. */
    public List<X509Certificate> peerChain() { return peerChain; }

    /**
     * What AuthService needs to know about this connection for an attempt over {@code protocol}:
     * where it comes from, whether TLS protects it (and its channel binding for SCRAM-PLUS), the
     * verified client certificate, and whether the listener allows credentials without TLS.
     */
    public AuthContext authContext(String protocol) {
        var info = clientTls();
        // On a link the channel's TLS is the edge's, not the client's: nothing to bind to.
        var binding = assertedTls != null ? Optional.<org.castellan.security.auth.ChannelBinding>empty()
                : ChannelBindings.of(channel.pipeline().get(SslHandler.class));
        return new AuthContext(listener.name(), protocol, remote.getAddress(), info.isPresent(), listener.cleartextAuth(),
                binding, info.flatMap(TlsInfo::peer),
                info.map(TlsInfo::protocol), listener.certificateForPassword(), logId());
    }

    /** Whether TLS is active or being negotiated on this connection. */
    public boolean tlsStarted() {
        if (carrier != null) return carrier.tlsStarted();
        return channel.pipeline().get("tls") != null;
    }

    /** Closes the connection at once; the registry forgets it when the channel is closed. */
    public void close() { channel.close(); }

    /**
     * What protects the channel. {@code peer} is the client certificate only if it verified
     * against the trust anchors; in {@code request} mode an unverifiable one is not a peer.
     */
    public record TlsInfo(String protocol, String cipherSuite, Optional<X509Certificate> peer) {
    }
}
