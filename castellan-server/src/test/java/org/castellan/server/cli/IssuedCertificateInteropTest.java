package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.CertificateFingerprint;
import org.castellan.security.pki.Pem;
import org.castellan.server.testing.ExternalClient;
import org.castellan.store.MailStore;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The files {@code castellan cert issue device NAME --owner ACCOUNT --out DIR} writes, used exactly as
 * written by the TLS stacks mail clients are built on: the key loads in OpenSSL, GnuTLS
 * ({@code certtool}), NSS ({@code pk12util} importing the PKCS#12 with the passphrase line the
 * command printed) and Java; and, since {@code --owner} binds the certificate to the account, the
 * device logs in with SASL EXTERNAL at once through curl (OpenSSL), msmtp and mutt (both GnuTLS).
 */
class IssuedCertificateInteropTest {

    private static final String ACCOUNT = LiveServer.ACCOUNT;

    @TempDir static Path dir;
    static LiveServer live;
    static Path issued;
    static String passphrase;
    static String fingerprint;

    @BeforeAll
    static void issue() throws Exception {
        live = LiveServer.start(dir.resolve("data"));
        // The passphrase generated and printed, as a newcomer gets it; the files go where --out says.
        issued = dir.resolve("for-the-laptop");
        Cli.Run r = live.cli.admin("cert", "issue", "device", "laptop", "--owner", ACCOUNT, "--out", issued.toString());
        assertThat(r.code()).as(r.err()).isZero();
        passphrase = CertCommandTest.find(CertCommandTest.PASSPHRASE, r.out());
        fingerprint = CertificateFingerprint.sha256(UserCertCommand.read(issued.resolve("chain.pem")));
        assertThat(r.out()).contains("bound:    sha256:" + fingerprint + " to " + ACCOUNT);
    }

    @AfterAll
    static void stop() {
        if (live != null) live.close();
    }

    private static String file(String name) {
        return issued.resolve(name).toString();
    }

    // --- the key in each TLS library -----------------------------------------------------------

    @Test
    void theKeyIsPkcs8ThatOpenSslReadsAndItMatchesTheCertificate() throws Exception {
        ExternalClient.require("openssl", "openssl");
        assertThat(Files.readString(issued.resolve("key.pem"))).startsWith("-----BEGIN PRIVATE KEY-----\n");
        String fromKey = ExternalClient.runOk(List.of("openssl", "pkey", "-in", file("key.pem"), "-pubout"), Map.of()).output();
        String fromCertificate = ExternalClient.runOk(List.of("openssl", "x509", "-in", file("chain.pem"), "-noout", "-pubkey"),
                Map.of()).output();
        assertThat(fromKey).contains("BEGIN PUBLIC KEY").isEqualTo(fromCertificate);
        Path pass = Files.writeString(dir.resolve("openssl-pass"), passphrase + "\n");
        ExternalClient.runOk(List.of("openssl", "pkcs12", "-in", file("laptop.p12"), "-passin", "file:" + pass, "-noout"), Map.of());
    }

    @Test
    void gnuTlsCerttoolLoadsTheKeyAndTheChainAndKeyFile() throws Exception {
        ExternalClient.require("certtool", "gnutls-bin");
        for (String name : List.of("key.pem", "chain-and-key.pem")) {
            var key = ExternalClient.run(List.of("certtool", "--key-info", "--infile", file(name)), Map.of());
            assertThat(key.exitCode()).as(name + ": " + key.output()).isZero();
            assertThat(key.output()).contains("EC/ECDSA").doesNotContain("ASN1 parser");
        }
        // GnuTLS pairs the key with its certificate, as a TLS client does before a handshake.
        Path out = dir.resolve("gnutls.p12");
        ExternalClient.runOk(List.of("certtool", "--load-privkey", file("key.pem"), "--load-certificate", file("chain.pem"),
                "--to-p12", "--outder", "--outfile", out.toString(), "--password", "x", "--p12-name", "laptop"), Map.of());
    }

    @Test
    void nssImportsThePkcs12WithThePassphraseLine() throws Exception {
        ExternalClient.require("pk12util", "libnss3-tools");
        Path db = Files.createDirectories(dir.resolve("nssdb"));
        ExternalClient.runOk(List.of("certutil", "-N", "-d", "sql:" + db, "--empty-password"), Map.of());
        // pk12util reads the passphrase from a file: the printed line, cut at the label, goes in as it is.
        Path pass = Files.writeString(dir.resolve("pk12-pass"), passphrase + "\n");
        var imported = ExternalClient.run(List.of("pk12util", "-i", file("laptop.p12"), "-d", "sql:" + db, "-w", pass.toString()),
                Map.of());
        assertThat(imported.exitCode()).as(imported.output()).isZero();
        assertThat(imported.output()).contains("PKCS12 IMPORT SUCCESSFUL");
        var keys = ExternalClient.runOk(List.of("certutil", "-K", "-d", "sql:" + db), Map.of());
        assertThat(keys.output()).contains("ec", "cn=laptop");
    }

    @Test
    void javaLoadsThePemKeyAndThePkcs12() throws Exception {
        PrivateKey key = Pem.readPrivateKey(issued.resolve("key.pem"));
        KeyStore p12 = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(issued.resolve("laptop.p12"))) {
            p12.load(in, passphrase.toCharArray());
        }
        String alias = p12.aliases().nextElement();
        assertThat(p12.getKey(alias, passphrase.toCharArray()).getEncoded()).isEqualTo(key.getEncoded());
        assertThat(((X509Certificate) p12.getCertificate(alias)).getPublicKey())
                .isEqualTo(Pem.readCertificate(issued.resolve("chain.pem")).getPublicKey());
    }

    // --- EXTERNAL with the bound device certificate ---------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"imaps", "pop3s", "submissions"})
    void curlLogsInWithExternalUsingThePemFiles(String listener) throws Exception {
        ExternalClient.require("curl", "curl");
        String scheme = listener.equals("submissions") ? "smtps" : listener;
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "-v", "--max-time", "60",
                "--cacert", live.rootCertificate().toString(), "--cert", file("chain.pem"), "--key", file("key.pem"),
                "--login-options", "AUTH=EXTERNAL", "-u", ACCOUNT + ":",
                scheme + "://localhost:" + live.address(listener).getPort() + "/"));
        if (scheme.equals("smtps")) command.addAll(List.of("-X", "VRFY " + ACCOUNT)); // RFC 5321 §3.5.1: a command after the login
        var r = ExternalClient.run(command, Map.of());
        assertThat(r.output()).containsPattern(switch (scheme) {
            case "imaps" -> "< A\\d+ OK .*Logged in";
            case "pop3s" -> "< \\+OK.*\\R(.*\\R)*> (LIST|STAT|QUIT)";
            default -> "< 235 ";
        });
        awaitExternal(listener);
    }

    @Test
    void curlLogsInWithExternalUsingThePkcs12() throws Exception {
        ExternalClient.require("curl", "curl");
        var r = ExternalClient.run(List.of("curl", "-sS", "-v", "--max-time", "60", "--cacert", live.rootCertificate().toString(),
                "--cert", file("laptop.p12") + ":" + passphrase, "--cert-type", "P12",
                "--login-options", "AUTH=EXTERNAL", "-u", ACCOUNT + ":",
                "imaps://localhost:" + live.address("imaps").getPort() + "/"), Map.of());
        assertThat(r.output()).containsPattern("< A\\d+ OK .*Logged in");
    }

    @Test
    void msmtpSubmitsWithExternalUsingTheCertificateAndKeyFiles() throws Exception {
        ExternalClient.require("msmtp", "msmtp");
        Path home = Files.createDirectories(dir.resolve("msmtp"));
        Path rc = home.resolve("msmtprc");
        Files.writeString(rc, String.join("\n",
                "account castellan",
                "host 127.0.0.1",
                "port " + live.address("submissions").getPort(),
                "tls on",
                "tls_starttls off",
                "tls_trust_file " + live.rootCertificate(),
                "tls_cert_file " + file("chain.pem"),
                "tls_key_file " + file("key.pem"),
                "auth external",
                "user " + ACCOUNT,
                "from " + ACCOUNT,
                ""));
        Files.setPosixFilePermissions(rc, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        var sent = ExternalClient.run(List.of("sh", "-c", "printf 'Subject: from msmtp\\n\\nsent with a device certificate\\n' | msmtp -C '"
                + rc + "' -a castellan " + ACCOUNT), Map.of("HOME", home.toString()));
        assertThat(sent.exitCode()).as(sent.output()).isZero();
        awaitDelivered("from msmtp");
        awaitExternal("submissions");
    }

    @Test
    void muttSubmitsWithExternalUsingTheChainAndKeyFile() throws Exception {
        ExternalClient.require("mutt", "mutt");
        Path home = Files.createDirectories(dir.resolve("mutt"));
        Path rc = home.resolve("muttrc");
        Files.writeString(rc, String.join("\n",
                "set smtp_url = \"smtps://" + ACCOUNT.replace("@", "%40") + "@127.0.0.1:" + live.address("submissions").getPort() + "/\"",
                "set smtp_authenticators = \"external\"",
                "set ssl_ca_certificates_file = \"" + live.rootCertificate() + "\"",
                // mutt's ssl_client_cert is one file holding the certificate and its key.
                "set ssl_client_cert = \"" + file("chain-and-key.pem") + "\"",
                "set from = \"" + ACCOUNT + "\"",
                "set use_from = yes",
                "set copy = no",
                "set record = \"\"",
                ""));
        Path body = Files.writeString(home.resolve("body.txt"), "Sent by mutt with a device certificate.\n");
        var sent = ExternalClient.run(List.of("sh", "-c", "mutt -n -F '" + rc + "' -s 'from mutt' " + ACCOUNT + " < '" + body + "'"),
                Map.of("HOME", home.toString(), "TERM", "dumb"));
        assertThat(sent.exitCode()).as(sent.output()).isZero();
        awaitDelivered("from mutt");
    }

    // --- helpers --------------------------------------------------------------------------------

    /** Waits for the auth log (written in the background) to show an EXTERNAL login with this certificate. */
    private static void awaitExternal(String listener) {
        await().atMost(Duration.ofSeconds(20)).until(() -> live.server.store().listAuthAttempts(Optional.of(ACCOUNT), 200)
                .stream().anyMatch(a -> a.listener().equals(listener) && a.mechanism().equals("EXTERNAL")
                        && a.result().equals("OK") && a.certificate().equals(Optional.of("sha256:" + fingerprint))));
    }

    /** Waits for a message with this subject in the account's INBOX: the client's 250 came before its exit. */
    private static void awaitDelivered(String subject) {
        MailStore store = live.server.store();
        long inbox = store.getMailbox(store.getAccount(EmailAddress.of(ACCOUNT)).orElseThrow().id(), "INBOX").orElseThrow().id();
        await().atMost(Duration.ofSeconds(20)).until(() -> store.listMessages(inbox, UidRange.all()).stream()
                .anyMatch(m -> text(store, inbox, m.uid()).contains("Subject: " + subject)));
    }

    private static String text(MailStore store, long mailbox, long uid) {
        try (InputStream in = store.openMessage(mailbox, uid)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
