package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.cli.EstEnrollmentTest.base64;
import static org.castellan.server.cli.EstEnrollmentTest.basic;
import static org.castellan.server.cli.EstEnrollmentTest.csr;
import static org.castellan.server.cli.EstEnrollmentTest.ecKeys;
import static org.castellan.server.cli.EstEnrollmentTest.keyManagers;
import static org.castellan.server.cli.EstEnrollmentTest.post;
import static org.castellan.server.cli.EstEnrollmentTest.sslContext;

import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.EnrollmentResponse;
import org.bouncycastle.est.HttpAuth;
import org.castellan.server.testing.RawHttps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code [enroll] approve = true}: an enrollment waits for the operator (RFC 7030 §4.2.3: 202
 * with Retry-After, the client repeating the same request), who lists, approves and denies it
 * with {@code castellan enroll pending|approve|deny} while the server runs.
 */
class EstApprovalTest {

    private static final String PASSWORD = Cli.Pop3Password.VALUE;
    private static final String SIMPLEENROLL = "/.well-known/est/simpleenroll";
    private static final String BOB = "bob@example.org";

    @TempDir Path tmp;
    LiveServer live;

    @BeforeEach
    void start() throws Exception {
        live = LiveServer.start(tmp.resolve("data"), EstEnrollmentTest.GATED_IMAP,
                text -> text.replaceFirst("(?m)^#? ?approve = .*$", "approve = true"));
    }

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    @Test
    void anApprovedRequestIsCollectedByItsRetryAndOpensTheDeviceGate() throws Exception {
        KeyPair keys = ecKeys();
        String body = base64(csr("CN=laptop", keys, null).getEncoded());
        String auth = basic(LiveServer.ACCOUNT, PASSWORD);
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            RawHttps.Response first = http.exchange(post(SIMPLEENROLL, body, auth));
            assertThat(first.status()).as(first.text()).isEqualTo(202);
            assertThat(first.header("Retry-After")).matches("[1-9][0-9]*");
            assertThat(first.body()).as("no body: Bouncy Castle's client fails on one").isEmpty();

            Cli.Run pending = live.cli.admin("enroll", "pending");
            assertThat(pending.code()).as(pending.err()).isZero();
            assertThat(pending.out()).contains(LiveServer.ACCOUNT).contains("device").contains("laptop").contains("EC");
            String id = onlyId(pending.out());

            RawHttps.Response again = http.exchange(post(SIMPLEENROLL, body, auth));
            assertThat(again.status()).as("still pending: the same request is not queued twice").isEqualTo(202);
            assertThat(idsIn(live.cli.admin("enroll", "pending").out())).containsExactly(id);

            Cli.Run approve = live.cli.admin("enroll", "approve", id);
            assertThat(approve.code()).as(approve.err()).isZero();
            assertThat(live.cli.admin("enroll", "pending").out()).doesNotContain(id);

            RawHttps.Response collected = http.exchange(post(SIMPLEENROLL, body, auth));
            assertThat(collected.status()).as(collected.text()).isEqualTo(200);
            assertThat(collected.header("Content-Type")).isEqualTo("application/pkcs7-mime; smime-type=certs-only");
            X509Certificate issued = certificate(collected);
            assertThat(issued.getSubjectX500Principal().getName()).contains("CN=laptop");
            assertThat(issued.getPublicKey()).isEqualTo(keys.getPublic());

            X509Certificate root = EstEnrollmentTest.certificate(live.rootCertificate());
            try (var imap = new EstEnrollmentTest.RawImaps(sslContext(keyManagers(keys, issued), root), live.address("gated-imap"))) {
                assertThat(imap.greeting()).startsWith("* OK");
            }
        }
    }

    @Test
    void bouncyCastlesEstClientWaitsAndCollectsTheApprovedCertificate() throws Exception {
        KeyPair keys = ecKeys();
        ESTService est = EstEnrollmentTest.est(live, null);
        EnrollmentResponse waiting = est.simpleEnroll(false, csr("CN=phone", keys, null),
                new HttpAuth(LiveServer.ACCOUNT, PASSWORD.toCharArray()));
        assertThat(waiting.isCompleted()).isFalse();
        assertThat(waiting.canRetry()).as("not until Retry-After has passed").isFalse();
        assertThat(waiting.getNotBefore()).isGreaterThan(System.currentTimeMillis());

        assertThat(est.simpleEnroll(waiting).isCompleted()).as("still pending").isFalse();
        assertThat(live.cli.admin("enroll", "approve", onlyId(live.cli.admin("enroll", "pending").out())).code()).isZero();

        EnrollmentResponse collected = est.simpleEnroll(waiting);
        assertThat(collected.isCompleted()).isTrue();
        X509CertificateHolder[] certificates = ESTService.storeToArray(collected.getStore());
        assertThat(certificates).hasSize(1);
        assertThat(certificates[0].getSubject().toString()).contains("CN=phone");
    }

    @Test
    void anAccountHasAtMostTenRequestsWaiting() throws Exception {
        String auth = basic(LiveServer.ACCOUNT, PASSWORD);
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            for (int i = 0; i < 10; i++) {
                assertThat(http.exchange(post(SIMPLEENROLL, base64(csr("CN=dev" + i, ecKeys(), null).getEncoded()), auth))
                        .status()).isEqualTo(202);
            }
            RawHttps.Response eleventh = http.exchange(post(SIMPLEENROLL, base64(csr("CN=dev10", ecKeys(), null).getEncoded()), auth));
            assertThat(eleventh.status()).isEqualTo(429); // RFC 6585 §4
            assertThat(eleventh.text()).contains("wait for approval already");
        }
        assertThat(idsIn(live.cli.admin("enroll", "pending").out())).hasSize(10);
    }

    @Test
    void aRequestTheCaCannotSignIsRefusedBeforeItWaits() throws Exception {
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            RawHttps.Response bad = http.exchange(post(SIMPLEENROLL, base64(csr("CN=my laptop!", ecKeys(), null).getEncoded()),
                    basic(LiveServer.ACCOUNT, PASSWORD)));
            assertThat(bad.status()).isEqualTo(400);
            assertThat(bad.text()).contains("is not a device name");
        }
        assertThat(idsIn(live.cli.admin("enroll", "pending").out())).isEmpty();
    }

    @Test
    void aDeniedRequestIsRefusedWithTheReason() throws Exception {
        String body = base64(csr("CN=tablet", ecKeys(), null).getEncoded());
        String auth = basic(LiveServer.ACCOUNT, PASSWORD);
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            assertThat(http.exchange(post(SIMPLEENROLL, body, auth)).status()).isEqualTo(202);
            String id = onlyId(live.cli.admin("enroll", "pending").out());
            Cli.Run deny = live.cli.admin("enroll", "deny", id, "--reason", "not a company device");
            assertThat(deny.code()).as(deny.err()).isZero();

            RawHttps.Response refused = http.exchange(post(SIMPLEENROLL, body, auth));
            assertThat(refused.status()).isEqualTo(403);
            assertThat(refused.text()).contains("denied").contains("not a company device");
            Cli.Run again = live.cli.admin("enroll", "approve", id);
            assertThat(again.code()).as("a decided request stays decided").isNotZero();
            assertThat(again.err()).contains("is denied, not pending");
            assertThat(live.cli.admin("enroll", "deny", "er-00000000").err()).contains("no enrollment request er-00000000");
        }
    }

    @Test
    void anotherAccountCannotCollectSomeoneElsesApprovedRequest() throws Exception {
        assertThat(live.cli.withStdin(PASSWORD + "\n", "user", "add", BOB, "--password-stdin").code()).isZero();
        String body = base64(csr("CN=laptop", ecKeys(), null).getEncoded());
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            assertThat(http.exchange(post(SIMPLEENROLL, body, basic(LiveServer.ACCOUNT, PASSWORD))).status()).isEqualTo(202);
            String id = onlyId(live.cli.admin("enroll", "pending").out());
            assertThat(live.cli.admin("enroll", "approve", id).code()).isZero();

            RawHttps.Response bobs = http.exchange(post(SIMPLEENROLL, body, basic(BOB, PASSWORD)));
            assertThat(bobs.status()).as("bob's own request waits for approval; alice's approval is not his").isEqualTo(202);
            assertThat(live.cli.admin("enroll", "pending").out()).contains(BOB).doesNotContain(id);

            assertThat(http.exchange(post(SIMPLEENROLL, body, basic(LiveServer.ACCOUNT, PASSWORD))).status()).isEqualTo(200);
        }
    }

    @Test
    void aTokenIsSpentOnlyWhenTheCertificateIsIssued() throws Exception {
        Cli.Run made = live.cli.admin("enroll", "token", "--owner", LiveServer.ACCOUNT, "--device", "printer");
        assertThat(made.code()).as(made.err()).isZero();
        String bearer = "Bearer " + made.out().strip();
        String body = base64(csr("CN=printer", ecKeys(), null).getEncoded());
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            assertThat(http.exchange(post(SIMPLEENROLL, body, bearer)).status()).isEqualTo(202);
            assertThat(http.exchange(post(SIMPLEENROLL, body, bearer)).status()).as("the token still works while pending").isEqualTo(202);
            assertThat(live.cli.admin("enroll", "approve", onlyId(live.cli.admin("enroll", "pending").out())).code()).isZero();
            assertThat(http.exchange(post(SIMPLEENROLL, body, bearer)).status()).isEqualTo(200);
            assertThat(http.exchange(post(SIMPLEENROLL, body, bearer)).status()).as("spent by the issue").isEqualTo(401);
        }
    }

    @Test
    void aRenewalIsNotHeldAndServerkeygenIsRefused() throws Exception {
        LiveServer.Issued laptop = live.issueDevice("laptop");
        try (RawHttps http = new RawHttps(live.clientContext(laptop.p12()), live.address("https"))) {
            RawHttps.Response renewed = http.exchange(post("/.well-known/est/simplereenroll",
                    base64(csr("CN=laptop", ecKeys(), null).getEncoded()), null));
            assertThat(renewed.status()).as(renewed.text()).isEqualTo(200);
        }
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            RawHttps.Response generated = http.exchange(post("/.well-known/est/serverkeygen",
                    base64(csr("CN=watch", ecKeys(), null).getEncoded()), basic(LiveServer.ACCOUNT, PASSWORD)));
            assertThat(generated.status()).isEqualTo(403);
            assertThat(generated.text()).contains("simpleenroll");
        }
        assertThat(idsIn(live.cli.admin("enroll", "pending").out())).isEmpty();
    }

    private static final Pattern ID = Pattern.compile("(?m)^(er-[0-9a-f]{8})\\s");

    private static java.util.List<String> idsIn(String listing) {
        Matcher m = ID.matcher(listing);
        java.util.List<String> ids = new java.util.ArrayList<>();
        while (m.find()) ids.add(m.group(1));
        return ids;
    }

    private static String onlyId(String listing) {
        assertThat(idsIn(listing)).as(listing).hasSize(1);
        return idsIn(listing).get(0);
    }

    private static X509Certificate certificate(RawHttps.Response r) throws Exception {
        byte[] cms = java.util.Base64.getMimeDecoder().decode(r.body());
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(cms)).iterator().next();
    }
}
