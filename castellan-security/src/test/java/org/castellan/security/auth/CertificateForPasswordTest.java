package org.castellan.security.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.castellan.testkit.ScramClient;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.castellan.testkit.MutableClock;

/** Certificate and password as two factors: a listener's require-certificate-for-password. */
class CertificateForPasswordTest {

    private static final String ALICE = TestPki.CLIENT_EMAIL; // named by the test client certificate
    private static final String BOB = "bob@example.org";
    private static final String PASSWORD = "correct horse battery";
    private static final InetAddress HOST = InetAddress.getLoopbackAddress();

    @TempDir
    static Path pkiDirectory;
    private static X509Certificate clientCertificate;

    private final MapCredentialStore store = new MapCredentialStore().add(ALICE, PASSWORD).add(BOB, PASSWORD);
    private final AuthService service = new AuthService(store, AuthSettings.defaults(),
            new MutableClock(Instant.parse("2026-01-05T09:00:00Z")));

    @BeforeAll
    static void pki() {
        clientCertificate = TestPki.create(pkiDirectory).client().certificate();
    }

    @AfterEach
    void close() {
        service.close();
    }

    private static AuthContext ctx(CertificateForPassword policy, boolean withCertificate) {
        return new AuthContext("imaps", "imap", HOST, true, false, Optional.empty(),
                withCertificate ? Optional.of(clientCertificate) : Optional.empty(), Optional.of("TLSv1.3"), policy);
    }

    private static SaslStep result(CompletionStage<SaslStep> stage) throws Exception {
        return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    }

    private SaslStep plain(AuthContext ctx, String user) throws Exception {
        return result(service.start(ctx, "PLAIN", Optional.of(("\0" + user + "\0" + PASSWORD).getBytes(StandardCharsets.UTF_8))));
    }

    private SaslStep login(AuthContext ctx, String user) throws Exception {
        return result(service.login(ctx, user, PASSWORD.toCharArray(), "LOGIN"));
    }

    private SaslStep scram(AuthContext ctx, String user) throws Exception {
        ScramClient client = ScramClient.plain(user, PASSWORD, "abc");
        SaslStep first = result(service.start(ctx, "SCRAM-SHA-256", Optional.of(client.clientFirst())));
        if (!(first instanceof SaslStep.Challenge challenge)) return first;
        return result(challenge.exchange().respond(client.clientFinal(challenge.data())));
    }

    @Test
    void noNeedsNoCertificate() throws Exception {
        assertThat(login(ctx(CertificateForPassword.NO, false), BOB)).isInstanceOf(SaslStep.Success.class);
        assertThat(service.mechanisms(ctx(CertificateForPassword.NO, false))).contains("PLAIN", "SCRAM-SHA-256");
    }

    @Test
    void withoutACertificateNoPasswordMechanismIsOfferedOrAccepted() throws Exception {
        for (CertificateForPassword policy : new CertificateForPassword[] {CertificateForPassword.ANY,
                CertificateForPassword.SAME_ACCOUNT}) {
            AuthContext bare = ctx(policy, false);
            assertThat(service.mechanisms(bare)).as(policy.name()).isEmpty();
            assertThat(plain(bare, ALICE)).isEqualTo(new SaslStep.Failure(FailureKind.MECHANISM_UNAVAILABLE));
            assertThat(scram(bare, ALICE)).isEqualTo(new SaslStep.Failure(FailureKind.MECHANISM_UNAVAILABLE));
            assertThat(login(bare, ALICE)).isEqualTo(new SaslStep.Failure(FailureKind.INVALID_CREDENTIALS));
        }
        assertThat(service.stats().passwordHashes()).as("refused before any password check").isZero();
        assertThat(service.stats().failures()).as("and not counted").isZero();
    }

    @Test
    void anyCertificateLetsAnyAccountsPasswordIn() throws Exception {
        AuthContext device = ctx(CertificateForPassword.ANY, true);
        assertThat(service.mechanisms(device)).contains("PLAIN", "SCRAM-SHA-256", "EXTERNAL");
        assertThat(login(device, BOB)).isInstanceOf(SaslStep.Success.class);
        assertThat(plain(device, ALICE)).isInstanceOf(SaslStep.Success.class);
    }

    @Test
    void sameAccountNeedsTheCertificateOfThatAccount() throws Exception {
        AuthContext device = ctx(CertificateForPassword.SAME_ACCOUNT, true);
        assertThat(plain(device, ALICE)).isInstanceOf(SaslStep.Success.class);
        assertThat(login(device, "ALICE@example.org")).isInstanceOf(SaslStep.Success.class);
        assertThat(scram(device, ALICE)).isInstanceOf(SaslStep.Success.class);

        SaslStep.Failure refused = new SaslStep.Failure(FailureKind.INVALID_CREDENTIALS);
        assertThat(plain(device, BOB)).isEqualTo(refused);
        assertThat(login(device, BOB)).isEqualTo(refused);
        assertThat(scram(device, BOB)).isEqualTo(refused);
    }

    @Test
    void sameAccountAcceptsTheAccountTheCertificateIsBoundTo() throws Exception {
        store.bind(clientCertificate, BOB);
        AuthContext device = ctx(CertificateForPassword.SAME_ACCOUNT, true);
        assertThat(plain(device, BOB)).isInstanceOf(SaslStep.Success.class);
        assertThat(scram(device, BOB)).isInstanceOf(SaslStep.Success.class);
        // The names it carries still count: the binding adds an account, it does not hide alice's address.
        assertThat(login(device, ALICE)).isInstanceOf(SaslStep.Success.class);
    }
}
