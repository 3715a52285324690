package org.castellan.server.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.AuthLog;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.ScramSecret;
import org.castellan.security.rules.ConnectionRules;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.StoreCredentials;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.Smtp;
import org.castellan.server.config.TlsMode;
import org.castellan.server.imap.ImapService;
import org.castellan.server.pop3.Pop3Service;
import org.castellan.server.smtp.SmtpLimits;
import org.castellan.server.smtp.SmtpService;
import org.castellan.store.Account;
import org.castellan.store.MailStore;
import org.castellan.store.NewMessage;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.testkit.TestPki;
import org.sqlite.SQLiteConfig;

/**
 * A real server without sockets, for fuzz targets that drive whole sessions: the embedded store
 * on a temporary directory (on /dev/shm where there is one), one AuthService, the IMAP, POP3
 * and SMTP services, each behind a listener reached through Netty's in-process channels along
 * the path a TCP connection takes ({@link ByteCounter}, {@link ConnectionGate}, the protocol's
 * session). One per JVM, since fuzzing runs many thousands of sessions; each starts with
 * {@link #reset} and {@link #connect}.
 *
 * <p>What makes a session cheap enough for millions: the account is made afresh only when an
 * earlier session committed anything to the store (SQLite's {@code PRAGMA data_version}, read
 * on a connection of its own, changes with every commit of another connection), and the client
 * waits for the server by being woken when anything happens on the connection or the store
 * work ends, then asking the session whether it is done, instead of asking every few
 * microseconds.
 */
final class FuzzedServer {

    enum Kind { IMAP, POP3, SMTP, SUBMISSION }

    static final String USER = "fuzz@example.org";
    static final String PASSWORD = "fuzz password";
    /**
     * Small enough that COPY 1:* doubling the mailbox a few times stops at OVERQUOTA rather than
     * at a million messages, large enough for every message of a session.
     */
    static final long QUOTA = 256 * 1024;
    /**
     * How long a session may neither answer nor close. Far beyond any command on a small
     * mailbox, even on a loaded machine; a session that takes longer is stuck.
     */
    static final Duration QUIET_LIMIT = Duration.ofSeconds(30);
    /** What one session may send before the client stops reading and the target fails. */
    static final int MAX_OUTPUT = 16 * 1024 * 1024;

    /** The messages every session finds in INBOX: UIDs 1 to 3, a multipart one, one with a nested message. */
    static final List<String> MESSAGES = List.of(
            "Date: Thu, 1 Feb 2024 09:00:00 +0100\r\nFrom: Carol <carol@example.net>\r\nTo: fuzz@example.org\r\n"
                    + "Subject: one\r\nMessage-ID: <1@example.net>\r\n\r\nHello there\r\n.leading dot\r\n",
            "From: dave@example.net\r\nTo: fuzz@example.org\r\nSubject: =?utf-8?q?two_=C3=A9?=\r\n"
                    + "Message-ID: <2@example.net>\r\nIn-Reply-To: <1@example.net>\r\nMIME-Version: 1.0\r\n"
                    + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n"
                    + "Content-Type: text/plain; charset=us-ascii\r\n\r\npart one\r\n--b1\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b1--\r\n",
            "From: Erin <erin@example.com>\r\nTo: Team: fuzz@example.org, other@example.org;\r\nSubject: Fwd: one\r\n"
                    + "MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\nFrom: carol@example.net\r\nSubject: one\r\n\r\n"
                    + "inner body\r\n");

    /**
     * The MX listeners' limits on unknown recipients ({@code [smtp]}): the defaults' counts, so a
     * session is slowed after three and closed after ten, but a delay of a millisecond instead
     * of a second, which still takes the event loop's timer.
     */
    private static final Smtp HARVESTING = new Smtp(Smtp.DEFAULT_DELAY_AFTER, Duration.ofMillis(1), Smtp.DEFAULT_LIMIT,
            Smtp.DEFAULT_SOURCE_LIMIT, Smtp.DEFAULT_WINDOW);
    /**
     * The longest the client sleeps between two looks at the session when nothing woke it: a
     * bound on what a wake-up the probes do not send would cost, not a wait for anything.
     */
    private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private static FuzzedServer instance;

    private final Path directory;
    private final EmbeddedMailStore store;
    private final AuthService auth;
    private final Wakeups wakeups = new Wakeups();
    private final CountingExecutor blocking = new CountingExecutor(wakeups);
    private final EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
    private final String secret = ScramSecret.derive(PASSWORD.toCharArray(), ScramSecret.MIN_ITERATIONS).encode();
    private final Map<Kind, LocalAddress> addresses = new EnumMap<>(Kind.class);
    private final List<Channel> listening = new ArrayList<>();
    private final AtomicLong ids = new AtomicLong();
    /** The server side of the connection accepted last: one session runs at a time. */
    private final AtomicReference<Channel> accepted = new AtomicReference<>();
    private long accountId = -1;
    private long inboxId = -1;
    /** A read-only connection to the store's database that sees whether anything was committed since it last looked. */
    private final java.sql.Connection watcher;
    /** {@link #dataVersion} right after the last {@link #reset}: the store as a session starts from. */
    private long resetVersion = Long.MIN_VALUE;

    static synchronized FuzzedServer get() {
        if (instance == null) {
            instance = new FuzzedServer();
            Runtime.getRuntime().addShutdownHook(new Thread(instance::close, "fuzzed-server-stop"));
        }
        return instance;
    }

    private FuzzedServer() {
        try {
            Path shm = Path.of("/dev/shm");
            Path parent = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
            directory = Files.createTempDirectory(parent, "castellan-fuzz-");
            TestPki pki = TestPki.create(Files.createDirectories(directory.resolve("pki")));
            TlsPolicy tls = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, pki.server().chainFile(), pki.server().keyFile()).build();
            // The text index is off: it would index on a thread of its own, at times no input decides.
            store = EmbeddedMailStore.open(directory.resolve("data"), EmbeddedMailStore.Options.defaults().withTextIndex(false));
            store.createDomain("example.org");
            SQLiteConfig readOnly = new SQLiteConfig();
            readOnly.setReadOnly(true);
            watcher = readOnly.createConnection("jdbc:sqlite:" + directory.resolve("data").resolve("mail.db").toAbsolutePath());
            AuthSettings d = AuthSettings.defaults();
            // No delays or blocks: every session fails logins on purpose, all for one account.
            auth = new AuthService(new StoreCredentials(store), new AuthSettings(ScramSecret.MIN_ITERATIONS, d.plainCacheSize(),
                    Integer.MAX_VALUE - 1, Integer.MAX_VALUE, Integer.MAX_VALUE - 1, Integer.MAX_VALUE, Duration.ZERO,
                    Duration.ZERO, d.blockDuration(), d.failureMemory(), d.maxTracked(), 1), Clock.systemUTC(), AuthLog.NONE);
            Map<Kind, ProtocolService> services = Map.of(
                    Kind.IMAP, new ImapService(store, auth, blocking, ImapService.AUTOLOGOUT, "localhost", Set.of(USER), Optional.empty()),
                    Kind.POP3, new Pop3Service(store, auth, blocking),
                    Kind.SMTP, new SmtpService("localhost", store, auth, blocking, Clock.systemUTC(), SmtpLimits.DEFAULTS,
                            Optional.empty(), MessageSpool.SYSTEM_TEMP, HARVESTING),
                    Kind.SUBMISSION, new SmtpService("localhost", store, auth, blocking, Clock.systemUTC(), SmtpLimits.DEFAULTS,
                            Optional.empty(), MessageSpool.SYSTEM_TEMP, HARVESTING));
            SessionRegistry registry = new SessionRegistry();
            ConnectionCounts counts = new ConnectionCounts(Integer.MAX_VALUE);
            for (Kind kind : Kind.values()) {
                Protocol protocol = Protocol.valueOf(kind.name());
                Listener listener = new Listener(kind.name().toLowerCase(), protocol, "127.0.0.1", 0, TlsMode.STARTTLS,
                        ClientCertMode.NONE, protocol != Protocol.SMTP, List.of());
                var context = new ConnectionGate.ListenerContext(listener, ConnectionRules.none(), services.get(kind), registry,
                        new AtomicLong(), counts, new ConnectionCounts.PerListener(listener.limits()), new ConnectionGate.Refusals());
                LocalAddress address = new LocalAddress("castellan-fuzz-" + kind.name().toLowerCase() + "-" + ProcessHandle.current().pid());
                listening.add(new ServerBootstrap().group(loop).channel(LocalServerChannel.class)
                        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                                new WriteBufferWaterMark(Transport.WRITE_LOW_WATER, Transport.WRITE_HIGH_WATER))
                        .childHandler(new ChannelInitializer<LocalChannel>() {
                            @Override
                            protected void initChannel(LocalChannel ch) {
                                // What Transport.bind does for a TCP connection, without a PROXY header.
                                long id = ids.incrementAndGet();
                                var connection = new Connection(id, listener, ch, remote(id), Instant.now(), tls);
                                ch.pipeline().addLast("fuzz-probe", new Probe());
                                ch.pipeline().addLast(Transport.BYTE_COUNTER, new ByteCounter(connection));
                                ch.pipeline().addLast("gate", new ConnectionGate(connection, context, false));
                                accepted.set(ch);
                                wakeups.wake();
                            }
                        }).bind(address).syncUninterruptibly().channel());
                addresses.put(kind, address);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot open the store's database to watch it", e);
        }
    }

    /**
     * Each connection comes from an address of its own in 127.0.0.0/8 (16 million before one
     * repeats): what the server remembers per client address (unknown recipients, failed logins)
     * carries nothing from one input to the next.
     */
    private static InetSocketAddress remote(long id) {
        byte[] address = {127, (byte) (id >> 16), (byte) (id >> 8), (byte) id};
        try {
            return new InetSocketAddress(InetAddress.getByAddress(address), 40_000);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError("four octets are an address", e);
        }
    }

    MailStore store() {
        return store;
    }

    long accountId() {
        return accountId;
    }

    long inbox() {
        return inboxId;
    }

    /**
     * Whether nothing has been committed to the store since the last {@link #reset}: the account
     * is exactly as it left it. SQLite changes {@code PRAGMA data_version} on a connection
     * whenever another connection commits (sqlite.org/pragma.html#pragma_data_version).
     */
    boolean untouched() {
        return dataVersion() == resetVersion;
    }

    private long dataVersion() {
        try (Statement st = watcher.createStatement(); ResultSet rs = st.executeQuery("PRAGMA data_version")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the store's data version", e);
        }
    }

    /**
     * A fresh account {@link #USER} with {@link #MESSAGES} in its INBOX: what earlier sessions
     * created, flagged or deleted is gone (UIDVALIDITY and mailbox ids are new). When no session
     * committed anything since the last reset, the account is already that and stays.
     */
    void reset() {
        if (untouched()) return;
        store.getAccount(EmailAddress.of(USER)).ifPresent(a -> store.deleteAccount(a.id()));
        Account account = store.createAccount(EmailAddress.of(USER), secret, OptionalLong.of(QUOTA));
        accountId = account.id();
        inboxId = store.getMailbox(accountId, "INBOX").orElseThrow().id();
        List<NewMessage> seeds = MESSAGES.stream().map(m -> new NewMessage(
                () -> new java.io.ByteArrayInputStream(m.getBytes(StandardCharsets.UTF_8)), Set.of(),
                Instant.parse("2024-02-01T10:00:00Z"))).toList();
        store.appendAll(inbox(), seeds);
        // Seen by an earlier session, so no session gets them as \Recent by chance of timing.
        store.claimRecent(inbox(), MESSAGES.size());
        resetVersion = dataVersion();
    }

    /** Opens a connection to {@code kind}'s listener and waits for the greeting. */
    Session connect(Kind kind) {
        accepted.set(null);
        Session session = new Session();
        Channel client = new Bootstrap().group(loop).channel(LocalChannel.class).handler(session)
                .connect(addresses.get(kind)).syncUninterruptibly().channel();
        session.client = client;
        long deadline = System.nanoTime() + QUIET_LIMIT.toNanos();
        while (true) {
            long seen = wakeups.count();
            if (accepted.get() != null && session.received().length > 0) break;
            if (System.nanoTime() > deadline) throw new AssertionError("no greeting from " + kind);
            wakeups.await(seen);
        }
        session.server = accepted.get();
        session.awaitQuiet();
        return session;
    }

    private void close() {
        listening.forEach(c -> c.close().syncUninterruptibly());
        try {
            watcher.close();
        } catch (SQLException e) {
            // closing a read-only connection; the store closes next
        }
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        blocking.shutdownNow();
        auth.close();
        store.close();
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory; the system cleans it up
        }
    }

    /** The client's end of one connection: what it sent and received, and waiting for the server. */
    final class Session extends ChannelInboundHandlerAdapter {
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
        private volatile boolean closed;
        private volatile boolean layered;
        private Channel client;
        private Channel server;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                ByteBuf b = (ByteBuf) msg;
                synchronized (received) {
                    if (received.size() + b.readableBytes() > MAX_OUTPUT) {
                        ctx.close();
                        throw new AssertionError("more than " + MAX_OUTPUT + " octets of output");
                    }
                    b.readBytes(received, b.readableBytes());
                }
                wakeups.wake();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed = true;
            wakeups.wake();
            ctx.fireChannelInactive();
        }

        /** Sends {@code bytes} and waits until the session has acted on them: it waits for input, or it closed. */
        void send(byte[] bytes) {
            sent.writeBytes(bytes);
            if (closed) return;
            client.writeAndFlush(Unpooled.wrappedBuffer(bytes)).awaitUninterruptibly();
            awaitQuiet();
        }

        void send(String text) {
            send(text.getBytes(StandardCharsets.UTF_8));
        }

        byte[] received() {
            synchronized (received) {
                return received.toByteArray();
            }
        }

        byte[] sent() {
            return sent.toByteArray();
        }

        /** Whether TLS or DEFLATE has been started on the connection: the server's output is no longer the protocol's text. */
        boolean layered() {
            return layered;
        }

        /** Whether the server has closed the connection. */
        boolean closed() {
            return closed || !server.isActive();
        }

        /** Ends the connection from the client's side and waits until the server's session has ended. */
        void close() {
            client.close().syncUninterruptibly();
            server.closeFuture().awaitUninterruptibly(QUIET_LIMIT.toMillis());
        }

        /** Waits until the store work the session started has finished; fails if the connection is still open. */
        void awaitEnd() {
            if (server.isActive()) throw new AssertionError("the server kept the connection open after the client closed it");
            awaitIdleExecutor();
        }

        /**
         * Waits until the session is not running a command (its store call, authentication or
         * message transfer is done) and has acted on everything received, or the connection has
         * closed. Fails when that takes longer than {@link #QUIET_LIMIT}: the session is stuck.
         */
        void awaitQuiet() {
            long deadline = System.nanoTime() + QUIET_LIMIT.toNanos();
            while (true) {
                long seen = wakeups.count();
                if (quiet()) return;
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the session neither answered nor closed within " + QUIET_LIMIT + " (" + state() + ")");
                }
                wakeups.await(seen);
            }
        }

        /** What the session is waiting for, for the report of a finding. */
        private String state() {
            try {
                return server.eventLoop().submit(() -> {
                    LineSession s = server.pipeline().get(LineSession.class);
                    return s == null ? "no session" : "busy " + s.busy() + ", unread input " + s.pending().readableBytes()
                            + ", store work running " + blocking.running.get() + ", writable " + server.isWritable();
                }).get();
            } catch (InterruptedException | ExecutionException e) {
                return e.toString();
            }
        }

        private boolean quiet() {
            try {
                boolean idle = server.eventLoop().submit(() -> {
                    if (!server.isActive()) return true;
                    if (server.pipeline().get("tls") != null || server.pipeline().get(DeflateCodec.NAME) != null) layered = true;
                    LineSession s = server.pipeline().get(LineSession.class);
                    return s != null && !s.busy() && !s.pending().isReadable();
                }).get();
                return idle && blocking.idle();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            } catch (ExecutionException e) {
                throw new AssertionError(e.getCause());
            }
        }

        private void awaitIdleExecutor() {
            long deadline = System.nanoTime() + QUIET_LIMIT.toNanos();
            while (true) {
                long seen = wakeups.count();
                if (blocking.idle()) return;
                if (System.nanoTime() > deadline) throw new AssertionError("store work still running after the session ended");
                wakeups.await(seen);
            }
        }
    }

    /**
     * The server side's first handler: every read, flush, close or user event on the connection wakes
     * the client, which then asks the session whether it is done (its question runs on the event
     * loop after the event's own work).
     */
    private final class Probe extends ChannelDuplexHandler {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.fireChannelRead(msg);
            wakeups.wake();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            ctx.fireChannelInactive();
            wakeups.wake();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            ctx.fireUserEventTriggered(evt);
            wakeups.wake();
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
            ctx.flush();
            wakeups.wake();
        }

        @Override
        public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
            ctx.close(promise);
            wakeups.wake();
        }
    }

    /** Something happened that may have ended what the client waits for: one client thread waits at a time. */
    private static final class Wakeups {
        private final AtomicLong count = new AtomicLong();
        private volatile Thread waiter;

        long count() {
            return count.get();
        }

        void wake() {
            count.incrementAndGet();
            Thread t = waiter;
            if (t != null) LockSupport.unpark(t);
        }

        /** Returns when anything happened after {@code seen} was read, or after {@link #RECHECK_NANOS} in any case. */
        void await(long seen) {
            waiter = Thread.currentThread();
            try {
                if (count.get() == seen) LockSupport.parkNanos(this, RECHECK_NANOS);
            } finally {
                waiter = null;
            }
        }
    }

    /** The blocking executor, counting the work it has not finished and waking the client when the last ends. */
    private static final class CountingExecutor extends AbstractExecutorService {
        private final ExecutorService delegate = Executors.newVirtualThreadPerTaskExecutor();
        private final AtomicInteger running = new AtomicInteger();
        private final Wakeups wakeups;

        CountingExecutor(Wakeups wakeups) {
            this.wakeups = wakeups;
        }

        @Override
        public void execute(Runnable task) {
            running.incrementAndGet();
            try {
                delegate.execute(() -> {
                    try {
                        task.run();
                    } finally {
                        if (running.decrementAndGet() == 0) wakeups.wake();
                    }
                });
            } catch (RejectedExecutionException e) {
                running.decrementAndGet();
                throw e;
            }
        }

        boolean idle() {
            return running.get() == 0;
        }

        @Override
        public void shutdown() {
            delegate.shutdown();
        }

        @Override
        public List<Runnable> shutdownNow() {
            return delegate.shutdownNow();
        }

        @Override
        public boolean isShutdown() {
            return delegate.isShutdown();
        }

        @Override
        public boolean isTerminated() {
            return delegate.isTerminated();
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
            return delegate.awaitTermination(timeout, unit);
        }
    }
}
