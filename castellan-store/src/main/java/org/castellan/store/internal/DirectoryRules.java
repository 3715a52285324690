package org.castellan.store.internal;

import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Account;
import org.castellan.store.CertificateBinding;
import org.castellan.store.Directory;
import org.castellan.store.Route;
import org.castellan.store.StoreException;

/**
 * What every {@link Directory} implementation checks before it writes, and how it follows
 * aliases: the same rules and the same operator messages whichever database holds the directory.
 * Each check throws {@link StoreException} {@code INVALID} (or {@code NOT_FOUND} for the
 * {@code no...} messages) naming what is wrong.
 */
public final class DirectoryRules {

    /** No RFC limit; the credential is a SCRAM secret of about 150 characters. */
    public static final int MAX_CREDENTIAL_LENGTH = 4096;
    /** An app password's label is a reminder for its owner, shown in one listing column. */
    public static final int MAX_LABEL_LENGTH = 100;

    private DirectoryRules() {}

    /** The domain lower-cased. */
    public static String validDomain(String name) {
        if (name == null || !EmailAddress.isValidDomain(name)) {
            throw StoreException.invalid("'" + name + "' is not a valid domain name (RFC 5321 §4.1.2)");
        }
        return name.toLowerCase(Locale.ROOT);
    }

    public static void validCredential(String credential) {
        if (credential == null || credential.isBlank()) throw StoreException.invalid("the credential is empty");
        if (credential.length() > MAX_CREDENTIAL_LENGTH) {
            throw StoreException.invalid("the credential is longer than " + MAX_CREDENTIAL_LENGTH + " characters");
        }
    }

    /** A placement's node name: a DNS label, as {@code castellan node add} names nodes. */
    public static void validNodeName(java.util.Optional<String> node) {
        if (node.isPresent() && (node.get().length() > org.castellan.store.Directory.MAX_NODE_NAME
                || !node.get().matches("[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"))) {
            throw StoreException.invalid("a node name is a DNS label (letters, digits, inner hyphens, at most "
                    + org.castellan.store.Directory.MAX_NODE_NAME + "), not " + node.get());
        }
    }

    public static void validQuota(OptionalLong quotaBytes) {
        if (quotaBytes.isPresent() && quotaBytes.getAsLong() < 0) {
            throw StoreException.invalid("a quota cannot be negative, got " + quotaBytes.getAsLong());
        }
    }

    /** All but the per-account limits, which need the database. */
    public static void validAppPassword(String label, String credential, Optional<String> selector, Set<String> scope) {
        validCredential(credential);
        selector.ifPresent(DirectoryRules::validSelector);
        if (label == null || label.isBlank()) throw StoreException.invalid("an app password needs a label");
        if (label.length() > MAX_LABEL_LENGTH) {
            throw StoreException.invalid("the label is longer than " + MAX_LABEL_LENGTH + " characters");
        }
        if (scope == null || scope.isEmpty()) throw StoreException.invalid("an app password needs at least one protocol in its scope");
        for (String p : scope) {
            if (!p.matches("[a-z0-9]{1,16}")) throw StoreException.invalid("'" + p + "' is not a protocol name");
        }
    }

    private static void validSelector(String selector) {
        if (selector.isEmpty() || selector.length() > Directory.MAX_APP_PASSWORD_SELECTOR) {
            throw StoreException.invalid("an app password selector has 1 to " + Directory.MAX_APP_PASSWORD_SELECTOR + " characters");
        }
    }

    public static StoreException tooManyAppPasswords(long accountId) {
        return StoreException.invalid("account " + accountId + " already has " + Directory.MAX_APP_PASSWORDS
                + " app passwords; revoke one first");
    }

    public static StoreException selectorTaken(long accountId) {
        return StoreException.invalid("account " + accountId + " already has an app password with this selector");
    }

    public static void validCertificateBinding(String fingerprint, String label) {
        if (!CertificateBinding.isFingerprint(fingerprint)) {
            throw StoreException.invalid("a certificate fingerprint is " + CertificateBinding.FINGERPRINT_LENGTH
                    + " lower-case hex digits (SHA-256)");
        }
        if (label == null || label.isBlank()) throw StoreException.invalid("a certificate binding needs a label");
        if (label.length() > MAX_LABEL_LENGTH) {
            throw StoreException.invalid("the label is longer than " + MAX_LABEL_LENGTH + " characters");
        }
    }

    public static void validEnrollmentToken(String id, String secretHash, String device, String kind, Instant expires,
            Instant now) {
        if (id == null || !id.matches("et-[0-9a-f]{8,32}")) throw StoreException.invalid("an enrollment token id is et- and 8 to 32 hex digits");
        if (secretHash == null || !secretHash.matches("[0-9a-f]{64}")) {
            throw StoreException.invalid("an enrollment token's hash is 64 lower-case hex digits (SHA-256)");
        }
        if (device == null || device.isBlank() || device.length() > MAX_LABEL_LENGTH) {
            throw StoreException.invalid("an enrollment token needs a device name of at most " + MAX_LABEL_LENGTH + " characters");
        }
        if (!kind.equals("device") && !kind.equals("user")) throw StoreException.invalid("an enrollment token is for a device or user certificate");
        if (!expires.isAfter(now)) throw StoreException.invalid("an enrollment token must expire after now");
    }

    public static void validEnrollmentRequest(String id, String kind, String device, String keyHash) {
        if (id == null || !id.matches("er-[0-9a-f]{8}")) throw StoreException.invalid("an enrollment request id is er- and 8 hex digits");
        if (!"device".equals(kind) && !"user".equals(kind)) throw StoreException.invalid("an enrollment request is for a device or user certificate");
        if (device == null || device.isBlank() || device.length() > MAX_LABEL_LENGTH) {
            throw StoreException.invalid("an enrollment request needs a device name of at most " + MAX_LABEL_LENGTH + " characters");
        }
        if (keyHash == null || !keyHash.matches("[0-9a-f]{64}")) {
            throw StoreException.invalid("an enrollment request's key hash is 64 lower-case hex digits (SHA-256)");
        }
    }

    public static void validAlias(EmailAddress address, EmailAddress target) {
        if (address.key().equals(target.key())) {
            throw StoreException.invalid("alias " + address + " cannot point to itself");
        }
    }

    public static StoreException noAccount(long accountId) {
        return StoreException.notFound("account " + accountId + " does not exist");
    }

    public static StoreException noDomain(String domain) {
        return StoreException.notFound("domain " + domain + " does not exist; create the domain first");
    }

    /** The look-ups alias resolution and routes need, within one read; addresses by {@link EmailAddress#key()}. */
    public interface Lookup {
        Optional<Account> account(String addressKey) throws SQLException;

        Optional<String> aliasTarget(String addressKey) throws SQLException;

        /** The id of the account's INBOX. */
        Optional<Long> inbox(long accountId) throws SQLException;
    }

    /**
     * Where mail for {@code recipient} goes ({@link Directory#route}), before the store remembers it.
     *
     * @throws StoreException {@code INVALID} as {@link #resolve}; {@code UNAVAILABLE} for an account without INBOX
     */
    public static Optional<Route> route(EmailAddress recipient, Lookup lookup) throws SQLException {
        Optional<Account> account = resolve(recipient, lookup);
        if (account.isEmpty()) return Optional.empty();
        Account a = account.get();
        long inbox = lookup.inbox(a.id()).orElseThrow(() -> StoreException.unavailable("account " + a.address()
                + " has no INBOX", null));
        return Optional.of(new Route(a.id(), a.address(), inbox, a.quotaBytes()));
    }

    /**
     * Follows aliases from {@code recipient} to an account ({@link Directory#resolveRecipient}).
     *
     * @throws StoreException {@code INVALID} for a loop or a chain longer than {@link Directory#MAX_ALIAS_DEPTH}
     */
    public static Optional<Account> resolve(EmailAddress recipient, Lookup lookup) throws SQLException {
        List<String> chain = new ArrayList<>();
        EmailAddress current = recipient;
        while (true) {
            Optional<Account> account = lookup.account(current.key());
            if (account.isPresent()) return account;
            if (chain.contains(current.key())) {
                chain.add(current.key());
                throw StoreException.invalid("aliases form a loop: " + String.join(" -> ", chain)
                        + "; change one of them to point to an account");
            }
            chain.add(current.key());
            Optional<String> target = lookup.aliasTarget(current.key());
            if (target.isEmpty()) return Optional.empty();
            if (chain.size() > Directory.MAX_ALIAS_DEPTH) {
                throw StoreException.invalid("aliases from " + recipient + " form a chain longer than " + Directory.MAX_ALIAS_DEPTH
                        + ": " + String.join(" -> ", chain) + "; point the first one nearer its account");
            }
            current = EmailAddress.of(target.get());
        }
    }
}
