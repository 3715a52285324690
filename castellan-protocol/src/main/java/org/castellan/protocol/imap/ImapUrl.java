package org.castellan.protocol.imap;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * An IMAP URL (RFC 5092), absolute ({@code imap://user@host/INBOX;UIDVALIDITY=7/;UID=20/;SECTION=1.2})
 * or one of the relative forms commands take ({@code /Drafts/;UID=20}, {@code ;UID=20/;SECTION=2}),
 * with the URLAUTH parts of RFC 4467 §3 ({@code ;EXPIRE=...;URLAUTH=access:mechanism:token}).
 *
 * <p>Pure: {@link #parse} returns a value or an {@link Invalid}, never throws. Names are
 * percent-decoded into Unicode (RFC 5092 §3.2: mailbox names are UTF-8 in URLs, never modified
 * UTF-7); the section is checked against the RFC 9051 §9 {@code section-spec} grammar.
 *
 * @param form how the text was written; {@link #resolve} makes a relative URL absolute
 * @param server present for {@link Form#ABSOLUTE} and {@link Form#NETWORK_PATH}
 * @param search the decoded {@code ?enc-search} of a message list URL, not interpreted
 */
public record ImapUrl(Form form, Optional<Server> server, Optional<String> mailbox, OptionalLong uidValidity,
        OptionalLong uid, Optional<FetchAttribute.Section> section, Optional<Partial> partial, Optional<String> search,
        Optional<UrlAuth> urlAuth) {

    /** A URL longer than a command line cannot have come in one; nothing legitimate is near it. */
    public static final int MAX_LENGTH = ImapParser.MAX_LINE;
    /** RFC 4467 §9 {@code enc-urlauth = 32*HEXDIG}: at least 128 bits. */
    public static final int MIN_TOKEN_HEX = 32;
    /** No RFC limit; far more than any mechanism's token (HMAC-SHA-512 is 128 hex digits). */
    public static final int MAX_TOKEN_HEX = 256;

    /** How the URL was written (RFC 3986 §4.2 reference forms, RFC 5092 §7). */
    public enum Form {
        /** {@code imap://server/...} */
        ABSOLUTE,
        /** {@code //server/...} */
        NETWORK_PATH,
        /** {@code /mailbox...}: the server comes from the base. */
        ABSOLUTE_PATH,
        /** {@code mailbox...}, {@code ;UID=...}, {@code ;SECTION=...}, {@code ;PARTIAL=...} */
        RELATIVE_PATH
    }

    /** RFC 5092 {@code iserver}: user and authentication type decoded, host as written. */
    public record Server(Optional<String> user, Optional<String> authType, String host, OptionalInt port) {}

    /** RFC 5092 {@code partial-range = number ["." nz-number]}. */
    public record Partial(long offset, OptionalLong length) {}

    /** RFC 4467 §3 access identifiers. */
    public enum AccessKind { SUBMIT, USER, AUTHUSER, ANONYMOUS }

    /** An access identifier; {@code user} (decoded) with {@link AccessKind#SUBMIT} and {@link AccessKind#USER}. */
    public record Access(AccessKind kind, Optional<String> user) {}

    /**
     * RFC 4467 §3 {@code iurlauth}.
     *
     * @param rump the URL exactly as written up to and including the access identifier: what the
     *     authorization token is computed over (RFC 4467 §2.4)
     * @param mechanism as written, when the URL carries a verifier (a full URL, not a rump)
     * @param token lower-case hex, when the URL carries a verifier
     */
    public record UrlAuth(Optional<OffsetDateTime> expire, Access access, String rump, Optional<String> mechanism,
            Optional<String> token) {

        /** Whether this is a full URLAUTH-authorized URL rather than a rump waiting for GENURLAUTH. */
        public boolean verified() { return token.isPresent(); }

        @Override
        public String toString() {
            // The token authorizes whoever holds it; keep it out of logs.
            return "UrlAuth[" + access + ", " + expire + (token.isPresent() ? ", token ***]" : "]");
        }
    }

    /** What {@link #parse} found. */
    public sealed interface Result {}

    public record Parsed(ImapUrl url) implements Result {}

    public record Invalid(String reason) implements Result {}

    /** Whether the URL names one message or a part of it (RFC 5092 {@code imessagepart}). */
    public boolean messagePart() {
        return mailbox.isPresent() && uid.isPresent() && search.isEmpty();
    }

    /**
     * This URL made absolute against {@code base} (an absolute URL, e.g. the selected mailbox's):
     * RFC 3986 §5.2 as RFC 5092 §7 applies it. A path that starts with {@code ;UID=} keeps the
     * base's mailbox, one that starts with {@code ;SECTION=} its message too, and so on; a path
     * that starts with a mailbox name replaces the last level of the base's mailbox.
     */
    public ImapUrl resolve(ImapUrl base) {
        if (base.form != Form.ABSOLUTE) throw new IllegalArgumentException("the base of a relative URL is absolute");
        return switch (form) {
            case ABSOLUTE -> this;
            case NETWORK_PATH -> with(Form.ABSOLUTE, server, mailbox, uidValidity, uid, section);
            case ABSOLUTE_PATH -> with(Form.ABSOLUTE, base.server, mailbox, uidValidity, uid, section);
            case RELATIVE_PATH -> {
                if (mailbox.isPresent()) {
                    String prefix = base.mailbox.map(m -> m.substring(0, m.lastIndexOf('/') + 1)).orElse("");
                    yield with(Form.ABSOLUTE, base.server, Optional.of(prefix + mailbox.get()), uidValidity, uid, section);
                }
                if (uid.isPresent()) yield with(Form.ABSOLUTE, base.server, base.mailbox, base.uidValidity, uid, section);
                if (section.isPresent()) {
                    yield with(Form.ABSOLUTE, base.server, base.mailbox, base.uidValidity, base.uid, section);
                }
                yield with(Form.ABSOLUTE, base.server, base.mailbox, base.uidValidity, base.uid, base.section);
            }
        };
    }

    private ImapUrl with(Form f, Optional<Server> srv, Optional<String> mbox, OptionalLong validity, OptionalLong u,
            Optional<FetchAttribute.Section> sec) {
        return new ImapUrl(f, srv, mbox, validity, u, sec, partial, search, urlAuth);
    }

    /** Parses an absolute or relative IMAP URL. */
    public static Result parse(String text) {
        if (text == null || text.isEmpty()) return new Invalid("empty URL");
        if (text.length() > MAX_LENGTH) return new Invalid("URL too long");
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c <= 0x20 || c >= 0x7f) return new Invalid("URL characters must be printable ASCII; percent-encode the rest");
        }
        try {
            return new Parsed(new Reader(text).url());
        } catch (Bad e) {
            return new Invalid(e.getMessage());
        }
    }

    /** Thrown inside the reader only; never leaves {@link #parse}. */
    private static final class Bad extends Exception {
        Bad(String message) { super(message, null, false, false); }
    }

    private static final class Reader {
        private final String text;
        private int pos;
        /** A "/" was read at the end of the previous value; the next parameter needs it. */
        private boolean slash;

        Reader(String text) { this.text = text; }

        ImapUrl url() throws Bad {
            Form form;
            Optional<Server> server = Optional.empty();
            if (startsWith("imap://")) {
                form = Form.ABSOLUTE;
                pos = "imap://".length();
                server = Optional.of(server());
            } else if (startsWith("//")) {
                form = Form.NETWORK_PATH;
                pos = 2;
                server = Optional.of(server());
            } else if (text.matches("(?s)[A-Za-z][A-Za-z0-9+.-]*:.*")) {
                throw new Bad("not an IMAP URL");
            } else {
                form = text.startsWith("/") ? Form.ABSOLUTE_PATH : Form.RELATIVE_PATH;
            }
            if (server.isPresent()) {
                if (pos == text.length()) return serverOnly(form, server);
                pos++; // the "/" after iserver
                if (pos == text.length()) return serverOnly(form, server);
            } else if (form == Form.ABSOLUTE_PATH) {
                pos++;
            }
            return path(form, server);
        }

        private static ImapUrl serverOnly(Form form, Optional<Server> server) {
            return new ImapUrl(form, server, Optional.empty(), OptionalLong.empty(), OptionalLong.empty(), Optional.empty(),
                    Optional.empty(), Optional.empty(), Optional.empty());
        }

        /** RFC 5092 {@code iserver = [iuserinfo "@"] host [":" port]}. */
        private Server server() throws Bad {
            int end = text.indexOf('/', pos);
            if (end < 0) end = text.length();
            String authority = text.substring(pos, end);
            pos = end;
            Optional<String> user = Optional.empty();
            Optional<String> authType = Optional.empty();
            int at = authority.lastIndexOf('@');
            if (at >= 0) {
                String info = authority.substring(0, at);
                authority = authority.substring(at + 1);
                int semi = indexOfIgnoreCase(info, ";AUTH=");
                String encUser = semi < 0 ? info : info.substring(0, semi);
                if (semi >= 0) {
                    String type = info.substring(semi + ";AUTH=".length());
                    if (type.isEmpty()) throw new Bad("empty ;AUTH=");
                    // RFC 5092 §3.2: "*" is not percent-encoded; it asks the client to choose.
                    authType = Optional.of(type.equals("*") ? "*" : decode(type, Chars.ACHAR));
                }
                if (!encUser.isEmpty()) user = Optional.of(decode(encUser, Chars.ACHAR));
                if (user.isEmpty() && authType.isEmpty()) throw new Bad("empty user information");
            }
            String host = authority;
            OptionalInt port = OptionalInt.empty();
            int colon = host.startsWith("[") ? host.indexOf(':', Math.max(0, host.indexOf(']'))) : host.indexOf(':');
            if (colon >= 0) {
                String digits = host.substring(colon + 1);
                host = host.substring(0, colon);
                if (!digits.isEmpty()) {
                    if (!digits.matches("[0-9]{1,5}") || Integer.parseInt(digits) > 65535) throw new Bad("invalid port");
                    port = OptionalInt.of(Integer.parseInt(digits));
                }
            }
            if (!host.matches("[A-Za-z0-9._~-]+|\\[[0-9A-Fa-f:.]+\\]")) throw new Bad("invalid host");
            return new Server(user, authType, host, port);
        }

        /** RFC 5092 {@code icommand}, and the relative forms of §7 ({@code imsg-or-part}). */
        private ImapUrl path(Form form, Optional<Server> server) throws Bad {
            Optional<String> search = Optional.empty();
            int query = text.indexOf('?', pos);
            int end = query < 0 ? text.length() : query;
            if (query >= 0) search = Optional.of(decode(text.substring(query + 1), Chars.BCHAR));
            Optional<String> mailbox = Optional.empty();
            OptionalLong uidValidity = OptionalLong.empty();
            OptionalLong uid = OptionalLong.empty();
            Optional<FetchAttribute.Section> section = Optional.empty();
            Optional<Partial> partial = Optional.empty();
            Optional<UrlAuth> urlAuth = Optional.empty();
            boolean first = true;
            if (pos < end && text.charAt(pos) != ';') {
                mailbox = Optional.of(mailbox(value(end)));
                first = false;
                if (peekParam(end, ";UIDVALIDITY=") && !slash) {
                    pos += ";UIDVALIDITY=".length();
                    uidValidity = OptionalLong.of(nzNumber(value(end)));
                }
            }
            if (param(end, ";UID=", first)) {
                uid = OptionalLong.of(nzNumber(value(end)));
                first = false;
            }
            if (param(end, ";SECTION=", first)) {
                String spec = decode(value(end), Chars.BCHAR);
                section = Optional.of(ImapParser.section(spec).orElseThrow(() -> new Bad("invalid section")));
                first = false;
            }
            if (param(end, ";PARTIAL=", first)) {
                partial = Optional.of(partial(value(end)));
                first = false;
            }
            if (pos < end && !slash && (peekParam(end, ";EXPIRE=") || peekParam(end, ";URLAUTH="))) {
                urlAuth = Optional.of(urlAuth(end));
            }
            if (pos != end) throw new Bad("unexpected text at " + (pos + 1));
            if (slash && uid.isPresent()) throw new Bad("unexpected \"/\" at the end");
            if (first && query < 0 && mailbox.isEmpty()) throw new Bad("empty path");
            if (search.isPresent() && (mailbox.isEmpty() || uid.isPresent())) throw new Bad("a search needs a mailbox and no UID");
            if (form != Form.RELATIVE_PATH && uid.isPresent() && mailbox.isEmpty()) throw new Bad("a UID needs a mailbox");
            if ((section.isPresent() || partial.isPresent()) && uid.isEmpty() && form != Form.RELATIVE_PATH) {
                throw new Bad("a section needs a UID");
            }
            if (urlAuth.isPresent()) {
                // RFC 4467 §3: URLAUTH is for absolute URLs of one message or part.
                if (form != Form.ABSOLUTE) throw new Bad("URLAUTH needs an absolute URL");
                if (mailbox.isEmpty() || uid.isEmpty()) throw new Bad("URLAUTH needs a message");
            }
            return new ImapUrl(form, server, mailbox, uidValidity, uid, section, partial, search, urlAuth);
        }

        /**
         * Reads a parameter at the cursor when it is there; each but the first of a relative
         * path follows a "/" (RFC 5092 {@code iuid = "/" iuid-only}).
         */
        private boolean param(int end, String name, boolean first) throws Bad {
            if (!peekParam(end, name)) return false;
            if (!slash && !first) throw new Bad(name.substring(1, name.length() - 1) + " must follow a \"/\"");
            slash = false;
            pos += name.length();
            return true;
        }

        private boolean peekParam(int end, String name) {
            return text.regionMatches(true, pos, name, 0, name.length()) && pos + name.length() <= end;
        }

        /** The text up to the next ";" (or the end); a final "/" belongs to the next parameter. */
        private String value(int end) throws Bad {
            if (slash) throw new Bad("unexpected \"/\"");
            int semi = text.indexOf(';', pos);
            int stop = semi < 0 || semi > end ? end : semi;
            String v = text.substring(pos, stop);
            pos = stop;
            if (v.endsWith("/")) {
                v = v.substring(0, v.length() - 1);
                slash = true;
            }
            if (v.isEmpty()) throw new Bad("empty value at " + (pos + 1));
            return v;
        }

        private static String mailbox(String raw) throws Bad {
            String name = decode(raw, Chars.BCHAR);
            for (String level : raw.split("/", -1)) {
                // RFC 5092 §7: such names are percent-encoded; bare ones would be dot-segments.
                if (level.equals(".") || level.equals("..")) throw new Bad("dot segments in a mailbox name");
            }
            return name;
        }

        private UrlAuth urlAuth(int end) throws Bad {
            Optional<OffsetDateTime> expire = Optional.empty();
            if (peekParam(end, ";EXPIRE=")) {
                pos += ";EXPIRE=".length();
                int semi = text.indexOf(';', pos);
                if (semi < 0) throw new Bad(";EXPIRE= without ;URLAUTH=");
                expire = Optional.of(dateTime(text.substring(pos, semi)));
                pos = semi;
            }
            if (!peekParam(end, ";URLAUTH=")) throw new Bad(";EXPIRE= without ;URLAUTH=");
            pos += ";URLAUTH=".length();
            String rest = text.substring(pos, end);
            pos = end;
            int colon = rest.indexOf(':');
            String access = colon < 0 ? rest : rest.substring(0, colon);
            String rump = text.substring(0, end - rest.length() + access.length());
            Access a = access(access);
            if (colon < 0) return new UrlAuth(expire, a, rump, Optional.empty(), Optional.empty());
            String verifier = rest.substring(colon + 1);
            int colon2 = verifier.indexOf(':');
            if (colon2 < 0) throw new Bad("URLAUTH verifier needs mechanism:token");
            String mechanism = verifier.substring(0, colon2);
            String token = verifier.substring(colon2 + 1);
            if (!mechanism.matches("[A-Za-z0-9.-]+")) throw new Bad("invalid URLAUTH mechanism");
            if (token.length() < MIN_TOKEN_HEX || token.length() > MAX_TOKEN_HEX || !token.matches("[0-9A-Fa-f]+")) {
                throw new Bad("invalid URLAUTH token");
            }
            return new UrlAuth(expire, a, rump, Optional.of(mechanism), Optional.of(token.toLowerCase(Locale.ROOT)));
        }

        /** RFC 4467 §3 {@code access}. */
        private static Access access(String s) throws Bad {
            String lower = s.toLowerCase(Locale.ROOT);
            if (lower.equals("authuser")) return new Access(AccessKind.AUTHUSER, Optional.empty());
            if (lower.equals("anonymous")) return new Access(AccessKind.ANONYMOUS, Optional.empty());
            for (AccessKind k : new AccessKind[] {AccessKind.SUBMIT, AccessKind.USER}) {
                String prefix = k.name().toLowerCase(Locale.ROOT) + "+";
                if (lower.startsWith(prefix) && s.length() > prefix.length()) {
                    return new Access(k, Optional.of(decode(s.substring(prefix.length()), Chars.ACHAR)));
                }
            }
            throw new Bad("invalid URLAUTH access identifier");
        }

        /** RFC 3339 §5.6 {@code date-time}, as RFC 4467 §3 {@code expire} takes it. */
        private static OffsetDateTime dateTime(String s) throws Bad {
            try {
                return OffsetDateTime.parse(s.toUpperCase(Locale.ROOT), DateTimeFormatter.ISO_OFFSET_DATE_TIME);
            } catch (DateTimeParseException e) {
                throw new Bad("invalid ;EXPIRE= date-time");
            }
        }

        private static Partial partial(String s) throws Bad {
            int dot = s.indexOf('.');
            long offset = number(dot < 0 ? s : s.substring(0, dot));
            if (dot < 0) return new Partial(offset, OptionalLong.empty());
            return new Partial(offset, OptionalLong.of(nzNumber(s.substring(dot + 1))));
        }

        private static long nzNumber(String s) throws Bad {
            long n = number(s);
            if (n == 0) throw new Bad("zero is not allowed here");
            return n;
        }

        /** RFC 9051 §9 {@code number}: 32-bit unsigned. */
        private static long number(String s) throws Bad {
            if (!s.matches("[0-9]{1,10}")) throw new Bad("invalid number");
            long n = Long.parseLong(s);
            if (n > ImapParser.MAX_NUMBER) throw new Bad("number too large");
            return n;
        }

        private boolean startsWith(String prefix) {
            return text.regionMatches(true, 0, prefix, 0, prefix.length());
        }

        private static int indexOfIgnoreCase(String s, String needle) {
            for (int i = 0; i + needle.length() <= s.length(); i++) {
                if (s.regionMatches(true, i, needle, 0, needle.length())) return i;
            }
            return -1;
        }
    }

    /** RFC 5092 §11 character classes of the encoded parts. */
    private enum Chars {
        /** {@code achar = uchar / "&" / "="}: user names, access identifiers. */
        ACHAR("-._~!$'()*+,&="),
        /** {@code bchar = achar / ":" / "@" / "/"}: mailbox names, sections, searches. */
        BCHAR("-._~!$'()*+,&=:@/");

        private final String extra;

        Chars(String extra) { this.extra = extra; }

        boolean allows(char c) {
            return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || extra.indexOf(c) >= 0;
        }
    }

    /** Percent-decodes {@code s} (RFC 3986 §2.1) as UTF-8, refusing characters outside {@code chars}. */
    private static String decode(String s, Chars chars) throws Bad {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) throw new Bad("truncated percent-encoding");
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) throw new Bad("invalid percent-encoding");
                out.write(hi * 16 + lo);
                i += 2;
            } else if (chars.allows(c)) {
                out.write(c);
            } else {
                throw new Bad("character '" + c + "' must be percent-encoded");
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(out.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new Bad("percent-encoded text is not UTF-8");
        }
    }
}
