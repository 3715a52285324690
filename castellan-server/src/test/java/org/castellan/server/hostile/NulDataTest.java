package org.castellan.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.TestServer;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probe stored a NUL sent in SMTP DATA and returned it inside an IMAP literal, which RFC 9051
 * §4.3 forbids (a literal is CHAR8, %x01-ff). A NUL is refused where it arrives: 554 5.6.0 at the
 * end of DATA and of the BDAT chunk holding it, on MX and submission alike (RFC 5322 §3.5, RFC 2045
 * §2.8; BINARYMIME is not offered), and BAD for an APPEND literal that is not a literal8 (RFC
 * 3516 §4.4). The session goes on, and nothing with a NUL reaches a mailbox.
 */
class NulDataTest {

    @TempDir Path dir;
    TestServer server;

    @BeforeEach
    void start() {
        server = TestServer.start(dir, TestServer.listener("mx", "smtp", "none", false),
                TestServer.listener("submission", "submission", "none", true),
                TestServer.listener("imap", "imap", "none", true));
    }

    @AfterEach
    void stop() {
        server.server().close();
    }

    /** Sends a message with a NUL by DATA, then by BDAT LAST, then a clean one, on one session per listener. */
    private static final String SMTPLIB = String.join("\n",
            "import smtplib, sys",
            "mx, submission, user, password = sys.argv[1:5]",
            "nul = b'From: alice@example.org\\r\\nTo: bob@example.org\\r\\nSubject: nul\\r\\n\\r\\nbefore\\x00after\\r\\n'",
            "clean = nul.replace(b'\\x00', b'')",
            "for name, port, login in (('mx', mx, False), ('submission', submission, True)):",
            "    s = smtplib.SMTP('127.0.0.1', int(port))",
            "    s.ehlo('client.example')",
            "    if login:",
            "        s.login(user, password)",
            "    try:",
            "        s.sendmail(user, ['bob@example.org'], nul)",
            "        print(name, 'data', 250)",
            "    except smtplib.SMTPDataError as e:",
            "        print(name, 'data', e.smtp_code, e.smtp_error.decode())",
            "    s.mail(user)",
            "    s.rcpt('bob@example.org')",
            "    s.send(b'BDAT %d LAST\\r\\n' % len(nul) + nul)",
            "    code, text = s.getreply()",
            "    print(name, 'bdat', code, text.decode())",
            "    s.sendmail(user, ['bob@example.org'], clean)",
            "    print(name, 'clean', 250)",
            "    s.quit()");

    @Test
    void nulInDataAndBdatIsRefusedOnMxAndSubmission() throws Exception {
        ExternalClient.require("python3", "python3");
        var result = ExternalClient.runOk(List.of("python3", "-c", SMTPLIB, port("mx"), port("submission"),
                TestServer.USER, TestServer.PASSWORD), Map.of());
        String refusal = " 554 5.6.0 NUL octet in message content; it is not allowed in mail without BINARYMIME";
        assertThat(result.output().lines().toList()).containsExactly(
                "mx data" + refusal, "mx bdat" + refusal, "mx clean 250",
                "submission data" + refusal, "submission bdat" + refusal, "submission clean 250");
        List<byte[]> delivered = TestServer.messages(server.server().store(), server.otherInbox());
        assertThat(delivered).hasSize(2).allSatisfy(m -> assertThat(m).doesNotContain((byte) 0));
    }

    /** A NUL in the second of two chunks: the transaction ends there, and the next BDAT is out of sequence. */
    @Test
    void nulInALaterBdatChunkEndsTheTransaction() throws IOException {
        try (Transcript t = mxSession()) {
            envelope(t);
            t.sendRaw("BDAT 23\r\nSubject: two chunks\r\n\r\n");
            t.expect("250 2\\.0\\.0 23 octets received");
            t.sendRaw("BDAT 5\r\nab\u0000c\n");
            t.expect("554 5\\.6\\.0 NUL octet in message content.*");
            t.send("BDAT 0 LAST");
            t.expect("503 .*");
            t.run("""
                    C: NOOP
                    S: 250 .*
                    """);
        }
        assertThat(TestServer.messages(server.server().store(), server.otherInbox())).isEmpty();
    }

    /** The refusal ends its own transaction only: the next BDAT, without a NUL, is delivered. */
    @Test
    void aBdatAfterOneRefusedForANulIsJudgedOnItsOwnContent() throws IOException {
        String clean = "From: someone@example.net\r\nSubject: clean\r\n\r\nno NUL here\r\n";
        try (Transcript t = mxSession()) {
            envelope(t);
            t.sendRaw("BDAT 5 LAST\r\nab\u0000c\n");
            t.expect("554 5\\.6\\.0 NUL octet in message content.*");
            envelope(t);
            t.sendRaw("BDAT " + clean.length() + " LAST\r\n" + clean);
            t.expect("250 2\\.0\\.0 .*");
        }
        assertThat(TestServer.messages(server.server().store(), server.otherInbox())).singleElement()
                .satisfies(m -> assertThat(new String(m, StandardCharsets.UTF_8)).endsWith(clean));
    }

    @Test
    void appendOfANulInALiteralIsBadInALiteral8Taken() throws IOException {
        try (Transcript t = new Transcript(new Socket("127.0.0.1", Integer.parseInt(port("imap"))), null)) {
            t.run("""
                    S: \\* OK .*
                    C: a1 LOGIN alice@example.org "correct horse battery"
                    S: a1 OK .*
                    """);
            t.sendRaw("a2 APPEND INBOX {15+}\r\nSubject: a\r\n\r\n\u0000\r\n");
            t.expect("a2 BAD NUL octet in a literal; send binary content as a literal8 \\(~\\{n\\}\\)");
            t.sendRaw("a3 APPEND INBOX (\\Seen) CATENATE (TEXT {15+}\r\nSubject: b\r\n\r\n\u0000)\r\n");
            t.expect("a3 BAD NUL octet in a literal.*");
            t.run("""
                    C: a4 STATUS INBOX (MESSAGES)
                    S: \\* STATUS INBOX \\(MESSAGES 0\\)
                    S: a4 OK .*
                    """);
        }
        assertThat(TestServer.messages(server.server().store(), server.inbox())).isEmpty();
    }

    /** A session on the MX listener, after EHLO. */
    private Transcript mxSession() throws IOException {
        Transcript t = new Transcript(new Socket("127.0.0.1", Integer.parseInt(port("mx"))), null);
        t.run("""
                S: 220 .*
                C: EHLO client.example
                """);
        while (!t.readLine().startsWith("250 ")) {
            // the extensions
        }
        return t;
    }

    /** Starts a transaction from someone@example.net to bob. */
    private static void envelope(Transcript t) {
        t.run("""
                C: MAIL FROM:<someone@example.net>
                S: 250 .*
                C: RCPT TO:<bob@example.org>
                S: 250 .*
                """);
    }

    private String port(String listener) {
        return Integer.toString(server.server().addresses().get(listener).getPort());
    }
}
