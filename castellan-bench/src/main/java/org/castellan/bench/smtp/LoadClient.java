package org.castellan.bench.smtp;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.internal.tcnative.SSL;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Base64;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The load generator: N clients on one Netty event loop, TLS by BoringSSL (netty-tcnative), so
 * that the client costs a small part of what the servers do and the figures are the servers'.
 *
 * <p>Each client runs one SMTP conversation after the other, the way a submitting MTA does:
 * EHLO, STARTTLS, EHLO, AUTH PLAIN, then per message MAIL, RCPT and either {@code BDAT n LAST}
 * with the content (RFC 3030; when the server offers CHUNKING) or DATA, all pipelined in one
 * write (RFC 2920 §3.1: DATA and QUIT only last in a group), QUIT pipelined behind the last
 * message. A message counts as delivered only when the reply to its content is 250; anything else,
 * or a connection that closes early, counts as an error and the client starts a new connection.
 *
 * <p>The client keeps TLS sessions (BoringSSL's client session cache, keyed by host and port) and
 * resumes them when the server issues tickets, unless told not to; how many handshakes were
 * resumptions is reported.
 * Latency runs from the connect (first message of a connection) or from the MAIL write (later
 * ones) to the 250.
 *
 * <p>Failure: a server that does not offer PIPELINING, STARTTLS or AUTH PLAIN makes every
 * conversation fail; the first such error is kept in {@link Load#firstError}.
 */
public final class LoadClient implements AutoCloseable {

    /** Replies longer than this are a broken server, not a reply (RFC 5321 §4.5.3.1.5 says 512). */
    private static final int MAX_REPLY_LINE = 4096;
    /** A conversation that hears nothing this long is counted as failed (both servers answer in milliseconds). */
    private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(60);
    /** How long the in-flight conversations may take to finish after the measured window ends. */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(120);

    /**
     * What one run measured.
     *
     * @param latenciesNanos one per delivered message, sorted
     * @param resumed handshakes that resumed a TLS session
     * @param clientCpuSeconds this JVM's CPU time (user + system) over the run: the load generator's cost
     */
    public record Load(long messages, double seconds, long[] latenciesNanos, long errors, long connections, long resumed,
                double clientCpuSeconds, String firstError) {
    }

    /**
     * How each client talks.
     *
     * @param chunking BDAT when the server offers CHUNKING, otherwise DATA
     * @param messagesPerConnection messages sent on one connection before QUIT (1 = a mail client's habit)
     * @param resume offer the last session for resumption (when off, every handshake is a full one)
     * @param recipient the RCPT address of every message
     * @param distinct each message with a header line of its own ({@link #SEQUENCE_LENGTH} bytes more), so
     *     that a content-addressed store keeps every body rather than one
     */
    public record Options(byte[] message, String user, String password, boolean chunking, int messagesPerConnection,
                   boolean resume, String recipient, boolean distinct) {

        /** The same message, byte for byte, every time. */
        public Options(byte[] message, String user, String password, boolean chunking, int messagesPerConnection,
                       boolean resume, String recipient) {
            this(message, user, password, chunking, messagesPerConnection, resume, recipient, false);
        }

        /** Every message to the submitting user's own mailbox. */
        Options(byte[] message, String user, String password, boolean chunking, int messagesPerConnection, boolean resume) {
            this(message, user, password, chunking, messagesPerConnection, resume, user);
        }
    }

    private final EventLoopGroup group;
    private final Class<? extends Channel> channelType;
    private final SslContext tls;
    private final Options options;
    private final byte[] authLine;
    private final byte[] bdatLine;
    private final byte[] envelope;
    private final ByteBuf dataContent;
    /** Numbers the messages of {@link Options#distinct}; touched only on the event loop. */
    private long sequence;

    /** The length of the header line that makes a message distinct: {@code X-Bench-Sequence: <19 digits>CRLF}. */
    static final int SEQUENCE_LENGTH = 18 + 19 + 2;

    /** @param server the certificate the server must present (pinned; see {@link PinnedTrust}) */
    public LoadClient(X509Certificate server, Options options) throws SSLException {
        if (!OpenSsl.isAvailable()) {
            throw new IllegalStateException("BoringSSL (netty-tcnative) is not available here: " + OpenSsl.unavailabilityCause());
        }
        this.options = options;
        boolean epoll = Epoll.isAvailable();
        // One event loop: the client's work per message is a small part of a server's, and one
        // thread keeps its CPU figure honest and its own contention out of the latencies.
        this.group = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.channelType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        this.tls = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL).trustManager(new PinnedTrust(server))
                .protocols("TLSv1.3", "TLSv1.2").build();
        String plain = "\0" + options.user() + "\0" + options.password();
        this.authLine = ascii("AUTH PLAIN " + Base64.getEncoder().encodeToString(plain.getBytes(StandardCharsets.UTF_8)) + "\r\n");
        int size = options.message().length + (options.distinct() ? SEQUENCE_LENGTH : 0);
        this.envelope = ascii("MAIL FROM:<" + options.user() + "> SIZE=" + size + "\r\nRCPT TO:<" + options.recipient() + ">\r\n");
        this.bdatLine = ascii("BDAT " + size + " LAST\r\n");
        // The content with the end marker, dot-stuffed (RFC 5321 §4.5.2), built once.
        this.dataContent = Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(dotStuffed(options.message()))).asReadOnly();
    }

    /** Runs {@code clients} conversations against {@code port} for {@code duration}, then waits for the ones in flight. */
    public Load run(int port, int clients, Duration duration) throws InterruptedException {
        return run(port, clients, duration, Long.MAX_VALUE);
    }

    /**
     * Submits {@code messages} messages over {@code clients} conversations at a time, then waits
     * for the ones in flight; a message that fails is not sent again. Gives up starting new ones
     * after {@code atMost}.
     */
    Load submit(int port, int clients, long messages, Duration atMost) throws InterruptedException {
        return run(port, (int) Math.min(clients, messages), atMost, messages);
    }

    private Load run(int port, int clients, Duration duration, long quota) throws InterruptedException {
        Run run = new Run(new InetSocketAddress("127.0.0.1", port), clients, System.nanoTime() + duration.toNanos(), quota);
        Duration cpuBefore = ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO);
        long start = System.nanoTime();
        group.next().execute(() -> {
            for (int i = 0; i < clients; i++) run.connect();
        });
        if (!run.done.await(duration.plus(DRAIN_TIMEOUT).toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("conversations still running " + DRAIN_TIMEOUT + " after the end of the run");
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Duration cpu = ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO).minus(cpuBefore);
        // Everything below was written on the event loop; the latch's await makes it visible here.
        long[] latencies = Arrays.copyOf(run.latencies, run.messages);
        Arrays.sort(latencies);
        return new Load(run.messages, seconds, latencies, run.errors, run.connections, run.resumed, cpu.toNanos() / 1e9,
                run.firstError);
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** One run's counters; touched only on the event loop. */
    private final class Run {
        final InetSocketAddress server;
        final long end;
        /** Messages to start in all; the run ends once they have been. */
        final long quota;
        final CountDownLatch done = new CountDownLatch(1);
        int running;
        long started;
        int messages;
        long[] latencies = new long[1 << 14];
        long errors;
        long connections;
        long resumed;
        String firstError;

        Run(InetSocketAddress server, int clients, long end, long quota) {
            this.server = server;
            this.end = end;
            this.quota = quota;
        }

        void connect() {
            running++;
            connections++;
            long t0 = System.nanoTime();
            Conversation c = new Conversation(this, t0);
            new Bootstrap().group(group).channel(channelType).option(ChannelOption.TCP_NODELAY, true)
                    .handler(c).connect(server).addListener(f -> {
                        if (!f.isSuccess()) c.fail("connect: " + f.cause());
                    });
        }

        /** A conversation ended (well or not): start the next one while the window is open. */
        void ended() {
            running--;
            if (System.nanoTime() < end && started < quota) connect();
            else if (running == 0) done.countDown();
        }

        void delivered(long latency) {
            if (messages == latencies.length) latencies = Arrays.copyOf(latencies, latencies.length * 2);
            latencies[messages++] = latency;
        }

        void error(String what) {
            if (errors++ == 0) firstError = what;
        }
    }

    /** The replies a conversation waits for, in the order the commands went out. */
    private enum Expect {
        GREETING(220), EHLO(250), STARTTLS(220), EHLO_TLS(250), AUTH(235), MAIL(250), RCPT(250), DATA(354),
        CONTENT(250), QUIT(221);

        final int code;

        Expect(int code) {
            this.code = code;
        }
    }

    /** One connection's conversation. */
    private final class Conversation extends ChannelInboundHandlerAdapter {
        private final Run run;
        private final ArrayDeque<Expect> expected = new ArrayDeque<>();
        private final StringBuilder line = new StringBuilder();
        private ChannelHandlerContext ctx;
        private long messageStart;
        private int sent;
        private boolean lastMessage;
        private boolean pipelining;
        private boolean chunking;
        private boolean finished;
        private boolean ended;
        private ScheduledFuture<?> timeout;

        Conversation(Run run, long connectTime) {
            this.run = run;
            this.messageStart = connectTime;
            expected.add(Expect.GREETING);
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            timeout = ctx.executor().schedule(() -> {
                if (!ended) fail("no reply within " + REPLY_TIMEOUT + ", waiting for " + expected.peek());
            }, REPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                while (in.isReadable() && !ended) {
                    byte b = in.readByte();
                    if (b != '\n') {
                        if (line.length() >= MAX_REPLY_LINE) {
                            fail("reply line longer than " + MAX_REPLY_LINE);
                            return;
                        }
                        if (b != '\r') line.append((char) (b & 0xff));
                        continue;
                    }
                    String l = line.toString();
                    line.setLength(0);
                    replyLine(l);
                }
            } finally {
                ReferenceCountUtil.release(in);
            }
        }

        private void replyLine(String l) {
            Expect e = expected.peek();
            if (e == null) {
                fail("unexpected reply: " + l);
                return;
            }
            int code = l.length() >= 3 ? parseCode(l) : -1;
            if (code != e.code) {
                fail("expected " + e.code + " to " + e + ", got: " + l);
                return;
            }
            boolean more = l.length() > 3 && l.charAt(3) == '-';
            if (e == Expect.EHLO_TLS) {
                String keyword = l.length() > 4 ? l.substring(4).toUpperCase(Locale.ROOT) : "";
                if (keyword.equals("PIPELINING")) pipelining = true;
                if (keyword.equals("CHUNKING")) chunking = options.chunking();
            }
            if (more) return;
            expected.poll();
            switch (e) {
                case GREETING -> send(ascii("EHLO bench.client\r\n"), Expect.EHLO);
                case EHLO -> send(ascii("STARTTLS\r\n"), Expect.STARTTLS);
                case STARTTLS -> {
                    // RFC 3207 §4.2: nothing may follow STARTTLS before the handshake; the handler goes first.
                    // BoringSSL's client session cache is keyed by host and port: without them, nothing is resumed.
                    SslHandler ssl = options.resume() ? tls.newHandler(ctx.alloc(), "localhost", run.server.getPort())
                            : tls.newHandler(ctx.alloc());
                    ctx.pipeline().addFirst("tls", ssl);
                }
                case EHLO_TLS -> {
                    if (!pipelining) {
                        fail("the server does not offer PIPELINING");
                        return;
                    }
                    send(authLine, Expect.AUTH);
                }
                case AUTH -> {
                    if (run.started < run.quota) {
                        startMessage();
                    } else { // the other conversations started the last messages meanwhile
                        quit();
                        ctx.flush();
                    }
                }
                case DATA -> {
                    if (options.distinct()) ctx.write(Unpooled.wrappedBuffer(sequenceLine()));
                    ctx.write(dataContent.retainedDuplicate());
                    expected.add(Expect.CONTENT);
                    if (lastMessage) quit();
                    ctx.flush();
                }
                case CONTENT -> {
                    run.delivered(System.nanoTime() - messageStart);
                    if (!lastMessage) startMessage();
                }
                case MAIL, RCPT -> { }
                case QUIT -> {
                    finished = true;
                    ctx.close();
                }
            }
        }

        private void startMessage() {
            sent++;
            run.started++;
            messageStart = sent == 1 ? messageStart : System.nanoTime();
            lastMessage = sent >= options.messagesPerConnection() || System.nanoTime() >= run.end || run.started >= run.quota;
            ctx.write(Unpooled.wrappedBuffer(envelope));
            expected.add(Expect.MAIL);
            expected.add(Expect.RCPT);
            if (chunking) {
                ctx.write(options.distinct() ? Unpooled.wrappedBuffer(bdatLine, sequenceLine(), options.message())
                        : Unpooled.wrappedBuffer(bdatLine, options.message()));
                expected.add(Expect.CONTENT);
                if (lastMessage) quit();
            } else {
                ctx.write(Unpooled.wrappedBuffer(ascii("DATA\r\n")));
                expected.add(Expect.DATA);
            }
            ctx.flush();
        }

        private byte[] sequenceLine() {
            return ascii(String.format(Locale.ROOT, "X-Bench-Sequence: %019d\r\n", ++sequence));
        }

        private void quit() {
            ctx.write(Unpooled.wrappedBuffer(ascii("QUIT\r\n")));
            expected.add(Expect.QUIT);
        }

        private void send(byte[] command, Expect reply) {
            expected.add(reply);
            ctx.writeAndFlush(Unpooled.wrappedBuffer(command));
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent hs) {
                if (!hs.isSuccess()) {
                    fail("TLS handshake: " + hs.cause());
                    return;
                }
                // BoringSSL's SSL_session_reused: the server accepted the session the client offered.
                if (ctx.pipeline().get(SslHandler.class).engine() instanceof ReferenceCountedOpenSslEngine e
                        && SSL.isSessionReused(e.sslPointer())) {
                    run.resumed++;
                }
                send(ascii("EHLO bench.client\r\n"), Expect.EHLO_TLS);
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(cause.toString());
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!finished) fail("connection closed while waiting for " + expected.peek());
            end();
        }

        void fail(String what) {
            if (ended) return;
            run.error(what);
            if (ctx != null) ctx.close();
            end();
        }

        private void end() {
            if (ended) return;
            ended = true;
            // Thousands of conversations a second: a forgotten 60-second timer each would pile up.
            if (timeout != null) timeout.cancel(false);
            run.ended();
        }
    }

    /**
     * Trusts the one certificate the benchmark's server was given. Path validation by the JDK's
     * PKIX (what a trust manager over the root would do) costs the client more than the rest of
     * its handshake; the pinned comparison proves as much about a loopback server whose certificate
     * the benchmark itself issued.
     */
    private static final class PinnedTrust extends X509ExtendedTrustManager {
        private final X509Certificate pinned;

        PinnedTrust(X509Certificate pinned) {
            this.pinned = pinned;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            if (chain.length == 0 || !chain[0].equals(pinned)) {
                throw new CertificateException("the server presented " + (chain.length == 0 ? "no certificate"
                        : chain[0].getSubjectX500Principal()) + ", not the benchmark's server certificate");
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a load client accepts no TLS clients");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    private static int parseCode(String l) {
        int c = 0;
        for (int i = 0; i < 3; i++) {
            char d = l.charAt(i);
            if (d < '0' || d > '9') return -1;
            c = c * 10 + (d - '0');
        }
        return c;
    }

    private static byte[] dotStuffed(byte[] message) {
        ByteBuf out = Unpooled.buffer(message.length + 64);
        boolean lineStart = true;
        for (byte b : message) {
            if (lineStart && b == '.') out.writeByte('.');
            out.writeByte(b);
            lineStart = b == '\n';
        }
        if (!lineStart) out.writeBytes(ascii("\r\n"));
        out.writeBytes(ascii(".\r\n"));
        return ByteBufUtil.getBytes(out);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
