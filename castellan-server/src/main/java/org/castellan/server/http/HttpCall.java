package org.castellan.server.http;

import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import org.castellan.server.transport.Connection;

/**
 * One request as a route sees it: the request itself (its body already aggregated and within
 * {@link HttpService#MAX_BODY}), the path it was routed by, and the connection it came on —
 * remote address, TLS parameters and the verified client certificate, if any.
 *
 * <p>The request's buffer belongs to the session, which releases it once the route's answer is
 * complete: a route that works on another thread copies what it needs first
 * ({@link #body()} does).
 *
 * @param method GET for a HEAD request: a route answers both alike and the session drops the body
 */
public record HttpCall(Connection connection, FullHttpRequest request, HttpMethod method, String path) {

    /** The request's body, copied. */
    public byte[] body() {
        byte[] bytes = new byte[request.content().readableBytes()];
        request.content().getBytes(request.content().readerIndex(), bytes);
        return bytes;
    }

    /** A request header's value, or null without one. */
    public String header(CharSequence name) {
        return request.headers().get(name);
    }
}
