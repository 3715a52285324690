package org.castellan.protocol.smtp;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.castellan.protocol.mail.EmailAddress;

/**
 * Parses one SMTP command line (without its line ending) into an {@link SmtpCommand} or an
 * {@link SmtpError}. Pure: no I/O, no state, no exceptions for bad input.
 *
 * <p>Strictness: paths must be in angle brackets (RFC 5321 §4.1.2; a space after the colon is
 * tolerated, as every server does); source routes are accepted and ignored (§C); unknown
 * parameters are refused (§4.1.1.11). Non-ASCII is accepted only in envelope addresses of a
 * transaction that declared SMTPUTF8 (RFC 6531 §3.4), everywhere else it is a syntax error.
 */
public final class SmtpParser {

    /** RFC 5321 §4.5.3.1.3: a path is at most 256 octets, brackets included. */
    public static final int MAX_PATH = 256;
    /** RFC 4422 §3.1: a SASL mechanism name is 1 to 20 characters. */
    public static final int MAX_MECHANISM = 20;
    /** A SIZE or BDAT count of 18 digits fits a long; nobody sends an exabyte. */
    private static final int MAX_NUMBER_DIGITS = 18;

    /** What a line parsed into. */
    public sealed interface Result {
    }

    public record Ok(SmtpCommand command) implements Result {
    }

    public record Bad(SmtpError error) implements Result {
    }

    private SmtpParser() {}

    /**
     * @param line the command line without CRLF
     * @param utf8Recipients whether the current transaction declared SMTPUTF8, which allows UTF-8
     *     in RCPT addresses
     */
    public static Result parse(byte[] line, boolean utf8Recipients) {
        for (byte b : line) {
            // RFC 5321 §4.1.1: commands are printable text; NUL and other controls are an attack or a bug.
            if ((b >= 0 && b < 0x20 && b != '\t') || b == 0x7f) return bad(500, "5.5.2", "Control characters in command");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(line)).toString();
        } catch (CharacterCodingException e) {
            return bad(500, "5.5.2", "Invalid UTF-8 in command");
        }
        int sp = text.indexOf(' ');
        String verb = (sp < 0 ? text : text.substring(0, sp)).toUpperCase(Locale.ROOT);
        String arg = sp < 0 ? "" : text.substring(sp + 1);
        boolean ascii = text.chars().allMatch(c -> c < 0x80);
        if (!ascii && !verb.equals("MAIL") && !verb.equals("RCPT")) {
            return bad(500, "5.5.2", "Non-ASCII characters in command");
        }
        return switch (verb) {
            case "HELO" -> domainArgument(arg).map(d -> (Result) new Ok(new SmtpCommand.Helo(d)))
                    .orElse(bad(501, "5.5.4", "Syntax: HELO domain"));
            case "EHLO" -> domainArgument(arg).map(d -> (Result) new Ok(new SmtpCommand.Ehlo(d)))
                    .orElse(bad(501, "5.5.4", "Syntax: EHLO domain"));
            case "MAIL" -> mail(arg);
            case "RCPT" -> rcpt(arg, utf8Recipients);
            case "DATA" -> noArgument(arg, new SmtpCommand.Data());
            case "RSET" -> noArgument(arg, new SmtpCommand.Rset());
            case "QUIT" -> noArgument(arg, new SmtpCommand.Quit());
            case "STARTTLS" -> noArgument(arg, new SmtpCommand.StartTls());
            case "NOOP" -> new Ok(new SmtpCommand.Noop()); // RFC 5321 §4.1.1.9: the argument is ignored
            case "HELP" -> new Ok(new SmtpCommand.Help());
            case "VRFY" -> arg.isBlank() ? bad(501, "5.5.4", "Syntax: VRFY address") : new Ok(new SmtpCommand.Vrfy());
            case "BDAT" -> bdat(arg);
            case "AUTH" -> auth(arg);
            default -> bad(500, "5.5.1", "Command not recognized");
        };
    }

    private static Result noArgument(String arg, SmtpCommand command) {
        return arg.isBlank() ? new Ok(command) : bad(501, "5.5.4", "Syntax: " + command.verb() + " takes no argument");
    }

    /** RFC 5321 §4.1.1.1: a domain or an address literal; trailing words are tolerated (old clients add them). */
    private static Optional<String> domainArgument(String arg) {
        String d = arg.strip();
        int sp = d.indexOf(' ');
        if (sp >= 0) d = d.substring(0, sp);
        if (d.isEmpty() || d.length() > EmailAddress.MAX_DOMAIN) return Optional.empty();
        if (d.startsWith("[")) return addressLiteral(d) ? Optional.of(d) : Optional.empty();
        // Many hosts announce names with '_' or a trailing dot; refusing them helps nobody.
        String check = d.endsWith(".") ? d.substring(0, d.length() - 1) : d;
        return EmailAddress.isValidDomain(check.replace('_', '-')) ? Optional.of(d) : Optional.empty();
    }

    private static Result mail(String arg) {
        if (!startsWithIgnoreCase(arg, "FROM:")) return bad(501, "5.5.4", "Syntax: MAIL FROM:<address>");
        Cursor c = new Cursor(arg, 5);
        c.skipSpaces();
        PathResult path = path(c, true);
        if (path.error != null) return new Bad(path.error);
        OptionalLong size = OptionalLong.empty();
        SmtpCommand.Body body = SmtpCommand.Body.SEVEN_BIT;
        boolean utf8 = false;
        Set<String> seen = new HashSet<>();
        for (String p : c.rest().split(" ")) {
            if (p.isEmpty()) continue;
            int eq = p.indexOf('=');
            String name = eq < 0 ? p : p.substring(0, eq);
            // RFC 5321 §4.1.2 esmtp-keyword; it also keeps anything but a keyword out of the replies below.
            if (!esmtpKeyword(name)) return bad(501, "5.5.4", "Syntax: MAIL FROM:<address> [keyword=value ...]");
            String key = name.toUpperCase(Locale.ROOT);
            String value = eq < 0 ? null : p.substring(eq + 1);
            if (!seen.add(key)) return bad(501, "5.5.4", "Parameter " + key + " given twice");
            switch (key) {
                case "SIZE" -> { // RFC 1870 §3
                    if (value == null || !digits(value)) return bad(501, "5.5.4", "Syntax: SIZE=octets");
                    size = OptionalLong.of(Long.parseLong(value));
                }
                case "BODY" -> { // RFC 6152 §2
                    if ("7BIT".equalsIgnoreCase(value)) body = SmtpCommand.Body.SEVEN_BIT;
                    else if ("8BITMIME".equalsIgnoreCase(value)) body = SmtpCommand.Body.EIGHT_BIT_MIME;
                    else return bad(501, "5.5.4", "Syntax: BODY=7BIT or BODY=8BITMIME");
                }
                case "SMTPUTF8" -> { // RFC 6531 §3.4
                    if (value != null) return bad(501, "5.5.4", "SMTPUTF8 takes no value");
                    utf8 = true;
                }
                case "AUTH" -> { // RFC 4954 §5: accepted and not trusted; Castellan does not relay
                    if (value == null) return bad(501, "5.5.4", "Syntax: AUTH=mailbox or AUTH=<>");
                }
                default -> { return bad(555, "5.5.4", "Parameter " + key + " not supported"); }
            }
        }
        if (path.mailbox.isPresent() && !path.mailbox.get().isAscii() && !utf8) {
            return bad(553, "5.6.7", "Non-ASCII address needs SMTPUTF8"); // RFC 6531 §3.5
        }
        return new Ok(new SmtpCommand.Mail(path.mailbox, size, body, utf8));
    }

    private static Result rcpt(String arg, boolean utf8) {
        if (!startsWithIgnoreCase(arg, "TO:")) return bad(501, "5.5.4", "Syntax: RCPT TO:<address>");
        Cursor c = new Cursor(arg, 3);
        c.skipSpaces();
        PathResult path = path(c, false);
        if (path.error != null) return new Bad(path.error);
        if (!c.rest().isBlank()) {
            return bad(555, "5.5.4", "RCPT parameters not supported"); // no DSN (RFC 3461) offered
        }
        Mailbox to = path.mailbox.orElseThrow();
        if (!to.isAscii() && !utf8) return bad(553, "5.6.7", "Non-ASCII address needs SMTPUTF8");
        return new Ok(new SmtpCommand.Rcpt(to));
    }

    private static Result bdat(String arg) {
        String[] words = arg.strip().split(" +");
        if (words.length == 0 || words.length > 2 || !digits(words[0])) return bad(501, "5.5.4", "Syntax: BDAT size [LAST]");
        boolean last = words.length == 2;
        if (last && !words[1].equalsIgnoreCase("LAST")) return bad(501, "5.5.4", "Syntax: BDAT size [LAST]");
        return new Ok(new SmtpCommand.Bdat(Long.parseLong(words[0]), last));
    }

    private static Result auth(String arg) {
        String[] words = arg.strip().split(" +");
        if (words.length == 0 || words.length > 2 || words[0].isEmpty() || words[0].length() > MAX_MECHANISM
                || !words[0].chars().allMatch(ch -> (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
                        || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')) {
            return bad(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
        }
        Optional<byte[]> initial = Optional.empty();
        if (words.length == 2) {
            if (words[1].equals("=")) {
                initial = Optional.of(new byte[0]); // RFC 4954 §4: "=" is an empty initial response
            } else {
                try {
                    initial = Optional.of(Base64.getDecoder().decode(words[1]));
                } catch (IllegalArgumentException e) {
                    return bad(501, "5.5.2", "Invalid base64 in initial response");
                }
            }
        }
        return new Ok(new SmtpCommand.Auth(words[0].toUpperCase(Locale.ROOT), initial));
    }

    // ---- paths (RFC 5321 §4.1.2)

    private record PathResult(Optional<Mailbox> mailbox, SmtpError error) {
    }

    private static PathResult path(Cursor c, boolean nullAllowed) {
        int start = c.pos;
        SmtpError syntax = new SmtpError(501, nullAllowed ? "5.1.7" : "5.1.3",
                nullAllowed ? "Bad sender address syntax" : "Bad recipient address syntax");
        if (!c.take('<')) return new PathResult(Optional.empty(), syntax);
        if (c.take('>')) {
            return nullAllowed ? new PathResult(Optional.empty(), null) : new PathResult(Optional.empty(), syntax);
        }
        if (c.peek() == '@') { // RFC 5321 §4.1.2 A-d-l: obsolete source route, ignored (§C)
            int colon = c.s.indexOf(':', c.pos);
            int close = c.s.indexOf('>', c.pos);
            if (colon < 0 || (close >= 0 && colon > close)) return new PathResult(Optional.empty(), syntax);
            c.pos = colon + 1;
        }
        String local = c.peek() == '"' ? quotedString(c) : dotString(c);
        if (local == null || octets(local) > EmailAddress.MAX_LOCAL_PART || !c.take('@')) {
            return new PathResult(Optional.empty(), syntax);
        }
        int close = c.s.indexOf('>', c.pos);
        if (close < 0) return new PathResult(Optional.empty(), syntax);
        String domain = c.s.substring(c.pos, close);
        c.pos = close + 1;
        boolean domainOk = domain.startsWith("[") ? addressLiteral(domain) : EmailAddress.isValidDomain(domain);
        if (!domainOk || octets(c.s.substring(start, c.pos)) > MAX_PATH) return new PathResult(Optional.empty(), syntax);
        if (c.pos < c.s.length() && c.s.charAt(c.pos) != ' ') return new PathResult(Optional.empty(), syntax);
        return new PathResult(Optional.of(new Mailbox(local, domain)), null);
    }

    /** RFC 5321 §4.1.2 Dot-string, with UTF-8 (RFC 6531 §3.3); the caller checks SMTPUTF8. */
    private static String dotString(Cursor c) {
        int start = c.pos;
        while (c.pos < c.s.length()) {
            char ch = c.s.charAt(c.pos);
            if (ch >= 0x80 || Character.isLetterOrDigit(ch) || ch == '.' || "!#$%&'*+-/=?^_`{|}~".indexOf(ch) >= 0) {
                c.pos++;
            } else {
                break;
            }
        }
        String s = c.s.substring(start, c.pos);
        if (s.isEmpty() || s.startsWith(".") || s.endsWith(".") || s.contains("..")) return null;
        return s;
    }

    /** RFC 5321 §4.1.2 Quoted-string: qtextSMTP and quoted-pairSMTP, kept with its quotes. */
    private static String quotedString(Cursor c) {
        int start = c.pos++;
        while (c.pos < c.s.length()) {
            char ch = c.s.charAt(c.pos);
            if (ch == '"') {
                c.pos++;
                return c.pos - start > 2 ? c.s.substring(start, c.pos) : null;
            }
            if (ch == '\\') {
                if (c.pos + 1 >= c.s.length() || c.s.charAt(c.pos + 1) < 32 || c.s.charAt(c.pos + 1) > 126) return null;
                c.pos += 2;
            } else if ((ch >= 32 && ch <= 126) || ch >= 0x80) {
                c.pos++;
            } else {
                return null;
            }
        }
        return null;
    }

    /** RFC 5321 §4.1.3: {@code [IPv4]} or {@code [IPv6:...]}. */
    private static boolean addressLiteral(String s) {
        if (!s.startsWith("[") || !s.endsWith("]") || s.length() < 3) return false;
        String inner = s.substring(1, s.length() - 1);
        if (inner.regionMatches(true, 0, "IPv6:", 0, 5)) {
            String v6 = inner.substring(5);
            return !v6.isEmpty() && v6.chars().allMatch(ch -> Character.digit(ch, 16) >= 0 || ch == ':' || ch == '.');
        }
        String[] parts = inner.split("\\.", -1);
        if (parts.length != 4) return false;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !digits(p) || Integer.parseInt(p) > 255) return false;
        }
        return true;
    }

    /** RFC 5321 §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"). */
    private static boolean esmtpKeyword(String s) {
        if (s.isEmpty() || s.charAt(0) == '-') return false;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
        }
        return true;
    }

    private static boolean digits(String s) {
        return !s.isEmpty() && s.length() <= MAX_NUMBER_DIGITS && s.chars().allMatch(ch -> ch >= '0' && ch <= '9');
    }

    /** RFC 5321 §4.5.3.1 limits count octets; with SMTPUTF8 those of UTF-8 (RFC 6531 §3.3). */
    private static int octets(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static boolean startsWithIgnoreCase(String s, String prefix) {
        return s.regionMatches(true, 0, prefix, 0, prefix.length());
    }

    private static Bad bad(int code, String status, String text) {
        return new Bad(new SmtpError(code, status, text));
    }

    private static final class Cursor {
        final String s;
        int pos;

        Cursor(String s, int pos) {
            this.s = s;
            this.pos = pos;
        }

        char peek() { return pos < s.length() ? s.charAt(pos) : 0; }

        boolean take(char ch) {
            if (peek() != ch) return false;
            pos++;
            return true;
        }

        void skipSpaces() { while (peek() == ' ') pos++; }

        String rest() { return s.substring(Math.min(pos, s.length())); }
    }
}
