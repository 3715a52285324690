package org.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import org.castellan.server.testing.TestServer;
import org.castellan.server.testing.Transcript;
import org.castellan.testkit.ScramClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code [auth] login-timeout}: an IMAP, POP3 or submission connection that has not authenticated
 * that long after its greeting is closed, whatever it did meanwhile, so that a client stuck in a
 * SASL exchange it cannot finish (Cyrus SASL refusing an iteration count, say) does not hold a
 * session for half an hour. Logged-in sessions and MX connections are not affected. The timeout
 * here is one second; each test waits for the server to close, never for a clock.
 */
class LoginTimeoutTest {

    @TempDir static Path dir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.startWith(dir, "", "login-timeout = \"1s\"",
                TestServer.listener("imap", "imap", "starttls", true),
                TestServer.listener("pop3", "pop3", "starttls", true),
                TestServer.listener("submission", "submission", "starttls", true),
                TestServer.listener("mx", "smtp", "starttls", false));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.server().close();
    }

    private static Transcript connect(String listener) {
        try {
            return new Transcript(new Socket("127.0.0.1", server.server().addresses().get(listener).getPort()), server.pki());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String base64(byte[] data) {
        return Base64.getEncoder().encodeToString(data);
    }

    @Test
    void anImapClientStalledInTheMiddleOfScramIsToldGoodbyeAndClosed() {
        try (Transcript imap = connect("imap")) {
            ScramClient scram = ScramClient.plain(TestServer.USER, TestServer.PASSWORD, "stalledClientNonce");
            imap.run("""
                    S: \\* OK .*
                    C: a1 AUTHENTICATE SCRAM-SHA-256
                    S: \\+ ?
                    """);
            imap.send(base64(scram.clientFirst()));
            String serverFirst = imap.expect("\\+ .+").substring(2);
            assertThat(new String(Base64.getDecoder().decode(serverFirst), StandardCharsets.UTF_8)).contains(",i=4096");
            // The client computes no proof and sends nothing more, as mbsync does after Cyrus refused the count.
            imap.run("""
                    S: \\* BYE Autologout; no login in time
                    S: <closed>
                    """);
        }
    }

    @Test
    void aCancelledExchangeIsAnsweredAtOnceButDoesNotExtendTheDeadline() {
        try (Transcript imap = connect("imap")) {
            imap.run("""
                    S: \\* OK .*
                    C: a1 AUTHENTICATE PLAIN
                    S: \\+ ?
                    C: *
                    S: a1 BAD .*cancelled.*
                    C: a2 NOOP
                    S: a2 OK .*
                    S: \\* BYE Autologout; no login in time
                    S: <closed>
                    """);
        }
    }

    @Test
    void pop3ClosesWithoutAResponseAndSubmissionWith421() {
        try (Transcript pop3 = connect("pop3")) {
            // RFC 1939 §3: a session ended by a timer is closed without a response.
            pop3.run("""
                    S: \\+OK .*
                    C: CAPA
                    S: \\+OK.*
                    """);
            pop3.readMultiline();
            pop3.run("S: <closed>");
        }
        try (Transcript submission = connect("submission")) {
            submission.run("""
                    S: 220 .*
                    C: EHLO client.example.net
                    """);
            for (String line = submission.readLine(); !line.startsWith("250 "); line = submission.readLine()) {
                assertThat(line).startsWith("250-");
            }
            submission.run("""
                    S: 421 4\\.7\\.0 .*
                    S: <closed>
                    """);
        }
    }

    @Test
    void loggedInSessionsAndMxConnectionsOutliveTheTimeout() {
        try (Transcript imap = connect("imap"); Transcript pop3 = connect("pop3"); Transcript mx = connect("mx")) {
            imap.run("""
                    S: \\* OK .*
                    C: a1 LOGIN "alice@example.org" "correct horse battery"
                    S: a1 OK .*
                    """);
            pop3.run("""
                    S: \\+OK .*
                    C: USER bob@example.org
                    S: \\+OK.*
                    C: PASS correct horse battery
                    S: \\+OK.*
                    """);
            mx.run("""
                    S: 220 .*
                    C: HELO relay.example.net
                    S: 250 .*
                    """);
            // A connection opened after these three is closed by its deadline; theirs has passed by then.
            try (Transcript later = connect("imap")) {
                later.run("""
                        S: \\* OK .*
                        S: \\* BYE Autologout; no login in time
                        S: <closed>
                        """);
            }
            imap.run("""
                    C: a2 NOOP
                    S: a2 OK .*
                    """);
            pop3.run("""
                    C: NOOP
                    S: \\+OK.*
                    """);
            mx.run("""
                    C: NOOP
                    S: 250 .*
                    """);
        }
    }
}
