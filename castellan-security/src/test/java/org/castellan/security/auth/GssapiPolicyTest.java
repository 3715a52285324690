package org.castellan.security.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.castellan.testkit.MutableClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where AuthService offers GSSAPI and how a principal names an account, without a KDC (GssapiTest
 * in castellan-server runs the exchanges against a real realm).
 */
class GssapiPolicyTest {

    private static final InetAddress HOST = InetAddress.getLoopbackAddress();

    @TempDir
    Path dir;

    private final MapCredentialStore store = new MapCredentialStore().add("alice@example.org", "correct horse battery");
    private AuthService service;

    @AfterEach
    void close() {
        if (service != null) service.close();
    }

    private KerberosSettings kerberos(Path keytab) {
        return new KerberosSettings(keytab, "EXAMPLE.ORG",
                Map.of("imap", "imap/mail.example.org@EXAMPLE.ORG", "smtp", "smtp/mail.example.org@EXAMPLE.ORG"),
                Map.of("alice/admin@EXAMPLE.ORG", "alice@example.org", "bob@PARTNER.ORG", "bob@example.org"),
                Optional.of("example.org"));
    }

    private AuthService service(Optional<KerberosSettings> kerberos) {
        service = new AuthService(store, AuthSettings.defaults(), new MutableClock(Instant.parse("2026-01-05T09:00:00Z")),
                AuthLog.NONE, kerberos);
        return service;
    }

    private static AuthContext ctx(String protocol, boolean tls, boolean cleartext, CertificateForPassword policy) {
        return new AuthContext("l", protocol, HOST, tls, cleartext, Optional.empty(), Optional.empty(),
                Optional.empty(), policy);
    }

    private static SaslStep result(CompletionStage<SaslStep> stage) throws Exception {
        return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    }

    @Test
    void offeredOnlyOnAConfiguredProtocolUnderThePasswordPolicy() {
        AuthService auth = service(Optional.of(kerberos(dir.resolve("keytab"))));
        assertThat(auth.mechanisms(ctx("imap", true, false, CertificateForPassword.NO))).contains("GSSAPI");
        assertThat(auth.mechanisms(ctx("smtp", true, false, CertificateForPassword.NO))).contains("GSSAPI");
        assertThat(auth.mechanisms(ctx("pop3", true, false, CertificateForPassword.NO))).doesNotContain("GSSAPI");
        assertThat(auth.mechanisms(ctx("imap", false, false, CertificateForPassword.NO))).doesNotContain("GSSAPI");
        assertThat(auth.mechanisms(ctx("imap", false, true, CertificateForPassword.NO))).contains("GSSAPI");
        assertThat(auth.mechanisms(ctx("imap", true, false, CertificateForPassword.ANY))).doesNotContain("GSSAPI");
        assertThat(service(Optional.empty()).mechanisms(ctx("imap", true, false, CertificateForPassword.NO)))
                .doesNotContain("GSSAPI");
    }

    @Test
    void refusedBeforeAnyTokenIsReadWhereNotOffered() throws Exception {
        AuthService auth = service(Optional.of(kerberos(dir.resolve("keytab"))));
        byte[] token = "token".getBytes(StandardCharsets.US_ASCII);
        assertThat(result(auth.start(ctx("imap", false, false, CertificateForPassword.NO), "gssapi", Optional.of(token))))
                .isEqualTo(new SaslStep.Failure(FailureKind.ENCRYPTION_REQUIRED));
        assertThat(result(auth.start(ctx("imap", true, false, CertificateForPassword.ANY), "GSSAPI", Optional.of(token))))
                .isEqualTo(new SaslStep.Failure(FailureKind.MECHANISM_UNAVAILABLE));
        assertThat(result(auth.start(ctx("pop3", true, false, CertificateForPassword.NO), "GSSAPI", Optional.of(token))))
                .isEqualTo(new SaslStep.Failure(FailureKind.MECHANISM_UNAVAILABLE));
        assertThat(auth.stats().failures()).isZero();
    }

    @Test
    void withoutAnInitialResponseTheFirstChallengeIsEmpty() throws Exception {
        AuthService auth = service(Optional.of(kerberos(dir.resolve("keytab"))));
        SaslStep step = result(auth.start(ctx("imap", true, false, CertificateForPassword.NO), "GSSAPI", Optional.empty()));
        assertThat(step).isInstanceOfSatisfying(SaslStep.Challenge.class, c -> assertThat(c.data()).isEmpty());
    }

    @Test
    void aMissingKeytabIsTheServersFaultNotTheClients() throws Exception {
        AuthService auth = service(Optional.of(kerberos(dir.resolve("no-such.keytab"))));
        SaslStep step = result(auth.start(ctx("imap", true, false, CertificateForPassword.NO), "GSSAPI",
                Optional.of("garbage".getBytes(StandardCharsets.US_ASCII))));
        assertThat(step).isEqualTo(new SaslStep.Failure(FailureKind.TEMPORARY));
        assertThat(auth.stats().failures()).isZero();
    }

    @Test
    void principalsMapExplicitlyFirstThenByStrippingTheRealm() {
        KerberosSettings k = kerberos(dir.resolve("keytab"));
        assertThat(k.accountName("alice@EXAMPLE.ORG")).contains("alice@example.org");
        assertThat(k.accountName("alice/admin@EXAMPLE.ORG")).contains("alice@example.org");
        assertThat(k.accountName("bob@PARTNER.ORG")).contains("bob@example.org");
        // An instance, another realm, a realm differing in case (RFC 4120 §6.1: realms are case-sensitive).
        assertThat(k.accountName("carol/admin@EXAMPLE.ORG")).isEmpty();
        assertThat(k.accountName("carol@PARTNER.ORG")).isEmpty();
        assertThat(k.accountName("carol@example.org")).isEmpty();
        KerberosSettings explicitOnly = new KerberosSettings(dir.resolve("keytab"), "EXAMPLE.ORG", Map.of(),
                Map.of("alice@EXAMPLE.ORG", "alice@example.org"), Optional.empty());
        assertThat(explicitOnly.accountName("alice@EXAMPLE.ORG")).contains("alice@example.org");
        assertThat(explicitOnly.accountName("bob@EXAMPLE.ORG")).isEmpty();
    }
}
