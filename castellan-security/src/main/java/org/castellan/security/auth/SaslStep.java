package org.castellan.security.auth;

import java.util.Objects;

/** What the protocol session does next in an authentication exchange. */
public sealed interface SaslStep {

    /** Send {@code data} to the client (may be empty) and pass its answer to {@code exchange.respond(...)}. */
    record Challenge(byte[] data, SaslExchange exchange) implements SaslStep {
        public Challenge {
            Objects.requireNonNull(data, "data");
            Objects.requireNonNull(exchange, "exchange");
        }
    }

    /**
     * Authenticated.
     *
     * @param account the canonical address of the account
     * @param mechanism the SASL mechanism, or the password command, that succeeded
     * @param serverFinal data to send with the success reply (SCRAM's {@code v=...}); may be empty
     */
    record Success(String account, String mechanism, byte[] serverFinal) implements SaslStep {
        public Success {
            Objects.requireNonNull(account, "account");
            Objects.requireNonNull(mechanism, "mechanism");
            Objects.requireNonNull(serverFinal, "serverFinal");
        }
    }

    /** Not authenticated; {@code kind} says how much the client may be told. */
    record Failure(FailureKind kind) implements SaslStep {
        public Failure {
            Objects.requireNonNull(kind, "kind");
        }
    }
}
