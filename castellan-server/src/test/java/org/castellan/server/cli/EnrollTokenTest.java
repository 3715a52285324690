package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.cli.EstEnrollmentTest.base64;
import static org.castellan.server.cli.EstEnrollmentTest.basic;
import static org.castellan.server.cli.EstEnrollmentTest.csr;
import static org.castellan.server.cli.EstEnrollmentTest.ecKeys;
import static org.castellan.server.cli.EstEnrollmentTest.post;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.server.testing.RawHttps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One-time enrollment tokens ({@code castellan enroll token}) on a running server: a token
 * enrolls its device once and never again, as Basic or Bearer; it is bound to its kind and
 * device; only its hash is kept; and an app password scoped {@code enroll} enrolls where one
 * scoped otherwise does not.
 */
class EnrollTokenTest {

    private static final String BASE = "/.well-known/est/";

    @TempDir Path tmp;
    LiveServer live;

    @BeforeEach
    void start() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
    }

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    private String token(String device, String kind) {
        Cli.Run r = live.cli.admin("enroll", "token", "--owner", LiveServer.ACCOUNT, "--device", device, "--kind", kind);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("good once");
        return r.out().strip();
    }

    private RawHttps https() throws Exception {
        return new RawHttps(live.clientContext(null), live.address("https"));
    }

    private static String asBasic(String token) {
        int dot = token.indexOf('.');
        return basic(token.substring(0, dot), token.substring(dot + 1));
    }

    @Test
    void aTokenEnrollsItsDeviceOnceAndAReplayIsRefused() throws Exception {
        String token = token("kiosk", "device");
        assertThat(token).matches("et-[0-9a-f]{16}\\.[A-Za-z0-9_-]{43}");
        String body = base64(csr("CN=kiosk", ecKeys(), null).getEncoded());
        try (RawHttps http = https()) {
            RawHttps.Response first = http.exchange(post(BASE + "simpleenroll", body, asBasic(token)));
            assertThat(first.status()).as(first.text()).isEqualTo(200);
            RawHttps.Response replay = http.exchange(post(BASE + "simpleenroll", base64(csr("CN=kiosk", ecKeys(), null).getEncoded()),
                    asBasic(token)));
            assertThat(replay.status()).isEqualTo(401);
            RawHttps.Response bearerReplay = http.exchange(post(BASE + "simpleenroll", body, "Bearer " + token));
            assertThat(bearerReplay.status()).isEqualTo(401);
        }
        // Only the hash is kept: the secret half appears nowhere in the store.
        String id = token.substring(0, token.indexOf('.'));
        var stored = live.server.store().findEnrollmentToken(id).orElseThrow();
        assertThat(stored.secretHash()).doesNotContain(token.substring(token.indexOf('.') + 1));
        assertThat(stored.used()).isPresent();
    }

    @Test
    void aTokenIsBoundToItsKindAndDevice() throws Exception {
        String user = token("laptop", "user");
        String device = token("kiosk", "device");
        try (RawHttps http = https()) {
            RawHttps.Response wrongLabel = http.exchange(post(BASE + "simpleenroll",
                    base64(csr("CN=kiosk", ecKeys(), null).getEncoded()), "Bearer " + user));
            assertThat(wrongLabel.status()).isEqualTo(403);
            assertThat(wrongLabel.text()).contains("user/simpleenroll");
            RawHttps.Response otherName = http.exchange(post(BASE + "device/simpleenroll",
                    base64(csr("CN=someone-elses-pc", ecKeys(), null).getEncoded()), asBasic(device)));
            assertThat(otherName.status()).isEqualTo(403);
            assertThat(otherName.text()).contains("kiosk");
            // Refusals before signing do not spend the token.
            RawHttps.Response asUser = http.exchange(post(BASE + "user/simpleenroll",
                    base64(csr("CN=" + LiveServer.ACCOUNT, ecKeys(), LiveServer.ACCOUNT).getEncoded()), "Bearer " + user));
            assertThat(asUser.status()).as(asUser.text()).isEqualTo(200);
            RawHttps.Response forSomeoneElse = http.exchange(post(BASE + "device/simpleenroll",
                    base64(csr("CN=kiosk", ecKeys(), "bob@example.org").getEncoded()), asBasic(device)));
            assertThat(forSomeoneElse.status()).isEqualTo(403);
            RawHttps.Response kiosk = http.exchange(post(BASE + "device/simpleenroll",
                    base64(csr("CN=kiosk", ecKeys(), null).getEncoded()), asBasic(device)));
            assertThat(kiosk.status()).as("the refusals did not spend it").isEqualTo(200);
        }
    }

    @Test
    void aWrongSecretOrAnUnknownTokenIsUnauthorized() throws Exception {
        String token = token("kiosk", "device");
        String body = base64(csr("CN=kiosk", ecKeys(), null).getEncoded());
        try (RawHttps http = https()) {
            String id = token.substring(0, token.indexOf('.'));
            assertThat(http.exchange(post(BASE + "simpleenroll", body, basic(id, "not-the-secret"))).status()).isEqualTo(401);
            assertThat(http.exchange(post(BASE + "simpleenroll", body, "Bearer et-0000000000000000.x")).status()).isEqualTo(401);
            assertThat(http.exchange(post(BASE + "simpleenroll", body, "Bearer " + token)).status()).isEqualTo(200);
        }
    }

    @Test
    void theCommandRefusesWhatItCannotMake() {
        Cli.Run noAccount = live.cli.admin("enroll", "token", "--owner", "nobody@example.org", "--device", "pc");
        assertThat(noAccount.code()).isNotZero();
        assertThat(noAccount.err()).contains("no account nobody@example.org");
        Cli.Run badKind = live.cli.admin("enroll", "token", "--owner", LiveServer.ACCOUNT, "--device", "pc", "--kind", "server");
        assertThat(badKind.code()).isNotZero();
        assertThat(badKind.err()).contains("--kind is device or user");
    }

    @Test
    void anAppPasswordScopedEnrollEnrollsAndOneScopedImapDoesNot() throws Exception {
        String enroll = appPassword("enroll");
        String imap = appPassword("imap");
        String body = base64(csr("CN=phone", ecKeys(), null).getEncoded());
        try (RawHttps http = https()) {
            assertThat(http.exchange(post(BASE + "simpleenroll", body, basic(LiveServer.ACCOUNT, imap))).status()).isEqualTo(401);
            assertThat(http.exchange(post(BASE + "simpleenroll", body, basic(LiveServer.ACCOUNT, enroll))).status()).isEqualTo(200);
        }
    }

    private String appPassword(String scope) {
        Cli.Run r = live.cli.admin("user", "app-password", "add", LiveServer.ACCOUNT, "--label", scope, "--scope", scope);
        assertThat(r.code()).as(r.err()).isZero();
        Matcher m = Pattern.compile("password: (\\S+)").matcher(r.out());
        assertThat(m.find()).isTrue();
        return m.group(1);
    }
}
