package org.castellan.protocol.smtp;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
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
    /** RFC 3461 §4.4: an ENVID is at most 100 characters (counted as sent, in xtext). */
    public static final int MAX_ENVID = 100;
    /** RFC 3461 §4.2: an ORCPT is at most 500 characters (counted as sent, in xtext). */
    public static final int MAX_ORCPT = 500;
    /** RFC 5322 §3.2.3 atext besides letters and digits. */
    private static final String ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~";

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
        Dsn.Ret ret = Dsn.Ret.UNSPECIFIED;
        Optional<String> envid = Optional.empty();
        boolean requireTls = false;
        Parameters params = parameters(c.rest(), "MAIL FROM:<address>");
        if (params.error != null) return params.error;
        for (Map.Entry<String, String> p : params.values.entrySet()) {
            String key = p.getKey();
            String value = p.getValue();
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
                case "RET" -> { // RFC 3461 §4.3, in any case
                    if ("FULL".equalsIgnoreCase(value)) ret = Dsn.Ret.FULL;
                    else if ("HDRS".equalsIgnoreCase(value)) ret = Dsn.Ret.HDRS;
                    else return bad(501, "5.5.4", "Syntax: RET=FULL or RET=HDRS");
                }
                case "ENVID" -> { // RFC 3461 §4.4
                    envid = value == null || value.isEmpty() || value.length() > MAX_ENVID ? Optional.empty() : Xtext.decode(value);
                    if (envid.isEmpty()) return bad(501, "5.5.4", "Syntax: ENVID=xtext of at most " + MAX_ENVID + " characters");
                }
                case "REQUIRETLS" -> { // RFC 8689 §4.1: no value
                    if (value != null) return bad(501, "5.5.4", "REQUIRETLS takes no value");
                    requireTls = true;
                }
                default -> { return bad(555, "5.5.4", "Parameter " + key + " not supported"); }
            }
        }
        if (path.mailbox.isPresent() && !path.mailbox.get().isAscii() && !utf8) {
            return bad(553, "5.6.7", "Non-ASCII address needs SMTPUTF8"); // RFC 6531 §3.5
        }
        return new Ok(new SmtpCommand.Mail(path.mailbox, size, body, utf8, ret, envid, requireTls));
    }

    private static Result rcpt(String arg, boolean utf8) {
        if (!startsWithIgnoreCase(arg, "TO:")) return bad(501, "5.5.4", "Syntax: RCPT TO:<address>");
        Cursor c = new Cursor(arg, 3);
        c.skipSpaces();
        PathResult path = path(c, false);
        if (path.error != null) return new Bad(path.error);
        Optional<Set<Dsn.Notify>> notify = Optional.empty();
        Optional<String> orcpt = Optional.empty();
        Parameters params = parameters(c.rest(), "RCPT TO:<address>");
        if (params.error != null) return params.error;
        for (Map.Entry<String, String> p : params.values.entrySet()) {
            switch (p.getKey()) {
                case "NOTIFY" -> {
                    notify = notify(p.getValue());
                    if (notify.isEmpty()) return bad(501, "5.5.4", "Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY");
                }
                case "ORCPT" -> {
                    orcpt = orcpt(p.getValue(), utf8);
                    if (orcpt.isEmpty()) return bad(501, "5.5.4", "Syntax: ORCPT=addr-type;xtext of at most " + MAX_ORCPT + " characters");
                }
                default -> { return bad(555, "5.5.4", "Parameter " + p.getKey() + " not supported"); }
            }
        }
        Mailbox to = path.mailbox.orElseThrow();
        if (!to.isAscii() && !utf8) return bad(553, "5.6.7", "Non-ASCII address needs SMTPUTF8");
        return new Ok(new SmtpCommand.Rcpt(to, notify, orcpt));
    }

    // ---- parameters (RFC 5321 §4.1.2 Mail-parameters, Rcpt-parameters)

    /** The parameters by upper-case keyword, in order, a value {@code null} when none was given; or a refusal. */
    private record Parameters(Map<String, String> values, Bad error) {
    }

    private static Parameters parameters(String rest, String syntax) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String p : rest.split(" ")) {
            if (p.isEmpty()) continue;
            int eq = p.indexOf('=');
            String name = eq < 0 ? p : p.substring(0, eq);
            // RFC 5321 §4.1.2 esmtp-keyword; it also keeps anything but a keyword out of the replies.
            if (!esmtpKeyword(name)) return new Parameters(values, bad(501, "5.5.4", "Syntax: " + syntax + " [keyword=value ...]"));
            String key = name.toUpperCase(Locale.ROOT);
            if (values.containsKey(key)) return new Parameters(values, bad(501, "5.5.4", "Parameter " + key + " given twice"));
            values.put(key, eq < 0 ? null : p.substring(eq + 1));
        }
        return new Parameters(values, null);
    }

    /** RFC 3461 §4.1: NEVER alone, or a list of SUCCESS, FAILURE and DELAY, in any case; empty when malformed. */
    private static Optional<Set<Dsn.Notify>> notify(String value) {
        if (value == null) return Optional.empty();
        if (value.equalsIgnoreCase("NEVER")) return Optional.of(Set.of());
        Set<Dsn.Notify> on = EnumSet.noneOf(Dsn.Notify.class);
        for (String word : value.split(",", -1)) {
            switch (word.toUpperCase(Locale.ROOT)) {
                case "SUCCESS" -> on.add(Dsn.Notify.SUCCESS);
                case "FAILURE" -> on.add(Dsn.Notify.FAILURE);
                case "DELAY" -> on.add(Dsn.Notify.DELAY);
                default -> { return Optional.empty(); } // NEVER among others, an empty or unknown word
            }
        }
        return Optional.of(on);
    }

    /**
     * RFC 3461 §4.2: {@code addr-type ";" xtext}, returned with the address decoded. A {@code utf-8}
     * address (RFC 6533 §3) is kept as given: utf-8-addr-xtext, or with SMTPUTF8 utf-8-addr-unitext.
     */
    private static Optional<String> orcpt(String value, boolean utf8) {
        if (value == null || value.length() > MAX_ORCPT) return Optional.empty();
        int semi = value.indexOf(';');
        if (semi <= 0) return Optional.empty();
        String type = value.substring(0, semi);
        String address = value.substring(semi + 1);
        // RFC 3464 §2.3.1: addr-type is an atom; "=" cannot occur in an esmtp-value (RFC 5321 §4.1.2).
        if (!type.chars().allMatch(ch -> ch < 0x80 && ch != '=' && (Character.isLetterOrDigit(ch) || ATEXT_SPECIALS.indexOf(ch) >= 0))) {
            return Optional.empty();
        }
        if (type.equalsIgnoreCase("utf-8")) return utf8Address(address, utf8) ? Optional.of(value) : Optional.empty();
        return Xtext.decode(address).map(decoded -> type + ";" + decoded);
    }

    /** RFC 6533 §3: QCHAR, "\x{HEXPOINT}", and with SMTPUTF8 any non-ASCII character. */
    private static boolean utf8Address(String s, boolean utf8) {
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '\\') {
                int close = s.indexOf('}', i);
                if (close < 0 || !s.startsWith("\\x{", i) || close - i - 3 < 1 || close - i - 3 > 6) return false;
                if (!s.substring(i + 3, close).chars().allMatch(h -> h < 0x80 && Character.digit(h, 16) >= 0)) return false;
                i = close;
            } else if (ch >= 0x80 ? !utf8 : (ch < '!' || ch > '~' || ch == '+' || ch == '=')) {
                return false;
            }
        }
        return !s.isEmpty();
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
