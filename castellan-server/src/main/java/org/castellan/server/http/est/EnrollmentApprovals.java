package org.castellan.server.http.est;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Optional;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.CertificationRequest;
import org.castellan.store.Account;
import org.castellan.store.Directory;
import org.castellan.store.EnrollmentRequest;
import org.castellan.store.EnrollmentRequest.State;
import org.castellan.store.StoreException;

/**
 * The approval queue of {@code [enroll] approve = true}: an enrollment the policy would issue is
 * kept as pending, and the client is told to come back (RFC 7030 §4.2.3: 202 and Retry-After);
 * the operator approves or denies it ({@code castellan enroll approve|deny}); the client's repeat
 * of the same request — the same account, kind, device name and public key — then gets the
 * certificate, signed at that repeat, or a refusal.
 *
 * <p>SECURITY: a request is found again only by its own account and its key's hash, so an
 * approval is never collected by another account, nor for another key; the move from approved to
 * issued is one conditional write, so two repeats at once get one certificate.
 */
public final class EnrollmentApprovals {

    /**
     * RFC 7030 §4.2.3 Retry-After, in seconds: an operator answers in minutes, so a device asking
     * more often than every five minutes would only fill the log.
     */
    public static final int RETRY_AFTER_SECONDS = 300;
    /** Every request id starts with this, so the operator tells it from a token id ({@code et-}). */
    public static final String ID_PREFIX = "er-";
    /**
     * Requests one account may have waiting at once: a person enrolls a few devices at a time, and
     * a client making a new key for every attempt must not fill the operator's list.
     */
    public static final int MAX_PENDING_PER_ACCOUNT = 10;
    /** Random octets of a request id: short enough to type, and unique among the few waiting at once. */
    private static final int ID_BYTES = 4;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Directory store;
    private final Clock clock;

    public EnrollmentApprovals(Directory store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    /** What a request's turn in the queue says. */
    public sealed interface Verdict {}

    /** Kept, or still waiting: come back later. */
    public record Wait(String id) implements Verdict {}

    /** Not kept: the account has {@link #MAX_PENDING_PER_ACCOUNT} waiting already. */
    public record TooMany() implements Verdict {}

    /** The operator said no. */
    public record Denied(String id, Optional<String> reason) implements Verdict {}

    /** Approved and claimed by this call: sign it now. */
    public record Approved(String id) implements Verdict {}

    /**
     * On a blocking thread: finds the request again, or keeps it as new; an approved one is
     * marked issued by this call, which the caller then signs.
     *
     * @param name the device name the certificate will carry (the owner's address for a user certificate)
     */
    public Verdict check(EmailAddress owner, String kind, String name, CertificationRequest request, byte[] body) {
        Optional<Account> account = store.getAccount(owner);
        if (account.isEmpty()) return new Denied("", Optional.of("the account is gone"));
        String keyHash = keyHash(request);
        Optional<EnrollmentRequest> open = store.findOpenEnrollmentRequest(account.get().id(), kind, name, keyHash);
        if (open.isEmpty()) {
            long waiting = store.listEnrollmentRequests(State.PENDING).stream()
                    .filter(r -> r.accountId() == account.get().id()).count();
            if (waiting >= MAX_PENDING_PER_ACCOUNT) return new TooMany();
            EnrollmentRequest kept = keep(account.get().id(), kind, name, request.publicKey().getAlgorithm(), keyHash, body);
            return new Wait(kept.id());
        }
        EnrollmentRequest found = open.get();
        return switch (found.state()) {
            case PENDING -> new Wait(found.id());
            case DENIED -> new Denied(found.id(), found.reason());
            case APPROVED -> store.moveEnrollmentRequest(found.id(), State.APPROVED, State.ISSUED, null, clock.instant())
                    ? new Approved(found.id())
                    : new Wait(found.id());
            case ISSUED -> throw new IllegalStateException("an issued request is not open");
        };
    }

    /** Gives back a request {@link #check} claimed but that was not signed after all: approved again. */
    public void release(String id) {
        store.moveEnrollmentRequest(id, State.ISSUED, State.APPROVED, null, clock.instant());
    }

    private EnrollmentRequest keep(long accountId, String kind, String name, String keyType, String keyHash, byte[] body) {
        for (int attempt = 0; ; attempt++) {
            try {
                return store.createEnrollmentRequest(accountId, newId(), kind, name, keyType, keyHash, body);
            } catch (StoreException e) {
                // 32 random bits collide rarely; a second draw settles it.
                if (attempt > 0 || e.kind() != StoreException.Kind.ALREADY_EXISTS) throw e;
            }
        }
    }

    /** {@code castellan enroll approve}: false unless the request exists and is pending. */
    public static boolean approve(Directory store, String id, Clock clock) {
        return store.moveEnrollmentRequest(id, State.PENDING, State.APPROVED, null, clock.instant());
    }

    /** {@code castellan enroll deny}: false unless the request exists and is pending. */
    public static boolean deny(Directory store, String id, String reason, Clock clock) {
        return store.moveEnrollmentRequest(id, State.PENDING, State.DENIED, reason, clock.instant());
    }

    private static String newId() {
        byte[] bytes = new byte[ID_BYTES];
        RANDOM.nextBytes(bytes);
        return ID_PREFIX + HexFormat.of().formatHex(bytes);
    }

    private static String keyHash(CertificationRequest request) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(request.publicKey().getEncoded()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
