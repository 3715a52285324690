package org.castellan.server.http;

import java.util.concurrent.CompletionStage;

/**
 * One resource of the HTTPS listener, registered in {@link HttpRoutes} by path and methods.
 *
 * <p>A route is called on the connection's event loop and must not block there: store calls,
 * signatures and AuthService futures go to other threads, and the returned stage completes when
 * the answer is ready. The session writes it, in request order, on the event loop.
 *
 * <p>Failure: a stage that completes exceptionally (or a route that throws) becomes a 500 with a
 * generic text, and the log gets the detail; a client never sees an exception.
 */
@FunctionalInterface
public interface HttpRoute {

    CompletionStage<HttpAnswer> handle(HttpCall call);
}
