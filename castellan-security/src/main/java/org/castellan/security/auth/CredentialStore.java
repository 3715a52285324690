package org.castellan.security.auth;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

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
     * The app passwords of {@code account} (the canonical address {@link #find} returned), each
     * with the protocols it may be used on and its selector. AuthService asks for PLAIN, LOGIN and
     * password commands only: SCRAM uses the main secret alone. A store without app passwords
     * keeps this default.
     */
    default List<AppSecret> appPasswords(String account) {
        return List.of();
    }

    /**
     * The accounts a verified client certificate belongs to by record rather than by the names
     * it carries: the owner the built-in CA noted when it issued a device certificate. Used for
     * {@link CertificateForPassword#SAME_ACCOUNT}. A store without such records keeps this default.
     */
    default List<String> certificateOwners(X509Certificate certificate) {
        return List.of();
    }

    /**
     * The account an operator has bound this verified client certificate to by its SHA-256
     * fingerprint ({@link CertificateFingerprint}), if any. EXTERNAL prefers it to the addresses
     * the certificate carries, and {@link CertificateForPassword#SAME_ACCOUNT} accepts it. A store
     * without bindings keeps this default.
     */
    default Optional<String> certificateBinding(X509Certificate certificate) {
        return Optional.empty();
    }

    /**
     * Replaces the password secret of {@code account} with {@code replacement}, but only while the
     * store still holds {@code expected} (compare and set), so that a password changed meanwhile
     * is never undone. AuthService calls it on a worker thread after a successful password login
     * whose secret has another iteration count than configured. A store that cannot replace
     * secrets keeps this default; its secrets then keep their count until the password is set again.
     *
     * @param account the canonical address {@link #find} returned
     * @param expected the secret in {@link ScramSecret#encode()} form that was just verified
     * @param replacement the new secret in the same form
     * @return whether the secret was replaced
     */
    default boolean replaceSecret(String account, String expected, String replacement) {
        return false;
    }

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

    /**
     * One app password as AuthService checks it.
     *
     * @param id the store's id, for the log and for revoking
     * @param secret the secret in {@link ScramSecret#encode()} form
     * @param protocols the lower-case protocol names ({@link AuthContext#protocol()}) it is good for
     * @param selector the app password's first characters ({@link Passwords#selector}); empty for
     *     one made before selectors existed
     */
    record AppSecret(long id, String secret, Set<String> protocols, Optional<String> selector) {
        public AppSecret {
            Objects.requireNonNull(secret, "secret");
            protocols = Set.copyOf(protocols);
            Objects.requireNonNull(selector, "selector");
        }

        /** One made before selectors existed. */
        public AppSecret(long id, String secret, Set<String> protocols) {
            this(id, secret, protocols, Optional.empty());
        }

        @Override
        public String toString() {
            return "AppSecret[id=" + id + ", protocols=" + protocols + "]";
        }
    }
}
