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
     */
    public record LiveLink(String node, String address, String protocol, String cipher, X509Certificate certificate,
                           Instant opened) {}

    /** The links open now. */
    public List<LiveLink> liveLinks() {
        return List.copyOf(live.values());
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
        Optional<Outbound.NextHop> address = edge.node(node);
        if (address.isEmpty()) {
            // A placement naming a node this edge does not know: an operator's mistake, said in the log.
            done.completeExceptionally(new LinkFailure("node " + node + " of " + opening.account()
                    + " is not one of [edge] nodes"));
            return done;
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
                        ctx.pipeline().addLast("tls", ssl).addLast("opening", new Opening(node, opening, done));
                        ctx.pipeline().remove(this);
                    }
                });
        var connecting = bootstrap.connect(hop.host(), hop.port());
        // The client gone, at any point: its link goes too (a splice closes both itself; this covers the opening).
        client.ifPresent(c -> c.closeFuture().addListener(f -> closeLater(connecting.channel())));
        connecting.addListener(f -> {
            if (!f.isSuccess()) done.completeExceptionally(new LinkFailure("node " + node + " at " + hop + ": "
                    + f.cause().getMessage()));
        });
        return done;
    }

    /** The link's side of the opening exchange: handshake, check the node, send the line, read the answer. */
    private final class Opening extends ChannelInboundHandlerAdapter {

        private final String node;
        private final LinkOpening opening;
        private final CompletableFuture<Opened> done;
        private ByteBuf received;
        private boolean greeted;
        private ScheduledFuture<?> deadline;

        Opening(String node, LinkOpening opening, CompletableFuture<Opened> done) {
            this.node = node;
            this.opening = opening;
            this.done = done;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            received = ctx.alloc().buffer(256, LinkOpening.MAX_LINE);
            deadline = ctx.executor().schedule(() -> fail(ctx, "no answer within " + edge.openingTimeout()),
                    edge.openingTimeout().toNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            deadline.cancel(false);
            if (received != null) received.release();
            received = null;
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
                ctx.writeAndFlush(Unpooled.copiedBuffer(opening.format(), StandardCharsets.UTF_8));
            }
            ctx.fireUserEventTriggered(event);
        }

        /** Keeps the link, with the certificate it verified, among the live ones while it is open. */
        private void watch(Channel link, SslHandler ssl) {
            try {
                var session = ssl.engine().getSession();
                live.put(link, new LiveLink(node, String.valueOf(link.remoteAddress()), session.getProtocol(),
                        session.getCipherSuite(), (X509Certificate) session.getPeerCertificates()[0], Instant.now()));
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
            if (!(message instanceof ByteBuf in) || received == null) {
                ReferenceCountUtil.release(message);
                return;
            }
            try {
                while (in.isReadable() && received != null) {
                    int end = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
                    int take = (end < 0 ? in.writerIndex() : end + 1) - in.readerIndex();
                    if (received.readableBytes() + take > LinkOpening.MAX_LINE) {
                        fail(ctx, "a line longer than " + LinkOpening.MAX_LINE + " octets");
                        return;
                    }
                    received.writeBytes(in, take);
                    if (end < 0) return;
                    String line = received.toString(StandardCharsets.UTF_8).stripTrailing();
                    received.clear();
                    if (!greeted) {
                        greeted = line.startsWith(LinkService.GREETING + " ");
                        if (!greeted) fail(ctx, "no link greeting");
                        continue;
                    }
                    Optional<LinkOpening.Answer> answer = LinkOpening.parseAnswer(line);
                    if (answer.isEmpty()) {
                        fail(ctx, "not an answer to the opening");
                        return;
                    }
                    // Hold what follows the answer until the splice takes it: the client's OK goes first.
                    ctx.channel().config().setAutoRead(false);
                    ByteBuf rest = in.readRetainedSlice(in.readableBytes());
                    ctx.pipeline().remove(this);
                    if (!done.complete(new Link(ctx.channel(), answer.get(), rest))) {
                        rest.release();
                        ctx.close();
                    }
                    return;
                }
            } finally {
                in.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            fail(ctx, "the node closed the link");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(ctx, cause.getMessage());
        }

        private void fail(ChannelHandlerContext ctx, String why) {
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
    static final class Link implements Opened {

        private final Channel link;
        private final LinkOpening.Answer answer;
        private ByteBuf rest;

        Link(Channel link, LinkOpening.Answer answer, ByteBuf rest) {
            this.link = link;
            this.answer = answer;
            this.rest = rest;
        }

        @Override
        public LinkOpening.Answer answer() {
            return answer;
        }

        /** The link, reads paused; for a conversation the edge holds itself rather than a splice. */
        Channel channel() {
            return link;
        }

        /** What the node sent behind its answer; the caller owns it. */
        ByteBuf takeRest() {
            ByteBuf r = rest;
            rest = Unpooled.EMPTY_BUFFER;
            return r;
        }

        @Override
        public void splice(Connection client, ByteBuf unread) {
            Channel clientChannel = client.channel();
            if (!link.isActive() || !clientChannel.isActive()) {
                unread.release();
                if (rest != null) rest.release();
                rest = null;
                closeLater(link);
                closeLater(clientChannel);
                return;
            }
            clientChannel.pipeline().addLast("splice", new Splice(link));
            link.pipeline().addLast("splice", new Splice(clientChannel));
            // What the node sent behind its answer, after the client's OK that is already queued.
            clientChannel.writeAndFlush(rest);
            rest = null;
            if (unread.isReadable()) link.writeAndFlush(unread);
            else unread.release();
            clientChannel.flush();
            clientChannel.config().setAutoRead(link.isWritable());
            link.config().setAutoRead(clientChannel.isWritable());
        }

        @Override
        public void close() {
            if (rest != null) rest.release();
            rest = null;
            link.close();
        }
    }

    /**
     * One direction of a splice: what this channel reads goes to {@code other} unparsed. Reading
     * stops while {@code other} holds more than its high-water mark and starts again when it
     * drains (autoRead both ways); either channel closing closes the other. What one read loop of
     * the event loop brings is flushed once, at its end: one TLS record and one system call for a
     * burst (a FETCH of many messages arrives as many reads), rather than one per read.
     */
    static final class Splice extends ChannelInboundHandlerAdapter {

        private final Channel other;

        Splice(Channel other) {
            this.other = other;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            if (!other.isActive()) {
                ReferenceCountUtil.release(message);
                return;
            }
            other.write(message);
            if (!other.isWritable()) {
                other.flush();
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            other.flush();
            ctx.fireChannelReadComplete();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // This channel drained: the other side may read again.
            if (ctx.channel().isWritable()) other.config().setAutoRead(true);
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // Whatever was written reaches the other side before it closes.
            other.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> closeLater(other));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.info("relayed session closed: {}", cause.toString());
            ctx.close();
        }
    }
}
