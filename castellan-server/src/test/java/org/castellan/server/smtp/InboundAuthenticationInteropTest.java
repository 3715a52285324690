package org.castellan.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.castellan.security.mailauth.DkimKeyRecord;
import org.castellan.server.dns.DnsFixture;
import org.castellan.server.dns.DnsFixture.Signing;
import org.castellan.server.dns.DnsFixture.Zone;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.PostfixReceiver;
import org.castellan.server.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inbound mail-authentication path end to end, with nothing of Castellan's own on the other
 * side: Debian's python3-dkim (dkimpy) signs, or a real Postfix signs through the OpenDKIM milter
 * and relays; swaks sends from 127.0.0.1 to a full server's MX listener (or to that Postfix), and
 * the SPF, DKIM and DMARC records come from NSD through Unbound, DNSSEC-signed and validated by the
 * server against the fixture's trust anchor (docs/outbound.md §6).
 */
class InboundAuthenticationInteropTest {

    /** Debian's interpreter: python3-dkim installs into its dist-packages, which another python3 on the PATH may not see. */
    static final String PYTHON = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    /** Signs argv[1] (a message) with argv[2] (a PKCS#8 RSA key) as sel._domainkey.sender.test; writes signature and message. */
    static final String SIGN = """
            import sys
            try:
                import dkim
            except ImportError:
                sys.exit("python3-dkim is not installed (apt-get install python3-dkim; ./test does this)")
            message = open(sys.argv[1], 'rb').read()
            signature = dkim.sign(message, b'sel', b'sender.test', open(sys.argv[2], 'rb').read(),
                    canonicalize=(b'relaxed', b'relaxed'))
            sys.stdout.buffer.write(signature + message)
            """;
    /** RFC 1035 §3.3.14: one character-string of a TXT record holds at most 255 octets. */
    static final int TXT_STRING = 255;

    /** OpenDKIM's programs: Debian installs them in /usr/sbin, which a user's PATH may lack. */
    static final Path OPENDKIM = Path.of("/usr/sbin/opendkim");
    static final Path OPENDKIM_GENKEY = Path.of("/usr/sbin/opendkim-genkey");

    @TempDir static Path dir;
    static DnsFixture dns;
    static TestServer server;
    static Path key;
    /** OpenDKIM's key for odk._domainkey.sender.test, made by opendkim-genkey. */
    static Path opendkimKey;

    @BeforeAll
    static void start() throws Exception {
        ExternalClient.require("swaks", "swaks");
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair rsa = generator.generateKeyPair();
        key = dir.resolve("sel.key");
        Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(rsa.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        String opendkimRecord = opendkimGenkey();
        dns = DnsFixture.start(
                new Zone("sender.test", Signing.SIGNED, List.of(
                        "@ TXT \"v=spf1 ip4:127.0.0.0/8 -all\"",
                        "_dmarc TXT \"v=DMARC1; p=reject\"",
                        "sel._domainkey TXT " + txtStrings(DkimKeyRecord.format(rsa.getPublic())),
                        "odk._domainkey TXT " + txtStrings(opendkimRecord))),
                new Zone("victim.test", Signing.SIGNED, List.of(
                        "@ TXT \"v=spf1 -all\"",
                        "_dmarc TXT \"v=DMARC1; p=reject\"")));
        String dnsTable = String.join("\n", "[dns]",
                "resolvers = [\"127.0.0.1:" + dns.resolverAddress().getPort() + "\"]",
                "trust-anchor = \"" + dns.trustAnchor() + "\"", "");
        server = TestServer.startWith(dir.resolve("server"), "", "", dnsTable, TestServer.listener("mx", "smtp", "none", false));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.server().close();
        if (dns != null) dns.close();
    }

    /** Makes OpenDKIM's key pair with its own tool; returns the TXT record's value it wrote for the zone. */
    private static String opendkimGenkey() throws Exception {
        requireSbin(OPENDKIM_GENKEY, "opendkim-tools");
        Path keys = Files.createDirectories(dir.resolve("opendkim"));
        ExternalClient.runOk(List.of(OPENDKIM_GENKEY.toString(), "-D", keys.toString(), "-d", "sender.test", "-s", "odk",
                "-b", "2048"), Map.of());
        opendkimKey = keys.resolve("odk.private");
        // odk.txt is a zone-file record: the value is its quoted strings, joined.
        Matcher quoted = Pattern.compile("\"([^\"]*)\"").matcher(Files.readString(keys.resolve("odk.txt")));
        StringBuilder value = new StringBuilder();
        while (quoted.find()) value.append(quoted.group(1));
        return value.toString();
    }

    private static void requireSbin(Path program, String debianPackage) {
        if (!Files.isExecutable(program)) {
            fail(program + " is not installed; install the Debian package '" + debianPackage + "' (apt-get install "
                    + debianPackage + "; ./test does this)");
        }
    }

    /** A zone-file TXT value of quoted strings, each within {@link #TXT_STRING} octets. */
    private static String txtStrings(String value) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < value.length(); i += TXT_STRING) {
            parts.add("\"" + value.substring(i, Math.min(value.length(), i + TXT_STRING)) + "\"");
        }
        return String.join(" ", parts);
    }

    private static String message(String from, String subject) {
        return "From: " + from + "\r\nTo: Bob <bob@example.org>\r\nSubject: " + subject + "\r\n"
                + "Date: Sun, 6 Dec 2026 18:00:00 +0000\r\nMessage-ID: <" + subject.replace(' ', '-') + "@sender.test>\r\n"
                + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Bob,\r\n\r\nthe plan stands.\r\n";
    }

    private static String dkimpySign(String message) throws Exception {
        Path file = Files.writeString(dir.resolve("unsigned.eml"), message);
        return ExternalClient.runOk(List.of(PYTHON, "-c", SIGN, file.toString(), key.toString()), Map.of()).output();
    }

    /** Sends {@code message} with swaks from 127.0.0.1 to the server's MX listener; returns its transcript. */
    private static String swaks(String sender, String message) throws Exception {
        return swaks(server.server().addresses().get("mx").getPort(), sender, message);
    }

    private static String swaks(int port, String sender, String message) throws Exception {
        Path file = Files.writeString(dir.resolve("send.eml"), message);
        return ExternalClient.run(List.of("swaks", "--server", "127.0.0.1:" + port, "--helo", "mail.sender.test",
                "--from", sender, "--to", TestServer.OTHER, "--data", file.toString()), Map.of()).output();
    }

    /** Bob's stored messages with {@code subject}, header fields unfolded (RFC 5322 §2.2.3). */
    private static List<String> stored(String subject) {
        return TestServer.messages(server.server().store(), server.otherInbox()).stream()
                .map(b -> new String(b, StandardCharsets.UTF_8).replace("\r\n\t", " ").replace("\r\n ", " "))
                .filter(m -> m.contains("Subject: " + subject + "\r\n")).toList();
    }

    /** The Authentication-Results field the server added, unfolded. */
    private static String results(String message) {
        return message.lines().filter(l -> l.startsWith("Authentication-Results: localhost;")).findFirst().orElseThrow();
    }

    @Test
    void aMessageDkimpySignedVerifiesAndPassesDmarc() throws Exception { // RFC 6376 §6, RFC 7208, RFC 7489 §3.1
        String signed = dkimpySign(message("Alice <alice@sender.test>", "signed intact"));
        assertThat(swaks("alice@sender.test", signed)).contains("<-  250 ");
        assertThat(stored("signed intact")).singleElement().satisfies(m -> assertThat(results(m))
                .contains("spf=pass smtp.mailfrom=alice@sender.test")
                .contains("dkim=pass header.d=sender.test header.s=sel")
                .contains("dmarc=pass (p=reject dis=none) header.from=sender.test"));
    }

    @Test
    void aBodyChangedAfterSigningFailsDkimWhileAlignedSpfPassesDmarc() throws Exception { // RFC 6376 §3.7, RFC 7489 §4.2
        String signed = dkimpySign(message("Alice <alice@sender.test>", "signed altered"));
        assertThat(swaks("alice@sender.test", signed.replace("the plan stands.", "the plan changed."))).contains("<-  250 ");
        assertThat(stored("signed altered")).singleElement().satisfies(m -> assertThat(results(m))
                .contains("spf=pass smtp.mailfrom=alice@sender.test")
                .contains("dkim=fail (body hash did not verify) header.d=sender.test header.s=sel")
                .contains("dmarc=pass (p=reject dis=none) header.from=sender.test"));
    }

    @Test
    void aSpoofedFromUnderPRejectIsRefusedAndNothingStored() throws Exception { // RFC 7489 §6.6.4
        String transcript = swaks("ceo@victim.test", message("CEO <ceo@victim.test>", "spoofed"));
        assertThat(transcript).contains("<** 550 5.7.1 Message rejected by the DMARC policy of victim.test");
        assertThat(stored("spoofed")).isEmpty();
    }

    @Test
    void mailPostfixSignedThroughOpendkimVerifiesAndPassesDmarc() throws Exception { // RFC 6376 §6, RFC 7489 §3.1
        requireSbin(OPENDKIM, "opendkim");
        int milter = freePort();
        Path conf = Files.writeString(dir.resolve("opendkim/opendkim.conf"), String.join("\n",
                "Mode s", "Domain sender.test", "Selector odk", "KeyFile " + opendkimKey,
                "Socket inet:" + milter + "@127.0.0.1", "Canonicalization relaxed/relaxed", "SignatureAlgorithm rsa-sha256",
                "InternalHosts 127.0.0.0/8", "Background no", "Syslog no", "RequireSafeKeys false",
                "PidFile " + dir.resolve("opendkim/opendkim.pid"), ""));
        Process opendkim = new ProcessBuilder(OPENDKIM.toString(), "-f", "-x", conf.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("opendkim/opendkim.log").toFile()).start();
        // Postfix takes the mail from 127.0.0.1 (its mynetworks), has OpenDKIM sign it, and relays it to the MX listener.
        try (PostfixReceiver postfix = new PostfixReceiver(Files.createDirectories(dir.resolve("postfix")), null,
                "relayhost = [127.0.0.1]:" + server.server().addresses().get("mx").getPort(),
                "smtpd_milters = inet:127.0.0.1:" + milter, "milter_default_action = tempfail")) {
            await().until(() -> listening(milter));
            assertThat(swaks(postfix.port, "alice@sender.test", message("Alice <alice@sender.test>", "postfix signed")))
                    .contains("<-  250 ");
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> !stored("postfix signed").isEmpty());
            } catch (ConditionTimeoutException e) {
                throw new AssertionError("not relayed; Postfix's log:\n" + postfix.maillog() + "\nOpenDKIM's log:\n"
                        + Files.readString(dir.resolve("opendkim/opendkim.log")), e);
            }
            assertThat(stored("postfix signed")).singleElement().satisfies(m -> assertThat(results(m))
                    .contains("spf=pass smtp.mailfrom=alice@sender.test")
                    .contains("dkim=pass header.d=sender.test header.s=odk")
                    .contains("dmarc=pass (p=reject dis=none) header.from=sender.test"));
        } finally {
            opendkim.destroy();
            opendkim.waitFor();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
