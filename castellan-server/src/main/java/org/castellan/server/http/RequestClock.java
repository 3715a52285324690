package org.castellan.server.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * The two timers of an HTTP connection, in front of the decoder where the bytes are still bytes:
 * waiting for a request ({@link HttpService#IDLE_TIMEOUT}, then the connection closes without a
 * word) and reading one ({@link HttpService#REQUEST_TIMEOUT} from its first byte, then the session
 * answers 408 and closes). While a route works on a request neither runs.
 *
 * <p>Runs on the connection's event loop only.
 */
final class RequestClock extends ChannelDuplexHandler {

    static final String NAME = "http-clock";

    private enum State { WAITING, READING, ANSWERING }

    private final Duration idle;
    private final Duration request;
    private State state = State.WAITING;
    private ScheduledFuture<?> timer;
    private Runnable onRequestTimeout = () -> { };

    RequestClock(Duration idle, Duration request) {
        this.idle = idle;
        this.request = request;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        arm(ctx, idle, () -> ctx.close());
    }

    /** What to do when a request is not complete in time; the session sets it. */
    void onRequestTimeout(Runnable action) {
        this.onRequestTimeout = action;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == State.WAITING && msg instanceof ByteBuf b && b.isReadable()) {
            state = State.READING;
            arm(ctx, request, () -> onRequestTimeout.run());
        }
        ctx.fireChannelRead(msg);
    }

    /** A whole request reached the session: no timer while it is answered. */
    void answering() {
        state = State.ANSWERING;
        cancel();
    }

    /** The last answer is written: wait for the next request, at most {@link #idle}. */
    void waiting(ChannelHandlerContext ctx) {
        state = State.WAITING;
        arm(ctx, idle, () -> ctx.close());
    }

    private void arm(ChannelHandlerContext ctx, Duration after, Runnable action) {
        cancel();
        timer = ctx.executor().schedule(action, after.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void cancel() {
        if (timer != null) timer.cancel(false);
        timer = null;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel();
        ctx.fireChannelInactive();
    }
}
