package org.castellan.security.auth;

import java.util.concurrent.CompletableFuture;
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

    /**
     * The last step of an exchange whose success carries data (SCRAM's server-final message) in a
     * protocol that sends that data as one more challenge (IMAP, RFC 9051 §6.2.2; POP3, RFC 5034
     * §4; SMTP, RFC 4954 §4): an empty response completes {@code success} (without data now), any
     * other response is {@code MALFORMED}.
     */
    static SaslExchange acknowledging(SaslStep.Success success) {
        return new SaslExchange() {
            @Override
            public CompletionStage<SaslStep> respond(byte[] clientResponse) {
                return CompletableFuture.completedFuture(clientResponse.length == 0
                        ? new SaslStep.Success(success.account(), success.mechanism(), new byte[0])
                        : new SaslStep.Failure(FailureKind.MALFORMED));
            }

            @Override
            public CompletionStage<SaslStep> abort() {
                return CompletableFuture.completedFuture(new SaslStep.Failure(FailureKind.ABORTED));
            }
        };
    }
}
