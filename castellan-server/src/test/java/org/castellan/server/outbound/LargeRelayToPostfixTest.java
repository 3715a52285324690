package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.PostfixReceiver;
import org.castellan.server.testing.TestServer;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole relay path with production-sized mail (docs/outbound.md §4): Python's smtplib logs in
 * over implicit TLS (RFC 8314) and submits a message with a 5 MiB base64 attachment and an 8-bit
 * UTF-8 message (BODY=8BITMIME, RFC 6152, with lines that need dot-stuffing) for a recipient whose
 * next hop is a real Postfix. What Postfix delivers is, after its own fields and the Received field
 * Castellan adds, the submitted message octet for octet; Castellan sends it with BDAT where Postfix
 * offers CHUNKING (RFC 3030) and with DATA where it does not (RFC 5321 §4.1.1.4).
 */
class LargeRelayToPostfixTest {

    private static final String CLIENT = """
            import smtplib, ssl, sys
            port, ca = int(sys.argv[1]), sys.argv[2]
            with smtplib.SMTP_SSL("127.0.0.1", port, context=ssl.create_default_context(cafile=ca)) as s:
                s.login("alice@example.org", "correct horse battery")
                for path, options in ((sys.argv[3], []), (sys.argv[4], ["BODY=8BITMIME"])):
                    with open(path, "rb") as f:
                        refused = s.sendmail("alice@example.org", ["%s"], f.read(), mail_options=options)
                    print(path, "refused", refused)
            """.formatted(PostfixReceiver.RECIPIENT);
    /** RFC 2045 §6.8: base64 lines of at most 76 characters. */
    private static final int BASE64_LINE = 76;

    @TempDir Path dir;
    TestServer server;
    PostfixReceiver postfix;

    @AfterEach
    void stop() throws Exception {
        if (server != null) server.server().close();
        if (postfix != null) postfix.close();
    }

    @Test
    void largeAndEightBitMailArrivesAtPostfixOctetForOctetOverBdat() throws Exception {
        relay();
        // Postfix's smtpd logs the commands of each session as it ends: the content went as BDAT chunks.
        await().until(() -> postfix.maillog().contains("bdat="));
        assertThat(postfix.maillog()).doesNotContain(" data=");
    }

    @Test
    void largeAndEightBitMailArrivesAtPostfixOctetForOctetOverDataWithoutChunking() throws Exception {
        relay("smtpd_discard_ehlo_keywords = chunking");
        await().until(() -> postfix.maillog().contains(" data="));
        assertThat(postfix.maillog()).doesNotContain("bdat=");
    }

    private void relay(String... postfixConfig) throws Exception {
        ExternalClient.require("python3", "python3");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("receiver-pki")));
        postfix = new PostfixReceiver(Files.createDirectories(dir.resolve("postfix")), pki.server(), postfixConfig);
        String route = String.join("\n", "[[outbound.route]]", "domain = \"remote.test\"",
                "next-hop = \"127.0.0.1:" + postfix.port + "\"", "");
        server = TestServer.startWith(dir.resolve("server"), "", route,
                TestServer.listener("submissions", "submission", "implicit", false));

        String attachment = attachmentMessage();
        String eightBit = eightBitMessage();
        Path first = Files.write(dir.resolve("attachment.eml"), attachment.getBytes(StandardCharsets.US_ASCII));
        Path second = Files.write(dir.resolve("eight-bit.eml"), eightBit.getBytes(StandardCharsets.UTF_8));
        int port = server.server().addresses().get("submissions").getPort();
        ExternalClient.Result r = ExternalClient.run(List.of("python3", "-c", CLIENT, Integer.toString(port),
                server.pki().trustFile().toString(), first.toString(), second.toString()), Map.of());
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("attachment.eml refused {}").contains("eight-bit.eml refused {}");

        await().atMost(Duration.ofSeconds(60)).until(() -> postfix.messages().size() == 2);
        List<String> arrived = postfix.messages();
        assertArrived(arrived, attachment, "attachment");
        assertArrived(arrived, eightBit, "eight-bit");
    }

    /**
     * The delivered file (Postfix's maildir writes LF line ends) is Postfix's fields, Castellan's
     * Received field, then the submitted message unchanged.
     */
    private static void assertArrived(List<String> arrived, String submitted, String subject) {
        String expected = submitted.replace("\r\n", "\n");
        String file = arrived.stream().filter(m -> m.contains("Subject: " + subject + "\n")).findFirst().orElseThrow();
        assertThat(file.length()).isGreaterThan(expected.length());
        assertThat(file.endsWith(expected)).as("the submitted message, octet for octet, ends the delivered file").isTrue();
        String added = file.substring(0, file.length() - expected.length());
        assertThat(added).contains("(Postfix)").contains("by localhost (Castellan) with ESMTPSA");
        // Castellan's Received field is the last field before the submitted ones.
        assertThat(added.substring(added.lastIndexOf("\nReceived: ") + 1)).contains("by localhost (Castellan)");
    }

    /** A multipart message with a 5 MiB attachment of random octets, base64 in lines of 76. */
    private static String attachmentMessage() {
        byte[] data = new byte[5 * 1024 * 1024];
        new Random(8460).nextBytes(data);
        String base64 = Base64.getEncoder().encodeToString(data);
        StringBuilder m = new StringBuilder(base64.length() + base64.length() / BASE64_LINE * 2 + 1024);
        m.append("From: Alice <alice@example.org>\r\nTo: Carol <carol@remote.test>\r\nSubject: attachment\r\n")
                .append("Date: Sun, 6 Dec 2026 12:00:00 +0000\r\nMessage-ID: <attachment.8460@example.org>\r\nMIME-Version: 1.0\r\n")
                .append("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n")
                .append("--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe data, as promised.\r\n")
                .append("--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n")
                .append("Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\n");
        for (int i = 0; i < base64.length(); i += BASE64_LINE) {
            m.append(base64, i, Math.min(base64.length(), i + BASE64_LINE)).append("\r\n");
        }
        return m.append("--b1--\r\n").toString();
    }

    /** UTF-8 text declared 8bit (RFC 6152), with lines that start with a dot (RFC 5321 §4.5.2). */
    private static String eightBitMessage() {
        StringBuilder m = new StringBuilder("From: Alice <alice@example.org>\r\nTo: Carol <carol@remote.test>\r\n"
                + "Subject: eight-bit\r\nDate: Sun, 6 Dec 2026 12:00:00 +0000\r\nMessage-ID: <eight-bit.8460@example.org>\r\n"
                + "MIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        for (int i = 0; i < 2000; i++) {
            m.append(i % 7 == 0 ? "." : "").append("Grüße aus Köln, ligne ").append(i).append(" — déjà vu, 東京\r\n");
        }
        return m.append(".\r\n..\r\nEnde.\r\n").toString();
    }
}
