package org.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.auth.AuthServer.ALICE;
import static org.castellan.server.auth.AuthServer.BOB;
import static org.castellan.server.auth.AuthServer.PASSWORD;
import static org.castellan.server.auth.AuthServer.listener;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLContext;
import org.castellan.security.auth.CertificateFingerprint;
import org.castellan.server.auth.MailClient.Outcome;
import org.castellan.server.auth.MailClient.Proto;
import org.castellan.server.auth.MailClient.Reply;
import org.castellan.testkit.ScramClient;
import org.castellan.testkit.TestCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * One AuthService behind every protocol: the same account, mechanism and listener policy give the
 * same outcome over SMTP submission, IMAP and POP3, each run against a real server over real TLS.
 *
 * <p>Per protocol there are three listeners: {@code P-tls} (implicit TLS, client certificate
 * requested), {@code P-starttls} (no cleartext credentials) and {@code P-two}
 * (require-certificate-for-password = "same-account").
 */
class SameOutcomeOnEveryProtocolTest {

    /** Small enough to reach in a test; no delays, so that nothing waits. */
    private static final String LIMITER = String.join("\n", "free-failures = 2", "block-after = 5",
            "first-delay = \"0ms\"", "max-delay = \"0ms\"");
    private static final InetAddress HOME = AuthServer.loopback("127.0.0.1");

    @TempDir static Path dir;
    static AuthServer auth;

    @BeforeAll
    static void start() {
        List<String> listeners = new ArrayList<>();
        for (Proto p : Proto.values()) {
            String name = p.name().toLowerCase();
            listeners.add(listener(name + "-tls", p.configName, "implicit", "client-cert = \"request\""));
            listeners.add(listener(name + "-starttls", p.configName, "starttls"));
            listeners.add(listener(name + "-two", p.configName, "implicit", "client-cert = \"request\"",
                    "require-certificate-for-password = \"same-account\""));
        }
        auth = AuthServer.start(dir, LIMITER, listeners.toArray(String[]::new));
    }

    @AfterAll
    static void stop() {
        if (auth != null) auth.close();
    }

    /** Each case starts with no failures counted, whatever the case before did. */
    @BeforeEach
    void forgetFailures() {
        auth.server().auth().clearBlocks();
    }

    // --- passwords ------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Proto.class)
    void plain(Proto p) throws Exception {
        assertOutcome(Outcome.OK, tls(p).authenticate("PLAIN", plainResponse(ALICE, PASSWORD)));
        assertOutcome(Outcome.INVALID, tls(p).authenticate("PLAIN", plainResponse(ALICE, "wrong password")));
        assertOutcome(Outcome.INVALID, tls(p).authenticate("PLAIN", plainResponse("nobody@example.org", PASSWORD)));
    }

    @ParameterizedTest
    @EnumSource(Proto.class)
    void login(Proto p) throws Exception {
        assertOutcome(Outcome.OK, tls(p).authenticate("LOGIN", null, prompts(ALICE, PASSWORD)));
        assertOutcome(Outcome.INVALID, tls(p).authenticate("LOGIN", null, prompts(ALICE, "wrong password")));
    }

    @ParameterizedTest
    @EnumSource(Proto.class)
    void scram(Proto p) throws Exception {
        ScramClient right = ScramClient.plain(ALICE, PASSWORD, "fyko+d2lbbFgONRv9qkxdawL");
        byte[][] serverFinal = new byte[1][];
        assertOutcome(Outcome.OK, tls(p).authenticate("SCRAM-SHA-256", right.clientFirst(), scramSteps(right, serverFinal)));
        assertThat(right.serverFinalValid(serverFinal[0])).as("the server proved it knows the secret").isTrue();

        ScramClient wrong = ScramClient.plain(ALICE, "wrong password", "fyko+d2lbbFgONRv9qkxdawL");
        assertOutcome(Outcome.INVALID, tls(p).authenticate("SCRAM-SHA-256", wrong.clientFirst(), scramSteps(wrong, new byte[1][])));
    }

    @ParameterizedTest
    @EnumSource(Proto.class)
    void scramPlusBindsToTheTlsConnection(Proto p) throws Exception {
        try (MailClient c = tls12(p)) {
            assertThat(c.tlsVersion()).isEqualTo("TLSv1.2");
            ScramClient bound = new ScramClient(ALICE, PASSWORD, "abc", "p=tls-server-end-point,,", c.tlsServerEndPoint());
            assertOutcome(Outcome.OK, c.authenticate("SCRAM-SHA-256-PLUS", bound.clientFirst(), scramSteps(bound, new byte[1][])));
        }
        try (MailClient c = tls12(p)) {
            // What a relay between client and server would present: its own connection's binding, not ours.
            byte[] tampered = c.tlsServerEndPoint();
            tampered[0] ^= 1;
            ScramClient relayed = new ScramClient(ALICE, PASSWORD, "abc", "p=tls-server-end-point,,", tampered);
            assertOutcome(Outcome.INVALID, c.authenticate("SCRAM-SHA-256-PLUS", relayed.clientFirst(), scramSteps(relayed, new byte[1][])));
        }
        try (MailClient c = tls12(p)) {
            // RFC 5802 §6: "y" says "I could bind but you did not offer -PLUS"; it was offered, so the offer was stripped.
            ScramClient downgraded = new ScramClient(ALICE, PASSWORD, "abc", "y,,", new byte[0]);
            assertOutcome(Outcome.INVALID, c.authenticate("SCRAM-SHA-256", downgraded.clientFirst(), scramSteps(downgraded, new byte[1][])));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Proto.class, names = {"IMAP", "POP3"})
    void passwordCommands(Proto p) throws Exception {
        assertOutcome(Outcome.OK, tls(p).passwordCommand(ALICE, PASSWORD));
        assertOutcome(Outcome.INVALID, tls(p).passwordCommand(ALICE, "wrong password"));
    }

    // --- certificates ---------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Proto.class)
    void externalWithAMappedBoundAndUnmappedCertificate(Proto p) throws Exception {
        assertOutcome(Outcome.OK, withCertificate(p, auth.pki().client()).authenticate("EXTERNAL", new byte[0]));
        assertOutcome(Outcome.INVALID, withCertificate(p, auth.pki().client()).authenticate("EXTERNAL", BOB.getBytes(StandardCharsets.UTF_8)));

        // Trusted CA, valid, but naming no account: nobody.
        assertOutcome(Outcome.INVALID, withCertificate(p, auth.unmapped()).authenticate("EXTERNAL", new byte[0]));
        String fingerprint = CertificateFingerprint.sha256(auth.unmapped().certificate());
        auth.server().store().bindCertificate(auth.account(BOB).id(), fingerprint, "kiosk");
        try {
            assertOutcome(Outcome.OK, withCertificate(p, auth.unmapped()).authenticate("EXTERNAL", new byte[0]));
        } finally {
            auth.server().store().unbindCertificate(fingerprint);
        }
        // Without a certificate there is no EXTERNAL to choose.
        assertOutcome(Outcome.UNAVAILABLE, tls(p).authenticate("EXTERNAL", new byte[0]));
    }

    @ParameterizedTest
    @EnumSource(Proto.class)
    void requireCertificateForPasswordOfTheSameAccount(Proto p) throws Exception {
        String two = p.name().toLowerCase() + "-two";
        assertOutcome(Outcome.UNAVAILABLE, client(p, two, auth.pki().clientContext()).authenticate("PLAIN", plainResponse(ALICE, PASSWORD)));
        SSLContext alices = auth.pki().clientContext(auth.pki().client());
        assertOutcome(Outcome.OK, client(p, two, alices).authenticate("PLAIN", plainResponse(ALICE, PASSWORD)));
        assertOutcome(Outcome.INVALID, client(p, two, alices).authenticate("PLAIN", plainResponse(BOB, PASSWORD)));
        // A certificate bound to bob carries bob's password in.
        String fingerprint = CertificateFingerprint.sha256(auth.unmapped().certificate());
        auth.server().store().bindCertificate(auth.account(BOB).id(), fingerprint, "kiosk");
        try {
            SSLContext kiosk = auth.pki().clientContext(auth.unmapped());
            assertOutcome(Outcome.OK, client(p, two, kiosk).authenticate("PLAIN", plainResponse(BOB, PASSWORD)));
            assertOutcome(Outcome.INVALID, client(p, two, kiosk).authenticate("PLAIN", plainResponse(ALICE, PASSWORD)));
        } finally {
            auth.server().store().unbindCertificate(fingerprint);
        }
    }

    // --- app passwords --------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Proto.class)
    void appPasswordsOnlyInScope(Proto p) throws Exception {
        String here = p == Proto.SMTP ? "smtp" : p.name().toLowerCase();
        String elsewhere = p == Proto.POP3 ? "imap" : "pop3";
        String inScope = auth.appPassword(BOB, "in-" + here, Set.of(here));
        String outOfScope = auth.appPassword(BOB, "out-" + here, Set.of(elsewhere));
        assertOutcome(Outcome.OK, tls(p).authenticate("PLAIN", plainResponse(BOB, inScope)));
        assertOutcome(Outcome.INVALID, tls(p).authenticate("PLAIN", plainResponse(BOB, outOfScope)));
        // SCRAM names one salt before the client proves anything: the main password only.
        ScramClient app = ScramClient.plain(BOB, inScope, "abc");
        assertOutcome(Outcome.INVALID, tls(p).authenticate("SCRAM-SHA-256", app.clientFirst(), scramSteps(app, new byte[1][])));
    }

    // --- cleartext and blocks -------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Proto.class)
    void cleartextIsRefusedBeforeTlsAndAcceptedAfter(Proto p) throws Exception {
        String starttls = p.name().toLowerCase() + "-starttls";
        long failures = auth.server().auth().stats().failures();
        try (MailClient c = MailClient.plain(p, auth.address(starttls), HOME)) {
            assertOutcome(Outcome.ENCRYPTION_REQUIRED, c.authenticate("PLAIN", plainResponse(ALICE, PASSWORD)));
        }
        try (MailClient c = MailClient.plain(p, auth.address(starttls), HOME)) {
            ScramClient scram = ScramClient.plain(ALICE, PASSWORD, "abc");
            assertOutcome(Outcome.ENCRYPTION_REQUIRED, c.authenticate("SCRAM-SHA-256", scram.clientFirst(), scramSteps(scram, new byte[1][])));
        }
        try (MailClient c = MailClient.plain(p, auth.address(starttls), HOME)) {
            c.startTls(auth.pki().clientContext());
            assertOutcome(Outcome.OK, c.authenticate("PLAIN", plainResponse(ALICE, PASSWORD)));
        }
        assertThat(auth.server().auth().stats().failures()).as("refusals before TLS are not failed logins").isEqualTo(failures);
    }

    @ParameterizedTest
    @EnumSource(Proto.class)
    void aBlockedSourceGetsTheTemporaryFailure(Proto p) throws Exception {
        InetAddress attacker = AuthServer.loopback("127.0.9." + (10 + p.ordinal()));
        for (int i = 0; i < 5; i++) {
            try (MailClient c = MailClient.implicit(p, auth.address(p.name().toLowerCase() + "-tls"), attacker, auth.pki().clientContext(), false)) {
                assertOutcome(Outcome.INVALID, c.authenticate("PLAIN", plainResponse(BOB, "guess " + i)));
            }
        }
        try (MailClient c = MailClient.implicit(p, auth.address(p.name().toLowerCase() + "-tls"), attacker, auth.pki().clientContext(), false)) {
            assertOutcome(Outcome.TEMPORARY, c.authenticate("PLAIN", plainResponse(BOB, PASSWORD)));
        }
        // The same account from elsewhere, and a certificate holder from the blocked address, still get in.
        assertOutcome(Outcome.OK, tls(p).authenticate("PLAIN", plainResponse(BOB, PASSWORD)));
        try (MailClient c = MailClient.implicit(p, auth.address(p.name().toLowerCase() + "-tls"), attacker,
                auth.pki().clientContext(auth.pki().client()), false)) {
            assertOutcome(Outcome.OK, c.authenticate("EXTERNAL", new byte[0]));
        }
    }

    // --- helpers --------------------------------------------------------------------------------

    static void assertOutcome(Outcome expected, Reply reply) {
        assertThat(reply.outcome()).as(reply.line()).isEqualTo(expected);
    }

    private static MailClient tls(Proto p) throws Exception {
        return client(p, p.name().toLowerCase() + "-tls", auth.pki().clientContext());
    }

    private static MailClient tls12(Proto p) throws Exception {
        return MailClient.implicit(p, auth.address(p.name().toLowerCase() + "-tls"), HOME, auth.pki().clientContext(), true);
    }

    private static MailClient withCertificate(Proto p, TestCertificate certificate) throws Exception {
        return client(p, p.name().toLowerCase() + "-tls", auth.pki().clientContext(certificate));
    }

    /** A connection for one attempt: it closes after the final reply. */
    private static MailClient client(Proto p, String listener, SSLContext context) throws Exception {
        return MailClient.implicit(p, auth.address(listener), HOME, context, false).oneShot();
    }

    static byte[] plainResponse(String user, String password) {
        return ("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8);
    }

    /** LOGIN's two prompts (user name, then password), whatever their text. */
    static java.util.function.UnaryOperator<byte[]> prompts(String user, String password) {
        int[] step = {0};
        return challenge -> (step[0]++ == 0 ? user : password).getBytes(StandardCharsets.UTF_8);
    }

    /** server-first → client-final; server-final → empty, kept in {@code serverFinal[0]}. */
    static java.util.function.UnaryOperator<byte[]> scramSteps(ScramClient client, byte[][] serverFinal) {
        int[] step = {0};
        return challenge -> {
            if (step[0]++ == 0) return client.clientFinal(challenge);
            serverFinal[0] = challenge;
            return new byte[0];
        };
    }
}
