package org.castellan.protocol.sasl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BearerServerTest {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static SaslResult.BearerToken token(SaslResult result) {
        assertThat(result).isInstanceOf(SaslResult.BearerToken.class);
        return (SaslResult.BearerToken) result;
    }

    private static void assertFailed(SaslResult result, SaslFailure reason) {
        assertThat(result).isEqualTo(new SaslResult.Failed(reason));
    }

    @Test
    void oauthBearerExampleOfRfc7628() {
        // RFC 7628 §4.1: the initial client response, decoded.
        SaslResult.BearerToken t = token(BearerServer.oauthBearer().start(Optional.of(bytes(
                "n,a=user@example.com,\u0001host=server.example.com\u0001port=143\u0001"
                        + "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\u0001\u0001"))));
        assertThat(t.authzid()).isEqualTo("user@example.com");
        assertThat(t.token()).isEqualTo("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
        assertThat(t.host()).contains("server.example.com");
        assertThat(t.port()).contains(143);
        assertThat(t.toString()).doesNotContain("vF9dft");
    }

    @Test
    void oauthBearerWithoutAuthzidOrHostAfterAnEmptyChallenge() {
        BearerServer server = BearerServer.oauthBearer();
        assertThat(server.mechanism()).isEqualTo("OAUTHBEARER");
        assertThat(((SaslResult.Challenge) server.start(Optional.empty())).data()).isEmpty();
        SaslResult.BearerToken t = token(server.respond(bytes("n,,\u0001auth=bearer abc.def-ghi\u0001\u0001")));
        assertThat(t.authzid()).isEmpty();
        assertThat(t.token()).isEqualTo("abc.def-ghi");
        assertThat(t.host()).isEmpty();
    }

    @Test
    void gs2AuthzidEscapesAreDecoded() {
        // RFC 5801 §4: "=2C" is ',' and "=3D" is '='.
        assertThat(token(BearerServer.parseOauthBearer(bytes("y,a=a=3Db=2Cc,\u0001auth=Bearer t\u0001\u0001"))).authzid())
                .isEqualTo("a=b,c");
    }

    @Test
    void refusedTokenGetsTheErrorChallengeThenFailsOnTheDummyResponse() {
        // RFC 7628 §3.2.2 and §4.3: the error as a challenge; the client sends %x01; then failure.
        BearerServer server = BearerServer.oauthBearer();
        token(server.start(Optional.of(bytes("n,,\u0001auth=Bearer t\u0001\u0001"))));
        SaslResult error = server.refuse(Optional.of("mail"), Optional.of("https://id.example/.well-known/openid-configuration"));
        assertThat(new String(((SaslResult.Challenge) error).data(), StandardCharsets.UTF_8)).isEqualTo(
                "{\"status\":\"invalid_token\",\"scope\":\"mail\","
                        + "\"openid-configuration\":\"https://id.example/.well-known/openid-configuration\"}");
        assertFailed(server.respond(new byte[] {1}), SaslFailure.INVALID_TOKEN);
        assertFailed(server.respond(new byte[] {1}), SaslFailure.OUT_OF_SEQUENCE);
    }

    @Test
    void errorJsonEscapesItsStrings() {
        assertThat(BearerServer.oauthBearer().errorJson(Optional.of("a\"b\\c\n"), Optional.empty()))
                .isEqualTo("{\"status\":\"invalid_token\",\"scope\":\"a\\\"b\\\\c\\u000a\"}");
        assertThat(BearerServer.oauthBearer().errorJson(Optional.empty(), Optional.empty()))
                .isEqualTo("{\"status\":\"invalid_token\"}");
    }

    @Test
    void xoauth2() {
        BearerServer server = BearerServer.xoauth2();
        assertThat(server.mechanism()).isEqualTo("XOAUTH2");
        SaslResult.BearerToken t = token(server.start(Optional.of(bytes(
                "user=someuser@example.com\u0001auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg\u0001\u0001"))));
        assertThat(t.authzid()).isEqualTo("someuser@example.com");
        assertThat(t.token()).isEqualTo("ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg");
        // Google's error form; the client answers with an empty response.
        assertThat(new String(((SaslResult.Challenge) server.refuse(Optional.of("mail"), Optional.of("https://x"))).data(),
                StandardCharsets.UTF_8)).isEqualTo("{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"mail\"}");
        assertFailed(server.respond(new byte[0]), SaslFailure.INVALID_TOKEN);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "\u0001",
        "n,,\u0001\u0001",
        "n,,auth=Bearer t\u0001\u0001",
        "p=tls-unique,,\u0001auth=Bearer t\u0001\u0001",
        "n,a=,\u0001auth=Bearer t\u0001\u0001",
        "n,a=x=2Dy,\u0001auth=Bearer t\u0001\u0001",
        "n,,\u0001auth=Bearer t\u0001",
        "n,,\u0001auth=Bearer t\u0001auth=Bearer u\u0001\u0001",
        "n,,\u0001auth=Basic dXNlcjpwYXNz\u0001\u0001",
        "n,,\u0001auth=Bearer t u\u0001\u0001",
        "n,,\u0001auth=Bearer \u0001\u0001",
        "n,,\u0001port=x143\u0001auth=Bearer t\u0001\u0001",
        "n,,\u0001ho-st=a\u0001auth=Bearer t\u0001\u0001",
        "n,,\u0001host\u0001auth=Bearer t\u0001\u0001",
        "n,,\u0001auth=Bearer t\u0001\u0001\u0001",
    })
    void malformedOauthBearerMessages(String message) {
        assertFailed(BearerServer.oauthBearer().start(Optional.of(bytes(message))), SaslFailure.MALFORMED);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "auth=Bearer t\u0001\u0001",
        "user=\u0001auth=Bearer t\u0001\u0001",
        "user=a@example.org\u0001\u0001",
        "user=a@example.org\u0001auth=Bearer t\u0001",
    })
    void malformedXoauth2Messages(String message) {
        assertFailed(BearerServer.xoauth2().start(Optional.of(bytes(message))), SaslFailure.MALFORMED);
    }

    @Test
    void oversizedAndNonUtf8MessagesAreMalformed() {
        byte[] large = bytes("n,,\u0001auth=Bearer " + "a".repeat(BearerServer.MAX_MESSAGE) + "\u0001\u0001");
        assertFailed(BearerServer.oauthBearer().start(Optional.of(large)), SaslFailure.MALFORMED);
        assertFailed(BearerServer.oauthBearer().start(Optional.of(new byte[] {'n', ',', ',', 1, (byte) 0xff, 1, 1})),
                SaslFailure.MALFORMED);
    }

    @Test
    void nothingIsAcceptedAfterTheToken() {
        BearerServer server = BearerServer.oauthBearer();
        token(server.start(Optional.of(bytes("n,,\u0001auth=Bearer t\u0001\u0001"))));
        assertFailed(server.respond(new byte[] {1}), SaslFailure.OUT_OF_SEQUENCE);
    }
}
