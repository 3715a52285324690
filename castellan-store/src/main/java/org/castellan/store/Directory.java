package org.castellan.store;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Consumer;
import org.castellan.protocol.mail.EmailAddress;

/**
 * Who may receive and who may log in: domains, accounts and their credentials, app passwords,
 * certificate bindings, enrollment tokens and requests, aliases and the routes they give, and the
 * login blocks and certificate revocations every node must hold (docs/store.md, "What the nodes
 * share"). What
 * AuthService, SMTP RCPT and the administration commands ask of the store (docs/store.md,
 * "Scale-out").
 *
 * <p><b>Failures.</b> Every method throws {@link StoreException}: {@code NOT_FOUND} for a missing
 * domain, account, alias, app password or certificate binding; {@code ALREADY_EXISTS};
 * {@code INVALID} for a malformed or forbidden request; {@code UNAVAILABLE} (temporary) for an
 * I/O error, a full disk, a busy database or a closed store. A write that throws has changed
 * nothing.
 *
 * <p><b>Durability.</b> A write returns only once it is durable.
 */
public interface Directory {

    /** How many aliases {@link #resolveRecipient} follows before giving up; real chains have 1 or 2. */
    int MAX_ALIAS_DEPTH = 10;

    /** The mailboxes every new account gets besides INBOX, with their RFC 6154 special use. */
    List<DefaultMailbox> DEFAULT_MAILBOXES = List.of(
            new DefaultMailbox("Drafts", SpecialUse.DRAFTS),
            new DefaultMailbox("Sent", SpecialUse.SENT),
            new DefaultMailbox("Trash", SpecialUse.TRASH),
            new DefaultMailbox("Junk", SpecialUse.JUNK),
            new DefaultMailbox("Archive", SpecialUse.ARCHIVE));

    /** A mailbox created with every account. */
    record DefaultMailbox(String name, SpecialUse specialUse) {}

    // ---- domains

    /** Adds a domain; the name is validated and lower-cased. */
    Domain createDomain(String name);

    List<Domain> listDomains();

    Optional<Domain> getDomain(String name);

    /** Removes a domain; fails with {@code INVALID} while accounts or aliases of the domain exist. */
    void deleteDomain(String name);

    // ---- accounts

    /**
     * Creates an account with INBOX and the {@link #DEFAULT_MAILBOXES}, all subscribed. The domain
     * must exist; the address must not already be an account or an alias.
     *
     * @param credential opaque to the store (a SCRAM-SHA-256 secret), never logged
     * @param quotaBytes empty for no limit
     */
    Account createAccount(EmailAddress address, String credential, OptionalLong quotaBytes);

    /** Looks an account up by its case-folded address ({@link EmailAddress#key()}). */
    Optional<Account> getAccount(EmailAddress address);

    Optional<Account> getAccount(long accountId);

    List<Account> listAccounts();

    List<Account> listAccounts(String domain);

    void setCredential(long accountId, String credential);

    /**
     * Sets the credential only while it is still {@code expected}, in one transaction: a login
     * that re-derives a password secret must never undo a password change made meanwhile.
     *
     * @return whether it was replaced; false when the credential is no longer {@code expected}
     *     or the account is gone
     */
    boolean replaceCredential(long accountId, String expected, String credential);

    /** Sets or removes (empty) the limit; usage may already be above it, new mail is then refused. */
    void setQuota(long accountId, OptionalLong quotaBytes);

    /** Deletes the account with all its mailboxes and messages. */
    void deleteAccount(long accountId);

    // ---- placement (docs/roles.md §4)

    /** The longest node name a placement holds: a node name is a DNS label (RFC 1035 §2.3.4). */
    int MAX_NODE_NAME = 63;

    /**
     * The mailbox node that holds the account's mail, as edges look it up after a login; empty
     * when none was set, which sends the account to the edge's default node.
     *
     * @throws StoreException {@code NOT_FOUND} if the account does not exist
     */
    Optional<String> placement(long accountId);

    /**
     * Places the account on node {@code node}, or removes its placement (empty). Moves no mail:
     * that is {@code user move}'s work (docs/roles.md §4).
     *
     * @throws StoreException {@code INVALID} if the name is not a DNS label (letters, digits and
     *     inner hyphens, at most {@link #MAX_NODE_NAME}); {@code NOT_FOUND} if the account does not exist
     */
    void setPlacement(long accountId, Optional<String> node);

    // ---- moves and cluster operations (docs/roles.md §4); a store shared by nodes keeps them

    /**
     * Until when the account's logins are refused because {@code user move} is switching its
     * node; empty when it is not being moved (or the lock ran out). Read by edges at each login.
     *
     * @throws StoreException {@code NOT_FOUND} if the account does not exist
     */
    default Optional<Instant> moveLock(long accountId) {
        return Optional.empty();
    }

    /**
     * Takes the move lock of the account until {@code until}, unless another move holds it.
     *
     * @return whether this caller holds it now
     * @throws StoreException {@code INVALID} on a store no other node shares; {@code NOT_FOUND} if the account does not exist
     */
    default boolean lockForMove(long accountId, Instant until) {
        throw StoreException.invalid("moving an account between nodes needs a store the nodes share (PostgreSQL)");
    }

    /**
     * Ends a move: places the account on {@code node} (empty: leaves its placement as it was) and
     * lifts its move lock in one transaction, and tells the other nodes ({@link
     * DirectoryChange.PlacementChanged}) when the placement changed.
     */
    default void finishMove(long accountId, Optional<String> node) {
        throw StoreException.invalid("moving an account between nodes needs a store the nodes share (PostgreSQL)");
    }

    /** Names this node among those that answer cluster requests; called when it starts. */
    default void announceNode(String name, String role) {}

    /** The nodes that named themselves, by name. */
    default List<ClusterNode> clusterNodes() {
        return List.of();
    }

    /**
     * The longest request {@link #askNodes} carries: PostgreSQL refuses a notification payload of
     * 8000 bytes or more, and the request shares it with the node's id and the request id.
     */
    int MAX_CLUSTER_REQUEST = 7000;

    /**
     * Asks every node listening ({@link DirectoryChange.NodesAsked}); they answer with {@link
     * #answerNodes}.
     *
     * @throws StoreException {@code INVALID} on a store no other node shares, or a request longer than {@link #MAX_CLUSTER_REQUEST}
     */
    default void askNodes(String requestId, String request) {
        throw StoreException.invalid("cluster requests need a store the nodes share (PostgreSQL)");
    }

    /** This node's answer to a request heard through {@link #watchDirectory}. */
    default void answerNodes(String requestId, String node, String answer) {}

    /** The answers to the request so far, by node name; the request's answers are deleted when {@code forget}. */
    default Map<String, String> nodeAnswers(String requestId, boolean forget) {
        return Map.of();
    }

    // ---- app passwords

    /**
     * How many app passwords one account may hold. A login checks only the one its selector names,
     * but each one stored without a selector (made before selectors existed) is checked on a
     * failed login: this bounds that.
     */
    int MAX_APP_PASSWORDS = 20;

    /** The longest app password selector: a few characters of the password are enough to tell 20 apart. */
    int MAX_APP_PASSWORD_SELECTOR = 16;


    /**
     * Adds an app password to an account.
     *
     * @param credential opaque to the store (a SCRAM-SHA-256 secret), never logged
     * @param scope lower-case protocol names, at least one
     * @throws StoreException {@code NOT_FOUND} without the account; {@code INVALID} for an empty
     *     label or scope, or when the account already has {@link #MAX_APP_PASSWORDS}
     */
    default AppPassword createAppPassword(long accountId, String label, String credential, Set<String> scope) {
        return createAppPassword(accountId, label, credential, Optional.empty(), scope);
    }

    /**
     * Adds an app password whose first characters are {@code selector}, by which logins find it.
     *
     * @param selector stored in the clear; at most {@link #MAX_APP_PASSWORD_SELECTOR} characters
     * @throws StoreException as {@link #createAppPassword(long, String, String, Set)}, and
     *     {@code INVALID} if another app password of the account has the same selector
     */
    AppPassword createAppPassword(long accountId, String label, String credential, Optional<String> selector,
            Set<String> scope);

    /** The account's app passwords, oldest first; {@code NOT_FOUND} without the account. */
    List<AppPassword> listAppPasswords(long accountId);

    /** Removes one app password of the account; {@code NOT_FOUND} if the account has no such one. */
    void revokeAppPassword(long accountId, long appPasswordId);

    // ---- certificate bindings

    /**
     * Binds a client certificate to an account by its SHA-256 fingerprint.
     *
     * @param fingerprint 64 lower-case hex digits ({@link CertificateBinding#isFingerprint})
     * @throws StoreException {@code NOT_FOUND} without the account; {@code INVALID} for a malformed
     *     fingerprint or an empty label; {@code ALREADY_EXISTS} when the certificate is already bound
     *     (to this or another account: one certificate belongs to one account)
     */
    CertificateBinding bindCertificate(long accountId, String fingerprint, String label);

    /** The binding of a certificate, if it has one; empty for a malformed fingerprint. */
    Optional<CertificateBinding> findCertificateBinding(String fingerprint);

    /** The certificates bound to the account, oldest first; {@code NOT_FOUND} without the account. */
    List<CertificateBinding> listCertificateBindings(long accountId);

    /** Every binding, oldest first. */
    List<CertificateBinding> listCertificateBindings();

    /** Removes a binding; {@code NOT_FOUND} if the certificate is not bound. */
    void unbindCertificate(String fingerprint);

    // ---- enrollment tokens

    /**
     * Keeps a new one-time enrollment token.
     *
     * @throws StoreException {@code NOT_FOUND} without the account; {@code ALREADY_EXISTS} for an
     *     id in use; {@code INVALID} for an id not {@code et-} and 8 to 32 lower-case hex digits, a
     *     hash not 64 lower-case hex digits, an empty device, a kind other than device or user, or
     *     an expiry not after now
     */
    EnrollmentToken createEnrollmentToken(long accountId, String id, String secretHash, String device, String kind,
            Instant expires);

    /** The token with this id, used or not, expired or not. */
    Optional<EnrollmentToken> findEnrollmentToken(String id);

    /**
     * Marks the token used at {@code now} if it exists, is unused and has not expired; of two
     * calls at once, one wins. Returns whether this call marked it.
     */
    boolean useEnrollmentToken(String id, Instant now);

    // ---- enrollment requests waiting for approval

    /**
     * Keeps a new pending enrollment request.
     *
     * @throws StoreException {@code NOT_FOUND} without the account; {@code ALREADY_EXISTS} for an
     *     id in use; {@code INVALID} for an id not {@code er-} and 8 lower-case hex digits, a kind
     *     other than device or user, an empty device, or a key hash not 64 lower-case hex digits
     */
    EnrollmentRequest createEnrollmentRequest(long accountId, String id, String kind, String device, String keyType,
            String keyHash, byte[] csr);

    /** The request with this id, in any state. */
    Optional<EnrollmentRequest> findEnrollmentRequest(String id);

    /**
     * The latest request of this account for this kind, device and key that is not yet issued:
     * what a client's repeat of the same request finds.
     */
    Optional<EnrollmentRequest> findOpenEnrollmentRequest(long accountId, String kind, String device, String keyHash);

    /** Every request in {@code state}, oldest first. */
    List<EnrollmentRequest> listEnrollmentRequests(EnrollmentRequest.State state);

    /**
     * Moves the request from {@code from} to {@code to} at {@code now}, with {@code reason} (may be
     * null); of two calls at once, one wins. Returns whether this call moved it.
     */
    boolean moveEnrollmentRequest(String id, EnrollmentRequest.State from, EnrollmentRequest.State to, String reason,
            Instant now);

    // ---- aliases

    /**
     * Makes mail for {@code address} go to {@code target}. The alias's domain must exist and the
     * address must not be an account; the target may be anything, even an alias.
     */
    Alias createAlias(EmailAddress address, EmailAddress target);

    List<Alias> listAliases();

    void deleteAlias(EmailAddress address);

    /**
     * The local account mail for {@code recipient} is delivered to, following aliases; empty when
     * the chain ends at an address that is not a local account.
     *
     * @throws StoreException {@code INVALID} when aliases form a loop or a chain longer than
     *     {@link #MAX_ALIAS_DEPTH}
     */
    Optional<Account> resolveRecipient(EmailAddress recipient);

    /**
     * Where mail for {@code recipient} goes, following aliases as {@link #resolveRecipient} does;
     * empty when no local account receives it. The store remembers the answer for
     * {@link #knownRoute}.
     *
     * @throws StoreException {@code INVALID} when aliases form a loop or too long a chain
     */
    Optional<Route> route(EmailAddress recipient);

    /**
     * The route {@link #route} last found for {@code recipient}, if nothing it depends on has
     * changed since; empty when the store would have to look. Answers from memory without
     * waiting, so an event loop may call it. A change made by another process using the same
     * database may take up to {@link #DIRECTORY_RECHECK} to be noticed; a delivery along a route
     * that has just disappeared still fails in the store, never silently.
     */
    Optional<Route> knownRoute(EmailAddress recipient);

    // ---- what every node keeps in memory: login blocks and revocations

    /**
     * Keeps a block of the login limiter for every node; a block of the same source and account
     * already kept is replaced by the one that ends later. Blocks that have ended are dropped.
     */
    void putBlock(LoginBlock block);

    /** The blocks in force at {@code now}, soonest to end first. */
    List<LoginBlock> listBlocks(Instant now);

    /** Lifts the blocks of these sources (with any account); returns how many were kept. */
    int deleteBlocks(Set<String> sources);

    /** Lifts every block; returns how many were kept. */
    int deleteAllBlocks();

    /**
     * Keeps a revocation for every node, unless one of the same issuer and serial is kept already.
     *
     * @return whether it was new
     */
    boolean recordRevocation(CertificateRevocation revocation);

    /** Every revocation kept, oldest first. */
    List<CertificateRevocation> listRevocations();

    /**
     * Tells {@code listener} of the blocks, revocations, account deletions, placement switches
     * ({@code user move}) and cluster requests other nodes write from now on, on the
     * store's own thread (hand off anything slow). A store that serves one process alone (the
     * embedded one) never calls it: the process that writes knows already.
     */
    default void watchDirectory(Consumer<DirectoryChange> listener) {}

    /** How often the store looks for changes to domains, accounts, aliases and mailboxes made by another process. */
    Duration DIRECTORY_RECHECK = Duration.ofMillis(250);
}
