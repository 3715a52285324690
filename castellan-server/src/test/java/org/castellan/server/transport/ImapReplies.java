package org.castellan.server.transport;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what an IMAP server sent, response by response, and fails on anything RFC 9051 §7 does
 * not allow: every response is untagged ("*" and a known response), a continuation request
 * ("+") or tagged (a tag, then OK, NO or BAD); lines end in CRLF and hold no CR, LF or NUL
 * outside literals; status texts name no Java exception. After the OK to STARTTLS or COMPRESS
 * the rest is another layer's bytes and is not read.
 */
final class ImapReplies {

    /** RFC 9051 §7 and the extensions Castellan offers: what may follow "* ". */
    private static final Set<String> UNTAGGED = Set.of("OK", "NO", "BAD", "BYE", "PREAUTH", "CAPABILITY", "ENABLED",
            "FLAGS", "LIST", "LSUB", "STATUS", "SEARCH", "ESEARCH", "NAMESPACE", "ID", "QUOTA", "QUOTAROOT", "SORT",
            "THREAD", "VANISHED", "GENURLAUTH", "URLFETCH");
    /** RFC 9051 §7.4 and §7.5: message data after a sequence number. */
    private static final Pattern NUMBERED = Pattern.compile("\\* ([0-9]+) (EXISTS|RECENT|EXPUNGE|FETCH)( .*)?", Pattern.DOTALL);
    /** RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+">. */
    private static final Pattern TAGGED = Pattern.compile("([^\\x00-\\x20\\x7f(){%*\"\\\\+]+) (OK|NO|BAD)( .*)?", Pattern.DOTALL);
    private static final Pattern LITERAL = Pattern.compile("~?\\{([0-9]+)\\}$");
    /** A fully qualified exception class, as a stack trace or an exception's toString() shows it. */
    static final Pattern EXCEPTION = Pattern.compile("\\b[a-z][a-z0-9_]*(\\.[a-z0-9_]+)+\\.[A-Z][A-Za-z0-9_$]*(Exception|Error)\\b");

    /** One response: its text with each literal's octets replaced by "<literal>". */
    record Response(String text) {

        boolean tagged(String tag) {
            return text.startsWith(tag + " ");
        }

        String status() {
            Matcher m = TAGGED.matcher(text);
            return m.matches() && !text.startsWith("* ") ? m.group(2) : null;
        }
    }

    private int read;
    private boolean stopped;

    /** The complete responses in {@code received} after those already read. */
    List<Response> next(byte[] received) {
        List<Response> out = new ArrayList<>();
        while (!stopped) {
            Read r = response(received, read);
            if (r == null) break;
            out.add(check(r.text));
            read = r.end;
        }
        return out;
    }

    /** Reads no further: what follows is TLS or DEFLATE. */
    void stop() {
        stopped = true;
    }

    /** Whether everything received has been read as complete responses. */
    boolean complete(byte[] received) {
        return stopped || read == received.length;
    }

    private record Read(int end, String text) {}

    /** The response starting at {@code from}, or null if it is not all here; literals become "<literal>". */
    private static Read response(byte[] b, int from) {
        StringBuilder text = new StringBuilder();
        int p = from;
        while (true) {
            int crlf = indexOfCrlf(b, p);
            if (crlf < 0) return null;
            String line = new String(b, p, crlf - p, StandardCharsets.UTF_8);
            for (int i = p; i < crlf; i++) {
                if (b[i] == '\r' || b[i] == '\n' || b[i] == 0) {
                    throw new AssertionError("CR, LF or NUL inside a response line: " + line);
                }
            }
            text.append(line);
            p = crlf + 2;
            Matcher literal = LITERAL.matcher(line);
            if (!literal.find()) return new Read(p, text.toString());
            long n = Long.parseLong(literal.group(1));
            if (p + n > b.length) return null;
            text.append("<literal>");
            p += (int) n;
        }
    }

    private static Response check(String text) {
        if (text.startsWith("* ")) {
            if (NUMBERED.matcher(text).matches()) return new Response(text);
            String word = text.substring(2).split(" ", 2)[0];
            if (!UNTAGGED.contains(word)) throw new AssertionError("unknown untagged response: " + text);
            if (Set.of("OK", "NO", "BAD", "BYE", "PREAUTH").contains(word)) checkStatusText(text);
            return new Response(text);
        }
        if (text.startsWith("+")) {
            if (text.length() > 1 && text.charAt(1) != ' ') throw new AssertionError("malformed continuation request: " + text);
            return new Response(text);
        }
        if (!TAGGED.matcher(text).matches()) throw new AssertionError("neither tagged, untagged nor a continuation: " + text);
        checkStatusText(text);
        return new Response(text);
    }

    /** RFC 9051 §7.1 resp-text: human-readable, and never a Java exception (docs/design.md §5.8). */
    private static void checkStatusText(String text) {
        if (EXCEPTION.matcher(text).find()) throw new AssertionError("an exception in a response: " + text);
    }

    static int indexOfCrlf(byte[] b, int from) {
        for (int i = from; i + 1 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') return i;
        }
        return -1;
    }
}
