package org.castellan.security.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The last step that waits for the client's empty answer to SCRAM's server-final data. */
class SaslExchangeTest {

    private static final SaslStep.Success SUCCESS = new SaslStep.Success("alice@example.org", "SCRAM-SHA-256",
            new byte[] {'v', '=', '1'});

    @Test
    void anEmptyAnswerCompletesTheSuccessWithoutData() {
        SaslStep step = SaslExchange.acknowledging(SUCCESS).respond(new byte[0]).toCompletableFuture().join();
        assertThat(step).isInstanceOfSatisfying(SaslStep.Success.class, ok -> {
            assertThat(ok.account()).isEqualTo("alice@example.org");
            assertThat(ok.mechanism()).isEqualTo("SCRAM-SHA-256");
            assertThat(ok.serverFinal()).isEmpty();
        });
    }

    @Test
    void anyOtherAnswerIsMalformedAndCancellingAborts() {
        SaslExchange last = SaslExchange.acknowledging(SUCCESS);
        assertThat(last.respond(new byte[] {'x'}).toCompletableFuture().join())
                .isEqualTo(new SaslStep.Failure(FailureKind.MALFORMED));
        assertThat(last.abort().toCompletableFuture().join()).isEqualTo(new SaslStep.Failure(FailureKind.ABORTED));
    }
}
