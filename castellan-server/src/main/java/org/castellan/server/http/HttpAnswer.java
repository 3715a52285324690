package org.castellan.server.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a route answers: a status, a content type, a body and any headers of its own. The session
 * adds the headers every answer carries (docs/http.md) and the Content-Length.
 *
 * @param headers header name to value, in order; never Content-Length, which the session sets
 */
public record HttpAnswer(HttpResponseStatus status, String contentType, byte[] body, Map<String, String> headers) {

    /** The type of the short texts of refusals and errors (RFC 7030 §4.2.3 allows text/plain there). */
    public static final String TEXT = "text/plain; charset=utf-8";

    public HttpAnswer {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(contentType, "contentType");
        Objects.requireNonNull(body, "body");
        headers = Map.copyOf(headers);
    }

    /** 200 with {@code body} of {@code contentType}. */
    public static HttpAnswer ok(String contentType, byte[] body) {
        return new HttpAnswer(HttpResponseStatus.OK, contentType, body, Map.of());
    }

    /**
     * A refusal or error with a one-line text for the person reading the client's output: the
     * server's own words, never an exception's trace; a name the client sent may appear in it,
     * with control characters as {@code ?}.
     */
    public static HttpAnswer text(HttpResponseStatus status, String message) {
        String line = message.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return new HttpAnswer(status, TEXT, (line + "\n").getBytes(StandardCharsets.UTF_8), Map.of());
    }

    /** This answer with one more header. */
    public HttpAnswer with(String name, String value) {
        Map<String, String> more = new LinkedHashMap<>(headers);
        more.put(name, value);
        return new HttpAnswer(status, contentType, body, more);
    }
}
