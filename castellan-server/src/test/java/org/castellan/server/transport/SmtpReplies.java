package org.castellan.server.transport;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what an SMTP server sent and fails on anything RFC 5321 §4.2 does not allow: every reply
 * line is a three-digit code from 2xx to 5xx, a hyphen on all but the last line of a multi-line
 * reply (whose lines share one code), and printable ASCII text naming no Java exception. After
 * the go-ahead to STARTTLS (a 220 after the greeting) the rest is TLS and is not read.
 */
final class SmtpReplies {

    private static final Pattern LINE = Pattern.compile("([2-5][0-9][0-9])([ -])([\\x20-\\x7e]*)");
    /** The reply that says a message is in every recipient's mailbox (see SmtpService). */
    static final String DELIVERED = "250 2.0.0 Ok: delivered";

    private int read;
    private boolean greeted;
    private boolean stopped;
    private int delivered;

    /** Reads the complete replies in {@code received} after those already read. */
    void next(byte[] received) {
        while (!stopped) {
            int end = reply(received, read);
            if (end < 0) return;
            read = end;
        }
    }

    /** How many messages the server said it delivered. */
    int delivered() {
        return delivered;
    }

    /** Whether everything received has been read as complete replies. */
    boolean complete(byte[] received) {
        return stopped || read == received.length;
    }

    /** Reads one reply starting at {@code from}; where it ends, or -1 if it is not all here. */
    private int reply(byte[] b, int from) {
        int p = from;
        String code = null;
        while (true) {
            int crlf = ImapReplies.indexOfCrlf(b, p);
            if (crlf < 0) return -1;
            String line = new String(b, p, crlf - p, StandardCharsets.UTF_8);
            Matcher m = LINE.matcher(line);
            if (!m.matches()) throw new AssertionError("not an SMTP reply line: " + line);
            if (code != null && !code.equals(m.group(1))) throw new AssertionError("a multi-line reply changes its code: " + line);
            if (ImapReplies.EXCEPTION.matcher(line).find()) throw new AssertionError("an exception in a reply: " + line);
            code = m.group(1);
            p = crlf + 2;
            if (m.group(2).equals("-")) continue;
            if (line.equals(DELIVERED)) delivered++;
            if (code.equals("220") && greeted) stopped = true; // RFC 3207 §4: TLS starts after this reply
            greeted = true;
            return p;
        }
    }
}
