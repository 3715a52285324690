package org.castellan.security.mailauth;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The Authentication-Results header field (RFC 8601): rendering what this server found, and
 * removing fields that claim to be this server's (§5) before a message is delivered.
 *
 * <p>What it trusts: nothing in the message. Every value that came from a client (HELO name,
 * MAIL FROM, From domain) is quoted when it is not a plain token or address, and stripped of
 * control characters, so that it cannot end the field or add one. Pure.
 */
public final class AuthenticationResults {

    /** RFC 5322 §2.1.1: lines of at most 78 characters where the content allows. */
    static final int LINE = 78;
    public static final String FIELD = "Authentication-Results";

    private AuthenticationResults() {}

    /** One ptype.property=value (RFC 8601 §2.2 propspec). */
    public record Property(String type, String name, String value) {
    }

    /**
     * One resinfo: method=result, an optional comment, its properties.
     *
     * @param comment our own text, shown in parentheses after the result
     */
    public record Entry(String method, String result, Optional<String> comment, List<Property> properties) {
        public Entry {
            properties = List.copyOf(properties);
        }
    }

    /** RFC 8601 §2.7.2: spf with smtp.mailfrom (the sender checked) or smtp.helo. */
    public static Entry spf(Spf.Outcome o) {
        Property p = o.identity() == Spf.Identity.HELO ? new Property("smtp", "helo", o.domain())
                : new Property("smtp", "mailfrom", o.sender());
        return new Entry("spf", o.result().keyword(), Optional.empty(), List.of(p));
    }

    /** RFC 8601 §2.7.1: dkim with header.d and header.s; "dkim=none" stands for a message without signatures. */
    public static List<Entry> dkim(List<SignatureCheck> checks) {
        if (checks.isEmpty()) return List.of(new Entry("dkim", "none", Optional.empty(), List.of()));
        List<Entry> out = new ArrayList<>();
        for (SignatureCheck c : checks) {
            List<Property> props = new ArrayList<>();
            props.add(new Property("header", "d", c.domain()));
            c.selector().ifPresent(s -> props.add(new Property("header", "s", s)));
            out.add(new Entry("dkim", c.result(), c.reason(), props));
        }
        return out;
    }

    /** RFC 7489 §11.2: dmarc with header.from; the comment names the policy requested and the one applied. */
    public static Entry dmarc(Dmarc.Verdict v) {
        return dmarc(v, v.apply());
    }

    /** The same, with the disposition the receiver chose (its configuration may soften the policy). */
    public static Entry dmarc(Dmarc.Verdict v, Dmarc.Policy disposition) {
        Optional<String> comment = v.requested().map(p -> "p=" + p.keyword() + " dis=" + disposition.keyword());
        List<Property> props = v.fromDomain().map(d -> List.of(new Property("header", "from", d))).orElse(List.of());
        return new Entry("dmarc", v.result().keyword(), comment, props);
    }

    /**
     * The whole field, CRLF-terminated: {@code Authentication-Results: id;} then each resinfo on
     * a line of its own, folded at spaces to stay within {@value #LINE} characters where possible.
     * With no entries, {@code id; none} (RFC 8601 §2.2).
     */
    public static String field(String authservId, List<Entry> entries) {
        StringBuilder out = new StringBuilder(FIELD).append(": ").append(value(authservId));
        if (entries.isEmpty()) return out.append("; none\r\n").toString();
        out.append(';');
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            List<String> words = new ArrayList<>();
            words.add(e.method() + "=" + e.result());
            e.comment().ifPresent(c -> words.add("(" + comment(c) + ")"));
            for (Property p : e.properties()) words.add(p.type() + "." + p.name() + "=" + pvalue(p.value()));
            if (i < entries.size() - 1) words.set(words.size() - 1, words.get(words.size() - 1) + ";");
            int column = LINE; // each resinfo starts on a new line
            for (String w : words) {
                if (column + 1 + w.length() > LINE) {
                    out.append("\r\n\t").append(w);
                    column = 8 + w.length();
                } else {
                    out.append(' ').append(w);
                    column += 1 + w.length();
                }
            }
        }
        return out.append("\r\n").toString();
    }

    /** RFC 2045 §5.1 token characters: no SP, CTL or tspecial. */
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+\\-.0-9A-Z^_`a-z{|}~]+");
    /** RFC 8601 §2.2's pvalue may be [local-part] "@" domain-name unquoted: a dot-atom local part here. */
    private static final Pattern ADDRESS = Pattern.compile("([!#$%&'*+\\-/=?^_`{|}~0-9A-Za-z]+(\\.[!#$%&'*+\\-/=?^_`{|}~0-9A-Za-z]+)*)?@[0-9A-Za-z.-]+");

    private static String pvalue(String v) {
        return ADDRESS.matcher(v).matches() ? v : value(v);
    }

    /** RFC 8601 §2.2's value: a token as is, anything else a quoted-string. */
    private static String value(String v) {
        String clean = printable(v);
        if (TOKEN.matcher(clean).matches()) return clean;
        return "\"" + clean.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String comment(String c) {
        return printable(c).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)");
    }

    /** Control characters (CR and LF among them) could end the field: each becomes "?". */
    private static String printable(String s) {
        StringBuilder out = new StringBuilder(s.length());
        s.codePoints().forEach(c -> out.appendCodePoint(c < 0x20 || c == 0x7f ? '?' : c));
        return out.toString();
    }

    /**
     * A message's header section with the Authentication-Results fields that claim
     * {@code authservId} removed (RFC 8601 §5: they cannot have come from us), others kept.
     *
     * @param kept the header section as it stays, its final empty line included
     * @param end where the header section ended in the input: the body (if any) starts here
     * @param removed how many fields were removed
     */
    public record Header(byte[] kept, int end, int removed) {
    }

    /**
     * Reads the header section of {@code message} (its first {@code length} octets; {@code whole}
     * when that is the whole message). Empty when the header section does not end within them:
     * fields beyond could not be checked.
     */
    public static Optional<Header> withoutOurs(byte[] message, int length, boolean whole, String authservId) {
        ByteArrayOutputStream kept = new ByteArrayOutputStream(length);
        int removed = 0;
        int pos = 0;
        while (pos < length) {
            int lineEnd = lineEnd(message, pos, length);
            if (lineEnd < 0) return whole ? finish(kept, message, pos, length, length, removed) : Optional.empty();
            if (lineEnd == pos) return finish(kept, message, pos, lineEnd + 2, length, removed); // the empty line
            // A field runs on over lines that start with white space (RFC 5322 §2.2.3).
            int fieldEnd = lineEnd + 2;
            while (fieldEnd < length && (message[fieldEnd] == ' ' || message[fieldEnd] == '\t')) {
                int next = lineEnd(message, fieldEnd, length);
                if (next < 0) {
                    if (!whole) return Optional.empty();
                    fieldEnd = length;
                    break;
                }
                fieldEnd = next + 2;
            }
            if (claims(message, pos, fieldEnd, authservId)) removed++;
            else kept.write(message, pos, fieldEnd - pos);
            pos = fieldEnd;
        }
        return whole ? finish(kept, message, pos, pos, length, removed) : Optional.empty();
    }

    private static Optional<Header> finish(ByteArrayOutputStream kept, byte[] message, int from, int end, int length,
                                           int removed) {
        kept.write(message, from, end - from);
        return Optional.of(new Header(kept.toByteArray(), end, removed));
    }

    /** The index of the CR of the CRLF ending the line at {@code from}, or -1. */
    private static int lineEnd(byte[] m, int from, int length) {
        for (int i = from; i + 1 < length; i++) {
            if (m[i] == '\r' && m[i + 1] == '\n') return i;
        }
        return -1;
    }

    /** Whether the field is Authentication-Results with our authserv-id (RFC 8601 §2.2, §5). */
    private static boolean claims(byte[] m, int start, int end, String authservId) {
        int colon = -1;
        for (int i = start; i < end; i++) {
            if (m[i] == ':') {
                colon = i;
                break;
            }
        }
        if (colon < 0) return false;
        String name = new String(m, start, colon - start, StandardCharsets.ISO_8859_1).strip();
        if (!name.equalsIgnoreCase(FIELD)) return false;
        String value = new String(m, colon + 1, end - colon - 1, StandardCharsets.UTF_8).replace("\r\n", "");
        return authservId(value).map(Spf::withoutDot).filter(Spf.withoutDot(authservId)::equalsIgnoreCase).isPresent();
    }

    /** The authserv-id that starts a field's value: a token or quoted-string after any CFWS. */
    static Optional<String> authservId(String value) {
        int i = skipCfws(value, 0);
        if (i < 0 || i >= value.length()) return Optional.empty();
        if (value.charAt(i) == '"') {
            StringBuilder out = new StringBuilder();
            for (int j = i + 1; j < value.length(); j++) {
                char c = value.charAt(j);
                if (c == '\\' && j + 1 < value.length()) out.append(value.charAt(++j));
                else if (c == '"') return Optional.of(out.toString());
                else out.append(c);
            }
            return Optional.empty();
        }
        int j = i;
        while (j < value.length() && ";( \t".indexOf(value.charAt(j)) < 0) j++;
        return j > i ? Optional.of(value.substring(i, j)) : Optional.empty();
    }

    /** Skips white space and nested comments (RFC 5322 §3.2.2); -1 for an unclosed comment. */
    private static int skipCfws(String s, int i) {
        int depth = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (depth > 0 && c == '\\') {
                i += 2;
                continue;
            }
            if (c == '(') depth++;
            else if (c == ')' && depth > 0) depth--;
            else if (depth == 0 && c != ' ' && c != '\t') return i;
            i++;
        }
        return depth == 0 ? i : -1;
    }
}
