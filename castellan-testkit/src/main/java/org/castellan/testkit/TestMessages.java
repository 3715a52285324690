package org.castellan.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Messages shared by the tests of every module, in {@code org/castellan/testkit/messages/}:
 * nested MIME structures as real mail has them (the RFC 3501 §6.4.5 example, message/rfc822 at the
 * top level and inside message/rfc822, a digest inside a forwarded message, boundaries that are
 * prefixes of one another). Stored with LF line ends for reading; served with CRLF, as mail is.
 */
public final class TestMessages {

    private TestMessages() {}

    /** The message {@code name}.eml as a string with CRLF line ends; fails when there is no such message. */
    public static String load(String name) {
        try (InputStream in = TestMessages.class.getResourceAsStream("messages/" + name + ".eml")) {
            if (in == null) throw new IllegalArgumentException("no test message " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("\r\n", "\n").replace("\n", "\r\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
