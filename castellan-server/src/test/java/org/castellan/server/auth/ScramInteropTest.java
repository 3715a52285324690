package org.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.castellan.server.auth.AuthServer.ALICE;
import static org.castellan.server.auth.AuthServer.BOB;
import static org.castellan.server.auth.AuthServer.PASSWORD;
import static org.castellan.server.auth.AuthServer.listener;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.castellan.server.testing.ExternalClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SCRAM-SHA-256 and -PLUS against SASL libraries Castellan shares no code with: Cyrus SASL
 * (libsasl2, through mbsync and through a small C client that hands Cyrus the channel binding)
 * and GNU SASL (through mutt, which Debian builds with libgsasl, and through the {@code gsasl}
 * command), over IMAP and SMTP submission.
 *
 * <p>Castellan binds TLS 1.2 with tls-server-end-point and TLS 1.3 with tls-exporter. mbsync 1.4.4
 * sets no channel binding, so Cyrus does not even list the -PLUS mechanisms; mutt 2.2.12 with GNU
 * SASL 2.2 tries -PLUS but has no tls-server-end-point to give on TLS 1.2 and cancels. Both
 * therefore use plain SCRAM-SHA-256. {@code cyrus-scram.c} (compiled here with gcc against
 * libsasl2 and OpenSSL) does the TLS handshake itself, computes tls-server-end-point (RFC 5929 §4)
 * on TLS 1.2 or OpenSSL's tls-exporter (RFC 9266) on TLS 1.3 and passes it to Cyrus with
 * {@code sasl_setprop(SASL_CHANNEL_BINDING)}; {@code gsasl} does STARTTLS with GnuTLS and binds
 * with GnuTLS's tls-exporter. Through a relay that terminates TLS ({@link TlsRelay}) the bound login
 * fails and the unbound one passes. Cyrus 2.1.28 never sends the "y" flag, so the refusal of a
 * downgrade is shown with the testkit's client in {@link SameOutcomeOnEveryProtocolTest}.
 */
class ScramInteropTest {

    @TempDir static Path dir;
    static AuthServer auth;
    static Path cyrusScram;

    @BeforeAll
    static void start() throws Exception {
        auth = AuthServer.start(dir.resolve("server"), AuthServer.NO_DELAYS,
                listener("imaps", "imap", "implicit"), listener("submissions", "submission", "implicit"),
                listener("imap", "imap", "starttls"), listener("submission", "submission", "starttls"));
        cyrusScram = compileCyrusClient(dir);
    }

    @AfterAll
    static void stop() {
        if (auth != null) auth.close();
    }

    // --- Cyrus SASL through mbsync ---------------------------------------------------------------

    @Test
    void mbsyncLogsInWithCyrusScramSha256AndAWrongPasswordFails() throws Exception {
        ExternalClient.require("mbsync", "isync");
        var ok = ExternalClient.run(List.of("mbsync", "-c", mbsyncrc("right", PASSWORD, "SCRAM-SHA-256").toString(), "-l", "inbox"), Map.of());
        assertThat(ok.exitCode()).as(ok.output()).isZero();
        assertThat(ok.output()).contains("INBOX");
        awaitAttempt(ALICE, "SCRAM-SHA-256", "OK");

        var wrong = ExternalClient.run(List.of("mbsync", "-c", mbsyncrc("wrong", "not the password", "SCRAM-SHA-256").toString(),
                "-l", "inbox"), Map.of());
        assertThat(wrong.exitCode()).as(wrong.output()).isNotZero();
        awaitAttempt(ALICE, "SCRAM-SHA-256", "INVALID_CREDENTIALS");
    }

    @Test
    void mbsyncCannotUseScramPlusBecauseItPassesNoChannelBinding() throws Exception {
        ExternalClient.require("mbsync", "isync");
        var plus = ExternalClient.run(List.of("mbsync", "-c", mbsyncrc("plus", PASSWORD, "SCRAM-SHA-256-PLUS").toString(),
                "-l", "inbox"), Map.of());
        assertThat(plus.exitCode()).as(plus.output()).isNotZero();
        // Cyrus lists the -PLUS variants only once the application has set a channel binding.
        assertThat(plus.output()).contains("selected: SCRAM-SHA-256-PLUS", "not available").doesNotContain("available: SCRAM-SHA-256-PLUS");
    }

    // --- Cyrus SASL with a channel binding ----------------------------------------------------

    @Test
    void cyrusScramPlusBindsToTheTls12Connection() throws Exception {
        var ok = cyrus("SCRAM-SHA-256-PLUS SCRAM-SHA-256", ALICE, PASSWORD, "critical");
        assertThat(ok.exitCode()).as(ok.output()).isZero();
        assertThat(ok.output()).contains("gs2 header p=tls-server-end-point,,", "mechanism SCRAM-SHA-256-PLUS", "a1 OK");
        awaitAttempt(ALICE, "SCRAM-SHA-256-PLUS", "OK");

        var wrong = cyrus("SCRAM-SHA-256-PLUS SCRAM-SHA-256", ALICE, "not the password", "critical");
        assertThat(wrong.exitCode()).as(wrong.output()).isEqualTo(1);
        assertThat(wrong.output()).contains("a1 NO");
    }

    @Test
    void aTamperedChannelBindingFails() throws Exception {
        var tampered = cyrus("SCRAM-SHA-256-PLUS SCRAM-SHA-256", BOB, PASSWORD, "tampered");
        assertThat(tampered.exitCode()).as(tampered.output()).isEqualTo(1);
        assertThat(tampered.output()).contains("mechanism SCRAM-SHA-256-PLUS", "a1 NO [AUTHENTICATIONFAILED]");
        awaitAttempt(BOB, "SCRAM-SHA-256-PLUS", "INVALID_CREDENTIALS");
    }

    @Test
    void withoutABindingCyrusSaysSoAndLogsInWithScramSha256() throws Exception {
        // "n": the client cannot bind. (Cyrus 2.1.28 never sends "y", so the refusal of "y" where
        // -PLUS was offered is shown by SameOutcomeOnEveryProtocolTest with the testkit's client.)
        var unbound = cyrus("SCRAM-SHA-256-PLUS SCRAM-SHA-256", BOB, PASSWORD, "none");
        assertThat(unbound.exitCode()).as(unbound.output()).isZero();
        assertThat(unbound.output()).contains("gs2 header n,,", "mechanism SCRAM-SHA-256\n");
        awaitAttempt(BOB, "SCRAM-SHA-256", "OK");
    }

    @Test
    void cyrusScramPlusBindsTls13ByOpenSslsExporter() throws Exception {
        // OpenSSL computes the connection's tls-exporter, Cyrus the SCRAM exchange: neither shares code with the server.
        var ok = cyrus("SCRAM-SHA-256-PLUS SCRAM-SHA-256", ALICE, PASSWORD, "exporter");
        assertThat(ok.exitCode()).as(ok.output()).isZero();
        assertThat(ok.output()).contains("gs2 header p=tls-exporter,,", "mechanism SCRAM-SHA-256-PLUS", "a1 OK");
        awaitAttempt(ALICE, "SCRAM-SHA-256-PLUS", "OK");

        var tampered = cyrus("SCRAM-SHA-256-PLUS SCRAM-SHA-256", BOB, PASSWORD, "exporter-tampered");
        assertThat(tampered.exitCode()).as(tampered.output()).isEqualTo(1);
        assertThat(tampered.output()).contains("a1 NO [AUTHENTICATIONFAILED]");
    }

    @Test
    void throughARelayThatTerminatesTlsCyrusLogsInUnboundButNotBound() throws Exception {
        try (TlsRelay relay = new TlsRelay(auth.pki(), auth.address("imaps"))) {
            int port = relay.address().getPort();
            var unbound = cyrus(port, "SCRAM-SHA-256", ALICE, PASSWORD, "none");
            assertThat(unbound.exitCode()).as(unbound.output()).isZero();
            assertThat(unbound.output()).contains("a1 OK");

            var bound = cyrus(port, "SCRAM-SHA-256-PLUS SCRAM-SHA-256", ALICE, PASSWORD, "exporter");
            assertThat(bound.exitCode()).as(bound.output()).isEqualTo(1);
            assertThat(bound.output()).contains("gs2 header p=tls-exporter,,", "a1 NO [AUTHENTICATIONFAILED]");
        }
    }

    // --- GNU SASL through mutt ------------------------------------------------------------------

    @Test
    void muttSubmitsWithGnuSaslScramSha256AndAWrongPasswordFails() throws Exception {
        ExternalClient.require("mutt", "mutt");
        var sent = mutt("right", PASSWORD, "scram-sha-256");
        assertThat(sent.exitCode()).as(sent.output()).isZero();
        awaitAttempt(ALICE, "SCRAM-SHA-256", "OK");

        var refused = mutt("wrong", "not the password", "scram-sha-256");
        assertThat(refused.exitCode()).as(refused.output()).isNotZero();
        awaitAttempt(ALICE, "SCRAM-SHA-256", "INVALID_CREDENTIALS");
    }

    @Test
    void muttGivesUpOnScramPlusBecauseGnuSaslHasNoTlsServerEndPoint() throws Exception {
        // mutt 2.2 hands GNU SASL no tls-server-end-point (the only binding Castellan exports, on
        // TLS 1.2), so GNU SASL cancels the exchange before naming anyone: nothing is checked or counted.
        ExternalClient.require("mutt", "mutt");
        long failures = auth.server().auth().stats().failures();
        var plus = mutt("plus", PASSWORD, "scram-sha-256-plus");
        assertThat(plus.exitCode()).as(plus.output()).isNotZero();
        assertThat(plus.output()).contains("SASL authentication failed");
        await().atMost(Duration.ofSeconds(20)).until(() -> auth.server().store().listAuthAttempts(Optional.empty(), 200)
                .stream().anyMatch(a -> a.mechanism().equals("SCRAM-SHA-256-PLUS") && a.result().equals("ABORTED")));
        assertThat(auth.server().auth().stats().failures()).isEqualTo(failures);
    }

    // --- GNU SASL with GnuTLS's tls-exporter (the gsasl command) ------------------------------------

    @Test
    void gnuSaslBindsTls13ByTheExporterOverImapAndSmtpStartTls() throws Exception {
        // gsasl 2.2 does STARTTLS with GnuTLS and hands GNU SASL the connection's tls-exporter
        // (gnutls_session_channel_binding): TLS, exporter and SCRAM all computed outside Castellan.
        ExternalClient.require("gsasl", "gsasl");
        for (String[] protocol : new String[][] {{"--imap", "imap"}, {"--smtp", "submission"}}) {
            var ok = gsasl(protocol[0], protocol[1], ALICE, PASSWORD);
            assertThat(ok.exitCode()).as(ok.output()).isZero();
            awaitAttempt(ALICE, "SCRAM-SHA-256-PLUS", "OK");
            var wrong = gsasl(protocol[0], protocol[1], BOB, "not the password");
            assertThat(wrong.exitCode()).as(wrong.output()).isNotZero();
            awaitAttempt(BOB, "SCRAM-SHA-256-PLUS", "INVALID_CREDENTIALS");
        }
    }

    @Test
    void muttWithItsDefaultsTakesScramPlusOnTls13WithoutABindingAndFails() throws Exception {
        // mutt 2.2.12 leaves the choice to GNU SASL, which suggests SCRAM-SHA-256-PLUS whenever it is
        // offered, though mutt gives it no binding: the exchange is cancelled before naming anyone and
        // mutt tries nothing else. Naming the mechanisms (here SCRAM-SHA-256) is the way round.
        ExternalClient.require("mutt", "mutt");
        long failures = auth.server().auth().stats().failures();
        var defaults = mutt("defaults-tls13", PASSWORD, null, true);
        assertThat(defaults.exitCode()).as(defaults.output()).isNotZero();
        assertThat(defaults.output()).contains("SASL authentication failed");
        assertThat(auth.server().auth().stats().failures()).isEqualTo(failures);

        var named = mutt("named-tls13", PASSWORD, "scram-sha-256", true);
        assertThat(named.exitCode()).as(named.output()).isZero();
        awaitAttempt(ALICE, "SCRAM-SHA-256", "OK");
    }

    // --- helpers --------------------------------------------------------------------------------

    private static ExternalClient.Result cyrus(String mechlist, String user, String password, String binding) throws Exception {
        return cyrus(auth.address("imaps").getPort(), mechlist, user, password, binding);
    }

    private static ExternalClient.Result cyrus(int port, String mechlist, String user, String password, String binding)
            throws Exception {
        return ExternalClient.run(List.of(cyrusScram.toString(), "127.0.0.1", Integer.toString(port),
                auth.pki().trustFile().toString(), mechlist, user, password, binding), Map.of());
    }

    private static ExternalClient.Result gsasl(String logon, String listener, String user, String password) throws Exception {
        return ExternalClient.run(List.of("gsasl", logon, "--connect=localhost:" + auth.address(listener).getPort(),
                "--starttls", "--x509-ca-file=" + auth.pki().trustFile(), "--mechanism=SCRAM-SHA-256-PLUS",
                "--authentication-id=" + user, "--password=" + password, "--no-client-first",
                "--verbose"), Map.of());
    }

    private static Path mbsyncrc(String name, String password, String mechanism) throws IOException {
        Path home = Files.createDirectories(dir.resolve("mbsync-" + name));
        Files.createDirectories(home.resolve("mail"));
        Path rc = home.resolve("mbsyncrc");
        Files.writeString(rc, String.join("\n",
                "IMAPAccount castellan",
                "Host localhost",
                "Port " + auth.address("imaps").getPort(),
                "User " + ALICE,
                "Pass \"" + password + "\"",
                "SSLType IMAPS",
                // TLS 1.2, where the server offers SCRAM-SHA-256-PLUS (it has no tls-exporter for 1.3).
                "SSLVersions TLSv1.2",
                "CertificateFile " + auth.pki().trustFile(),
                "AuthMechs " + mechanism,
                "",
                "IMAPStore remote",
                "Account castellan",
                "",
                "MaildirStore local",
                "Path " + home.resolve("mail") + "/",
                "Inbox " + home.resolve("mail/INBOX"),
                "",
                "Channel inbox",
                "Far :remote:",
                "Near :local:",
                "Patterns INBOX",
                "Create Near",
                ""));
        return rc;
    }

    private static ExternalClient.Result mutt(String name, String password, String authenticators) throws Exception {
        return mutt(name, password, authenticators, false);
    }

    /** mutt over SMTPS; {@code authenticators} null leaves the choice to mutt and GNU SASL, {@code tls13} allows TLS 1.3. */
    private static ExternalClient.Result mutt(String name, String password, String authenticators, boolean tls13)
            throws Exception {
        Path home = Files.createDirectories(dir.resolve("mutt-" + name));
        Path rc = home.resolve("muttrc");
        Files.writeString(rc, String.join("\n",
                "set smtp_url = \"smtps://" + ALICE.replace("@", "%40") + "@localhost:" + auth.address("submissions").getPort() + "/\"",
                "set smtp_pass = \"" + password + "\"",
                authenticators == null ? "" : "set smtp_authenticators = \"" + authenticators + "\"",
                "set ssl_ca_certificates_file = \"" + auth.pki().trustFile() + "\"",
                "set from = \"" + ALICE + "\"",
                "set use_from = yes",
                // TLS 1.2 unless asked: the tests of its -PLUS attempt were written for tls-server-end-point.
                tls13 ? "" : "set ssl_use_tlsv1_3 = no",
                "set copy = no",
                "set record = \"\"",
                ""));
        Path body = home.resolve("body.txt");
        Files.writeString(body, "Sent by mutt through GNU SASL SCRAM-SHA-256.\n");
        return ExternalClient.run(List.of("sh", "-c", "mutt -n -F '" + rc + "' -s 'interop " + name + "' " + BOB + " < '" + body + "'"),
                Map.of("HOME", home.toString(), "TERM", "dumb"));
    }

    /** Waits for the auth log (written in the background) to hold such an attempt. */
    private static void awaitAttempt(String account, String mechanism, String result) {
        await().atMost(Duration.ofSeconds(20)).until(() -> auth.server().store().listAuthAttempts(Optional.of(account), 200)
                .stream().anyMatch(a -> a.mechanism().equals(mechanism) && a.result().equals(result)));
    }

    /** Builds cyrus-scram.c with gcc; a missing compiler or header fails with the Debian package to install. */
    private static Path compileCyrusClient(Path into) throws Exception {
        ExternalClient.require("gcc", "gcc");
        for (String[] header : new String[][] {{"/usr/include/sasl/sasl.h", "libsasl2-dev"}, {"/usr/include/openssl/ssl.h", "libssl-dev"}}) {
            assertThat(Path.of(header[0])).as("install the Debian package " + header[1] + " (./test does this)").exists();
        }
        assertThat(Path.of("/usr/lib/x86_64-linux-gnu/sasl2/libscram.so"))
                .as("install the Debian package libsasl2-modules (./test does this)").exists();
        Path source = into.resolve("cyrus-scram.c");
        try (InputStream in = ScramInteropTest.class.getResourceAsStream("cyrus-scram.c")) {
            Files.write(source, in.readAllBytes());
        }
        Path binary = into.resolve("cyrus-scram");
        ExternalClient.runOk(List.of("gcc", "-Wall", "-o", binary.toString(), source.toString(), "-lsasl2", "-lssl", "-lcrypto"), Map.of());
        return binary;
    }
}
