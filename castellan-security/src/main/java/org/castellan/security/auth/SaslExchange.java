package org.castellan.security.auth;

import java.util.concurrent.CompletionStage;

/**
 * An authentication exchange in progress. Calls never block and never throw for client input:
 * a response after the exchange has ended gives {@code Failure(MALFORMED)}.
 */
public interface SaslExchange {

    /** The client's answer to the last challenge, already base64-decoded. */
    CompletionStage<SaslStep> respond(byte[] clientResponse);

    /** The client cancelled ({@code "*"}): counts as nothing, returns {@code Failure(ABORTED)}. */
    CompletionStage<SaslStep> abort();
}
