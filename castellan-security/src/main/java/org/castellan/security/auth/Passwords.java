package org.castellan.security.auth;

import java.security.SecureRandom;
import java.util.Optional;

/**
 * Random passwords for accounts created by the quickstart and for app passwords: read off a
 * screen and typed into a phone, so drawn from an alphabet without look-alikes.
 *
 * <p>An app password starts with a selector of {@value #SELECTOR_LENGTH} symbols, stored in the
 * clear beside its secret, followed by {@value #LENGTH} secret symbols: a login looks the selector
 * up and runs PBKDF2 against that one app password only (docs/authentication.md).
 */
public final class Passwords {

    /** No 0/O/o, 1/l/I/i, 5/S/s, 2/Z/z, u/v: the pairs people misread when copying by hand. */
    static final String ALPHABET = "346789abcdefghjkmnpqrtwxyABCDEFGHJKLMNPQRTWXY";
    /** 20 symbols from 45 carry about 110 bits, beyond any offline attack on a leaked secret. */
    public static final int LENGTH = 20;
    /**
     * 4 symbols from 45 have 4 million values: an account's at most 20 app passwords get distinct
     * ones, and a guess rarely names one. They are not secret; the {@value #LENGTH} after them are.
     */
    public static final int SELECTOR_LENGTH = 4;
    /** A selector, then as many secret symbols as any generated password. */
    public static final int APP_PASSWORD_LENGTH = SELECTOR_LENGTH + LENGTH;

    private static final SecureRandom RANDOM = new SecureRandom();

    private Passwords() {}

    /** A new random password of {@value #LENGTH} characters. */
    public static String generate() {
        return generate(LENGTH);
    }

    /** A new random app password of {@value #APP_PASSWORD_LENGTH} characters, its selector first. */
    public static String generateAppPassword() {
        return generate(APP_PASSWORD_LENGTH);
    }

    /**
     * The selector {@code password} has if it is an app password: its first {@value #SELECTOR_LENGTH}
     * characters, when it has {@value #APP_PASSWORD_LENGTH} and they are of the generator's
     * alphabet; empty otherwise. Generated account passwords, {@value #LENGTH} long, never have one.
     */
    public static Optional<String> selector(char[] password) {
        if (password.length != APP_PASSWORD_LENGTH) return Optional.empty();
        for (int i = 0; i < SELECTOR_LENGTH; i++) {
            if (ALPHABET.indexOf(password[i]) < 0) return Optional.empty();
        }
        return Optional.of(new String(password, 0, SELECTOR_LENGTH));
    }

    private static String generate(int length) {
        char[] password = new char[length];
        for (int i = 0; i < length; i++) password[i] = ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length()));
        return new String(password);
    }
}
