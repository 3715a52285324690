package org.castellan.server.imap;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Set;
import org.castellan.protocol.imap.FetchAttribute.Section;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.server.testing.Transcript;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** RFC 4469 CATENATE: the Appendix A exchanges with this server's data, BADURL, TOOBIG, and URLs across accounts. */
class CatenateTest extends ServerPerTest {

    static final String BOUNDARY = "------------030308070208000400050907";
    static final String DRAFT = "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: the plan\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: multipart/mixed; boundary=\"" + BOUNDARY + "\"\r\n\r\n"
            + "--" + BOUNDARY + "\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee the attached notes.\r\n"
            + "--" + BOUNDARY + "\r\nContent-Type: text/plain; name=notes.txt\r\n\r\nnotes\r\n"
            + "--" + BOUNDARY + "--\r\n";
    static final String FORWARDED = "From: carol@example.net\r\nSubject: notes\r\n\r\nThe notes themselves.\r\n";

    long drafts;
    long validity;
    long draftUid;
    long forwardedUid;

    @BeforeEach
    void drafts() {
        long account = imap.store().getMailbox(imap.inbox).orElseThrow().accountId();
        drafts = imap.store().getMailbox(account, "Drafts").orElseThrow().id();
        imap.append(drafts, "Subject: filler\r\n\r\nx\r\n", Set.of()); // UIDs unlike sequence numbers
        draftUid = imap.append(drafts, DRAFT, Set.of("\\Draft"));
        forwardedUid = imap.append(drafts, FORWARDED, Set.of());
        validity = imap.store().status(drafts).uidValidity();
    }

    private byte[] stored(long mailbox, long uid) {
        try (InputStream in = imap.store().openMessage(mailbox, uid)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] section(String message, String spec) {
        byte[] bytes = message.getBytes(UTF_8);
        Section s = org.castellan.protocol.imap.ImapParser.section(spec).orElseThrow();
        return MessageStructure.parse(bytes).section(bytes, s).orElseThrow();
    }

    private MessageMeta last(long mailbox) {
        List<MessageMeta> all = imap.store().listMessages(mailbox, UidRange.all());
        return all.get(all.size() - 1);
    }

    @Test
    void appendixAExampleBuildsTheMessageFromPartsAndText() {
        String draft = "/Drafts;UIDVALIDITY=" + validity + "/;UID=" + draftUid;
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL "%1$s/;section=HEADER" TEXT {42}
                    S: \\+ Ready for literal data
                    C:
                    C: --%2$s
                    C:  URL "%1$s/;section=1.MIME" URL "%1$s/;section=1" TEXT {42}
                    S: \\+ Ready for literal data
                    C:
                    C: --%2$s
                    C:  URL "/Drafts;UIDVALIDITY=%3$d/;UID=%4$d" TEXT {44}
                    S: \\+ Ready for literal data
                    C:
                    C: --%2$s--
                    C: )
                    S: A003 OK \\[APPENDUID %3$d %5$d\\] CATENATE completed
                    """.formatted(draft, BOUNDARY, validity, forwardedUid, forwardedUid + 1));
        }
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        byte[] separator = ("\r\n--" + BOUNDARY + "\r\n").getBytes(UTF_8);
        expected.writeBytes(section(DRAFT, "HEADER"));
        expected.writeBytes(separator);
        expected.writeBytes(section(DRAFT, "1.MIME"));
        expected.writeBytes(section(DRAFT, "1"));
        expected.writeBytes(separator);
        expected.writeBytes(FORWARDED.getBytes(UTF_8));
        expected.writeBytes(("\r\n--" + BOUNDARY + "--\r\n").getBytes(UTF_8));
        MessageMeta made = last(drafts);
        assertThat(made.uid()).isEqualTo(forwardedUid + 1);
        assertThat(new String(stored(drafts, made.uid()), UTF_8)).isEqualTo(expected.toString(UTF_8));
        assertThat(made.flags()).containsExactlyInAnyOrder("\\Seen", "\\Draft", "$MDNSent");
    }

    @Test
    void appendixAFailureIsBadUrlAndStoresNothing() {
        String gone = "/Drafts;UIDVALIDITY=" + validity + "/;UID=" + (forwardedUid + 50) + "/;section=HEADER";
        try (Transcript t = imap.loggedIn()) {
            // RFC 4469 App. A (with errata 4046: the URL bare in the response code). This server
            // checks the URLs once the command is complete, so the literal is asked for first.
            t.run("""
                    C: A004 APPEND Drafts CATENATE (URL "%1$s" TEXT {42}
                    S: \\+ Ready for literal data
                    C:
                    C: --%2$s
                    C: )
                    S: A004 NO \\[BADURL %3$s\\] .*
                    C: A005 APPEND Drafts CATENATE (URL "imap://alice%%40example.org@elsewhere.example/INBOX/;UID=1")
                    S: A005 NO \\[BADURL imap://alice%%40example.org@elsewhere.example/INBOX/;UID=1\\] .*
                    C: A006 APPEND Drafts CATENATE (URL "/INBOX/;UID=1/;SECTION=1]" TEXT {1+}
                    C: x)
                    S: A006 NO \\[BADURL /INBOX/;UID=1/;SECTION=1%%5D\\] Invalid IMAP URL
                    C: A007 APPEND Nosuch CATENATE (TEXT {1+}
                    C: x)
                    S: A007 NO \\[TRYCREATE\\] .*
                    """.formatted(gone, BOUNDARY, java.util.regex.Pattern.quote(gone)));
        }
        assertThat(last(drafts).uid()).isEqualTo(forwardedUid);
    }

    @Test
    void relativeUrlsAreReadAgainstTheSelectedMailbox() {
        try (Transcript t = imap.loggedIn()) {
            t.send("s1 SELECT Drafts");
            while (!t.readLine().startsWith("s1 OK")) {
                // untagged SELECT data
            }
            t.run("""
                    C: a1 APPEND Drafts CATENATE (TEXT {20+}
                    C: Subject: excerpt
                    C:
                    C:  URL ";UID=%d/;SECTION=2")
                    S: (\\* 4 EXISTS|a1 OK .*)
                    """.formatted(draftUid));
        }
        assertThat(new String(stored(drafts, last(drafts).uid()), UTF_8)).isEqualTo("Subject: excerpt\r\n\r\nnotes");
    }

    @Test
    void anotherAccountsMessageNeedsAUrlAuth() {
        String message = UrlAuthTest.ALICE + "/Drafts/;UID=" + draftUid + "/;SECTION=2";
        String forBob;
        String forCarol;
        try (Transcript alice = imap.loggedIn()) {
            forBob = UrlAuthTest.authorize(alice, message + ";URLAUTH=user+bob%40example.org");
            forCarol = UrlAuthTest.authorize(alice, message + ";URLAUTH=user+carol%40example.org");
        }
        long bobDrafts = imap.store().getMailbox(imap.store().getMailbox(imap.otherInbox).orElseThrow().accountId(), "Drafts")
                .orElseThrow().id();
        try (Transcript bob = imap.connect("imap")) {
            bob.run("""
                    S: \\* OK .*
                    C: b0 LOGIN bob@example.org "%4$s"
                    S: b0 OK .*
                    C: b1 APPEND Drafts CATENATE (URL "%1$s")
                    S: b1 NO \\[BADURL %5$s\\] .*
                    C: b2 APPEND Drafts CATENATE (URL "%2$s")
                    S: b2 NO \\[BADURL .*\\] .*
                    C: b3 APPEND Drafts CATENATE (URL "/Drafts/;UID=%3$d/;SECTION=2")
                    S: b3 NO \\[BADURL .*\\] .*
                    C: b4 APPEND Drafts CATENATE (URL "%6$s")
                    S: b4 OK \\[APPENDUID .*\\] CATENATE completed
                    """.formatted(message, forCarol, draftUid, ImapTestServer.PASSWORD,
                    java.util.regex.Pattern.quote(message), forBob));
        }
        // Only the URLAUTH one made it: bob's Drafts holds alice's attachment and nothing else.
        List<MessageMeta> bobs = imap.store().listMessages(bobDrafts, UidRange.all());
        assertThat(bobs).hasSize(1);
        assertThat(new String(stored(bobDrafts, bobs.get(0).uid()), UTF_8)).isEqualTo("notes");
    }

    @Test
    void aMessageLargerThanAppendLimitIsTooBig() {
        // Two URLs of a message over half APPENDLIMIT: each part is fine, the sum is not.
        String big = "Subject: big\r\n\r\n" + "0123456789abcdef".repeat((int) (ImapSession.APPEND_LIMIT / 2 / 16) + 1) + "\r\n";
        long bigUid = imap.append(big);
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 APPEND Drafts CATENATE (URL "/INBOX/;UID=%1$d" URL "/INBOX/;UID=%1$d")
                    S: a1 NO \\[TOOBIG\\] .*
                    """.formatted(bigUid));
        }
        assertThat(last(drafts).uid()).isEqualTo(forwardedUid);
    }

    @Test
    void multiappendTakesCatenateAmongLiteralsAllInOneAppenduid() {
        String one = "Subject: first\r\n\r\none\r\n";
        String text = "Quoted above.\r\n";
        String three = "Subject: third\r\n\r\nthree\r\n";
        String header = "/Drafts;UIDVALIDITY=" + validity + "/;UID=" + draftUid + "/;section=HEADER";
        try (Transcript t = imap.loggedIn()) {
            // RFC 4469 §5: append-data =/ catenate, in each message of an RFC 3502 MULTIAPPEND.
            t.sendRaw("a1 APPEND Drafts (\\Seen) {" + one.length() + "+}\r\n" + one
                    + " (\\Draft) CATENATE (URL \"" + header + "\" TEXT {" + text.length() + "+}\r\n" + text + ")"
                    + " (\\Flagged) {" + three.length() + "+}\r\n" + three + "\r\n");
            // RFC 4315 §3, RFC 3502 §6.3.11: one APPENDUID with the UIDs of all three, in order.
            t.expect("a1 OK \\[APPENDUID " + validity + " " + (forwardedUid + 1) + ":" + (forwardedUid + 3) + "\\] .*");
        }
        List<MessageMeta> made = imap.store().listMessages(drafts, new UidRange(forwardedUid + 1, forwardedUid + 3));
        assertThat(made).extracting(MessageMeta::uid).containsExactly(forwardedUid + 1, forwardedUid + 2, forwardedUid + 3);
        assertThat(stored(drafts, forwardedUid + 1)).isEqualTo(one.getBytes(UTF_8));
        ByteArrayOutputStream built = new ByteArrayOutputStream();
        built.writeBytes(section(DRAFT, "HEADER"));
        built.writeBytes(text.getBytes(UTF_8));
        assertThat(stored(drafts, forwardedUid + 2)).isEqualTo(built.toByteArray());
        assertThat(stored(drafts, forwardedUid + 3)).isEqualTo(three.getBytes(UTF_8));
        assertThat(made.get(0).flags()).containsExactly("\\Seen");
        assertThat(made.get(1).flags()).containsExactly("\\Draft");
        assertThat(made.get(2).flags()).containsExactly("\\Flagged");
    }

    @Test
    void aBadUrlInTheSecondMessageOfAMultiappendStoresNone() {
        String one = "Subject: first\r\n\r\none\r\n";
        String gone = "/Drafts;UIDVALIDITY=" + validity + "/;UID=" + (forwardedUid + 50);
        try (Transcript t = imap.loggedIn()) {
            // RFC 4469 §5: a URL that names nothing fails the APPEND with BADURL; RFC 3502 §6.3.11: none is added.
            t.sendRaw("a1 APPEND Drafts {" + one.length() + "+}\r\n" + one
                    + " CATENATE (TEXT {2+}\r\nhi URL \"" + gone + "\") {" + one.length() + "+}\r\n" + one + "\r\n");
            t.expect("a1 NO \\[BADURL " + java.util.regex.Pattern.quote(gone) + "\\] .*");
            t.run("""
                    C: a2 NOOP
                    S: a2 OK NOOP completed
                    """);
        }
        assertThat(last(drafts).uid()).isEqualTo(forwardedUid);
    }
}
