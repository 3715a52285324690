package org.castellan.protocol.mail;

import java.util.ArrayList;
import java.util.List;

/**
 * The addresses of one address header field (RFC 5322 §3.4: From, Sender, Reply-To, To, Cc,
 * Bcc and their Resent- forms). This is the one parser every component reads addresses with —
 * IMAP ENVELOPE, SEARCH and SORT, and the submission server's ownership check — so that no two of
 * them can read different addresses out of the same field.
 *
 * <p>Reads the current syntax and the obsolete one (RFC 5322 §4.4: obs-phrase, obs-local-part,
 * obs-domain, obs-route, empty list elements, comments and folding between any two tokens),
 * quoted strings, domain literals, groups and UTF-8 (RFC 6532). Display names stay as written,
 * RFC 2047 encoded words included ({@link Mailbox#decodedName()} decodes them).
 *
 * <p>Pure and total: any input gives a list, never an exception. Where the input is not RFC 5322
 * the parser still reads what a mail reader would show (a display name containing {@code @}, a
 * missing domain, an unclosed quote) and says so with {@link #wellFormed()} false, so that a
 * caller which must not guess — submission — can refuse instead. Linear in the input.
 *
 * @param addresses mailboxes and groups in order
 * @param wellFormed whether the whole value follows RFC 5322 §3.4 (with §4.4's obsolete forms)
 */
public record AddressList(List<Address> addresses, boolean wellFormed) {

    /**
     * Addresses read from one field. Bounds the ENVELOPE and the work a hostile field can cause;
     * real To and Cc lists stay far below it. What lies beyond is dropped and the list is not
     * well-formed.
     */
    public static final int MAX_ADDRESSES = 10_000;

    public AddressList {
        addresses = List.copyOf(addresses);
    }

    /** A mailbox or a group (RFC 5322 §3.4 {@code address}). */
    public sealed interface Address permits Mailbox, Group {}

    /**
     * One mailbox.
     *
     * @param name the display name as written (quotes and quoted-pairs undone, runs of white
     *     space and comments as one space, encoded words kept); for the legacy form
     *     {@code addr (Name)} the comment after the address (RFC 5322 §3.4 note); null when there
     *     is none
     * @param route an obsolete source route ({@code @a.example,@b.example}, RFC 5322 §4.4), or null
     * @param localPart the local part's value: the dot-atom, or the quoted string's content
     * @param domain the domain or domain literal, or null when the address has none (not RFC 5322)
     */
    public record Mailbox(String name, String route, String localPart, String domain) implements Address {

        /** {@code local@domain} as the envelope's parts give it (the local part unquoted), or the local part alone. */
        public String addrSpec() {
            return domain == null ? localPart : localPart + "@" + domain;
        }

        /**
         * The address as RFC 5322 writes it: the local part quoted when it is not a dot-atom
         * ({@code "a b"@example.com}), then {@code @domain} when there is one.
         */
        public String address() {
            String local = dotAtom(localPart) ? localPart
                    : "\"" + localPart.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
            return domain == null ? local : local + "@" + domain;
        }

        /** The display name with RFC 2047 encoded words decoded; null when there is none. */
        public String decodedName() {
            return name == null ? null : EncodedWords.decode(name);
        }
    }

    /** A group (RFC 5322 §3.4): its display name and members, possibly none. */
    public record Group(String name, List<Mailbox> members) implements Address {
        public Group {
            members = List.copyOf(members);
        }
    }

    /** Every mailbox, group members in place of their group. */
    public List<Mailbox> mailboxes() {
        List<Mailbox> out = new ArrayList<>();
        for (Address a : addresses) {
            switch (a) {
                case Mailbox m -> out.add(m);
                case Group g -> out.addAll(g.members());
            }
        }
        return out;
    }

    /** Parses a field value (unfolded or not); null or blank gives the empty list. */
    public static AddressList parse(String value) {
        if (value == null) return new AddressList(List.of(), true);
        Parser p = new Parser(tokens(value));
        List<Address> out = new ArrayList<>();
        p.addressList(out);
        return new AddressList(out, p.wellFormed);
    }

    // ---- tokens (RFC 5322 §3.2)

    private enum Kind { ATOM, QUOTED, LITERAL, COMMENT, SPECIAL }

    /**
     * A lexical token: an atom's text, a quoted string's or comment's content, a domain literal
     * with its brackets, or one special character. {@code space}: white space or a comment came
     * before it. {@code clean}: it is valid RFC 5322 (no control character, nothing unclosed).
     */
    private record Token(Kind kind, String text, boolean space, boolean clean) {
        boolean is(char special) {
            return kind == Kind.SPECIAL && text.charAt(0) == special;
        }

        boolean word() {
            return kind == Kind.ATOM || kind == Kind.QUOTED;
        }
    }

    /** RFC 5322 §3.2.3 dot-atom-text: atext (and UTF-8, RFC 6532) in dot-separated runs. */
    private static boolean dotAtom(String s) {
        if (s.isEmpty() || s.startsWith(".") || s.endsWith(".") || s.contains("..")) return false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '.' && (white(c) || control(c) || "()<>[]:;@\\,\"".indexOf(c) >= 0)) return false;
        }
        return true;
    }

    /** RFC 5322 §3.2.3 specials that end an atom (besides white space, comments and quotes). */
    private static final String SPECIALS = "<>@,;:.";

    private static boolean white(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    }

    private static boolean control(char c) {
        return (c < 0x20 && c != '\t') || c == 0x7f;
    }

    private static List<Token> tokens(String s) {
        return new Lexer(s).tokens();
    }

    private static final class Lexer {
        final String s;
        int i;

        Lexer(String s) {
            this.s = s;
        }

        List<Token> tokens() {
            List<Token> out = new ArrayList<>();
            boolean space = false;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (white(c)) {
                    space = true;
                    i++;
                } else if (c == '(') { // RFC 5322 §3.2.2 comment, nested
                    out.add(enclosed(Kind.COMMENT, '(', ')', true, true, space));
                    space = true; // a comment separates tokens as white space does
                } else if (c == '"') { // RFC 5322 §3.2.4 quoted string
                    out.add(enclosed(Kind.QUOTED, '"', '"', false, true, space));
                    space = false;
                } else if (c == '[') { // RFC 5322 §3.4.1 domain literal, kept with its brackets
                    Token t = enclosed(Kind.LITERAL, '[', ']', false, false, space);
                    out.add(new Token(Kind.LITERAL, "[" + t.text() + "]", space, t.clean()));
                    space = false;
                } else if (SPECIALS.indexOf(c) >= 0) {
                    out.add(new Token(Kind.SPECIAL, String.valueOf(c), space, true));
                    space = false;
                    i++;
                } else {
                    out.add(atom(space));
                    space = false;
                }
            }
            return out;
        }

        /**
         * A comment, quoted string or domain literal from its opening character: its content with
         * quoted-pairs undone and folding dropped (all white space, in a literal); not clean when
         * it is not closed or holds a control character.
         */
        Token enclosed(Kind kind, char open, char close, boolean nests, boolean keepWhite, boolean space) {
            StringBuilder text = new StringBuilder();
            int depth = 1;
            boolean clean = true;
            i++;
            while (i < s.length()) {
                char d = s.charAt(i++);
                if (d == '\\' && i < s.length()) {
                    text.append(s.charAt(i++));
                    continue;
                }
                if (nests && d == open) depth++;
                if (d == close && --depth == 0) break;
                if (d == '\r' || d == '\n' || (!keepWhite && white(d))) continue;
                clean &= !control(d);
                text.append(d);
            }
            return new Token(kind, text.toString(), space, clean && depth == 0);
        }

        /** atext, UTF-8 (RFC 6532 §3.2) and, not cleanly, stray ')', ']', '\\' and controls. */
        Token atom(boolean space) {
            int start = i;
            boolean clean = true;
            while (i < s.length()) {
                char d = s.charAt(i);
                if (white(d) || d == '(' || d == '"' || d == '[' || SPECIALS.indexOf(d) >= 0) break;
                clean &= !control(d) && d != ')' && d != ']' && d != '\\';
                i++;
                if (d == ')' || d == ']') break; // keeps "a)b" as two atoms, as the writer meant
            }
            return new Token(Kind.ATOM, s.substring(start, i), space, clean);
        }
    }

    // ---- grammar (RFC 5322 §3.4, §4.4)

    private static final class Parser {
        final List<Token> t;
        int at;
        boolean wellFormed = true;
        int count;

        Parser(List<Token> tokens) {
            this.t = tokens;
            for (Token token : tokens) wellFormed &= token.clean();
        }

        boolean end() {
            return at >= t.size();
        }

        boolean at(char special) {
            return !end() && t.get(at).is(special);
        }

        /** address-list, with obs-addr-list's empty elements and comment-only elements. */
        void addressList(List<Address> out) {
            while (!end()) {
                if (at(',')) {
                    at++;
                    continue;
                }
                if (count >= MAX_ADDRESSES) {
                    wellFormed = false;
                    return;
                }
                Address a = address();
                if (a != null) {
                    out.add(a);
                    count++;
                }
                if (!end() && !at(',')) { // whatever follows an address up to the next comma is not RFC 5322
                    wellFormed = false;
                    while (!end() && !at(',')) at++;
                }
            }
        }

        /** address = mailbox / group: a group when a ':' comes before any '<', ',' or ';'. */
        Address address() {
            for (int j = at; j < t.size(); j++) {
                Token k = t.get(j);
                if (k.is(':')) return group(j);
                if (k.is('<') || k.is(',') || k.is(';')) break;
            }
            return mailbox(false);
        }

        /** group = display-name ":" [group-list] ";" [CFWS]. */
        Group group(int colon) {
            String name = phrase(at, colon);
            if (name == null) wellFormed = false; // a group needs its display name
            at = colon + 1;
            List<Mailbox> members = new ArrayList<>();
            while (true) {
                if (end()) {
                    wellFormed = false; // no ';'
                    break;
                }
                if (at(';')) {
                    at++;
                    break;
                }
                if (at(',')) {
                    at++;
                    continue;
                }
                if (count >= MAX_ADDRESSES) {
                    wellFormed = false;
                    while (!end() && !at(';')) at++;
                    continue;
                }
                Mailbox m = mailbox(true);
                if (m != null) {
                    members.add(m);
                    count++;
                }
            }
            skipComments();
            return new Group(name == null ? "" : name, members);
        }

        void skipComments() {
            while (!end() && t.get(at).kind() == Kind.COMMENT) at++;
        }

        /**
         * mailbox = name-addr / addr-spec, up to the next ',' (or ';' in a group) outside angle
         * brackets; null when there are only comments there.
         */
        Mailbox mailbox(boolean inGroup) {
            int start = at;
            int open = -1;
            int end = start;
            boolean angle = false;
            for (; end < t.size(); end++) {
                Token k = t.get(end);
                if (k.is('<') && open < 0) {
                    open = end;
                    angle = true;
                } else if (k.is('>')) {
                    angle = false;
                } else if (!angle && (k.is(',') || k.is(';'))) {
                    break;
                }
            }
            at = end;
            if (!inGroup && end < t.size() && t.get(end).is(';')) wellFormed = false;
            if (open >= 0) return nameAddr(start, open, end);
            boolean words = false;
            for (int j = start; j < end; j++) words |= t.get(j).kind() != Kind.COMMENT;
            if (!words) return null;
            // RFC 5322 §3.4 note: legacy writers put "the name of the recipient in parentheses as
            // a comment following the addr-spec" (the last one when there are several).
            String comment = null;
            for (int j = end - 1; j >= start && t.get(j).kind() == Kind.COMMENT && comment == null; j--) {
                comment = t.get(j).text().strip();
            }
            Spec spec = addrSpec(start, end);
            return new Mailbox(comment == null || comment.isEmpty() ? null : comment, null, spec.local, spec.domain);
        }

        /** name-addr = [display-name] angle-addr; obs-angle-addr with its route. */
        Mailbox nameAddr(int start, int open, int end) {
            String name = phrase(start, open);
            int close = -1;
            for (int j = open + 1; j < end; j++) {
                if (t.get(j).is('>')) {
                    close = j;
                    break;
                }
            }
            if (close < 0) {
                wellFormed = false;
                close = end;
            }
            for (int j = close + 1; j < end; j++) {
                if (t.get(j).kind() != Kind.COMMENT) wellFormed = false; // text after '>'
            }
            int from = open + 1;
            String route = null;
            int first = next(from, close);
            if (first < close && t.get(first).is('@')) { // obs-route = obs-domain-list ":"
                int colon = -1;
                for (int j = first; j < close; j++) {
                    if (t.get(j).is(':')) {
                        colon = j;
                        break;
                    }
                }
                if (colon < 0) {
                    wellFormed = false;
                } else {
                    route = route(first, colon);
                    from = colon + 1;
                }
            }
            Spec spec = addrSpec(from, close);
            return new Mailbox(name, route, spec.local, spec.domain);
        }

        /** The first token at or after {@code j} that is not a comment. */
        int next(int j, int end) {
            while (j < end && t.get(j).kind() == Kind.COMMENT) j++;
            return j;
        }

        /** obs-domain-list = *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain]), as "@a,@b". */
        String route(int from, int to) {
            StringBuilder out = new StringBuilder();
            int j = from;
            while (j < to) {
                Token k = t.get(j);
                if (k.is(',') || k.kind() == Kind.COMMENT) {
                    j++;
                    continue;
                }
                if (!k.is('@')) {
                    wellFormed = false;
                    j++;
                    continue;
                }
                int domainEnd = j + 1;
                while (domainEnd < to && !t.get(domainEnd).is(',')) domainEnd++;
                String domain = domain(j + 1, domainEnd);
                if (out.length() > 0) out.append(',');
                out.append('@').append(domain == null ? "" : domain);
                j = domainEnd;
            }
            return out.toString();
        }

        record Spec(String local, String domain) {}

        /** addr-spec = local-part "@" domain, obsolete forms included; what is missing is empty or null. */
        Spec addrSpec(int from, int to) {
            int atSign = -1;
            for (int j = from; j < to; j++) {
                if (t.get(j).is('@')) {
                    atSign = j;
                    break;
                }
            }
            if (atSign < 0) {
                wellFormed = false; // RFC 5322 needs the domain
                return new Spec(localPart(from, to), null);
            }
            String local = localPart(from, atSign);
            String domain = domain(atSign + 1, to);
            if (domain == null) {
                wellFormed = false;
                domain = "";
            }
            return new Spec(local, domain);
        }

        /** local-part = dot-atom / quoted-string / obs-local-part (word *("." word)). */
        String localPart(int from, int to) {
            StringBuilder out = new StringBuilder();
            boolean wantWord = true;
            for (int j = from; j < to; j++) {
                Token k = t.get(j);
                if (k.kind() == Kind.COMMENT) continue;
                if (k.word() && wantWord) {
                    out.append(k.text());
                    wantWord = false;
                } else if (k.is('.') && !wantWord) {
                    out.append('.');
                    wantWord = true;
                } else {
                    wellFormed = false;
                    if (k.space() && out.length() > 0) out.append(' ');
                    out.append(k.text());
                    wantWord = k.is('.');
                }
            }
            if (wantWord) wellFormed = false; // empty, or a trailing dot
            return out.toString();
        }

        /** domain = dot-atom / domain-literal / obs-domain (atom *("." atom)); null when empty. */
        String domain(int from, int to) {
            StringBuilder out = new StringBuilder();
            boolean wantAtom = true;
            boolean literal = false;
            for (int j = from; j < to; j++) {
                Token k = t.get(j);
                if (k.kind() == Kind.COMMENT) continue;
                if (k.kind() == Kind.LITERAL && out.length() == 0) {
                    literal = true;
                    out.append(k.text());
                    wantAtom = false;
                } else if (k.kind() == Kind.ATOM && wantAtom && !literal) {
                    out.append(k.text());
                    wantAtom = false;
                } else if (k.is('.') && !wantAtom && !literal) {
                    out.append('.');
                    wantAtom = true;
                } else {
                    wellFormed = false;
                    if (k.space() && out.length() > 0) out.append(' ');
                    out.append(k.text());
                }
            }
            if (out.length() == 0) return null;
            if (wantAtom) wellFormed = false; // a trailing dot
            return out.toString();
        }

        /**
         * display-name = phrase (word / obs-phrase's "."), words joined by one space where the
         * field had white space or a comment between them; null when empty. Specials other than
         * '.' make it not RFC 5322, but they are kept: a reader shows them.
         */
        String phrase(int from, int to) {
            StringBuilder out = new StringBuilder();
            boolean words = false;
            for (int j = from; j < to; j++) {
                Token k = t.get(j);
                if (k.kind() == Kind.COMMENT) continue;
                if (k.word()) {
                    words = true;
                } else if (!(k.is('.') && words)) {
                    wellFormed = false;
                }
                if (k.space() && out.length() > 0) out.append(' ');
                out.append(k.text());
            }
            return out.length() == 0 ? null : out.toString();
        }
    }
}
