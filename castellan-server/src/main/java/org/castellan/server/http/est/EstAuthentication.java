package org.castellan.server.http.est;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.protocol.sasl.Utf8;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.SaslStep;
import org.castellan.server.http.HttpAnswer;
import org.castellan.server.http.HttpCall;

/**
 * Who sent an enrollment request (RFC 7030 §3.2.3): HTTP Basic (RFC 7617) with an account's
 * password or an app password scoped {@value #PROTOCOL}, checked by AuthService with the limiter,
 * auth log and listener policies every protocol has; or, with {@link EnrollmentTokens}, a one-time
 * enrollment token as Basic (user = the token's id) or Bearer (RFC 6750 §2.1).
 *
 * <p>SECURITY: the listener is implicit TLS only, and AuthService refuses a password without TLS
 * all the same (docs/design.md §5.1). The password is erased once AuthService has its copy.
 */
public final class EstAuthentication {

    /** The protocol name of enrollment in AuthService: the auth log's and an app password's scope. */
    public static final String PROTOCOL = "enroll";
    /** RFC 7617 §2: what a client shows the user; charset says credentials are UTF-8 (§2.1). */
    static final String CHALLENGE = "Basic realm=\"castellan enrollment\", charset=\"UTF-8\"";

    private final AuthService auth;
    private final Optional<EnrollmentTokens> tokens;

    public EstAuthentication(AuthService auth, Optional<EnrollmentTokens> tokens) {
        this.auth = auth;
        this.tokens = tokens;
    }

    /**
     * 401 with the challenge (RFC 9110 §11.6.1) and no body: Bouncy Castle's EST client answers a
     * Basic challenge by closing the response unread, and fails if a body was left in it.
     */
    static HttpAnswer challenge() {
        return new HttpAnswer(HttpResponseStatus.UNAUTHORIZED, HttpAnswer.TEXT, new byte[0], Map.of())
                .with(HttpHeaderNames.WWW_AUTHENTICATE.toString(), CHALLENGE);
    }

    /** The enrollee, or empty when the request carries no credentials or wrong ones. */
    CompletionStage<Optional<Enrollee>> authenticate(HttpCall call) {
        String header = call.header(HttpHeaderNames.AUTHORIZATION);
        if (header == null) return none();
        int space = header.indexOf(' ');
        if (space < 0) return none();
        String scheme = header.substring(0, space);
        String credentials = header.substring(space + 1).strip();
        if (scheme.equalsIgnoreCase("Bearer") && tokens.isPresent()) {
            return tokens.get().check(credentials);
        }
        if (!scheme.equalsIgnoreCase("Basic")) return none();
        char[] pair = basic(credentials);
        if (pair == null) return none();
        try {
            int colon = indexOf(pair, ':');
            if (colon <= 0) return none();
            String user = new String(pair, 0, colon);
            char[] password = Arrays.copyOfRange(pair, colon + 1, pair.length);
            if (tokens.isPresent() && EnrollmentTokens.isTokenId(user)) {
                return tokens.get().check(user + EnrollmentTokens.SEPARATOR + new String(password));
            }
            try {
                return auth.login(call.connection().authContext(PROTOCOL), user, password, "BASIC")
                        .thenApply(step -> step instanceof SaslStep.Success s
                                ? Optional.of(new Enrollee(EmailAddress.of(s.account()), Optional.empty(), Optional.empty(), Optional.empty()))
                                : Optional.<Enrollee>empty());
            } finally {
                Arrays.fill(password, '\0');
            }
        } finally {
            Arrays.fill(pair, '\0');
        }
    }

    /** Spends the enrollee's token, if it came with one; false when another request spent it first. */
    boolean consume(Enrollee enrollee) {
        return enrollee.token().isEmpty() || tokens.orElseThrow().consume(enrollee.token().get());
    }

    /** RFC 7617 §2: base64 of user-id ":" password, UTF-8; null when it is not. */
    private static char[] basic(String base64) {
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            return null;
        }
        try {
            return Utf8.decode(bytes, 0, bytes.length);
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    private static int indexOf(char[] chars, char c) {
        for (int i = 0; i < chars.length; i++) if (chars[i] == c) return i;
        return -1;
    }

    private static CompletionStage<Optional<Enrollee>> none() {
        return CompletableFuture.completedFuture(Optional.empty());
    }
}
