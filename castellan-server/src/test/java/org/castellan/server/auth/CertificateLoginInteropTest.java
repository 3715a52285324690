package org.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.auth.AuthServer.ALICE;
import static org.castellan.server.auth.AuthServer.BOB;
import static org.castellan.server.auth.AuthServer.listener;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.castellan.security.auth.CertificateFingerprint;
import org.castellan.server.testing.ExternalClient;
import org.castellan.testkit.TestCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SASL EXTERNAL with client certificates from third-party TLS stacks: curl (OpenSSL) over imaps,
 * pop3s and smtps, and Python's ssl module with imaplib, poplib and smtplib. A certificate that
 * names the account logs in; one bound to an account by fingerprint logs in to that account; a
 * valid one of the trusted CA naming no account, an expired one and one from an untrusted CA
 * log nobody in.
 *
 * <p>curl 7.88 picks the mechanism with {@code --login-options AUTH=EXTERNAL} on all three
 * protocols and sends its user name ({@code -u NAME:}) as EXTERNAL's authorization identity, which
 * Castellan accepts only when it is the certificate's own account ({@code --sasl-authzid} is for
 * PLAIN only). With {@code client-cert = "request"}, an expired or untrusted certificate either
 * fails the handshake or leaves the connection without a verified certificate, where EXTERNAL is
 * not offered: either way nobody logs in.
 */
class CertificateLoginInteropTest {

    @TempDir static Path dir;
    static AuthServer auth;

    @BeforeAll
    static void start() {
        auth = AuthServer.start(dir.resolve("server"), "",
                listener("imaps", "imap", "implicit", "client-cert = \"request\""),
                listener("pop3s", "pop3", "implicit", "client-cert = \"request\""),
                listener("smtps", "submission", "implicit", "client-cert = \"request\""));
    }

    @AfterAll
    static void stop() {
        if (auth != null) auth.close();
    }

    // --- curl -----------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"imaps", "pop3s", "smtps"})
    void curlLogsInWithTheCertificateThatNamesTheAccount(String listener) throws Exception {
        var r = curl(listener, auth.pki().client(), ALICE);
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).containsPattern(success(listener));
    }

    @ParameterizedTest
    @ValueSource(strings = {"imaps", "pop3s", "smtps"})
    void curlCannotClaimAnotherAccountWithItsCertificate(String listener) throws Exception {
        var r = curl(listener, auth.pki().client(), BOB);
        assertThat(r.exitCode()).as(r.output()).isNotZero();
        assertThat(r.output()).doesNotContainPattern(success(listener));
    }

    @ParameterizedTest
    @ValueSource(strings = {"imaps", "pop3s", "smtps"})
    void curlWithAnUnmappedCertificateLogsInOnlyOnceItIsBound(String listener) throws Exception {
        var unmapped = curl(listener, auth.unmapped(), BOB);
        assertThat(unmapped.exitCode()).as(unmapped.output()).isNotZero();
        String fingerprint = CertificateFingerprint.sha256(auth.unmapped().certificate());
        auth.server().store().bindCertificate(auth.account(BOB).id(), fingerprint, "kiosk");
        try {
            var bound = curl(listener, auth.unmapped(), BOB);
            assertThat(bound.exitCode()).as(bound.output()).isZero();
            assertThat(bound.output()).containsPattern(success(listener));
        } finally {
            auth.server().store().unbindCertificate(fingerprint);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"imaps", "pop3s", "smtps"})
    void curlWithAnExpiredOrUntrustedCertificateGetsNoLogin(String listener) throws Exception {
        for (TestCertificate bad : List.of(auth.pki().expiredClient(), auth.pki().untrustedClient())) {
            var r = curl(listener, bad, ALICE);
            assertThat(r.exitCode()).as(bad.name() + ": " + r.output()).isNotZero();
            assertThat(r.output()).as(bad.name()).doesNotContainPattern(success(listener));
        }
    }

    // --- Python ssl -----------------------------------------------------------------------------

    @Test
    void pythonSslClientsLogInWithExternalOnEveryProtocol() throws Exception {
        ExternalClient.require("python3", "python3");
        assertThat(python(auth.pki().client())).contains("imap OK", "pop3 OK", "smtp OK");
        assertThat(python(auth.unmapped())).contains("imap NO", "pop3 NO", "smtp NO");
        assertThat(python(auth.pki().expiredClient())).contains("imap NO", "pop3 NO", "smtp NO");
        assertThat(python(auth.pki().untrustedClient())).contains("imap NO", "pop3 NO", "smtp NO");
    }

    // --- helpers --------------------------------------------------------------------------------

    /** What the client prints after a successful EXTERNAL login, per protocol. */
    private static String success(String listener) {
        return switch (listener) {
            case "imaps" -> "< A\\d+ OK .*Logged in";
            case "pop3s" -> "< \\+OK.*\\R(.*\\R)*> (LIST|STAT|QUIT)";
            default -> "< 235 ";
        };
    }

    private static ExternalClient.Result curl(String listener, TestCertificate certificate, String user) throws Exception {
        ExternalClient.require("curl", "curl");
        String scheme = listener.equals("smtps") ? "smtps" : listener;
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "-v", "--max-time", "60",
                "--cacert", auth.pki().trustFile().toString(),
                "--cert", certificate.chainFile().toString(), "--key", certificate.keyFile().toString(),
                "--login-options", "AUTH=EXTERNAL", "-u", user + ":",
                scheme + "://localhost:" + auth.address(listener).getPort() + "/"));
        if (listener.equals("smtps")) {
            // Without a message to send, curl's SMTP still logs in and then sends this command (RFC 5321 §3.5.1).
            command.addAll(List.of("-X", "VRFY " + user));
        }
        return ExternalClient.run(command, Map.of());
    }

    private static String python(TestCertificate certificate) throws Exception {
        Path script = dir.resolve("external.py");
        Files.writeString(script, String.join("\n",
                "import imaplib, poplib, smtplib, ssl, sys",
                "cafile, cert, key, imap_port, pop3_port, smtp_port = sys.argv[1:]",
                "def context():",
                "    c = ssl.create_default_context(cafile=cafile)",
                "    c.load_cert_chain(cert, key)",
                "    return c",
                "def attempt(name, login):",
                "    try:",
                "        print(name, 'OK' if login() else 'NO', flush=True)",
                "    except (imaplib.IMAP4.error, poplib.error_proto, smtplib.SMTPException, ssl.SSLError, OSError) as e:",
                "        print(name, 'NO', type(e).__name__, str(e)[:200], flush=True)",
                "def imap():",
                "    with imaplib.IMAP4_SSL('localhost', int(imap_port), ssl_context=context()) as m:",
                "        return m.authenticate('EXTERNAL', lambda challenge: b'')[0] == 'OK'",
                "def pop3():",
                "    p = poplib.POP3_SSL('localhost', int(pop3_port), context=context())",
                "    ok = p._shortcmd('AUTH EXTERNAL =').startswith(b'+OK')",
                "    p.quit()",
                "    return ok",
                "def smtp():",
                "    with smtplib.SMTP_SSL('localhost', int(smtp_port), context=context()) as s:",
                "        s.ehlo()",
                "        return s.docmd('AUTH', 'EXTERNAL =')[0] == 235",
                "attempt('imap', imap)",
                "attempt('pop3', pop3)",
                "attempt('smtp', smtp)",
                ""));
        var r = ExternalClient.runOk(List.of("python3", script.toString(), auth.pki().trustFile().toString(),
                certificate.chainFile().toString(), certificate.keyFile().toString(),
                Integer.toString(auth.address("imaps").getPort()), Integer.toString(auth.address("pop3s").getPort()),
                Integer.toString(auth.address("smtps").getPort())), Map.of());
        return r.output();
    }
}
