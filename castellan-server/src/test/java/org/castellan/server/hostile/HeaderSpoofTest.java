package org.castellan.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.protocol.smtp.FromHeader;
import org.castellan.server.testing.TestServer;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The probe's From: spoof and its relatives: alice (owning alice@example.org and the alias
 * al@example.org) submits messages whose originator fields take every RFC 5322 form, current,
 * obsolete (§4.4) and hostile. Each case states the addresses a reader is shown and the
 * submission verdict (RFC 6409 §8), and the test checks three things agree: what the submission
 * check read ({@link FromHeader}), what IMAP's ENVELOPE shows for the very same header (RFC 9051
 * §7.5.2, FETCH after APPEND), and the reply at the end of DATA. A spoof is an address in the
 * ENVELOPE, or in a display name it shows, that the check did not hold against alice.
 */
class HeaderSpoofTest {

    @TempDir static Path dir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(dir, TestServer.listener("submission", "submission", "none", true),
                TestServer.listener("imap", "imap", "none", true));
        server.server().store().createAlias(EmailAddress.of("al@example.org"), EmailAddress.of(TestServer.USER));
    }

    @AfterAll
    static void stop() {
        server.server().close();
    }

    /**
     * @param header the originator fields, CRLF between them
     * @param from the From mailboxes a reader is shown ({@code local@domain}, group members in place)
     * @param sender the Sender mailboxes, empty when there is no Sender field (ENVELOPE repeats From then)
     * @param reply the reply to the end of DATA
     * @param alsoChecked From mailboxes the check holds against the account besides {@code from}:
     *     those of a second From field, which ENVELOPE does not show (readers may)
     */
    record Case(String header, List<String> from, List<String> sender, String reply, List<String> alsoChecked) {
        Case(String header, List<String> from, List<String> sender, String reply) {
            this(header, from, sender, reply, List.of());
        }

        @Override
        public String toString() {
            return header.replace("\r\n", "\\r\\n") + " -> " + reply;
        }
    }

    private static final String OK = "250 2\\.0\\.0 .*";
    private static final String MALFORMED = "550 5\\.6\\.0 %s: field is not a valid address list .*";
    private static final String NOT_YOURS = "550 5\\.7\\.1 %s: address <%s> is not yours";
    private static final String SHOWN = "550 5\\.7\\.1 %s: display name shows <%s>, which is not yours";
    private static final String ALICE = "alice@example.org";
    private static final String AL = "al@example.org";
    private static final String BOB = "bob@example.org";

    private static Case accepted(String header, List<String> from, List<String> sender) {
        return new Case(header, from, sender, OK);
    }

    static Stream<Case> corpus() {
        List<String> alice = List.of(ALICE);
        return Stream.of(
                // Current forms of an own address.
                accepted("From: alice@example.org", alice, List.of()),
                accepted("FROM: Alice Smith <alice@example.org>", alice, List.of()),
                accepted("From: \"Smith, Alice\" <alice@example.org>", alice, List.of()),
                accepted("From: =?utf-8?q?Al=C3=AFce?= <alice@example.org>", alice, List.of()),
                accepted("From: \"alice@example.org\" <alice@example.org>", alice, List.of()),
                accepted("From: \"al@example.org\" <alice@example.org>", alice, List.of()),
                accepted("From: Alice\r\n <alice@example.org>", alice, List.of()),
                accepted("From: alice@example.org\r\nReply-To: bob@example.org", alice, List.of()),
                // RFC 5322 §4.4 obsolete forms: obs-phrase, comments and folding inside the
                // addr-spec, the legacy "addr (Name)", a source route; a group (RFC 6854).
                accepted("From: Alice Q. Smith <alice@example.org>", alice, List.of()),
                accepted("From: Alice <alice(work) @ example (main) . org>", alice, List.of()),
                accepted("From: alice@example.org (Alice Smith)", alice, List.of()),
                accepted("From: Alice (a comment is not shown) <alice@example.org>", alice, List.of()),
                accepted("From: <@relay.example,@b.example:alice@example.org>", alice, List.of()),
                accepted("From: Me: alice@example.org;", alice, List.of()),
                // RFC 5322 §3.6.2: several authors, with the Sender that names who sent it.
                accepted("From: alice@example.org, al@example.org\r\nSender: alice@example.org",
                        List.of(ALICE, AL), alice),

                // The finding, and its quoted form: a display name that is another's address.
                new Case("From: bob@example.org <alice@example.org>", alice, List.of(), MALFORMED.formatted("From")),
                new Case("From: \"bob@example.org\" <alice@example.org>", alice, List.of(), SHOWN.formatted("From", BOB)),
                new Case("From: \"Alice <bob@example.org>\" <alice@example.org>", alice, List.of(),
                        SHOWN.formatted("From", BOB)),
                new Case("From: \"bob\uFF20example.org\" <alice@example.org>", alice, List.of(), SHOWN.formatted("From", BOB)),
                new Case("From: \"Alice\r\n bob@example.org\" <alice@example.org>", alice, List.of(),
                        SHOWN.formatted("From", BOB)),
                // RFC 2047 encoded words holding an address: Q, B, and split over two words (§6.2).
                new Case("From: =?utf-8?q?bob=40example.org?= <alice@example.org>", alice, List.of(),
                        SHOWN.formatted("From", BOB)),
                new Case("From: =?utf-8?b?Ym9iQGV4YW1wbGUub3Jn?= <alice@example.org>", alice, List.of(),
                        SHOWN.formatted("From", BOB)),
                new Case("From:\r\n =?utf-8?q?bob?=\r\n =?utf-8?q?=40example.org?= <alice@example.org>", alice, List.of(),
                        SHOWN.formatted("From", BOB)),
                // The legacy comment is the name a reader shows.
                new Case("From: alice@example.org (bob@example.org)", alice, List.of(), SHOWN.formatted("From", BOB)),
                // obs-phrase cannot carry '@'; a group's name is a phrase too.
                new Case("From: bob@example.org. <alice@example.org>", alice, List.of(), MALFORMED.formatted("From")),
                new Case("From: bob@example.org: alice@example.org;", alice, List.of(), MALFORMED.formatted("From")),
                // A route is no place for an address.
                new Case("From: <@bob@example.org:alice@example.org>", alice, List.of(), MALFORMED.formatted("From")),
                // A quoted local part holding an address is another address.
                new Case("From: \"bob@example.org\"@example.org", List.of("bob@example.org@example.org"), List.of(),
                        NOT_YOURS.formatted("From", "bob@example.org@example.org")),
                // Unbalanced quotes, brackets and comments, and a missing domain: not guessed at.
                new Case("From: \"bob@example.org <alice@example.org>", List.of("bob@example.org <alice@example.org>"),
                        List.of(), MALFORMED.formatted("From")),
                new Case("From: Bob <alice@example.org", alice, List.of(), MALFORMED.formatted("From")),
                new Case("From: alice@example.org (bob@example.org", alice, List.of(), MALFORMED.formatted("From")),
                new Case("From: alice", List.of("alice"), List.of(), MALFORMED.formatted("From")),
                // Several authors: every one must be alice's, and the Sender is required (RFC 5322 §3.6.2).
                new Case("From: alice@example.org, al@example.org", List.of(ALICE, AL), List.of(),
                        "550 5\\.6\\.0 From: names several authors, so a Sender: field is required .*"),
                new Case("From: alice@example.org, bob@example.org\r\nSender: alice@example.org", List.of(ALICE, BOB), alice,
                        NOT_YOURS.formatted("From", BOB)),
                new Case("From: Us: alice@example.org, bob@example.org;\r\nSender: alice@example.org", List.of(ALICE, BOB),
                        alice, NOT_YOURS.formatted("From", BOB)),
                // Two From fields: readers show either; both are checked, then refused anyway.
                new Case("From: alice@example.org\r\nFrom: bob@example.org", alice, List.of(), NOT_YOURS.formatted("From", BOB),
                        List.of(BOB)),
                new Case("From: alice@example.org\r\nFrom: al@example.org", alice, List.of(),
                        "550 5\\.6\\.0 From: field appears more than once .*", List.of(AL)),
                new Case("From: undisclosed:;", List.of(), List.of(), "550 5\\.6\\.0 Message has no From: field"),
                // Sender and Resent-From claim authorship as From does, display names included.
                new Case("From: alice@example.org\r\nSender: bob@example.org", alice, List.of(BOB),
                        NOT_YOURS.formatted("Sender", BOB)),
                new Case("From: alice@example.org\r\nSender: \"bob@example.org\" <alice@example.org>", alice, alice,
                        SHOWN.formatted("Sender", BOB)),
                new Case("From: alice@example.org\r\nSender: =?utf-8?q?bob=40example.org?= <al@example.org>", alice,
                        List.of(AL), SHOWN.formatted("Sender", BOB)),
                new Case("From: alice@example.org\r\nSender: alice@example.org, al@example.org", alice, List.of(ALICE, AL),
                        "550 5\\.6\\.0 Sender: names more than one mailbox .*"),
                new Case("From: alice@example.org\r\nResent-From: Bob <bob@example.org>", alice, List.of(),
                        NOT_YOURS.formatted("Resent-From", BOB)),
                new Case("From: alice@example.org\r\nResent-From: \"bob@example.org\" <alice@example.org>", alice, List.of(),
                        SHOWN.formatted("Resent-From", BOB)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void whatIsCheckedIsWhatTheEnvelopeShows(Case c) {
        String message = c.header() + "\r\nSubject: corpus\r\n\r\nbody\r\n";
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);

        // The check's reading: the mailboxes it holds against the account, or a refusal of the form.
        FromHeader.Originators read = FromHeader.originators(bytes, bytes.length);
        if (c.reply().startsWith("550 5\\.6\\.0 From: field is not")) {
            assertThat(read).isEqualTo(new FromHeader.Originators.Malformed("From"));
        } else {
            List<FromHeader.Claim> claims = ((FromHeader.Originators.Claims) read).claims();
            assertThat(mailboxes(claims, "From")).as("From as the check reads it")
                    .containsExactlyElementsOf(Stream.concat(c.from().stream(), c.alsoChecked().stream()).toList());
            assertThat(mailboxes(claims, "Sender")).as("Sender as the check reads it").containsExactlyElementsOf(c.sender());
        }

        // What a reader is shown: the ENVELOPE of the same header.
        List<List<String>> envelope = envelopeOf(bytes);
        assertThat(envelope.get(0)).as("ENVELOPE from").containsExactlyElementsOf(c.from());
        assertThat(envelope.get(1)).as("ENVELOPE sender").containsExactlyElementsOf(c.sender().isEmpty() ? c.from() : c.sender());

        assertThat(submit(message)).matches(c.reply());
    }

    /**
     * The check reads the part of a message held in memory (128 KiB by default); a Sender field
     * after that much padding would reach the ENVELOPE unchecked, so such a header is refused.
     */
    @Test
    void aFieldBeyondWhatTheCheckReadsIsNotLetThrough() {
        StringBuilder pad = new StringBuilder("X-Pad:");
        for (int i = 0; i < 160; i++) pad.append("\r\n ").append("p".repeat(900));
        String message = "From: alice@example.org\r\n" + pad + "\r\nSender: bob@example.org\r\nSubject: padded\r\n\r\nbody\r\n";
        List<List<String>> envelope = envelopeOf(message.getBytes(StandardCharsets.UTF_8));
        assertThat(envelope.get(1)).as("ENVELOPE sender").containsExactly(BOB);
        assertThat(submit(message)).matches("552 5\\.3\\.4 Header section longer than \\d+ octets");
    }

    private static List<String> mailboxes(List<FromHeader.Claim> claims, String field) {
        return claims.stream().filter(k -> k.field().equals(field) && !k.inDisplayName()).map(FromHeader.Claim::address).toList();
    }

    /** alice submits {@code message} in a session of its own; the reply to the end of DATA. */
    private static String submit(String message) {
        try (Transcript t = new Transcript(new Socket("127.0.0.1", port("submission")), null)) {
            t.expect("220 .*");
            t.send("EHLO client.example");
            while (!t.readLine().startsWith("250 ")) {
                // the extensions
            }
            String plain = "\0" + TestServer.USER + "\0" + TestServer.PASSWORD;
            t.send("AUTH PLAIN " + Base64.getEncoder().encodeToString(plain.getBytes(StandardCharsets.UTF_8)));
            t.expect("235 .*");
            t.send("MAIL FROM:<alice@example.org>");
            t.expect("250 .*");
            t.send("RCPT TO:<bob@example.org>");
            t.expect("250 .*");
            t.send("DATA");
            t.expect("354 .*");
            t.sendRaw(message + ".\r\n");
            return t.readLine();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int port(String listener) {
        return server.server().addresses().get(listener).getPort();
    }

    /** APPENDs {@code message} to alice's INBOX and returns the ENVELOPE's from and sender mailboxes. */
    private static List<List<String>> envelopeOf(byte[] message) {
        try (RawClient c = RawClient.connect(port("imap"))) {
            response(c);
            c.send("a LOGIN " + TestServer.USER + " \"" + TestServer.PASSWORD + "\"\r\n");
            until(c, "a ");
            c.send("b APPEND INBOX {" + message.length + "+}\r\n");
            c.send(message);
            c.send("\r\n");
            Matcher uid = Pattern.compile("b OK \\[APPENDUID \\d+ (\\d+)].*").matcher(until(c, "b "));
            assertThat(uid.matches()).isTrue();
            c.send("c SELECT INBOX\r\nd UID FETCH " + uid.group(1) + " ENVELOPE\r\n");
            String fetch = null;
            for (String line = response(c); !line.startsWith("d "); line = response(c)) {
                if (line.contains(" FETCH (")) fetch = line;
            }
            assertThat(fetch).isNotNull();
            List<Object> items = new Sexp(fetch.substring(fetch.indexOf(" FETCH (") + 7)).list();
            List<Object> env = cast(items.get(items.indexOf("ENVELOPE") + 1));
            return List.of(addresses(env.get(2)), addresses(env.get(3)));
        }
    }

    /** {@code mailbox@host} of each address structure; group markers (host NIL) are left out. */
    private static List<String> addresses(Object list) {
        List<String> out = new ArrayList<>();
        if (list == null) return out;
        for (Object a : (List<?>) list) {
            List<Object> address = cast(a);
            String mailbox = (String) address.get(2);
            String host = (String) address.get(3);
            if (host != null) out.add(host.isEmpty() ? mailbox : mailbox + "@" + host);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> cast(Object o) {
        return (List<Object>) o;
    }

    private static String until(RawClient c, String tag) {
        for (String line = response(c); ; line = response(c)) {
            if (line.startsWith(tag)) return line;
        }
    }

    /**
     * One response line with its literals written in as quoted strings, so that the line can be
     * read as one expression.
     */
    private static String response(RawClient c) {
        StringBuilder out = new StringBuilder();
        Pattern literal = Pattern.compile("\\{(\\d+)}$");
        while (true) {
            String line = c.line();
            Matcher m = literal.matcher(line);
            if (!m.find()) return out.append(line).toString();
            String octets = new String(c.octets(Integer.parseInt(m.group(1))), StandardCharsets.UTF_8);
            out.append(line, 0, m.start()).append('"').append(octets.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
    }

    /** The parenthesised lists of an IMAP response: NIL as null, strings and atoms as String. */
    private static final class Sexp {
        private final String s;
        private int i;

        Sexp(String s) {
            this.s = s;
        }

        List<Object> list() {
            List<Object> out = new ArrayList<>();
            i++; // '('
            while (true) {
                while (s.charAt(i) == ' ') i++;
                if (s.charAt(i) == ')') {
                    i++;
                    return out;
                }
                out.add(value());
            }
        }

        private Object value() {
            char c = s.charAt(i);
            if (c == '(') return list();
            if (c == '"') {
                StringBuilder b = new StringBuilder();
                for (i++; s.charAt(i) != '"'; i++) {
                    if (s.charAt(i) == '\\') i++;
                    b.append(s.charAt(i));
                }
                i++;
                return b.toString();
            }
            int start = i;
            while (s.charAt(i) != ' ' && s.charAt(i) != ')' && s.charAt(i) != '(') i++;
            String atom = s.substring(start, i);
            return atom.equals("NIL") ? null : atom;
        }
    }
}
