package org.castellan.server.link;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.security.pki.Pem;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.server.config.Edge;
import org.castellan.server.config.NodeCertificate;
import org.castellan.server.config.Outbound;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.Relay;
import org.castellan.server.transport.Transport;
import org.castellan.store.Directory;
import org.castellan.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge's end of the link (docs/roles.md §2–3): after a client logged in, finds the account's
 * mailbox node in the directory, opens one link connection to it, makes the opening exchange,
 * and then splices the client and the link.
 *
 * <p>SECURITY: a link is TLS 1.3 presenting this edge's node certificate and trusting the node CA
 * alone ({@link TlsPolicy#nodeClientContext}); the node's certificate must name exactly
 * {@code castellan-node:mailbox/<the node it meant to reach>} and, where this data directory has
 * the node CA's CRL, not be revoked — so neither another node nor anything another CA issued
 * receives a user's session; a link whose node is revoked later is closed within a second
 * ({@link #watchRevocations}). The edge asserts the account AuthService authenticated, nothing the
 * client chose. Reads from the directory only: the account and its placement.
 *
 * <p>Failure: no answer within {@code [edge] opening-timeout}, a refused connection, a failed
 * handshake, a certificate naming another node, or a line that is not an answer all fail the
 * stage, which the session answers as temporarily unavailable; the link is closed.
 */
public final class EdgeRelay implements Relay, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EdgeRelay.class);

    /** The decoder of the node's frames, behind which a session's handler goes. */
    static final String FRAMES_IN = "frames-in";
    /**
     * How long a link waits for its next session before it is closed: long enough to carry the
     * logins of a busy minute, short enough that a node restarted is not held by links it forgot.
     */
    static final Duration IDLE_LINK = Duration.ofSeconds(60);
    /** Links each event loop keeps open to one node between sessions; enough for the peak of sessions starting together. */
    static final int IDLE_LINKS_PER_NODE = 256;

    /** A quarter of the second within which a revoked node's links must close (docs/design.md §5). */
    static final Duration REVOCATION_POLL = Duration.ofMillis(250);

    private final Edge edge;
    private final SslContext tls;
    private final Directory directory;
    private final Executor blocking;
    /** The node CA's CRL in this data directory, if the built-in CA is here. */
    private final Optional<Path> nodeCrl;
    private volatile CachedCrl crl;
    /** The links open now, each with the node certificate it verified: what a revocation closes. */
    private final Map<Channel, LiveLink> live = new ConcurrentHashMap<>();
    /** Revocations the TLS policy knows of besides the CRL here (the shared directory's). */
    private volatile Predicate<X509Certificate> revokedElsewhere = c -> false;
    private ScheduledExecutorService watcher;
    /** The links kept open between sessions, per event loop (docs/roles.md §2). */
    private final Map<io.netty.channel.EventLoop, IdleLinks> idle = new ConcurrentHashMap<>();
    /** Links whose TLS handshake resumed an earlier session by ticket (RFC 8446 §2.2). */
    private final LongAdder resumed = new LongAdder();

    /**
     * @throws org.castellan.security.tls.TlsConfigException if the node certificate or key cannot be used
     */
    public EdgeRelay(Edge edge, NodeCertificate certificate, Directory directory, Executor blocking, Optional<Path> nodeCrl) {
        this.edge = edge;
        this.tls = TlsPolicy.nodeClientContext(certificate.certificate(), certificate.key());
        this.directory = directory;
        this.blocking = blocking;
        this.nodeCrl = nodeCrl;
    }

    /**
     * Closes, within a second, every live link whose node certificate the node CA's CRL here or
     * {@code revokedElsewhere} (the shared directory's revocations) lists: a mailbox node revoked
     * stops serving sessions at once, as an edge revoked does on the mailbox side (docs/roles.md
     * §6). Polls every {@link #REVOCATION_POLL}; stopped by {@link #close}.
     */
    public EdgeRelay watchRevocations(Predicate<X509Certificate> revokedElsewhere) {
        this.revokedElsewhere = revokedElsewhere;
        watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "castellan-link-revocation");
            t.setDaemon(true);
            return t;
        });
        watcher.scheduleWithFixedDelay(() -> {
            try {
                closeRevoked();
            } catch (RuntimeException e) {
                // An exception would end the schedule: the next round tries again.
                log.warn("revocation check of the links failed, retrying: {}", e.toString());
            }
        }, REVOCATION_POLL.toMillis(), REVOCATION_POLL.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** Closes the live links to revoked nodes; returns how many. */
    int closeRevoked() {
        if (live.isEmpty()) return 0;
        Optional<X509CRL> current;
        try {
            current = currentCrl();
        } catch (java.io.IOException | RuntimeException e) {
            // Sessions are not dropped for a file that could not be read once: the last CRL read stands.
            log.warn("node CA CRL unreadable, live links checked against the last one read: {}", e.getMessage());
            current = Optional.ofNullable(crl).map(CachedCrl::crl);
        }
        int closed = 0;
        for (var e : live.entrySet()) {
            X509Certificate node = e.getValue().certificate();
            if (revokedElsewhere.test(node) || current.map(c -> c.isRevoked(node)).orElse(false)) {
                log.info("closing the link to {}: its certificate {} is revoked", CertificateAuthority.nodeIdentity(node)
                        .map(NodeIdentity::uri).orElse("?"), node.getSerialNumber().toString(16));
                e.getKey().close();
                live.remove(e.getKey());
                closed++;
            }
        }
        return closed;
    }

    /**
     * A link open now, for {@code castellan node list} (docs/roles.md §4).
     *
     * @param node the mailbox node's name in {@code [edge] nodes}
     * @param certificate the node certificate the handshake verified
     * @param idle whether it carries no session now, kept open for the next (docs/roles.md §2)
     */
    public record LiveLink(String node, String address, String protocol, String cipher, X509Certificate certificate,
                           Instant opened, boolean idle) {}

    /** The links open now. */
    public List<LiveLink> liveLinks() {
        return live.entrySet().stream().map(e -> {
            LiveLink l = e.getValue();
            return new LiveLink(l.node(), l.address(), l.protocol(), l.cipher(), l.certificate(), l.opened(), idle(e.getKey()));
        }).toList();
    }

    /** Stops the revocation watch; links close with their sessions. */
    @Override
    public void close() {
        if (watcher != null) watcher.shutdownNow();
    }

    /**
     * {@inheritDoc} An opening without an account (HTTPS and LDAP, relayed from their first byte)
     * goes to the default node: the built-in CA's keys are in one data directory, not in the
     * shared store, and the default node is the one an operator gives it (docs/roles.md §3).
     */
    @Override
    public CompletionStage<Opened> open(Connection client, LinkOpening opening) {
        if (opening.account().isEmpty()) return connect(client, edge.defaultNode(), opening);
        return CompletableFuture.supplyAsync(() -> node(opening.account()), blocking)
                .thenComposeAsync(node -> connect(client, node, opening), client.channel().eventLoop());
    }

    /**
     * How many links so far resumed the TLS session of an earlier link to their node (one round
     * trip, no certificate signature): the link client's session cache keeps each node's last
     * ticket (docs/roles.md §2).
     */
    public long resumedLinks() {
        return resumed.sum();
    }

    /** How many links carry no session now, kept open for the next ones (docs/roles.md §2). */
    public int idleLinks() {
        return (int) live.keySet().stream().filter(EdgeRelay::idle).count();
    }

    /** Whether {@code link} waits among the idle ones for its next session. */
    private static boolean idle(Channel link) {
        return link.pipeline().get(IdleLink.class) != null;
    }

    /** The node of an account without a placement. */
    String defaultNode() {
        return edge.defaultNode();
    }

    /** How long a link's connect, handshake and opening exchange may take ({@code [edge] opening-timeout}). */
    java.time.Duration openingTimeout() {
        return edge.openingTimeout();
    }

    /**
     * The account's node: its placement, or the default node; read from the directory (blocking).
     * While {@code user move} switches the account's node it has none: the login is refused for
     * now, and the client's next one lands on the new node (docs/roles.md §4).
     */
    String node(String account) {
        long id = directory.getAccount(EmailAddress.of(account))
                .orElseThrow(() -> StoreException.notFound("account " + account)).id();
        if (directory.moveLock(id).isPresent()) throw new LinkFailure(account + " is being moved to another node");
        return directory.placement(id).orElse(edge.defaultNode());
    }

    private CompletionStage<Opened> connect(Connection client, String node, LinkOpening opening) {
        Channel clientChannel = client.channel();
        client.relayedTo(node);
        return connect(clientChannel.eventLoop(), clientChannel instanceof EpollSocketChannel, node, opening,
                Optional.of(clientChannel));
    }

    /**
     * Opens a link to {@code node} for a session no client connection carries: the edge's own
     * delivery from its MX relay queue ({@link RelayQueue}). The stage completes on {@code loop}.
     */
    CompletionStage<Opened> open(io.netty.channel.EventLoop loop, String node, LinkOpening opening) {
        return connect(loop, false, node, opening, Optional.empty());
    }

    private CompletionStage<Opened> connect(io.netty.channel.EventLoop loop, boolean epoll, String node, LinkOpening opening,
                                            Optional<Channel> client) {
        CompletableFuture<Opened> done = new CompletableFuture<>();
        if (client.isPresent()) {
            Channel idle = idleLinks(loop).take(node);
            if (idle != null) {
                // docs/roles.md §2: the session goes on a link kept open; should the node have closed it
                // meanwhile, a new link is tried once, if the client is still there to use it.
                Runnable fresh = () -> {
                    if (client.get().isActive()) connect(loop, epoll, node, opening, client, done);
                    else done.completeExceptionally(new LinkFailure("the client left before node " + node + " answered"));
                };
                idle.pipeline().addLast("opening", new Opening(node, opening, done, Optional.of(fresh), true));
                client.get().closeFuture().addListener(f -> {
                    if (!done.isDone()) closeLater(idle);
                });
                return done;
            }
        }
        connect(loop, epoll, node, opening, client, done);
        return done;
    }

    /** Opens a new link to {@code node} for {@code opening}; completes {@code done}. */
    private void connect(io.netty.channel.EventLoop loop, boolean epoll, String node, LinkOpening opening,
                         Optional<Channel> client, CompletableFuture<Opened> done) {
        Optional<Outbound.NextHop> address = edge.node(node);
        if (address.isEmpty()) {
            // A placement naming a node this edge does not know: an operator's mistake, said in the log.
            done.completeExceptionally(new LinkFailure("node " + node + " of " + opening.account()
                    + " is not one of [edge] nodes"));
            return;
        }
        Outbound.NextHop hop = address.get();
        Bootstrap bootstrap = new Bootstrap()
                .group(loop)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) edge.openingTimeout().toMillis())
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(Transport.WRITE_LOW_WATER, Transport.WRITE_HIGH_WATER))
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void handlerAdded(ChannelHandlerContext ctx) {
                        SslHandler ssl = tls.newHandler(ctx.alloc(), hop.host(), hop.port());
                        ctx.pipeline().addLast("tls", ssl)
                                .addLast(FRAMES_IN, new LinkFrames.Decoder())
                                .addLast("frames-out", new LinkFrames.Encoder())
                                .addLast("opening", new Opening(node, opening, done, Optional.empty(), client.isPresent()));
                        ctx.pipeline().remove(this);
                    }
                });
        var connecting = bootstrap.connect(hop.host(), hop.port());
        // The client gone, at any point: its link goes too (a splice closes both itself; this covers the opening).
        client.ifPresent(c -> c.closeFuture().addListener(f -> {
            if (!done.isDone()) closeLater(connecting.channel());
        }));
        connecting.addListener(f -> {
            if (!f.isSuccess()) done.completeExceptionally(new LinkFailure("node " + node + " at " + hop + ": "
                    + f.cause().getMessage()));
        });
    }

    /**
     * The link's side of the opening exchange: on a new link the handshake and the check of the
     * node; then the opening line, and the node's answer read from its frames. What the node sends
     * behind the answer is held for whoever takes the link ({@link Link#handTo}).
     */
    private final class Opening extends ChannelInboundHandlerAdapter {

        private final String node;
        private final LinkOpening opening;
        private final CompletableFuture<Opened> done;
        /** On a link kept open: how to try a new one if this one fails before the node answers. */
        private final Optional<Runnable> fresh;
        /** Whether the link may carry further sessions after this one (a client's session's, not the relay queue's). */
        private final boolean keep;
        private ByteBuf received;
        private ScheduledFuture<?> deadline;
        /** The answer's link, once the node has answered; what follows is held for its taker. */
        private Link answered;

        Opening(String node, LinkOpening opening, CompletableFuture<Opened> done, Optional<Runnable> fresh, boolean keep) {
            this.node = node;
            this.opening = opening;
            this.done = done;
            this.fresh = fresh;
            this.keep = keep;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            received = ctx.alloc().buffer(256, LinkOpening.MAX_LINE);
            deadline = ctx.executor().schedule(() -> fail(ctx, "no answer within " + edge.openingTimeout()),
                    edge.openingTimeout().toNanos(), TimeUnit.NANOSECONDS);
            if (fresh.isPresent()) send(ctx);
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            deadline.cancel(false);
            if (received != null) received.release();
            received = null;
            if (answered != null) answered.releaseHeld();
        }

        private void send(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(new LinkFrames.Line(opening.format()));
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof SslHandshakeCompletionEvent handshake) {
                if (!handshake.isSuccess()) {
                    fail(ctx, "TLS: " + rootMessage(handshake.cause()));
                    return;
                }
                SslHandler ssl = ctx.pipeline().get(SslHandler.class);
                // A resumed session is checked as a full one: the certificate it carries names the node and is not revoked.
                Optional<String> wrong = wrongPeer(ssl);
                if (wrong.isPresent()) {
                    fail(ctx, wrong.get());
                    return;
                }
                watch(ctx.channel(), ssl);
                if (TlsPolicy.resumed(ssl)) resumed.increment();
                send(ctx);
            }
            ctx.fireUserEventTriggered(event);
        }

        /** Keeps the link, with the certificate it verified, among the live ones while it is open. */
        private void watch(Channel link, SslHandler ssl) {
            try {
                var session = ssl.engine().getSession();
                live.put(link, new LiveLink(node, String.valueOf(link.remoteAddress()), session.getProtocol(),
                        session.getCipherSuite(), (X509Certificate) session.getPeerCertificates()[0], Instant.now(), false));
                link.closeFuture().addListener(f -> live.remove(link));
            } catch (SSLPeerUnverifiedException e) {
                // wrongPeer has refused it already
            }
        }

        /** Why the node's certificate is not the node's, if it is not. */
        private Optional<String> wrongPeer(SslHandler ssl) {
            X509Certificate peer;
            try {
                peer = (X509Certificate) ssl.engine().getSession().getPeerCertificates()[0];
            } catch (SSLPeerUnverifiedException e) {
                return Optional.of("no verified certificate");
            }
            NodeIdentity expected = new NodeIdentity(NodeIdentity.Role.MAILBOX, node);
            Optional<NodeIdentity> named = CertificateAuthority.nodeIdentity(peer);
            if (!named.equals(Optional.of(expected))) {
                return Optional.of("the certificate names " + named.map(NodeIdentity::uri).orElse("no node") + ", not "
                        + expected.uri());
            }
            if (revoked(peer)) return Optional.of("its certificate " + peer.getSerialNumber().toString(16) + " is revoked");
            return Optional.empty();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            if (answered != null) {
                answered.hold(message);
                return;
            }
            if (message == LinkFrames.END) {
                fail(ctx, "the node ended the session without an answer");
                return;
            }
            if (!(message instanceof ByteBuf in) || received == null) {
                ReferenceCountUtil.release(message);
                return;
            }
            try {
                int end = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
                int take = (end < 0 ? in.writerIndex() : end + 1) - in.readerIndex();
                if (received.readableBytes() + take > LinkOpening.MAX_LINE) {
                    fail(ctx, "a line longer than " + LinkOpening.MAX_LINE + " octets");
                    return;
                }
                received.writeBytes(in, take);
                if (end < 0) return;
                Optional<LinkOpening.Answer> answer = LinkOpening.parseAnswer(received.toString(StandardCharsets.UTF_8)
                        .stripTrailing());
                if (answer.isEmpty()) {
                    fail(ctx, "not an answer to the opening");
                    return;
                }
                deadline.cancel(false);
                // Hold what follows the answer until the session takes the link: the client's OK goes first.
                ctx.channel().config().setAutoRead(false);
                answered = new Link(ctx.channel(), node, answer.get(), keep);
                if (in.isReadable()) answered.hold(in.retain());
                if (!done.complete(answered)) answered.close();
            } finally {
                in.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            fail(ctx, "the node closed the link");
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(ctx, cause.getMessage());
        }

        private void fail(ChannelHandlerContext ctx, String why) {
            if (answered != null) {
                ctx.close();
                return;
            }
            if (fresh.isPresent() && !done.isDone()) {
                // A link kept open that the node has let go: this session tries a new one.
                log.debug("link to node {} kept open failed ({}), opening a new one", node, why);
                ctx.pipeline().remove(this);
                ctx.close();
                fresh.get().run();
                return;
            }
            if (done.completeExceptionally(new LinkFailure("node " + node + ": " + why))) {
                log.info("link to node {} for {} failed: {}", node, opening.account(), why);
            }
            ctx.close();
        }
    }

    /**
     * Closes {@code channel} from a task of its event loop, never inside the handling of another
     * channel's event. Netty 4.2.18's epoll loop dispatches each ready event by descriptor number:
     * a channel closed in the middle of a batch frees its number, the listener accepting later in
     * the same batch may hand that number to a new client registered at once, and the closed
     * channel's event still waiting in the batch then reaches the new client (a peer's half-close
     * it never sent, after which pausing and resuming its reads fails with ENOENT). Closing from a
     * task runs after the batch. A channel still closes itself at once on its own event.
     */
    static void closeLater(Channel channel) {
        channel.eventLoop().execute(channel::close);
    }

    /** The innermost cause's message: an engine wraps the certificate check's reason in a general one. */
    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        return root == e ? String.valueOf(e.getMessage()) : e.getMessage() + ": " + root;
    }

    /** Whether the node CA's CRL here lists {@code certificate}; false without one. */
    private boolean revoked(X509Certificate certificate) {
        if (revokedElsewhere.test(certificate)) return true;
        try {
            return currentCrl().map(c -> c.isRevoked(certificate)).orElse(false);
        } catch (java.io.IOException | org.castellan.security.pki.PkiException e) {
            // A CRL that cannot be read cannot clear anyone: the link is not used.
            log.warn("node CA CRL {} unreadable: {}", nodeCrl.get(), e.getMessage());
            return true;
        }
    }

    /**
     * The node CA's CRL here, read again only when the file changed; empty without one.
     *
     * @throws java.io.IOException or {@link org.castellan.security.pki.PkiException} if it cannot be read
     */
    private Optional<X509CRL> currentCrl() throws java.io.IOException {
        if (nodeCrl.isEmpty() || !Files.exists(nodeCrl.get())) return Optional.empty();
        long modified = Files.getLastModifiedTime(nodeCrl.get()).toMillis();
        CachedCrl cached = crl;
        if (cached == null || cached.modified() != modified) {
            cached = new CachedCrl(modified, Pem.readCrl(nodeCrl.get()));
            crl = cached;
        }
        return Optional.of(cached.crl());
    }

    private record CachedCrl(long modified, X509CRL crl) {}

    /** Why a link could not be opened; the session answers UNAVAILABLE. */
    static final class LinkFailure extends RuntimeException {
        LinkFailure(String message) {
            super(message, null, false, false);
        }
    }

    /** An opened link: the node answered. */
    final class Link implements Opened {

        private final Channel link;
        private final String node;
        private final LinkOpening.Answer answer;
        private final boolean keep;
        /** What the node sent behind its answer, until the session takes the link. */
        private final java.util.ArrayDeque<Object> held = new java.util.ArrayDeque<>();

        Link(Channel link, String node, LinkOpening.Answer answer, boolean keep) {
            this.link = link;
            this.node = node;
            this.answer = answer;
            this.keep = keep;
        }

        @Override
        public LinkOpening.Answer answer() {
            return answer;
        }

        /** The link, reads paused; for a conversation the edge holds itself rather than a splice. */
        Channel channel() {
            return link;
        }

        void hold(Object message) {
            held.add(message);
        }

        void releaseHeld() {
            while (!held.isEmpty()) ReferenceCountUtil.release(held.poll());
        }

        /**
         * Puts {@code next} where the opening exchange was, and gives it first what the node sent
         * behind its answer: octets and, should the session have ended already, {@link LinkFrames#END}.
         * Reads stay paused; the caller starts them.
         */
        void handTo(String name, io.netty.channel.ChannelHandler next) {
            java.util.List<Object> pending = new java.util.ArrayList<>(held);
            held.clear();
            link.pipeline().replace("opening", name, next);
            ChannelHandlerContext frames = link.pipeline().context(FRAMES_IN);
            for (Object message : pending) frames.fireChannelRead(message);
            if (!pending.isEmpty()) frames.fireChannelReadComplete();
        }

        @Override
        public void splice(Connection client, ByteBuf unread) {
            Channel clientChannel = client.channel();
            if (!link.isActive() || !clientChannel.isActive()) {
                unread.release();
                releaseHeld();
                closeLater(link);
                closeLater(clientChannel);
                return;
            }
            Session session = new Session(clientChannel, link, node, keep);
            clientChannel.pipeline().addLast("splice", new ClientSide(session));
            if (unread.isReadable()) link.write(unread);
            else unread.release();
            // What the node sent behind its answer, after the client's OK that is already queued.
            handTo("splice", new LinkSide(session));
            link.flush();
            clientChannel.flush();
            clientChannel.config().setAutoRead(link.isWritable());
            link.config().setAutoRead(clientChannel.isWritable());
        }

        @Override
        public void close() {
            releaseHeld();
            link.close();
        }
    }

    /**
     * One client's session on a link: the two channels, and which side has ended it. The edge ends
     * it when the client goes ({@link LinkFrames#END}); the node, when its session does. Once both
     * have, the link goes back among the idle ones for its node (docs/roles.md §2), or is closed.
     */
    private final class Session {

        final Channel client;
        final Channel link;
        final String node;
        final boolean keep;
        boolean edgeEnded;
        boolean nodeEnded;

        Session(Channel client, Channel link, String node, boolean keep) {
            this.client = client;
            this.link = link;
            this.node = node;
            this.keep = keep;
        }

        /** The client has gone: the node is told, and the link waits for the node's end. */
        void clientGone() {
            if (edgeEnded) return;
            edgeEnded = true;
            if (link.isActive()) link.writeAndFlush(LinkFrames.END);
            if (nodeEnded) over();
        }

        /** The node ended the session: the client gets what was written, then is closed. */
        void nodeEnded() {
            nodeEnded = true;
            if (client.isActive()) client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> closeLater(client));
            if (edgeEnded) over();
        }

        private void over() {
            if (link.pipeline().get(LinkSide.class) != null) link.pipeline().remove(LinkSide.class);
            if (keep && link.isActive()) idleLinks(link.eventLoop()).put(node, link);
            else closeLater(link);
        }
    }

    /**
     * One direction of a session: what this channel reads is written to the other, unparsed.
     * Reading stops while the other holds more than its high-water mark and starts again when it
     * drains (autoRead both ways). What one read loop of the event loop brings is flushed once, at
     * its end: one TLS record and one system call for a burst rather than one per read.
     */
    private abstract static class Direction extends ChannelInboundHandlerAdapter {

        final Session session;
        private final Channel to;

        Direction(Session session, Channel to) {
            this.session = session;
            this.to = to;
        }

        /** Written to the other channel since its last flush. */
        private boolean unflushed;

        void copy(ChannelHandlerContext ctx, Object message) {
            to.write(message);
            unflushed = true;
            if (!to.isWritable()) {
                unflushed = false;
                to.flush();
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            // A read loop that brought nothing to pass on (part of a TLS record) flushes nothing: an
            // empty flush still costs the TLS handler a pass and the socket a write attempt.
            if (unflushed) {
                unflushed = false;
                to.flush();
            }
            ctx.fireChannelReadComplete();
        }
    }

    /** The client's direction: what the client sends goes to the node as frames. */
    private static final class ClientSide extends Direction {

        ClientSide(Session session) {
            super(session, session.link);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            if (session.edgeEnded || !session.link.isActive()) {
                ReferenceCountUtil.release(message);
                return;
            }
            copy(ctx, message);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // The client drained: the link may read again.
            if (ctx.channel().isWritable() && session.link.pipeline().get(LinkSide.class) != null) {
                session.link.config().setAutoRead(true);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            session.clientGone();
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.info("relayed session closed: {}", cause.toString());
            ctx.close();
        }
    }

    /** The node's direction: the octets of its frames go to the client; its end frame ends the client's connection. */
    private static final class LinkSide extends Direction {

        LinkSide(Session session) {
            super(session, session.client);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            if (message == LinkFrames.END) {
                session.nodeEnded();
                return;
            }
            if (session.nodeEnded || !session.client.isActive()) {
                ReferenceCountUtil.release(message);
                return;
            }
            copy(ctx, message);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // The link drained: the client may send again.
            if (ctx.channel().isWritable() && !session.edgeEnded) session.client.config().setAutoRead(true);
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // Whatever was written reaches the client before it closes.
            session.client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> closeLater(session.client));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.info("relayed session's link closed: {}", cause.toString());
            ctx.close();
        }
    }

    /** The links each event loop keeps open to each node between sessions; used on that loop only. */
    private IdleLinks idleLinks(io.netty.channel.EventLoop loop) {
        return idle.computeIfAbsent(loop, l -> new IdleLinks());
    }

    /**
     * One event loop's links kept open between sessions, by node, the most recently used first
     * (its TLS and TCP state warmest). A link idle for {@link #IDLE_LINK} is closed, as is one
     * beyond {@link #IDLE_LINKS_PER_NODE}; a link the node closes, or that brings any octet while
     * idle, leaves at once.
     */
    private final class IdleLinks {

        private final Map<String, java.util.ArrayDeque<Channel>> byNode = new java.util.HashMap<>();

        /** An idle link to {@code node} that is still open, or null. */
        Channel take(String node) {
            var links = byNode.get(node);
            while (links != null && !links.isEmpty()) {
                Channel link = links.pollFirst();
                IdleLink holder = link.pipeline().get(IdleLink.class);
                if (holder != null) {
                    link.pipeline().remove(holder);
                    if (link.isActive()) return link;
                }
            }
            return null;
        }

        void put(String node, Channel link) {
            var links = byNode.computeIfAbsent(node, n -> new java.util.ArrayDeque<>());
            if (links.size() >= IDLE_LINKS_PER_NODE) {
                closeLater(link);
                return;
            }
            link.pipeline().addLast("idle", new IdleLink(() -> links.remove(link)));
            link.config().setAutoRead(true);
            links.addFirst(link);
        }
    }

    /** Holds a link while it carries no session: closes it when idle too long or when anything arrives. */
    private static final class IdleLink extends ChannelInboundHandlerAdapter {

        private final Runnable leave;
        private ScheduledFuture<?> timeout;

        IdleLink(Runnable leave) {
            this.leave = leave;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            timeout = ctx.executor().schedule(() -> {
                leave.run();
                ctx.close();
            }, IDLE_LINK.toNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            timeout.cancel(false);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            // Between sessions the node sends nothing.
            ReferenceCountUtil.release(message);
            leave.run();
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            leave.run();
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            leave.run();
            ctx.close();
        }
    }
}
