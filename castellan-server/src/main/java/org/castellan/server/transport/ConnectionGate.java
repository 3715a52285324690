package org.castellan.server.transport;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.castellan.security.rules.RuleAction;
import org.castellan.security.tls.PeerVerification;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.TlsMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one connection path of docs/design.md §2, for one accepted connection: (PROXY header from a
 * trusted upstream) → connection rules → connection caps → TLS → protocol session.
 *
 * <p>SECURITY: nothing is read from or written to the client before the connection rules have
 * admitted it. On an implicit-TLS listener the protocol is opened only after a successful
 * handshake, so a client the device gate refuses never sees a protocol byte. A PROXY header is
 * honoured only from an upstream the listener trusts (the caller decides before installing the
 * decoder); from anyone else the bytes would be a protocol error, never an address.
 *
 * <p>A connection beyond the server's ceiling, or beyond its listener's caps for the client's
 * address or network ({@link ConnectionCounts}), is refused the moment it is known: with the
 * protocol's one-line refusal, or without a byte on implicit TLS, and closed; it never reaches TLS
 * or a session. A client certificate exempts nobody: it is seen only after the handshake that the
 * cap protects. Where the protocol logs in, the login timeout runs from accept, so a handshake
 * trickled a byte at a time cannot extend it.
 */
final class ConnectionGate extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(ConnectionGate.class);

    private final Connection connection;
    private final ListenerContext listener;
    private final boolean awaitProxyHeader;
    private boolean admitted;
    private boolean handshakeFailed;
    private boolean sessionOpen;
    /** The client's address as counted against the listener's caps; null until counted. */
    private InetAddress counted;

    ConnectionGate(Connection connection, ListenerContext listener, boolean awaitProxyHeader) {
        this.connection = connection;
        this.listener = listener;
        this.awaitProxyHeader = awaitProxyHeader;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // Before anything else, the PROXY header included: a connection over the ceiling must not
        // hold a descriptor while it waits for anything.
        if (!listener.counts().enterServer()) {
            refuse(ctx, ConnectionCounts.Cap.SERVER);
            return;
        }
        ctx.channel().closeFuture().addListener(f -> {
            listener.counts().leaveServer();
            if (counted != null) listener.caps().leave(counted);
        });
        listener.service().loginTimeout(listener.config()).ifPresent(timeout -> startLoginDeadline(ctx, timeout));
        if (!awaitProxyHeader) admit(ctx);
        ctx.fireChannelActive();
    }

    private void startLoginDeadline(ChannelHandlerContext ctx, Duration timeout) {
        ScheduledFuture<?> deadline = ctx.executor().schedule(() -> loginDeadlinePassed(ctx), timeout.toNanos(),
                TimeUnit.NANOSECONDS);
        ctx.channel().closeFuture().addListener(f -> deadline.cancel(false));
    }

    /**
     * An open session decides (it may have logged in); before one is open, a TLS handshake or a
     * PROXY header still unfinished at the deadline ends the connection without a word.
     */
    private void loginDeadlinePassed(ChannelHandlerContext ctx) {
        if (!ctx.channel().isActive()) return;
        if (sessionOpen) {
            ctx.fireUserEventTriggered(LoginDeadline.PASSED);
            return;
        }
        log.info("{} login timeout before the session opened: {} from {} unfinished", connection.logId(),
                admitted ? "TLS handshake" : "PROXY header", connection.remote().getAddress().getHostAddress());
        ctx.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!admitted && msg instanceof HAProxyMessage proxy) {
            try {
                // A LOCAL command is the proxy's own health check: keep the socket's address.
                if (proxy.command() == HAProxyCommand.PROXY && proxy.sourceAddress() != null) {
                    connection.remote(new InetSocketAddress(proxy.sourceAddress(), proxy.sourcePort()));
                }
            } finally {
                ReferenceCountUtil.release(proxy);
            }
            admit(ctx);
            return;
        }
        if (!admitted) {
            // Bytes before admission can only come from a broken PROXY exchange; never act on them.
            ReferenceCountUtil.release(msg);
            ctx.close();
            return;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done) {
            if (done.isSuccess()) {
                var ssl = ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class);
                var verification = connection.handshakeCompleted(ssl.engine().getSession());
                if (verification instanceof PeerVerification.Rejected rejected) {
                    // client-cert "request": a certificate that does not verify counts as none.
                    log.info("{} client certificate from {} not accepted, continuing without one: {}",
                            connection.logId(), connection.remote().getAddress().getHostAddress(), rejected.reason());
                }
                log.debug("{} TLS {} {}", connection.logId(), connection.tls().get().protocol(),
                        connection.tls().get().cipherSuite());
                if (listener.config().tls() == TlsMode.IMPLICIT) openProtocol(ctx);
            } else {
                log.info("{} TLS handshake from {} failed: {}", connection.logId(),
                        connection.remote().getAddress().getHostAddress(), rootMessage(done.cause()));
                handshakeFailed = true;
                ctx.close();
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // The client gets no stack trace; the log gets one line (a failed handshake has had its own).
        if (!handshakeFailed) log.info("{} closed after error: {}", connection.logId(), rootMessage(cause));
        ctx.close();
    }

    private void admit(ChannelHandlerContext ctx) {
        admitted = true; // the PROXY decoder, if any, has removed itself after its one header
        RuleAction action = listener.rules().decide(connection.remote().getAddress(), listener.config().name());
        switch (action) {
            case DENY -> {
                listener.denied().incrementAndGet();
                log.info("{} denied by connection rules: {} on {}", connection.logId(),
                        connection.remote().getAddress().getHostAddress(), listener.config().name());
                ctx.close();
                return;
            }
            case REQUIRE_CERT -> connection.clientCertMode(ClientCertMode.REQUIRE);
            case REQUEST_CERT -> {
                if (connection.clientCertMode() == ClientCertMode.NONE) connection.clientCertMode(ClientCertMode.REQUEST);
            }
            case ALLOW -> { }
        }
        InetAddress client = connection.remote().getAddress();
        ConnectionCounts.Cap over = listener.caps().enter(client);
        if (over != null) {
            refuse(ctx, over);
            return;
        }
        counted = client;
        listener.registry().register(connection);
        ctx.channel().closeFuture().addListener(f -> listener.registry().unregister(connection));
        log.debug("{} accepted from {} on {}", connection.logId(),
                connection.remote().getAddress().getHostAddress(), listener.config().name());
        if (listener.config().tls() == TlsMode.IMPLICIT) {
            ctx.pipeline().addBefore(ctx.name(), "tls", connection.newTlsHandler(false));
        } else {
            openProtocol(ctx);
        }
    }

    /**
     * Opens the protocol session and logs its start; its end is logged once, when the channel
     * closes, with what the session amounted to (account, TLS, bytes, duration). Protocol
     * sessions log only their own events in between; authentication is AuthService's line.
     */
    private void openProtocol(ChannelHandlerContext ctx) {
        String protocol = listener.config().protocol() == Protocol.SUBMISSION ? "smtp"
                : listener.config().protocol().name().toLowerCase(Locale.ROOT);
        log.info("{} {} session start: listener {} from {}{}", connection.logId(), protocol, listener.config().name(),
                connection.remote().getAddress().getHostAddress(), connection.tls().map(t -> " " + t.protocol()).orElse(""));
        long opened = System.nanoTime();
        ctx.channel().closeFuture().addListener(f -> log.info(
                "{} {} session end: account={} mechanism={} tls={} in={} out={} ms={}", connection.logId(), protocol,
                connection.account().orElse("-"), connection.mechanism().orElse("-"),
                connection.tls().map(t -> t.protocol() + "/" + t.cipherSuite()).orElse("none"),
                connection.bytesIn(), connection.bytesOut(), (System.nanoTime() - opened) / 1_000_000));
        sessionOpen = true;
        try {
            listener.service().open(connection, ctx.pipeline());
        } catch (RuntimeException e) {
            log.warn("{} protocol {} failed to open", connection.logId(), listener.config().protocol(), e);
            ctx.close();
        }
    }

    /**
     * Refuses a connection over a cap: the protocol's refusal line and close, or on implicit TLS,
     * where nothing may be said before the handshake, close alone. Either way at once: a refused
     * client never holds a descriptor while the server waits for it.
     */
    private void refuse(ChannelHandlerContext ctx, ConnectionCounts.Cap cap) {
        listener.refusals().note(connection, listener.config().name(), cap, switch (cap) {
            case SERVER -> listener.counts().ceiling();
            case ADDRESS -> listener.config().limits().perAddress();
            case NETWORK -> listener.config().limits().perNetwork();
        });
        String line = listener.config().tls() == TlsMode.IMPLICIT ? null : listener.service().refusal(switch (cap) {
            case SERVER -> "Too many connections, try again later";
            case ADDRESS -> "Too many connections from your address, try again later";
            case NETWORK -> "Too many connections from your network, try again later";
        });
        if (line == null) {
            ctx.close();
        } else {
            ctx.writeAndFlush(Unpooled.copiedBuffer(line + "\r\n", StandardCharsets.US_ASCII))
                    .addListener(ChannelFutureListener.CLOSE);
        }
    }

    static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        return root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage());
    }

    /** What every connection of one listener shares. */
    record ListenerContext(org.castellan.server.config.Listener config,
                           org.castellan.security.rules.ConnectionRules rules,
                           ProtocolService service, SessionRegistry registry,
                           AtomicLong denied, ConnectionCounts counts, ConnectionCounts.PerListener caps,
                           Refusals refusals) {
    }

    /** Fired through an open session's pipeline when the login timeout has passed since accept. */
    enum LoginDeadline { PASSED }

    /**
     * A listener's refusals by the connection caps: counted, and logged at most once every
     * {@link #LOG_INTERVAL}, since a flood of connections must not become a flood of log lines.
     */
    static final class Refusals {

        /** One line every ten seconds tells the operator all a flood's lines would. */
        static final Duration LOG_INTERVAL = Duration.ofSeconds(10);

        private final AtomicLong count = new AtomicLong();
        private final AtomicLong logged = new AtomicLong();
        private final AtomicLong lastLine = new AtomicLong(System.nanoTime() - LOG_INTERVAL.toNanos());

        long count() {
            return count.get();
        }

        void note(Connection connection, String listener, ConnectionCounts.Cap cap, int limit) {
            long n = count.incrementAndGet();
            long now = System.nanoTime();
            long last = lastLine.get();
            if (now - last < LOG_INTERVAL.toNanos() || !lastLine.compareAndSet(last, now)) return;
            long since = n - logged.getAndSet(n);
            String what = switch (cap) {
                case SERVER -> "the server holds max-connections = " + limit;
                case ADDRESS -> "its address holds max-connections-per-address = " + limit;
                case NETWORK -> "its network holds max-connections-per-network = " + limit;
            };
            log.warn("{} refused {} on {}: {} ({} refused since the last such line)", connection.logId(),
                    connection.remote().getAddress().getHostAddress(), listener, what, since);
        }
    }
}
