package org.castellan.server.http.est;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.CertificateKind;
import org.castellan.store.Account;
import org.castellan.store.Directory;
import org.castellan.store.EnrollmentToken;

/**
 * Enrollment tokens kept in the store: made by {@code castellan enroll token}, checked and spent
 * by enrollment requests.
 *
 * <p>SECURITY: a token is {@code et-<16 hex>.<secret>}, the secret 256 random bits, so guessing
 * one is hopeless and a plain SHA-256 of the secret is as good as a slow hash would be; the
 * comparison takes the same time wherever the hashes differ. A token is good for one certificate:
 * it is marked used in the same write that checks it is still unused ({@link Directory#useEnrollmentToken}),
 * just before the CA signs, so a replayed token — or the same token sent twice at once — gets one
 * certificate at most. An expired, used or unknown token, and one whose account is gone, are all
 * refused alike.
 */
public final class StoreEnrollmentTokens implements EnrollmentTokens {

    /** How long a token lasts unless the operator says otherwise: a working day to hand it over. */
    public static final Duration DEFAULT_VALIDITY = Duration.ofHours(24);
    /** Random octets of a token's id: 64 bits tell tokens apart, they guard nothing. */
    private static final int ID_BYTES = 8;
    /** Random octets of a token's secret: 256 bits. */
    private static final int SECRET_BYTES = 32;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Directory store;
    private final Executor blocking;
    private final Clock clock;

    public StoreEnrollmentTokens(Directory store, Executor blocking, Clock clock) {
        this.store = store;
        this.blocking = blocking;
        this.clock = clock;
    }

    /** A token made and kept: {@code text} is shown to the operator once and nowhere kept. */
    public record Made(String text, EnrollmentToken token) {}

    /** Makes and keeps a token for {@code account}'s device {@code device}, valid for {@code validity}. */
    public static Made make(Directory store, Account account, String device, CertificateKind kind, Duration validity, Clock clock) {
        Fresh fresh = fresh(ID_PREFIX);
        EnrollmentToken token = store.createEnrollmentToken(account.id(), fresh.id(), hash(fresh.secret()), device,
                kind.caName(), clock.instant().plus(validity));
        return new Made(fresh.text(), token);
    }

    /** A new token's random id (after {@code prefix}) and secret; {@link #text} is what its holder gets. */
    record Fresh(String id, String secret) {
        String text() {
            return id + SEPARATOR + secret;
        }
    }

    static Fresh fresh(String prefix) {
        byte[] idBytes = new byte[ID_BYTES];
        byte[] secretBytes = new byte[SECRET_BYTES];
        RANDOM.nextBytes(idBytes);
        RANDOM.nextBytes(secretBytes);
        return new Fresh(prefix + HexFormat.of().formatHex(idBytes),
                Base64.getUrlEncoder().withoutPadding().encodeToString(secretBytes));
    }

    @Override
    public CompletionStage<Optional<Enrollee>> check(String text) {
        int dot = text.indexOf(SEPARATOR);
        if (dot <= 0 || !EnrollmentTokens.isTokenId(text.substring(0, dot))) return CompletableFuture.completedFuture(Optional.empty());
        String id = text.substring(0, dot);
        String secret = text.substring(dot + 1);
        return CompletableFuture.supplyAsync(() -> {
            Optional<EnrollmentToken> found = store.findEnrollmentToken(id);
            if (found.isEmpty()) return Optional.empty();
            EnrollmentToken token = found.get();
            boolean matches = MessageDigest.isEqual(token.secretHash().getBytes(StandardCharsets.US_ASCII),
                    hash(secret).getBytes(StandardCharsets.US_ASCII));
            if (!matches || token.used().isPresent() || !token.expiresAt().isAfter(clock.instant())) return Optional.empty();
            Optional<Account> account = store.getAccount(token.accountId());
            if (account.isEmpty()) return Optional.empty();
            EmailAddress owner = account.get().address();
            return Optional.of(new Enrollee(owner, Optional.of(CertificateKind.fromCaName(token.kind())),
                    Optional.of(token.device()), Optional.of(id)));
        }, blocking);
    }

    @Override
    public boolean consume(String id) {
        return store.useEnrollmentToken(id, clock.instant());
    }

    static String hash(String secret) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
