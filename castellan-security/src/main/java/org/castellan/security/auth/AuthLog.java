package org.castellan.security.auth;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Where {@link AuthService} reports every authentication attempt, for the persistent auth log.
 * {@link #record} is called on the thread that decided the attempt (a worker, a timer or the
 * caller's event loop), so it must return at once: an implementation queues and writes in the
 * background ({@link BatchingAuthLog}).
 *
 * <p>Failure: {@code record} must not throw; AuthService catches and drops anything thrown so that
 * logging can never change the outcome of a login.
 */
@FunctionalInterface
public interface AuthLog {

    /** Records nothing. */
    AuthLog NONE = attempt -> {};

    void record(Attempt attempt);

    /**
     * One attempt. It never holds a password, SASL payload, proof or secret.
     *
     * @param remote the client's address as text
     * @param mechanism the SASL mechanism or password command ({@code "?"} for a name not worth repeating)
     * @param account the canonical account, or the address the client named; empty when neither
     * @param result {@code OK} or a {@link FailureKind} name, or {@code ABORTED}
     * @param tlsVersion the TLS protocol version; empty without TLS or when unknown
     * @param certificateSha256 the verified client certificate's SHA-256 fingerprint in hex
     * @param appPassword the id of the app password that succeeded, if one did
     * @param reason why it failed, as the server log's {@code reason=} says it; empty for a success
     */
    record Attempt(Instant time, String remote, String listener, String protocol, String mechanism,
            Optional<String> account, String result, Optional<String> tlsVersion, Optional<String> certificateSha256,
            Optional<Long> appPassword, Optional<String> reason) {
        public Attempt {
            Objects.requireNonNull(time, "time");
            Objects.requireNonNull(remote, "remote");
            Objects.requireNonNull(listener, "listener");
            Objects.requireNonNull(protocol, "protocol");
            Objects.requireNonNull(mechanism, "mechanism");
            Objects.requireNonNull(account, "account");
            Objects.requireNonNull(result, "result");
            Objects.requireNonNull(tlsVersion, "tlsVersion");
            Objects.requireNonNull(certificateSha256, "certificateSha256");
            Objects.requireNonNull(appPassword, "appPassword");
            Objects.requireNonNull(reason, "reason");
        }

        /** An attempt that gives no reason (a success). */
        public Attempt(Instant time, String remote, String listener, String protocol, String mechanism,
                Optional<String> account, String result, Optional<String> tlsVersion, Optional<String> certificateSha256,
                Optional<Long> appPassword) {
            this(time, remote, listener, protocol, mechanism, account, result, tlsVersion, certificateSha256, appPassword,
                    Optional.empty());
        }
    }
}
