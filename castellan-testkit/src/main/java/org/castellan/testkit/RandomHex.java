package org.castellan.testkit;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Random credentials for the servers the testkit starts, fresh for every instance. */
final class RandomHex {

    private static final SecureRandom RANDOM = new SecureRandom();

    private RandomHex() {}

    /** {@code bytes} random bytes as lower-case hex. */
    static String of(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
