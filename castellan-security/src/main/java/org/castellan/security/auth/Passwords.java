package org.castellan.security.auth;

import java.security.SecureRandom;

/**
 * Random passwords for accounts created by the quickstart and for app passwords: read off a
 * screen and typed into a phone, so drawn from an alphabet without look-alikes.
 */
public final class Passwords {

    /** No 0/O/o, 1/l/I/i, 5/S/s, 2/Z/z, u/v: the pairs people misread when copying by hand. */
    static final String ALPHABET = "346789abcdefghjkmnpqrtwxyABCDEFGHJKLMNPQRTWXY";
    /** 20 symbols from 45 carry about 110 bits, beyond any offline attack on a leaked secret. */
    public static final int LENGTH = 20;

    private static final SecureRandom RANDOM = new SecureRandom();

    private Passwords() {}

    /** A new random password of {@value #LENGTH} characters. */
    public static String generate() {
        char[] password = new char[LENGTH];
        for (int i = 0; i < LENGTH; i++) password[i] = ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length()));
        return new String(password);
    }
}
