package org.castellan.protocol.sasl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PlainLoginExternalTest {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void assertCredentials(SaslResult result, String authzid, String username, String password) {
        assertThat(result).isInstanceOf(SaslResult.PasswordCredentials.class);
        SaslResult.PasswordCredentials credentials = (SaslResult.PasswordCredentials) result;
        assertThat(credentials.authzid()).isEqualTo(authzid);
        assertThat(credentials.username()).isEqualTo(username);
        assertThat(new String(credentials.password())).isEqualTo(password);
        assertThat(credentials.toString()).doesNotContain(password);
    }

    /**
     * RFC 4616 §2 asks that at least 255 octets be taken in each field; Castellan takes up to
     * {@link PlainServer#MAX_FIELD} in each of the three, and refuses one octet more in any of them.
     */
    @Test
    void plainFieldsAreTakenUpToTheirLimitEach() {
        String most = "z".repeat(PlainServer.MAX_FIELD);
        String over = most + "z";
        String user = "u".repeat(PlainServer.MAX_FIELD);
        String password = "p".repeat(PlainServer.MAX_FIELD);
        assertCredentials(new PlainServer().start(Optional.of(bytes(most + "\0" + user + "\0" + password))), most, user, password);
        for (String message : new String[] {over + "\0u\0p", "\0" + over + "\0p", "\0u\0" + over}) {
            assertThat(new PlainServer().start(Optional.of(bytes(message)))).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        }
    }

    /** The LOGIN username and password, and EXTERNAL's authzid, are each taken up to their limit and refused past it. */
    @Test
    void loginAndExternalFieldsAreTakenUpToTheirLimit() {
        String most = "y".repeat(LoginServer.MAX_FIELD);
        LoginServer login = new LoginServer();
        assertThat(login.start(Optional.of(bytes(most)))).isInstanceOf(SaslResult.Challenge.class);
        String password = "p".repeat(LoginServer.MAX_FIELD);
        assertCredentials(login.respond(bytes(password)), "", most, password);
        assertThat(new LoginServer().start(Optional.of(bytes(most + "y")))).isInstanceOf(SaslResult.Failed.class);
        LoginServer longPassword = new LoginServer();
        longPassword.start(Optional.of(bytes("u")));
        assertThat(longPassword.respond(bytes(most + "y"))).isInstanceOf(SaslResult.Failed.class);
        String authzid = "x".repeat(ExternalServer.MAX_AUTHZID);
        assertThat(new ExternalServer().start(Optional.of(bytes(authzid)))).isEqualTo(new SaslResult.ExternalIdentity(authzid));
        assertThat(new ExternalServer().start(Optional.of(bytes(authzid + "x")))).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
    }

    @Test
    void plainWithInitialResponse() {
        // RFC 4616 §4 examples.
        assertCredentials(new PlainServer().start(Optional.of(bytes("\0tim\0tanstaaftanstaaf"))), "", "tim", "tanstaaftanstaaf");
        assertCredentials(new PlainServer().start(Optional.of(bytes("Ursel\0Kurt\0xipj3plmq"))), "Ursel", "Kurt", "xipj3plmq");
    }

    @Test
    void plainWithoutInitialResponseSendsAnEmptyChallenge() {
        PlainServer server = new PlainServer();
        assertThat(server.mechanism()).isEqualTo("PLAIN");
        SaslResult first = server.start(Optional.empty());
        assertThat(first).isInstanceOf(SaslResult.Challenge.class);
        assertThat(((SaslResult.Challenge) first).data()).isEmpty();
        assertCredentials(server.respond(bytes("\0j\u00f6rg@example.org\0p\u00e4ss w\u00f6rd")), "", "j\u00f6rg@example.org", "p\u00e4ss w\u00f6rd");
        assertThat(server.respond(bytes("\0a\0b"))).isEqualTo(new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "user", "\0user", "\0user\0", "\0\0password", "a\0b\0c\0d", "user\0password"})
    void plainMalformed(String message) {
        assertThat(new PlainServer().start(Optional.of(bytes(message)))).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
    }

    @Test
    void plainRefusesInvalidUtf8AndOversizedFields() {
        assertThat(new PlainServer().start(Optional.of(new byte[] {0, 'u', 0, (byte) 0xFF})))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        assertThat(new PlainServer().start(Optional.of(new byte[] {(byte) 0xC0, (byte) 0x80, 0, 'u', 0, 'p'})))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        String longest = "p".repeat(PlainServer.MAX_FIELD);
        assertCredentials(new PlainServer().start(Optional.of(bytes("\0u\0" + longest))), "", "u", longest);
        assertThat(new PlainServer().start(Optional.of(bytes("\0u\0" + longest + "p"))))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
    }

    @Test
    void loginPromptsForUsernameThenPassword() {
        LoginServer server = new LoginServer();
        assertThat(server.mechanism()).isEqualTo("LOGIN");
        SaslResult first = server.start(Optional.empty());
        assertThat(new String(((SaslResult.Challenge) first).data(), StandardCharsets.US_ASCII)).isEqualTo("Username:");
        SaslResult second = server.respond(bytes("tim@example.org"));
        assertThat(new String(((SaslResult.Challenge) second).data(), StandardCharsets.US_ASCII)).isEqualTo("Password:");
        assertCredentials(server.respond(bytes("tanstaaf")), "", "tim@example.org", "tanstaaf");
        assertThat(server.respond(bytes("again"))).isEqualTo(new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE));
    }

    @Test
    void loginTakesTheUsernameFromAnInitialResponse() {
        LoginServer server = new LoginServer();
        SaslResult first = server.start(Optional.of(bytes("tim@example.org")));
        assertThat(new String(((SaslResult.Challenge) first).data(), StandardCharsets.US_ASCII)).isEqualTo("Password:");
        assertCredentials(server.respond(bytes("tanstaaf")), "", "tim@example.org", "tanstaaf");
    }

    @Test
    void loginMalformed() {
        assertThat(new LoginServer().start(Optional.of(new byte[0]))).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        assertThat(new LoginServer().start(Optional.of(new byte[] {'a', 0}))).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        LoginServer server = new LoginServer();
        server.start(Optional.of(bytes("tim")));
        assertThat(server.respond(new byte[] {(byte) 0xFE})).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        LoginServer empty = new LoginServer();
        empty.start(Optional.of(bytes("tim")));
        assertThat(empty.respond(new byte[0])).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
    }

    @Test
    void externalWithAndWithoutAuthzid() {
        assertThat(new ExternalServer().start(Optional.of(new byte[0]))).isEqualTo(new SaslResult.ExternalIdentity(""));
        assertThat(new ExternalServer().start(Optional.of(bytes("tim@example.org"))))
                .isEqualTo(new SaslResult.ExternalIdentity("tim@example.org"));
        ExternalServer server = new ExternalServer();
        assertThat(server.mechanism()).isEqualTo("EXTERNAL");
        assertThat(((SaslResult.Challenge) server.start(Optional.empty())).data()).isEmpty();
        assertThat(server.respond(new byte[0])).isEqualTo(new SaslResult.ExternalIdentity(""));
        assertThat(server.respond(new byte[0])).isEqualTo(new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE));
    }

    @Test
    void externalMalformed() {
        assertThat(new ExternalServer().start(Optional.of(new byte[] {'a', 0, 'b'}))).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        assertThat(new ExternalServer().start(Optional.of(new byte[] {(byte) 0xFF}))).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        assertThat(new ExternalServer().start(Optional.of(bytes("a".repeat(ExternalServer.MAX_AUTHZID + 1)))))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
    }
}
