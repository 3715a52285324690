package org.castellan.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.castellan.security.auth.AuthContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the SMTP, IMAP and POP3 sessions share: the buffer of received bytes, running one command
 * at a time, hopping back to the event loop after work elsewhere, STARTTLS, and the idle timeout,
 * graceful shutdown and end of the connection. A protocol supplies {@link #step} (act on the
 * buffered input once) and its words for greeting and goodbye.
 *
 * <p>SECURITY: between STARTTLS and the end of the handshake every received byte is dropped, and
 * so is whatever was buffered behind the command (RFC 3207 §4.2, RFC 2595 §3.1 and §4, docs/design.md
 * §5.4). A command that waits stops the session from running the next one; replies leave in order.
 * The idle timer counts whole commands, not bytes: only a command acted upon, message content
 * the protocol declares ({@link #progress()}) or output the session writes resets it, so a client
 * that sends one byte every few seconds is as idle as one that sends none. A protocol adds its
 * own deadlines ({@link #deadline()}) on the same timer.
 *
 * <p>Everything here runs on the connection's event loop, except {@link #write(ByteBuf)}, which
 * may be called from any thread.
 *
 * <p>Failure: a failed TLS handshake or an exception in the pipeline closes the connection; an
 * exception thrown by a continuation of {@link #await} goes to {@link #storeFailure} and the
 * session goes on.
 */
public abstract class LineSession extends ChannelInboundHandlerAdapter {

    private final Logger log = LoggerFactory.getLogger(getClass());
    private final Connection connection;
    private final String protocol;
    private final Executor blocking;
    private final boolean pauseReadsWhileBusy;
    private ChannelHandlerContext ctx;
    /**
     * Received bytes not acted on yet. Most sessions sit idle between commands (IMAP IDLE for
     * hours), so the buffer goes back to the allocator whenever it is empty.
     */
    private ByteBuf pending = Unpooled.EMPTY_BUFFER;
    private boolean busy;
    private boolean closed;
    private boolean awaitingHandshake;
    private boolean shutdownRequested;
    /** Why the session is asked to leave ({@link SessionRegistry.Departure}); null on a shutdown or none. */
    private String departure;
    private int errors;
    private long idleNanos;
    /**
     * {@link System#nanoTime()} of the last sign of life: a command acted upon, content the
     * protocol counted, output written (from any thread).
     */
    private volatile long lastProgress;
    /** The one timer of the session, due at {@link #clockAt}; it re-arms itself. */
    private ScheduledFuture<?> clock;
    private long clockAt;
    /** The last stage of {@link #awaitCancellable}, cancelled if the connection closes before it completes. */
    private CompletableFuture<?> cancelOnClose;

    /**
     * @param protocol the name of the pipeline handler, in logs and for {@link Connection#authContext}
     * @param blocking runs blocking work (store calls) for {@link #blocking}
     * @param pauseReadsWhileBusy whether the socket stops being read while a command waits, so a
     *     client that pipelines without end is held back by TCP rather than by server memory
     */
    protected LineSession(Connection connection, String protocol, Executor blocking, boolean pauseReadsWhileBusy) {
        this.connection = connection;
        this.protocol = protocol;
        this.blocking = blocking;
        this.pauseReadsWhileBusy = pauseReadsWhileBusy;
    }

    /**
     * Puts this session at the end of {@code pipeline} and greets the client. The session ends
     * with {@link #goodbyeOnIdle()} once {@code idleTimeout} passes without a whole command, counted
     * content or output. A login timeout, where the protocol has one, is the transport's
     * ({@link ProtocolService#loginTimeout}): it runs from accept.
     */
    public final void open(ChannelPipeline pipeline, Duration idleTimeout) {
        openSilently(pipeline, idleTimeout);
        write(greeting() + "\r\n");
        ctx.flush();
    }

    /**
     * As {@link #open}, without the greeting: on a mailbox node's link the client was greeted by
     * the edge, and the session's first line is its answer to the opening exchange (docs/roles.md §2).
     */
    public final void openSilently(ChannelPipeline pipeline, Duration idleTimeout) {
        pipeline.addLast(protocol, this);
        idleNanos = idleTimeout.toNanos();
        progress();
        armClock(lastProgress + idleNanos);
    }

    /**
     * Ends the session without closing the connection, for an edge that relays the rest of it to a
     * mailbox node (docs/roles.md §3): the session leaves the pipeline, its timers stop, what it
     * holds is released ({@link #onClose}), and the input it had not acted on yet — commands the
     * client pipelined behind its login — is returned for the relay to send on. The caller owns
     * the returned buffer. Call it on the event loop, after the session's last reply is written.
     */
    protected final ByteBuf handOver() {
        closed = true;
        if (clock != null) clock.cancel(false);
        if (cancelOnClose != null) cancelOnClose.cancel(false);
        ByteBuf unread = pending;
        pending = Unpooled.EMPTY_BUFFER;
        ctx.pipeline().remove(this);
        signalWritability();
        onClose();
        return unread;
    }

    private void loginTimedOut() {
        if (closed || connection.account().isPresent() || needsNoLogin()) return;
        log.info("{} {} login timeout: no authentication since the connection opened", connection.logId(), protocol);
        // Silent also when STARTTLS was answered and TLS never came up: nothing can be said in the clear then.
        timedOut(goodbyeOnLoginTimeout());
    }

    // ---- what a protocol supplies

    /**
     * Whether this session is past the point a login deadline guards without an account: an
     * edge's delivery on a mailbox node's link, whose opening was that point (docs/roles.md §3).
     */
    protected boolean needsNoLogin() {
        return false;
    }

    /** The first line the server sends, without CRLF. */
    protected abstract String greeting();

    /**
     * Acts on the buffered input once: one command line, one piece of message content, or
     * whatever else the protocol owes. False when nothing more can be done until more input comes.
     */
    protected abstract boolean step();

    /** Forgets the partial line or literal the protocol's parser holds. */
    protected abstract void resetParser();

    /** The last line when the client has been idle too long; null to close without one. */
    protected abstract String goodbyeOnIdle();

    /** The last line when the server shuts down. */
    protected abstract String goodbyeOnShutdown();

    /** The last line when the client has not logged in within the login timeout; null to close without one. */
    protected abstract String goodbyeOnLoginTimeout();

    /** {@link #deadline()} when the protocol has none. */
    protected static final long NO_DEADLINE = Long.MAX_VALUE;

    /**
     * The {@link System#nanoTime()} by which the protocol's own deadline passes (a command line
     * that must be complete, content that must have arrived at a rate), or {@link #NO_DEADLINE}.
     * Asked each time the session's timer fires; call {@link #deadlineChanged()} when it may have
     * moved earlier than the timer.
     */
    protected long deadline() {
        return NO_DEADLINE;
    }

    /** The last line when {@link #deadline()} has passed; null to close without one. */
    protected String goodbyeOnDeadline() {
        return goodbyeOnIdle();
    }

    /**
     * The session is asked to leave for {@code reason} (an account moved to another node):
     * by default the words of a shutdown.
     */
    protected String goodbyeOnDeparture(String reason) {
        return goodbyeOnShutdown();
    }

    /** The goodbye of a session that ends because it was asked to: a shutdown, or a departure. */
    protected final String leavingGoodbye() {
        return departure == null ? goodbyeOnShutdown() : goodbyeOnDeparture(departure);
    }

    /** Whether a requested shutdown may end the session now, before the next {@link #step}. */
    protected boolean readyToStop() {
        return true;
    }

    /** The server is shutting down: by default the session ends as soon as it is not waiting. */
    protected void onShutdownRequested() {
        if (!busy) drain();
    }

    /** The TLS handshake after STARTTLS succeeded; the client starts over. */
    protected void onHandshakeDone() {}

    /** Answers a failure of blocking work, or of the code that went on after it. */
    protected abstract void storeFailure(Throwable e);

    /** The connection is gone: release what the session holds (locks, SASL exchanges, files). */
    protected abstract void onClose();

    // ---- input

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            // RFC 3207 §4.2, RFC 2595 §3.1 and §4: what arrives between STARTTLS and the end of the handshake is dropped.
            if (awaitingHandshake || closed) return;
            if (pending == Unpooled.EMPTY_BUFFER) pending = ctx.alloc().buffer(in.readableBytes());
            pending.writeBytes(in);
        } finally {
            ReferenceCountUtil.release(in);
        }
        drain();
    }

    /**
     * Runs buffered input until a command has to wait or the input runs out, then sends the
     * replies: RFC 2920 §3.2 lets the replies to pipelined commands leave together.
     */
    protected final void drain() {
        // Every stream a client can make the server produce is bounded by the channel's
        // writability: above the high-water mark no further command runs until it drains.
        while (!busy && !closed && !awaitingHandshake && ctx.channel().isWritable()) {
            if (shutdownRequested && readyToStop()) {
                closeWith(leavingGoodbye());
                return;
            }
            if (!step()) break;
            progress();
        }
        if (closed) return;
        if (pending.isReadable()) {
            pending.discardSomeReadBytes();
        } else {
            pending.release();
            pending = Unpooled.EMPTY_BUFFER;
        }
        updateAutoRead();
        ctx.flush();
    }

    /**
     * Reads stop while the client does not take its output, and, for sessions that pause while
     * busy, while a command waits: TCP then holds the client back, not server memory.
     */
    private void updateAutoRead() {
        ctx.channel().config().setAutoRead(ctx.channel().isWritable() && !(pauseReadsWhileBusy && busy));
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        signalWritability();
        if (ctx.channel().isWritable() && !closed) drain();
        ctx.fireChannelWritabilityChanged();
    }

    private final ReentrantLock writabilityLock = new ReentrantLock();
    private final Condition writabilityChanged = writabilityLock.newCondition();

    private void signalWritability() {
        writabilityLock.lock();
        try {
            writabilityChanged.signalAll();
        } finally {
            writabilityLock.unlock();
        }
    }

    /**
     * For work on another thread that produces output piece by piece (a large FETCH): waits
     * until the connection takes output again (its queue below {@link Transport#WRITE_LOW_WATER}).
     *
     * @return false when the connection has closed: stop producing
     */
    public boolean awaitWritable() throws InterruptedException {
        var channel = ctx.channel();
        writabilityLock.lock();
        try {
            while (channel.isActive() && !channel.isWritable()) writabilityChanged.await();
            return channel.isActive();
        } finally {
            writabilityLock.unlock();
        }
    }

    /** The received bytes not acted on yet. */
    protected final ByteBuf pending() {
        return pending;
    }

    /** Runs {@code parser} over the buffered input and consumes what it read. */
    protected final <R> R parse(Function<ByteBuffer, R> parser) {
        ByteBuffer view = pending.nioBuffer();
        int before = view.position();
        R result = parser.apply(view);
        pending.skipBytes(view.position() - before);
        return result;
    }

    // ---- timers

    /**
     * The session moved: message content arrived that the protocol counts as such (DATA, a
     * literal). Commands acted upon and output count by themselves. Any thread.
     */
    protected final void progress() {
        lastProgress = System.nanoTime();
    }

    /** The protocol's {@link #deadline()} may now be earlier than the timer: check by then. */
    protected final void deadlineChanged() {
        long due = deadline();
        if (due != NO_DEADLINE && !closed) armClock(due);
    }

    private void armClock(long at) {
        if (clock != null) {
            if (clockAt - at <= 0) return; // due no later already
            clock.cancel(false);
        }
        clockAt = at;
        clock = ctx.executor().schedule(this::clockFired, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    /** Ends an idle or overdue session; otherwise waits for whichever comes first. */
    private void clockFired() {
        clock = null;
        if (closed) return;
        long now = System.nanoTime();
        long idleAt = lastProgress + idleNanos;
        if (now - idleAt >= 0) {
            timedOut(goodbyeOnIdle());
            return;
        }
        long due = deadline();
        if (due != NO_DEADLINE && now - due >= 0) {
            timedOut(goodbyeOnDeadline());
            return;
        }
        armClock(due != NO_DEADLINE && due - idleAt < 0 ? due : idleAt);
    }

    /**
     * Says {@code goodbye} and closes; without a word when there is none, when TLS is being
     * negotiated, or when the client is not reading its output (the line would wait behind it).
     */
    private void timedOut(String goodbye) {
        if (goodbye == null || awaitingHandshake || !ctx.channel().isWritable()) {
            closed = true;
            ctx.close();
        } else {
            closeWith(goodbye);
        }
    }

    /** Drops the buffered input and the parser's partial line: it was sent before a change of layer. */
    protected final void discardInput() {
        pending.clear();
        resetParser();
    }

    // ---- output

    /** Queues {@code text}; it leaves when the session runs out of input or waits. */
    public void write(String text) {
        write(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
    }

    /**
     * On the event loop the bytes wait for the flush when the session runs out of input or waits
     * (one TLS record and one system call for many lines); from another thread they are flushed at
     * once, since nothing there would flush them later.
     */
    public void write(ByteBuf buf) {
        progress();
        if (ctx.executor().inEventLoop()) ctx.write(buf);
        else ctx.writeAndFlush(buf);
    }

    /**
     * As {@link #write(ByteBuf)}, but not flushed from another thread either: for the last output
     * of blocking work that {@link #await} waits for. The work's completion runs on the event loop
     * after this write (the loop takes tasks in order) and ends in a flush, which sends both: one
     * TLS record and one system call where a flush here made two, and through an edge one frame
     * each way rather than two. Nothing may wait for writability after it on that thread, since
     * nothing flushes these octets before the completion.
     */
    public void writeBeforeCompletion(ByteBuf buf) {
        progress();
        ctx.write(buf);
    }

    /** Sends the last line and closes once it has left. */
    public void closeWith(String line) {
        if (closed) return;
        closed = true;
        ctx.writeAndFlush(Unpooled.copiedBuffer(oneLine(line) + "\r\n", StandardCharsets.UTF_8)).addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * A status line as it may go to the client: every control character (C0 with CR, LF and NUL,
     * DEL, C1, and the Unicode line and paragraph separators) becomes {@code ?}. Status texts
     * repeat what clients sent (a mailbox name in a refusal, an address); a line break in one
     * would let a client write a line the server never said to whoever reads the stream, and
     * RFC 9051 §9 ({@code text} has no CR or LF), RFC 5321 §4.2 ({@code textstring}) and RFC 1939
     * §3 allow none. Data that may hold them goes out in the protocol's own form (an IMAP literal).
     */
    protected static String oneLine(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (control(text.charAt(i))) {
                StringBuilder b = new StringBuilder(text.length());
                for (int j = 0; j < text.length(); j++) b.append(control(text.charAt(j)) ? '?' : text.charAt(j));
                return b.toString();
            }
        }
        return text;
    }

    private static boolean control(char c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
    }

    /** Counts a protocol error; true once there have been {@code max}, when the session should end. */
    protected final boolean tooManyErrors(int max) {
        return ++errors >= max;
    }

    // ---- waiting

    /**
     * Runs blocking {@code work} on the blocking executor, then {@code then} on the event loop; a
     * failure goes to {@link #storeFailure}.
     */
    public <T> void blocking(Supplier<T> work, Consumer<T> then) {
        blocking(work, then, this::storeFailure);
    }

    public <T> void blocking(Supplier<T> work, Consumer<T> then, Consumer<Throwable> failed) {
        await(CompletableFuture.supplyAsync(work, blocking), then, failed);
    }

    /**
     * Runs no further command until {@code stage} completes, then {@code then} or {@code failed}
     * on the event loop, then the input that queued up meanwhile.
     */
    public <T> void await(CompletionStage<T> stage, Consumer<T> then, Consumer<Throwable> failed) {
        suspend();
        // RFC 2920 §3.2 (4) and (5): replies to a pipelined group go out together; they are
        // flushed here only when the client has nothing more queued, i.e. it may be waiting.
        if (!pending.isReadable()) ctx.flush();
        stage.whenCompleteAsync((value, error) -> {
            busy = false;
            if (closed) return;
            try {
                if (error != null) failed.accept(error instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : error);
                else then.accept(value);
            } catch (RuntimeException e) {
                storeFailure(e);
            }
            drain();
        }, ctx.executor());
    }

    /**
     * As {@link #await}, for a stage worth nothing once the client has gone: it is cancelled when
     * the connection closes first. A login waiting for its place under the limiter's in-flight cap
     * (AuthService) then leaves the line instead of taking a check from the clients still there.
     */
    public <T> void awaitCancellable(CompletionStage<T> stage, Consumer<T> then, Consumer<Throwable> failed) {
        // Cancelling a stage that has completed does nothing, so the last one may stay here.
        CompletableFuture<T> future = stage.toCompletableFuture();
        cancelOnClose = future;
        await(future, then, failed);
    }

    /** Runs no further command until {@link #resume}. */
    public void suspend() {
        busy = true;
        updateAutoRead();
    }

    public void resume() {
        busy = false;
        drain();
    }

    /** Whether a command is waiting. */
    protected final boolean busy() {
        return busy;
    }

    /** Whether the session has ended (its last line may still be on its way). */
    protected final boolean closed() {
        return closed;
    }

    // ---- the connection

    public Connection connection() {
        return connection;
    }

    /** The connection as AuthService sees it. */
    public AuthContext authContext() {
        return connection.authContext(protocol);
    }

    /**
     * STARTTLS: the TLS handler goes in before the protocol writes its go-ahead, which is the last
     * cleartext line; input buffered behind the command is dropped (docs/design.md §5.4).
     */
    public void startTls() {
        connection.startTls();
        awaitingHandshake = true;
        discardInput();
    }

    // ---- events

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done && awaitingHandshake) {
            if (!done.isSuccess()) {
                closed = true;
                ctx.close();
                return;
            }
            awaitingHandshake = false;
            onHandshakeDone();
            drain();
        } else if (evt == ConnectionGate.LoginDeadline.PASSED) {
            loginTimedOut();
        } else if (evt == Transport.ShutdownEvent.INSTANCE) {
            shutdownRequested = true;
            onShutdownRequested();
        } else if (evt instanceof SessionRegistry.Departure leave) {
            // As a shutdown, with its own words: the session ends as soon as it is not waiting.
            departure = leave.reason();
            shutdownRequested = true;
            onShutdownRequested();
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.info("{} {} connection error: {}", connection.logId(), protocol, cause.toString());
        closed = true;
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed = true;
        if (clock != null) clock.cancel(false);
        if (cancelOnClose != null) cancelOnClose.cancel(false);
        signalWritability();
        onClose();
        pending.release();
        pending = Unpooled.EMPTY_BUFFER;
        ctx.fireChannelInactive();
    }
}
