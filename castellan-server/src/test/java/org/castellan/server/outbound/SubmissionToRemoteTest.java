package org.castellan.server.outbound;

import org.castellan.server.testing.TxtZone;
import java.time.Instant;
import java.util.Set;
import org.castellan.security.mailauth.DkimAlgorithm;
import org.castellan.security.mailauth.DkimResult;
import org.castellan.security.mailauth.DkimVerifier;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.server.dkim.DkimKeys;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;

/**
 * The whole path (docs/outbound.md §1, §2, §4): Python's smtplib logs in over implicit TLS
 * (RFC 8314) and submits one message to a remote and a local recipient; the 250 comes once the
 * remote one is queued and the local one delivered, and the remote copy arrives at Postfix's
 * smtp-sink through a static route. Recipients in a domain with a null MX or none at all are
 * refused at RCPT, as the server's resolver (here asking a DNS server on loopback) finds them.
 */
class SubmissionToRemoteTest {

    /** Prints each reply as "code text" so the test can read what the server said to each step. */
    private static final String CLIENT = """
            import smtplib, ssl, sys
            port, ca = int(sys.argv[1]), sys.argv[2]
            message = ("From: alice@example.org\\r\\nTo: carol@remote.test, bob@example.org\\r\\n"
                       "Subject: to both\\r\\n\\r\\nHello.\\r\\n")
            with smtplib.SMTP_SSL("127.0.0.1", port, context=ssl.create_default_context(cafile=ca)) as s:
                s.login("alice@example.org", "correct horse battery")
                print("rcpt-literal", *s.mail("alice@example.org"), *s.rcpt("x@[192.0.2.1]"))
                print("rcpt-nullmx", *s.rcpt("x@nullmx.test"))
                print("rcpt-gone", *s.rcpt("x@gone.test"))
                s.rset()
                refused = s.sendmail("alice@example.org", ["carol@remote.test", "bob@example.org"], message,
                                     mail_options=["RET=HDRS", "ENVID=QQ314159"], rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
                print("refused", refused)
            """;

    @TempDir Path dir;
    SmtpSink sink;
    ZoneDnsServer dns;
    TestServer server;

    @BeforeEach
    void start() throws Exception {
        sink = new SmtpSink(dir.resolve("sink"));
        // RFC 7505 §3: a null MX, one MX of preference 0 and an empty exchange.
        Name nullMx = Name.fromString("nullmx.test.");
        dns = new ZoneDnsServer(Map.of(nullMx, List.of(new MXRecord(nullMx, DClass.IN, 300, 0, Name.root))));
        String route = String.join("\n", "[dns]", "resolvers = [\"127.0.0.1:" + dns.address().getPort() + "\"]",
                "dnssec = false", "[[outbound.route]]", "domain = \"remote.test\"",
                "next-hop = \"127.0.0.1:" + sink.port + "\"", "");
        server = TestServer.startWith(dir.resolve("server"), "", route,
                TestServer.listener("submissions", "submission", "implicit", false));
    }

    @AfterEach
    void stop() {
        server.server().close();
        sink.close();
        dns.close();
    }

    @Test
    void aSubmittedMessageReachesTheRemoteReceiverAndTheLocalMailbox() throws Exception {
        ExternalClient.require("python3", "python3");
        int port = server.server().addresses().get("submissions").getPort();
        ExternalClient.Result r = ExternalClient.run(List.of("python3", "-c", CLIENT, Integer.toString(port),
                server.pki().trustFile().toString()), Map.of());
        assertThat(r.exitCode()).as(r.output()).isZero();
        // A domain literal is refused (docs/outbound.md §1); both recipients of the message are taken.
        assertThat(r.output()).contains("rcpt-literal 250").contains("550 b'5.7.1 Delivery to address literals")
                .contains("rcpt-nullmx 556 b'5.1.10").contains("rcpt-gone 550 b'5.1.2")
                .contains("refused {}");

        String arrived = sink.awaitMessages(1, "Hello.").get(0);
        // RFC 3461 §5.2: the submitter's DSN parameters go on to a receiver that offers DSN, as smtp-sink does.
        assertThat(arrived).contains("X-Mail-Args: <alice@example.org> RET=HDRS ENVID=QQ314159")
                .contains("X-Rcpt-Args: <carol@remote.test> NOTIFY=SUCCESS,FAILURE")
                .doesNotContain("bob@example.org>") // the local recipient is not sent out
                .contains("by localhost (Castellan) with ESMTPSA").contains("Subject: to both");
        assertThat(TestServer.messages(server.server().store(), server.otherInbox())).hasSize(1);

        // Delivered to a receiver that offers DSN, which reports from here on (RFC 3461 §5.2.2): nothing
        // is left to report, so the message leaves the queue and its sender gets no "relayed" report.
        OutboundEngine engine = server.server().outbound().orElseThrow();
        await().until(() -> engine.queue().list(10).isEmpty());
        assertThat(TestServer.messages(server.server().store(), server.inbox())).noneMatch(m ->
                new String(m, java.nio.charset.StandardCharsets.UTF_8).contains("multipart/report"));
    }
    @Test
    void mailLeavesSignedWithTheSenderDomainsDkimKeys() throws Exception { // RFC 6376, RFC 8463
        ExternalClient.require("python3", "python3");
        List<DkimKeys.Selector> selectors = new DkimKeys(dir.resolve("server"))
                .generate("example.org", Set.of(DkimAlgorithm.RSA_SHA256, DkimAlgorithm.ED25519_SHA256), Instant.now());
        int port = server.server().addresses().get("submissions").getPort();
        ExternalClient.Result r = ExternalClient.run(List.of("python3", "-c", CLIENT, Integer.toString(port),
                server.pki().trustFile().toString()), Map.of());
        assertThat(r.exitCode()).as(r.output()).isZero();
        String arrived = sink.awaitMessages(1, "Hello.").get(0);
        // smtp-sink writes its own X- lines before the message; the message starts at the first other field.
        String message = arrived.substring(arrived.indexOf("DKIM-Signature:"));
        Map<String, List<String>> records = new java.util.HashMap<>();
        selectors.forEach(x -> records.put(x.dnsName(), List.of(x.record())));
        DnsLookup keys = TxtZone.of(records);
        List<DkimResult> results = new DkimVerifier(keys).verify(message.replace("\r\n", "\n").replace("\n", "\r\n")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThat(results).hasSize(2).allSatisfy(x -> {
            assertThat(x.status()).as(x.reason()).isEqualTo(DkimResult.Status.PASS);
            assertThat(x.domain()).isEqualTo("example.org");
        });
        assertThat(results).extracting(DkimResult::selector).containsExactlyInAnyOrderElementsOf(
                selectors.stream().map(DkimKeys.Selector::selector).toList());
    }
}
