package org.castellan.server.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayDeque;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.castellan.server.transport.Connection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP connection's requests, answered one at a time and in order (RFC 9112 §9.3.2): the
 * decoder's refusals become 400, 414 and 431; each whole request goes to its route; every answer
 * carries the headers of docs/http.md. Runs on the connection's event loop; routes' answers are
 * brought back to it.
 */
final class HttpSession extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(HttpSession.class);

    /**
     * RFC 6797 §6.1: a year, the figure the HSTS preload list asks for. Whatever the host serves
     * over plain HTTP (the CA's public objects) its HTTPS listener serves too, so telling browsers
     * never to try plain HTTP costs nothing.
     */
    static final String HSTS = "max-age=31536000";

    private final Connection connection;
    private final HttpRoutes routes;
    private final RequestClock clock;
    /** Whether the connection is inside TLS: only then do answers carry HSTS (RFC 6797 §7.2). */
    private final boolean overTls;
    private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>();
    private boolean answering;
    private ChannelHandlerContext ctx;

    HttpSession(Connection connection, HttpRoutes routes, RequestClock clock, boolean overTls) {
        this.connection = connection;
        this.routes = routes;
        this.clock = clock;
        this.overTls = overTls;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        clock.onRequestTimeout(() -> refuseAndClose(ctx, overTls, HttpVersion.HTTP_1_1,
                HttpAnswer.text(HttpResponseStatus.REQUEST_TIMEOUT, "Request not complete in time")));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest request)) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        if (waiting.size() >= HttpService.MAX_PIPELINED) {
            request.release();
            log.info("{} more than {} requests sent ahead of their answers; closing", connection.logId(),
                    HttpService.MAX_PIPELINED);
            ctx.close();
            return;
        }
        waiting.add(request);
        if (!answering) next();
    }

    private void next() {
        FullHttpRequest request = waiting.poll();
        if (request == null) {
            clock.waiting(ctx);
            return;
        }
        answering = true;
        clock.answering();
        HttpAnswer refusal = refusal(request);
        if (refusal != null) {
            request.release();
            refuseAndClose(ctx, overTls, HttpVersion.HTTP_1_1, refusal);
            return;
        }
        String path = path(request.uri());
        HttpRoutes.Match match = path == null ? new HttpRoutes.Match.NotFound() : routes.find(request.method(), path);
        CompletionStage<HttpAnswer> answer = switch (match) {
            case HttpRoutes.Match.NotFound n -> done(HttpAnswer.text(HttpResponseStatus.NOT_FOUND, "Not found"));
            case HttpRoutes.Match.WrongMethod w -> done(HttpAnswer.text(HttpResponseStatus.METHOD_NOT_ALLOWED,
                    "Method not allowed here").with(HttpHeaderNames.ALLOW.toString(), String.join(", ", w.allow())));
            case HttpRoutes.Match.Found f -> call(f, new HttpCall(connection, request, f.method(), path));
        };
        answer.whenComplete((a, failure) -> ctx.executor().execute(() -> answered(request, path, a, failure)));
    }

    private CompletionStage<HttpAnswer> call(HttpRoutes.Match.Found found, HttpCall call) {
        try {
            return found.route().handle(call);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static CompletionStage<HttpAnswer> done(HttpAnswer answer) {
        return CompletableFuture.completedFuture(answer);
    }

    private void answered(FullHttpRequest request, String path, HttpAnswer answer, Throwable failure) {
        try {
            if (!ctx.channel().isActive()) return;
            if (failure != null || answer == null) {
                // The client learns that the server failed, not how: the log has the trace.
                log.warn("{} {} {} failed", connection.logId(), request.method(), path, failure);
                answer = HttpAnswer.text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "Internal server error");
            }
            FullHttpResponse response = response(request.protocolVersion(), answer, overTls);
            HttpUtil.setKeepAlive(response, HttpUtil.isKeepAlive(request));
            ctx.writeAndFlush(response).addListener((ChannelFutureListener) f -> {
                answering = false;
                if (f.isSuccess() && ctx.channel().isActive()) next();
            });
        } finally {
            request.release();
        }
    }

    /**
     * The decoder's verdict on a request it could not read whole, and RFC 9112 §3.2's on one
     * without exactly one Host; null for a good request.
     */
    private static HttpAnswer refusal(FullHttpRequest request) {
        if (request.decoderResult().isFailure()) {
            Throwable cause = request.decoderResult().cause();
            if (cause instanceof TooLongHttpLineException) {
                return HttpAnswer.text(HttpResponseStatus.REQUEST_URI_TOO_LONG,
                        "Request line over " + HttpService.MAX_REQUEST_LINE + " octets");
            }
            if (cause instanceof TooLongHttpHeaderException) {
                return HttpAnswer.text(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                        "Header fields over " + HttpService.MAX_HEADER_SIZE + " octets"); // RFC 6585 §5
            }
            return HttpAnswer.text(HttpResponseStatus.BAD_REQUEST, "Malformed request");
        }
        if (request.protocolVersion().equals(HttpVersion.HTTP_1_1) && request.headers().getAll(HttpHeaderNames.HOST).size() != 1) {
            return HttpAnswer.text(HttpResponseStatus.BAD_REQUEST, "A request needs exactly one Host header"); // RFC 9112 §3.2
        }
        return null;
    }

    /**
     * The path a request names, undecoded (so that {@code %2F} never becomes a separator): the
     * origin form as it is, the absolute form's path (RFC 9112 §3.2.2); null for anything else.
     */
    static String path(String target) {
        String raw = target;
        if (!target.startsWith("/")) {
            try {
                URI uri = new URI(target);
                if (!uri.isAbsolute() || uri.getRawPath() == null) return null;
                raw = uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
            } catch (URISyntaxException e) {
                return null;
            }
        }
        int query = raw.indexOf('?');
        return query < 0 ? raw : raw.substring(0, query);
    }

    /** An answer as a response with the headers every answer carries; HSTS only {@code overTls} (RFC 6797 §7.2). */
    static FullHttpResponse response(HttpVersion version, HttpAnswer answer, boolean overTls) {
        var response = new DefaultFullHttpResponse(version, answer.status(), Unpooled.wrappedBuffer(answer.body()));
        var headers = response.headers();
        headers.set(HttpHeaderNames.CONTENT_TYPE, answer.contentType());
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, answer.body().length);
        headers.set(HttpHeaderNames.DATE, DateFormatter.format(new Date())); // RFC 9110 §6.6.1
        if (overTls) headers.set("Strict-Transport-Security", HSTS);
        headers.set("X-Content-Type-Options", "nosniff");
        // Answers name people's certificates and accounts: no shared cache keeps them (RFC 9111 §5.2.2.5).
        headers.set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        for (Map.Entry<String, String> h : answer.headers().entrySet()) headers.set(h.getKey(), h.getValue());
        return response;
    }

    /** Answers with {@code answer} and closes: after a request the decoder could not read, nothing after it can be trusted. */
    static void refuseAndClose(ChannelHandlerContext ctx, boolean overTls, HttpVersion version, HttpAnswer answer) {
        FullHttpResponse response = response(version, answer, overTls);
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        waiting.forEach(FullHttpRequest::release);
        waiting.clear();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.info("{} closed after error: {}", connection.logId(), cause.toString());
        ctx.close();
    }
}
