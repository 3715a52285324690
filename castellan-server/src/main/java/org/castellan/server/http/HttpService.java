package org.castellan.server.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.Optional;
import java.util.Objects;
import org.castellan.server.transport.Connection;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.server.transport.ProtocolService;
import org.castellan.server.transport.Relay;
import org.castellan.server.transport.RelayedFromFirstByte;

/**
 * HTTP/1.1 (RFC 9110, RFC 9112) on the HTTPS and plain-HTTP listeners: Netty's codec, keep-alive handler and
 * aggregator, bounded by the limits below, and one {@link HttpSession} per connection that hands
 * each whole request to its {@link HttpRoute} in {@link HttpRoutes} (docs/http.md).
 *
 * <p>SECURITY. Trusts: nothing from the client; the request line, headers and body are parsed
 * by Netty's decoder within fixed limits, and a route sees a request only once it is complete and
 * within {@link #MAX_BODY}. An HTTPS listener is implicit TLS only (the configuration refuses anything
 * else), so the session opens after the handshake and the connection rules, as every protocol's
 * does (docs/design.md §2); the verified client certificate reaches routes through the
 * {@link Connection}. Credentials go to AuthService from the routes that need them. Exposes: the
 * routes registered, nothing else: an unknown path is 404.
 *
 * <p>The plain-HTTP listeners ({@code protocol = "http"}, never inside TLS) have their own
 * instance, made by {@link #plain}, whose table holds only the CA's public objects: no route there
 * asks who the client is, and no answer carries HSTS (RFC 6797 §7.2).
 */
public final class HttpService implements ProtocolService {

    /**
     * The longest request line: RFC 9112 §3 asks for at least 8000 octets; longer is 414
     * (Netty's TooLongHttpLineException).
     */
    public static final int MAX_REQUEST_LINE = 8 * 1024;
    /**
     * All header lines of one request together: twice Netty's default and nginx's single
     * large_client_header_buffers, enough for long Authorization headers; more is 431 (RFC 6585 §5).
     */
    public static final int MAX_HEADER_SIZE = 16 * 1024;
    /**
     * A request body: an enrollment request with an RSA-8192 key is under 3 KiB in base64; 64 KiB
     * leaves room for the routes to come without letting a client make the server hold megabytes.
     * More is 413 (RFC 9110 §15.5.14) and the connection is closed.
     */
    public static final int MAX_BODY = 64 * 1024;
    /** The largest piece the decoder hands on at once; the aggregator joins them up to {@link #MAX_BODY}. */
    static final int MAX_CHUNK = 8 * 1024;
    /**
     * A kept-alive connection waiting for its next request is closed after this (RFC 9112 §9.5
     * lets a server close an idle connection; nginx's keepalive_timeout is 75 s).
     */
    public static final Duration IDLE_TIMEOUT = Duration.ofSeconds(60);
    /**
     * A request must arrive whole within this from its first byte, or the client gets 408 and the
     * connection closes (RFC 9110 §15.5.9): a request trickled a byte at a time holds a connection
     * no longer than one sent at once (nginx's client_header_timeout and client_body_timeout are 60 s each).
     */
    public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
    /** Requests a client may send ahead of the answers (pipelining, RFC 9112 §9.3.2); more closes the connection. */
    static final int MAX_PIPELINED = 16;

    /** How long a client is asked to wait when no mailbox node takes its connection (RFC 9110 §10.2.3). */
    static final Duration RETRY_AFTER = Duration.ofSeconds(30);

    private final HttpRoutes routes;
    /** On an edge, the way to the mailbox node; null where this node serves the routes itself. */
    private volatile Relay relay;
    private final Duration idleTimeout;
    private final Duration requestTimeout;
    /** Whether the connections are inside TLS, so that answers may carry HSTS (RFC 6797 §7.2). */
    private final boolean overTls;

    public HttpService(HttpRoutes routes) {
        this(routes, IDLE_TIMEOUT, REQUEST_TIMEOUT);
    }

    /** With other timeouts; shorter ones only for tests. */
    public HttpService(HttpRoutes routes, Duration idleTimeout, Duration requestTimeout) {
        this(routes, idleTimeout, requestTimeout, true);
    }

    private HttpService(HttpRoutes routes, Duration idleTimeout, Duration requestTimeout, boolean overTls) {
        this.routes = Objects.requireNonNull(routes, "routes");
        this.idleTimeout = Objects.requireNonNull(idleTimeout, "idleTimeout");
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        this.overTls = overTls;
    }

    /**
     * The service of the plain-HTTP listeners: {@code routes} must hold only public objects, since
     * everything on the wire there can be read and changed by anyone on the path.
     */
    public static HttpService plain(HttpRoutes routes) {
        return new HttpService(routes, IDLE_TIMEOUT, REQUEST_TIMEOUT, false);
    }

    /**
     * On an edge (docs/roles.md §3): HTTPS connections go on at the default mailbox node over a
     * link, from their first byte; the edge parses no request unless the node cannot be had.
     */
    public void relayTo(Relay relay) {
        this.relay = relay;
    }

    @Override
    public void open(Connection connection, ChannelPipeline pipeline) {
        Relay to = relay;
        if (to != null) {
            RelayedFromFirstByte.open(connection, pipeline, to, LinkOpening.HTTPS, this::unavailable);
            return;
        }
        serve(connection, pipeline);
    }

    /**
     * On a mailbox node's link: tells the edge the node is ready, then serves the client's requests
     * as on its own listener, the client's address and TLS as the edge asserted them.
     */
    @Override
    public void openRelayed(Connection connection, ChannelPipeline pipeline, LinkOpening opening) {
        RelayedFromFirstByte.ready(connection, "HTTP/1.1");
        serve(connection, pipeline);
    }

    /**
     * No mailbox node takes the connection: each request is answered 503 with Retry-After (RFC 9110
     * §15.6.4, §10.2.3), after which the connection closes; the node's connection rules refusing
     * the client's address is 403 (RFC 9110 §15.5.4).
     */
    private boolean unavailable(Connection connection, ChannelPipeline pipeline, Optional<LinkOpening.Refused> refused) {
        HttpAnswer answer = refused.filter(r -> r.code().equals(LinkOpening.Refused.DENIED)).isPresent()
                ? HttpAnswer.text(HttpResponseStatus.FORBIDDEN, "Not allowed from your address")
                : HttpAnswer.text(HttpResponseStatus.SERVICE_UNAVAILABLE, "The service is not available now, try again later")
                        .with(HttpHeaderNames.RETRY_AFTER.toString(), Long.toString(RETRY_AFTER.toSeconds()));
        RequestClock clock = new RequestClock(idleTimeout, requestTimeout);
        clock.onRequestTimeout(connection::close);
        pipeline.addLast(RequestClock.NAME, clock);
        pipeline.addLast("http", new HttpServerCodec(limits()));
        pipeline.addLast("http-unavailable", new Unavailable(answer, overTls));
        return true;
    }

    /** The decoder's bounds: request line, headers, chunks, and RFC 9112's strict parsing. */
    private static HttpDecoderConfig limits() {
        return new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_REQUEST_LINE)
                .setMaxHeaderSize(MAX_HEADER_SIZE)
                .setMaxChunkSize(MAX_CHUNK)
                // RFC 9112 §6.3: a request with both Transfer-Encoding and Content-Length is refused, not guessed at.
                .setUseRfc9112TransferEncoding(true)
                .setStrictLineParsing(true);
    }

    private void serve(Connection connection, ChannelPipeline pipeline) {
        RequestClock clock = new RequestClock(idleTimeout, requestTimeout);
        pipeline.addLast(RequestClock.NAME, clock);
        pipeline.addLast("http", new HttpServerCodec(limits()));
        pipeline.addLast("http-keep-alive", new HttpServerKeepAliveHandler());
        pipeline.addLast("http-aggregator", new Aggregator(overTls));
        pipeline.addLast("http-session", new HttpSession(connection, routes, clock, overTls));
    }

    /** Answers the first request, whole or not, with one answer and closes. */
    private static final class Unavailable extends ChannelInboundHandlerAdapter {
        private final HttpAnswer answer;
        private final boolean overTls;
        private boolean answered;

        Unavailable(HttpAnswer answer, boolean overTls) {
            this.answer = answer;
            this.overTls = overTls;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest request && !answered) {
                    answered = true;
                    HttpSession.refuseAndClose(ctx, overTls, request.protocolVersion(), answer);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    /** Netty's aggregator, answering an oversized request with the server's own 413. */
    private static final class Aggregator extends HttpObjectAggregator {
        private final boolean overTls;

        Aggregator(boolean overTls) {
            super(MAX_BODY, true);
            this.overTls = overTls;
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            HttpSession.refuseAndClose(ctx, overTls, oversized.protocolVersion(), HttpAnswer.text(
                    HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "Request body over " + MAX_BODY + " octets"));
        }
    }
}
