package org.castellan.server.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.security.rules.ConnectionRules;
import org.castellan.security.rules.RuleAction;
import org.castellan.security.tls.PeerVerification;
import org.castellan.server.config.Listener;
import org.castellan.server.transport.CarriedChannel;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.ProtocolService;
import org.castellan.server.transport.SessionRegistry;
import org.castellan.server.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mailbox node's end of the edge ↔ mailbox link (docs/roles.md §2): it names the edge that
 * connected, reads the opening line, and hands the connection to the IMAP, POP3 or SMTP service as
 * a session already authenticated as the account the edge asserts, or to the HTTPS or LDAP service
 * as a connection that authenticates here (docs/roles.md §3).
 *
 * <p>SECURITY: trusts only what the accept path established before {@link #open} runs: the
 * address was one of the listener's edges (connection rules), and TLS 1.3 verified a node
 * certificate against the node CA alone, unexpired and unrevoked (the link's own TLS policy).
 * It then requires that certificate to name exactly one node of role edge, so that a mailbox
 * node's certificate never opens a link to another mailbox node. From such an edge it believes
 * the account, the mechanism and the client's address of the opening line: that is what an edge
 * is for (docs/roles.md §5). The account must be one of the directory's accounts — an address
 * only, so never an administrator (docs/design.md §1), and the session reaches that account's
 * mailboxes only. The node's own [[rule]]s still hold for that client address: a client they deny
 * is refused {@code NO DENIED}, as it would be at the node's own accept. A client certificate the
 * edge asserts whole (HTTPS, LDAP) counts only if it verifies against this node's own TLS policy:
 * the edge may say who the client is, not make a certificate this CA did not issue count as one.
 * Exposes: one greeting line naming the peer, then the relayed session.
 *
 * <p>Failure: a line that is not an opening, or longer than {@link LinkOpening#MAX_LINE}, is
 * answered {@code NO PROTOCOL} and closed; no line within {@link #OPENING_DEADLINE} closes the link.
 */
public final class LinkService implements ProtocolService {

    private static final Logger log = LoggerFactory.getLogger(LinkService.class);

    /** The first word of the greeting; the peer's node URI follows. */
    public static final String GREETING = "castellan-link";
    /**
     * From accept to the opening line: TLS 1.3 and one line from an edge on the same network take
     * milliseconds, so ten seconds is a stuck or hostile peer holding a link slot.
     */
    public static final Duration OPENING_DEADLINE = Duration.ofSeconds(10);

    /** The relayed protocols whose sessions read the client's TLS and certificate themselves. */
    private static final Set<String> READS_CLIENT_TLS = Set.of(LinkOpening.HTTPS, LinkOpening.LDAP);

    /** The services a link hands relayed sessions to, by {@link LinkOpening#protocol()}. */
    private final Map<String, ProtocolService> services;

    /** The node's [[rule]]s, applied to the client's address as the edge asserts it. */
    private final ConnectionRules clientRules;

    /** The node's own check of a client certificate an edge asserts whole (HTTPS, LDAP): its TLS policy's. */
    private final Function<List<X509Certificate>, PeerVerification> clientCertificates;

    /** Where that check runs: it may ask an OCSP responder. */
    private final Executor blocking;

    /** With no relayed protocols: a link that names its peer and is then held (tests of the accept path). */
    public LinkService() {
        this(Map.of(), ConnectionRules.none(), chain -> new PeerVerification.Rejected(chain, "no client CA"), Runnable::run);
    }

    /**
     * @param clientRules the node's [[rule]]s, decided for the asserted client's address and the
     *     link listener's name: a rule for every listener or naming the link applies
     * @param clientCertificates verifies a client certificate an edge asserts, as the node's own
     *     listeners would ({@link org.castellan.security.tls.TlsPolicy#verifyPresented})
     * @param blocking runs {@code clientCertificates}
     */
    public LinkService(Map<String, ProtocolService> services, ConnectionRules clientRules,
                       Function<List<X509Certificate>, PeerVerification> clientCertificates, Executor blocking) {
        this.services = Map.copyOf(services);
        this.clientRules = clientRules;
        this.clientCertificates = clientCertificates;
        this.blocking = blocking;
    }

    @Override
    public void open(Connection connection, ChannelPipeline pipeline) {
        Optional<NodeIdentity> peer = connection.tls().flatMap(Connection.TlsInfo::peer)
                .flatMap(LinkService::edge);
        if (peer.isEmpty()) {
            // The certificate verified but names no edge: a mailbox node's, or one without a node URI.
            log.warn("{} link from {} refused: the certificate names no edge node", connection.logId(),
                    connection.remote().getAddress().getHostAddress());
            connection.close();
            return;
        }
        log.info("{} link from edge {} ({})", connection.logId(), peer.get().name(),
                connection.remote().getAddress().getHostAddress());
        pipeline.addLast("link", new Sessions(connection, peer.get()));
        byte[] greeting = (GREETING + " " + peer.get().uri() + "\r\n").getBytes(StandardCharsets.US_ASCII);
        connection.channel().writeAndFlush(Unpooled.wrappedBuffer(greeting));
    }

    /** The TLS handshake of a link counts against the opening deadline too. */
    @Override
    public Optional<Duration> loginTimeout(Listener listener) {
        return Optional.of(OPENING_DEADLINE);
    }

    /** The edge node {@code certificate} names, if it names exactly one edge. */
    static Optional<NodeIdentity> edge(X509Certificate certificate) {
        return CertificateAuthority.nodeIdentity(certificate).filter(n -> n.role() == NodeIdentity.Role.EDGE);
    }

    /**
     * The sessions of one link, one after another (docs/roles.md §2, {@link LinkFrames}): reads an
     * opening line, checks it, gives a session of its own ({@link CarriedChannel}) to the
     * protocol's service, then carries frames both ways until each side has ended the session, and
     * reads the next opening line.
     */
    private final class Sessions extends ChannelInboundHandlerAdapter implements CarriedChannel.Carrier {

        private final Connection link;
        private final NodeIdentity edge;
        private ChannelHandlerContext ctx;
        private ByteBuf received;
        private ScheduledFuture<?> deadline;
        private State state = State.OPENING;
        /** The session carried now; null between sessions and after a refused opening. */
        private CarriedChannel session;
        private boolean edgeEnded;
        private boolean nodeEnded;
        /** Reads stopped because the session holds octets it has not read yet. */
        private boolean paused;
        /** The server is stopping: the link closes once no session is on it. */
        private boolean closeWhenIdle;

        Sessions(Connection link, NodeIdentity edge) {
            this.link = link;
            this.edge = edge;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            deadline = ctx.executor().schedule(() -> {
                log.info("{} link from edge {}: no opening line within {}", link.logId(), edge.name(), OPENING_DEADLINE);
                ctx.close();
            }, OPENING_DEADLINE.toNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            deadline.cancel(false);
            if (received != null) received.release();
            received = null;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            if (!(message instanceof ByteBuf in)) {
                ReferenceCountUtil.release(message);
                return;
            }
            received = received == null ? in
                    : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), received, in);
            decodeReceived();
        }

        /** Acts on what has been received, and keeps what is not whole yet. */
        private void decodeReceived() {
            try {
                decode();
            } catch (DecoderException e) {
                log.warn("{} link from edge {}: {}", link.logId(), edge.name(), e.getMessage());
                received.skipBytes(received.readableBytes());
                ctx.close();
            }
            if (received != null && !received.isReadable()) {
                received.release();
                received = null;
            } else if (received != null && received.refCnt() == 1) {
                // Only while no frame's octets are out as slices of it: discarding moves the bytes under them.
                received.discardSomeReadBytes();
            }
        }

        /** Acts on every whole line or frame received. */
        private void decode() {
            while (received != null && received.isReadable() && ctx.channel().isActive()) {
                if (state == State.OPENING) {
                    int end = received.indexOf(received.readerIndex(), received.writerIndex(), (byte) '\n');
                    if (end < 0) {
                        if (received.readableBytes() >= LinkOpening.MAX_LINE) {
                            refuse("the opening line is longer than " + LinkOpening.MAX_LINE + " octets");
                        }
                        return;
                    }
                    if (end + 1 - received.readerIndex() > LinkOpening.MAX_LINE) {
                        refuse("the opening line is longer than " + LinkOpening.MAX_LINE + " octets");
                        return;
                    }
                    String text = received.readCharSequence(end + 1 - received.readerIndex(), StandardCharsets.UTF_8)
                            .toString().stripTrailing();
                    switch (LinkOpening.parse(text)) {
                        case LinkOpening.Invalid invalid -> refuse(invalid.reason());
                        case LinkOpening.Valid valid -> start(valid.opening());
                    }
                } else if (state == State.CHECKING) {
                    return; // the edge sends nothing before READY; whatever it did waits for the session
                } else {
                    int length = LinkFrames.length(received);
                    if (length < 0 || received.readableBytes() < LinkFrames.HEADER + length) return;
                    received.skipBytes(LinkFrames.HEADER);
                    if (length == 0) {
                        edgeEnded();
                    } else if (session != null && session.isOpen()) {
                        // A slice, not a copy: received is discarded and grown only while no slice of it is out
                        // (decodeReceived, and the cumulator copying to a new buffer rather than growing a shared one).
                        session.receive(received.readRetainedSlice(length));
                        if (session != null && session.holdsInput() && !paused) {
                            paused = true;
                            ctx.channel().config().setAutoRead(false);
                        }
                    } else {
                        received.skipBytes(length); // the session here has ended; the edge has not seen it yet
                    }
                }
            }
        }

        private void start(LinkOpening opening) {
            deadline.cancel(false);
            ProtocolService service = services.get(opening.protocol());
            InetAddress client;
            try {
                // A literal, checked by the parser: no name is looked up.
                client = InetAddress.getByName(opening.client());
            } catch (UnknownHostException e) {
                refuse("client is not an IP address");
                return;
            }
            if (service == null) {
                refuse(opening.protocol() + " is not served on this node");
                return;
            }
            // docs/roles.md §2: the node's rules hold for the client as asserted, as they would at its own accept.
            RuleAction action = clientRules.decide(client, link.listener().name());
            if (action == RuleAction.DENY || action == RuleAction.REQUIRE_CERT && opening.certificateSerial().isEmpty()) {
                log.info("{} link session {} for {} from client {} via edge {} denied by connection rules ({})",
                        link.logId(), opening.protocol(), opening.account(), opening.client(), edge.name(),
                        action.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
                answer(new LinkOpening.Refused(LinkOpening.Refused.DENIED, "Not allowed from the client's address"));
                return;
            }
            if (opening.clientCertificate().isPresent()) {
                // HTTPS and LDAP: the session reads the certificate itself, which the node checks as its own
                // handshake would.
                state = State.CHECKING;
                Optional<byte[]> der = opening.clientCertificateDer();
                CompletableFuture.supplyAsync(() -> verified(der), blocking).whenComplete((peer, failure) ->
                        ctx.executor().execute(() -> {
                            if (!ctx.channel().isActive()) return;
                            if (failure != null) {
                                log.warn("{} link session {}: the client certificate could not be checked: {}",
                                        link.logId(), opening.protocol(), failure.toString());
                            }
                            hand(service, opening, client, failure == null ? peer : Optional.empty());
                            if (received != null) decodeReceived();
                        }));
                return;
            }
            hand(service, opening, client, Optional.empty());
        }

        /**
         * The client's certificate as the edge asserted it, if it verifies here: one that does not
         * (revoked since, or of a CA this node does not trust) is no peer, as in {@code request} mode.
         */
        private Optional<X509Certificate> verified(Optional<byte[]> der) {
            if (der.isEmpty()) return Optional.empty();
            X509Certificate certificate;
            try {
                certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(der.get()));
            } catch (CertificateException | ClassCastException e) {
                log.info("{} link: the asserted client certificate is not one: {}", link.logId(), e.getMessage());
                return Optional.empty();
            }
            PeerVerification verification = clientCertificates.apply(List.of(certificate));
            if (verification instanceof PeerVerification.Verified v) return Optional.of(v.leaf());
            log.info("{} link: the asserted client certificate {} does not verify here: {}", link.logId(),
                    certificate.getSerialNumber().toString(16), verification instanceof PeerVerification.Rejected r
                            ? r.reason() : "none");
            return Optional.empty();
        }

        /** Logs the session and gives it, on a channel of its own, to {@code service} with the client as asserted. */
        private void hand(ProtocolService service, LinkOpening opening, InetAddress client, Optional<X509Certificate> peer) {
            InetSocketAddress from = new InetSocketAddress(client, opening.clientPort());
            CarriedChannel channel = new CarriedChannel(ctx.channel(), this, from);
            ctx.channel().eventLoop().register(channel);
            session = channel;
            state = State.CARRYING;
            Connection carried = link.carry(channel, from);
            // docs/roles.md §2: the client as asserted in logs and rules, the edge as the peer.
            log.info("{} link session {} for {} from client {}:{} via edge {} ({}) link {} session {} tls={} certificate={}{}",
                    carried.logId(), opening.protocol(), opening.account(), opening.client(), opening.clientPort(),
                    edge.name(), link.remote().getAddress().getHostAddress(), link.logId(), opening.session(),
                    opening.tls().map(t -> t + "/" + opening.cipher().orElse("-")).orElse("none"),
                    opening.certificateSerial().orElse("-"),
                    opening.imapId().isEmpty() ? "" : " id=" + opening.imapId());
            channel.closeFuture().addListener(f -> log.info("{} link session end: {} octets in, {} out", carried.logId(),
                    carried.bytesIn(), carried.bytesOut()));
            if (READS_CLIENT_TLS.contains(opening.protocol())) {
                // HTTPS and LDAP read the client's TLS themselves (EST, LDAP's bind): the asserted one, not the link's.
                carried.relayedFor(from, opening.tls().map(version -> new Connection.TlsInfo(version,
                        opening.cipher().orElse(""), peer)));
            }
            service.openRelayed(carried, channel.pipeline(), opening);
        }

        private void refuse(String reason) {
            log.warn("{} link from edge {}: bad opening line: {}", link.logId(), edge.name(), reason);
            received.skipBytes(received.readableBytes());
            send(Unpooled.copiedBuffer(new LinkOpening.Refused(LinkOpening.Refused.PROTOCOL, "Bad opening line").line(),
                    StandardCharsets.US_ASCII));
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> ctx.close());
            state = State.CARRYING;
        }

        /** Answers the opening with a refusal, which ends the session on this side. */
        private void answer(LinkOpening.Refused refused) {
            state = State.CARRYING;
            send(Unpooled.copiedBuffer(refused.line(), StandardCharsets.US_ASCII));
            ended();
        }

        /** The edge ended the session: the client has gone, or the session is over on both sides. */
        private void edgeEnded() {
            edgeEnded = true;
            if (session != null) session.close();
            if (nodeEnded) between();
        }

        @Override
        public void send(ByteBuf payload) {
            if (!ctx.channel().isActive()) {
                payload.release(); // the link is gone, and the session with it
                return;
            }
            LinkFrames.writeFrames(ctx, payload, ctx.voidPromise());
        }

        @Override
        public void flush() {
            ctx.flush();
        }

        @Override
        public boolean writable() {
            return ctx.channel().isWritable();
        }

        @Override
        public void ended() {
            if (nodeEnded) return;
            nodeEnded = true;
            if (!ctx.channel().isActive()) return;
            LinkFrames.writeEnd(ctx, ctx.voidPromise());
            ctx.flush();
            if (edgeEnded) between();
        }

        @Override
        public void drained() {
            if (!paused) return;
            paused = false;
            ctx.channel().config().setAutoRead(true);
        }

        /** Both sides ended the session: the link waits for the next opening line. */
        private void between() {
            session = null;
            edgeEnded = false;
            nodeEnded = false;
            state = State.OPENING;
            drained();
            if (closeWhenIdle) ctx.close();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable() && session != null) session.linkWritable();
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (session != null) session.close();
            ctx.fireChannelInactive();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof Transport.ShutdownEvent || event instanceof SessionRegistry.Departure) {
                // The sessions on the link get their own event; the link goes when it carries none.
                closeWhenIdle = true;
                if (state == State.OPENING && session == null) ctx.close();
                return;
            }
            ctx.fireUserEventTriggered(event);
        }
    }

    /** Where a link is in its current session. */
    private enum State {
        /** Waiting for the edge's opening line. */
        OPENING,
        /** Checking the client certificate an opening asserts. */
        CHECKING,
        /** Carrying a session's frames, until both sides have ended it. */
        CARRYING
    }
}
