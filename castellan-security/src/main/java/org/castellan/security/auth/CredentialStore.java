package org.castellan.security.auth;

import java.util.Optional;

/**
 * How {@link AuthService} finds accounts; the server implements it over the mail store.
 *
 * <p>Failure: an implementation that cannot reach its storage throws (any
 * {@link RuntimeException}); AuthService then answers {@link FailureKind#TEMPORARY} and the
 * attempt is not counted as a failed login.
 */
public interface CredentialStore {

    /**
     * The account for {@code username} as typed by the client (an address; case-insensitive);
     * empty if there is no such account.
     */
    Optional<StoredCredential> find(String username);

    /**
     * @param account the canonical address of the account
     * @param secret the password secret in {@link ScramSecret#encode()} form
     */
    record StoredCredential(String account, String secret) {
        @Override
        public String toString() {
            return "StoredCredential[" + account + "]";
        }
    }
}
