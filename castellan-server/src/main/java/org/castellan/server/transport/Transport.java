package org.castellan.server.transport;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.util.concurrent.EventExecutor;
import io.netty.channel.ChannelFactory;
import io.netty.channel.socket.SocketProtocolFamily;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.spi.SelectorProvider;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.castellan.security.rules.Cidr;
import org.castellan.security.rules.ConnectionRules;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's listeners, all sharing one group of event loops, one set of connection rules, one
 * TLS policy and one {@link SessionRegistry}.
 *
 * <p>With native epoll every event loop has its own listening socket per listener
 * ({@code SO_REUSEPORT}): the kernel spreads new connections over them, and the loop that
 * accepts a connection serves it, so no connection is handed from an accepting thread to another
 * thread (a wake-up and a context switch per connection, a fifth of a TLS handshake's CPU). A
 * plain bind first checks that nobody listens on the port, so a second server configured with
 * the same port fails as without {@code SO_REUSEPORT}. Without epoll one NIO acceptor thread
 * hands connections to the loops.
 *
 * <p>SECURITY: every accepted connection goes through {@link ConnectionGate}; there is no other
 * way for a socket to reach a protocol session.
 */
public final class Transport implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Transport.class);

    static final String BYTE_COUNTER = "bytes";
    /**
     * Output a connection may queue before it stops being writable: sessions then stop running
     * commands and reading input until it has drained below {@link #WRITE_LOW_WATER}, so a client
     * that does not read holds about this much server memory, not what it asked for.
     */
    public static final int WRITE_HIGH_WATER = 64 * 1024;
    /** Where a connection becomes writable again: enough left queued to keep the socket busy. */
    public static final int WRITE_LOW_WATER = 32 * 1024;
    /** Pending connections the kernel queues per listener before accept. */
    private static final int ACCEPT_BACKLOG = 1024;

    /** One listening socket per event loop (epoll); otherwise {@link #acceptors} accepts for all. */
    private final boolean reusePort;
    private final EventLoopGroup acceptors;
    private final EventLoopGroup workers;
    private final Class<? extends ServerChannel> serverChannel;
    private final SessionRegistry registry;
    private final ConnectionRules rules;
    private final TlsPolicy tls;
    private final Clock clock;
    private final Map<String, Bound> bound = new LinkedHashMap<>();
    private final ConnectionCounts counts;

    /** With the default ceiling, {@link Server#DEFAULT_MAX_CONNECTIONS}. */
    public Transport(SessionRegistry registry, ConnectionRules rules, TlsPolicy tls, Clock clock) {
        this(registry, rules, tls, clock, Server.DEFAULT_MAX_CONNECTIONS);
    }

    /**
     * @param maxConnections live connections of every listener together; one more is refused at
     *     once (keep it below the process's file-descriptor limit: StartChecks does)
     */
    public Transport(SessionRegistry registry, ConnectionRules rules, TlsPolicy tls, Clock clock, int maxConnections) {
        this.counts = new ConnectionCounts(maxConnections);
        this.registry = registry;
        this.rules = rules;
        this.tls = tls;
        this.clock = clock;
        IoHandlerFactory io;
        if (Epoll.isAvailable()) {
            io = EpollIoHandler.newFactory();
            serverChannel = EpollServerSocketChannel.class;
        } else {
            log.info("native epoll unavailable ({}); using NIO", Epoll.unavailabilityCause().getMessage());
            io = NioIoHandler.newFactory();
            serverChannel = NioServerSocketChannel.class;
        }
        reusePort = Epoll.isAvailable();
        acceptors = reusePort ? null : new MultiThreadIoEventLoopGroup(1, io);
        workers = new MultiThreadIoEventLoopGroup(0, io);
    }

    /**
     * Binds one listener. Fails with the OS's reason (address in use, permission denied) naming
     * the listener, address and port.
     */
    public InetSocketAddress bind(Listener listener, ProtocolService service) {
        return bind(listener, service, tls);
    }

    /**
     * Binds one listener whose TLS is {@code listenerTls} rather than the server's: the link,
     * which trusts the node CA alone over TLS 1.3 (docs/roles.md §2). The accept path (rules,
     * TLS, the gate) is the same.
     */
    public InetSocketAddress bind(Listener listener, ProtocolService service, TlsPolicy listenerTls) {
        List<Cidr> proxyFrom = listener.proxyFrom().stream().map(Cidr::parse).toList();
        var context = new ConnectionGate.ListenerContext(listener, rules, service, registry, new AtomicLong(), counts,
                new ConnectionCounts.PerListener(listener.limits()), new ConnectionGate.Refusals());
        ChannelInitializer<SocketChannel> accepted = new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        InetSocketAddress peer = ch.remoteAddress();
                        var connection = new Connection(registry.nextId(), listener, ch, peer, clock.instant(), listenerTls,
                                registry);
                        boolean proxied = proxyFrom.stream().anyMatch(c -> c.contains(peer.getAddress()));
                        ch.pipeline().addLast(BYTE_COUNTER, new ByteCounter(connection));
                        if (proxied) ch.pipeline().addLast(new HAProxyMessageDecoder());
                        ch.pipeline().addLast("gate", new ConnectionGate(connection, context, proxied));
                    }
                };
        List<Channel> channels = new ArrayList<>();
        try {
            InetAddress address = bindAddress(listener);
            if (reusePort) {
                int port = freePort(listener, address, accepted);
                for (EventExecutor e : workers) {
                    EventLoop loop = (EventLoop) e;
                    channels.add(bootstrap(loop, loop, address, accepted).option(EpollChannelOption.SO_REUSEPORT, true)
                            .bind(address, port).syncUninterruptibly().channel());
                }
            } else {
                channels.add(bootstrap(acceptors, workers, address, accepted).bind(address, listener.port())
                        .syncUninterruptibly().channel());
            }
        } catch (Exception e) { // Netty rethrows the bind's IOException unchecked
            channels.forEach(c -> c.close().syncUninterruptibly());
            throw new IllegalStateException("listener " + listener.name() + ": cannot listen on "
                    + listener.address() + ":" + listener.port() + ": " + ConnectionGate.rootMessage(e), e);
        }
        InetSocketAddress local = (InetSocketAddress) channels.get(0).localAddress();
        bound.put(listener.name(), new Bound(listener, List.copyOf(channels), local, context.denied(), context.refusals()));
        log.info("listening: {} ({}, {}) on {}:{}", listener.name(), listener.protocol().name().toLowerCase(),
                listener.tls().name().toLowerCase(), local.getAddress().getHostAddress(), local.getPort());
        return local;
    }

    /**
     * What a listener binds: exactly the address written, "localhost" being 127.0.0.1. An IPv4
     * address gets an IPv4 socket, so that 0.0.0.0 means every IPv4 address and not, as a
     * dual-stack socket would make it, the IPv6 wildcard too. "::" stays dual-stack where the
     * system makes it so (Linux's net.ipv6.bindv6only = 0), as documented for listener.address.
     */
    static InetAddress bindAddress(Listener listener) throws UnknownHostException {
        return InetAddress.getByName(listener.address().equals("localhost") ? "127.0.0.1" : listener.address());
    }

    private ServerBootstrap bootstrap(EventLoopGroup accepting, EventLoopGroup serving, InetAddress address,
                                      ChannelInitializer<SocketChannel> accepted) {
        SocketProtocolFamily family = address instanceof Inet4Address ? SocketProtocolFamily.INET : SocketProtocolFamily.INET6;
        ChannelFactory<ServerChannel> sockets = serverChannel == EpollServerSocketChannel.class
                ? () -> new EpollServerSocketChannel(family)
                : () -> new NioServerSocketChannel(SelectorProvider.provider(), family);
        return new ServerBootstrap()
                .group(accepting, serving)
                .channelFactory(sockets)
                .option(ChannelOption.SO_BACKLOG, ACCEPT_BACKLOG)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(WRITE_LOW_WATER, WRITE_HIGH_WATER))
                .childHandler(accepted);
    }

    /**
     * Binds the listener's address once without {@code SO_REUSEPORT} and lets go: that fails when
     * anyone already listens there (the {@code SO_REUSEPORT} group would not), and for port 0
     * finds the port the group then binds.
     */
    private int freePort(Listener listener, InetAddress address, ChannelInitializer<SocketChannel> accepted) {
        EventLoop loop = workers.next();
        Channel probe = bootstrap(loop, loop, address, accepted).bind(address, listener.port()).syncUninterruptibly().channel();
        int port = ((InetSocketAddress) probe.localAddress()).getPort();
        probe.close().syncUninterruptibly();
        return port;
    }

    /** The address each listener is bound to, by listener name, in configuration order. */
    public Map<String, InetSocketAddress> addresses() {
        Map<String, InetSocketAddress> out = new LinkedHashMap<>();
        bound.forEach((name, b) -> out.put(name, b.address()));
        return out;
    }

    /** Connections the rules refused on a listener since start. */
    public long denied(String listener) {
        Bound b = bound.get(listener);
        return b == null ? 0 : b.denied().get();
    }

    /** Connections refused on a listener since start because the server, or the client's address or network, held too many. */
    public long refused(String listener) {
        Bound b = bound.get(listener);
        return b == null ? 0 : b.refusals().count();
    }

    public SessionRegistry registry() {
        return registry;
    }

    /** Stops accepting new connections; live ones go on. */
    public void stopAccepting() {
        List<Channel> channels = new ArrayList<>();
        bound.values().forEach(b -> channels.addAll(b.channels()));
        channels.forEach(c -> c.close().syncUninterruptibly());
    }

    /**
     * Graceful stop: no new connections, live sessions get {@code grace} to finish (protocols
     * see {@link ShutdownEvent} and say goodbye), then the rest are closed.
     */
    public void shutdown(Duration grace) {
        stopAccepting();
        for (Connection c : registry.list()) c.channel().pipeline().fireUserEventTriggered(ShutdownEvent.INSTANCE);
        long deadline = System.nanoTime() + grace.toNanos();
        for (Connection c : registry.list()) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !c.channel().closeFuture().awaitUninterruptibly(left, TimeUnit.NANOSECONDS)) c.close();
        }
        close();
    }

    @Override
    public void close() {
        stopAccepting();
        registry.closeWhere(c -> true);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        if (acceptors != null) acceptors.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private record Bound(Listener listener, List<Channel> channels, InetSocketAddress address, AtomicLong denied,
                         ConnectionGate.Refusals refusals) {
    }

    /** Fired through each live connection's pipeline when the server shuts down gracefully. */
    public enum ShutdownEvent { INSTANCE }
}
