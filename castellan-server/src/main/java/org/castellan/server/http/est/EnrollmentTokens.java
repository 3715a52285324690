package org.castellan.server.http.est;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * One-time enrollment tokens an operator makes ({@code castellan enroll token}): each for one
 * account, one device name and one kind, until it expires or is used once. A token is
 * {@code <id>.<secret>}; only a hash of the secret is kept.
 */
public interface EnrollmentTokens {

    /** Between a token's id and its secret. */
    String SEPARATOR = ".";
    /** Every token id starts with this, so that it never looks like an account (which has an '@'). */
    String ID_PREFIX = "et-";

    /** Whether an HTTP Basic user name is a token's id rather than an account. */
    static boolean isTokenId(String user) {
        return user.startsWith(ID_PREFIX) && user.indexOf('@') < 0;
    }

    /** The token's enrollee, if {@code token} is one that exists, has not expired and is unused; empty otherwise. */
    CompletionStage<Optional<Enrollee>> check(String token);

    /** Marks the token used; false when it already was (a replay, or a request sent twice at once). */
    boolean consume(String id);
}
