package org.castellan.protocol.sasl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ScramServerTest {

    // RFC 7677 §3: user "user", password "pencil".
    private static final String CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
    private static final String SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private static final String CLIENT_FIRST = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    private static final String SERVER_FIRST =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private static final String CLIENT_FINAL = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private static final String SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
    private static final byte[] SALT = Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ==");
    private static final ScramCredential PENCIL = ScramClient.credential("pencil", SALT, 4096);
    private static final byte[] EXPORTER = "exporter-data-of-this-connection".getBytes(StandardCharsets.US_ASCII);

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(SaslResult result) {
        assertThat(result).isInstanceOf(SaslResult.Challenge.class);
        return new String(((SaslResult.Challenge) result).data(), StandardCharsets.UTF_8);
    }

    private static ScramServer plainServer(boolean plusAdvertised) {
        Optional<ScramServer.Binding> binding = plusAdvertised
                ? Optional.of(new ScramServer.Binding("tls-exporter", EXPORTER)) : Optional.empty();
        return new ScramServer(false, binding, plusAdvertised, SERVER_NONCE);
    }

    private static ScramServer plusServer() {
        return new ScramServer(true, Optional.of(new ScramServer.Binding("tls-exporter", EXPORTER)), true, SERVER_NONCE);
    }

    @Test
    void testClientReproducesTheRfc7677Exchange() {
        ScramClient client = ScramClient.plain("user", "pencil", CLIENT_NONCE);
        assertThat(new String(client.clientFirst(), StandardCharsets.UTF_8)).isEqualTo(CLIENT_FIRST);
        assertThat(new String(client.clientFinal(bytes(SERVER_FIRST)), StandardCharsets.UTF_8)).isEqualTo(CLIENT_FINAL);
        assertThat(client.serverFinalValid(bytes(SERVER_FINAL))).isTrue();
        assertThat(client.serverFinalValid(bytes(SERVER_FINAL.replace('6', '7')))).isFalse();
    }

    @Test
    void serverReproducesTheRfc7677ExchangeByteForByte() {
        ScramServer server = plainServer(false);
        assertThat(server.mechanism()).isEqualTo("SCRAM-SHA-256");
        assertThat(server.start(Optional.of(bytes(CLIENT_FIRST))))
                .isEqualTo(new SaslResult.NeedCredential("", "user"));
        assertThat(text(server.credential(PENCIL))).isEqualTo(SERVER_FIRST);
        SaslResult result = server.respond(bytes(CLIENT_FINAL));
        assertThat(result).isInstanceOf(SaslResult.Verified.class);
        SaslResult.Verified verified = (SaslResult.Verified) result;
        assertThat(verified.username()).isEqualTo("user");
        assertThat(verified.authzid()).isEmpty();
        assertThat(new String(verified.serverFinal(), StandardCharsets.US_ASCII)).isEqualTo(SERVER_FINAL);
        assertThat(server.respond(bytes(CLIENT_FINAL))).isEqualTo(new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE));
    }

    @Test
    void withoutInitialResponseTheServerAsksWithAnEmptyChallenge() {
        ScramServer server = plainServer(false);
        assertThat(text(server.start(Optional.empty()))).isEmpty();
        assertThat(text(server.start(Optional.of(new byte[0])))).isEmpty();
        assertThat(server.respond(bytes(CLIENT_FIRST))).isEqualTo(new SaslResult.NeedCredential("", "user"));
    }

    @Test
    void wrongProofFails() {
        ScramServer server = plainServer(false);
        ScramClient client = ScramClient.plain("user", "pencils", "abcdef");
        server.start(Optional.of(client.clientFirst()));
        byte[] last = client.clientFinal(((SaslResult.Challenge) server.credential(PENCIL)).data());
        assertThat(server.respond(last)).isEqualTo(new SaslResult.Failed(SaslFailure.INVALID_PROOF));
    }

    @Test
    void randomNoncesRoundTripAndTheClientAcceptsTheServerFinal() {
        ScramServer server = new ScramServer(false, Optional.empty(), false, "Zm9vYmFyYmF6cXV4");
        ScramClient client = ScramClient.plain("al,ice=x", "pencil", "MTIzNDU2Nzg5MA");
        assertThat(server.start(Optional.of(client.clientFirst())))
                .isEqualTo(new SaslResult.NeedCredential("", "al,ice=x"));
        byte[] last = client.clientFinal(((SaslResult.Challenge) server.credential(PENCIL)).data());
        SaslResult.Verified verified = (SaslResult.Verified) server.respond(last);
        assertThat(client.serverFinalValid(verified.serverFinal())).isTrue();
    }

    @Test
    void plusBindsToTheChannel() {
        ScramServer server = plusServer();
        assertThat(server.mechanism()).isEqualTo("SCRAM-SHA-256-PLUS");
        ScramClient client = new ScramClient("user", "pencil", "abc", "p=tls-exporter,,", EXPORTER);
        server.start(Optional.of(client.clientFirst()));
        byte[] last = client.clientFinal(((SaslResult.Challenge) server.credential(PENCIL)).data());
        assertThat(new String(last, StandardCharsets.UTF_8)).startsWith("c="
                + Base64.getEncoder().encodeToString(bytes("p=tls-exporter,,exporter-data-of-this-connection")) + ",");
        SaslResult.Verified verified = (SaslResult.Verified) server.respond(last);
        assertThat(client.serverFinalValid(verified.serverFinal())).isTrue();
    }

    @Test
    void tamperedChannelBindingFails() {
        // What a man in the middle sees: its own TLS connection to the server, with other binding data.
        ScramServer server = plusServer();
        ScramClient client = new ScramClient("user", "pencil", "abc", "p=tls-exporter,,",
                bytes("exporter-data-of-another-connection"));
        server.start(Optional.of(client.clientFirst()));
        byte[] last = client.clientFinal(((SaslResult.Challenge) server.credential(PENCIL)).data());
        assertThat(server.respond(last)).isEqualTo(new SaslResult.Failed(SaslFailure.CHANNEL_BINDING_MISMATCH));
    }

    @Test
    void plusWithAnotherBindingTypeIsUnsupported() {
        ScramClient client = new ScramClient("user", "pencil", "abc", "p=tls-server-end-point,,", EXPORTER);
        assertThat(plusServer().start(Optional.of(client.clientFirst())))
                .isEqualTo(new SaslResult.Failed(SaslFailure.UNSUPPORTED));
    }

    @Test
    void plusMechanismWithoutBindingRequestAndBindingRequestWithoutPlusAreRefused() {
        assertThat(plusServer().start(Optional.of(bytes(CLIENT_FIRST))))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        assertThat(plainServer(true).start(Optional.of(bytes("p=tls-exporter,,n=user,r=abc"))))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
    }

    @Test
    void yFlagWhenPlusWasAdvertisedIsADowngrade() {
        assertThat(plainServer(true).start(Optional.of(bytes("y,,n=user,r=abc"))))
                .isEqualTo(new SaslResult.Failed(SaslFailure.DOWNGRADE));
    }

    @Test
    void yFlagWhenPlusWasNotAdvertisedIsFineAndBoundToTheHeader() {
        ScramServer server = plainServer(false);
        ScramClient client = new ScramClient("user", "pencil", "abc", "y,,", new byte[0]);
        server.start(Optional.of(client.clientFirst()));
        byte[] last = client.clientFinal(((SaslResult.Challenge) server.credential(PENCIL)).data());
        assertThat(new String(last, StandardCharsets.UTF_8)).startsWith("c=eSws,");
        assertThat(server.respond(last)).isInstanceOf(SaslResult.Verified.class);

        // A middlebox rewriting y to n in c= is caught: c= must repeat the gs2 header exactly.
        ScramServer other = plainServer(false);
        other.start(Optional.of(bytes("y,,n=user,r=abc")));
        other.credential(PENCIL);
        String rewritten = new String(last, StandardCharsets.UTF_8).replace("c=eSws,", "c=biws,");
        assertThat(other.respond(bytes(rewritten))).isEqualTo(new SaslResult.Failed(SaslFailure.CHANNEL_BINDING_MISMATCH));
    }

    @Test
    void unknownUserLooksTheSameUntilTheEnd() {
        byte[] fakeSalt = new byte[16];
        for (int i = 0; i < fakeSalt.length; i++) fakeSalt[i] = (byte) (i * 7);
        ScramServer known = plainServer(false);
        ScramServer unknown = plainServer(false);
        ScramCredential real = ScramClient.credential("pencil", SALT, 4096);
        known.start(Optional.of(bytes("n,,n=user,r=abc")));
        unknown.start(Optional.of(bytes("n,,n=nobody,r=abc")));
        String knownFirst = text(known.credential(real));
        String unknownFirst = text(unknown.unknownUser(fakeSalt, 4096));
        String shape = "r=abc" + java.util.regex.Pattern.quote(SERVER_NONCE) + ",s=[A-Za-z0-9+/]{22}==,i=4096";
        assertThat(knownFirst).matches(shape);
        assertThat(unknownFirst).matches(shape);

        ScramClient client = ScramClient.plain("nobody", "pencil", "abc");
        client.clientFirst();
        assertThat(unknown.respond(client.clientFinal(bytes(unknownFirst))))
                .isEqualTo(new SaslResult.Failed(SaslFailure.UNKNOWN_USER));
    }

    @Test
    void authzidAndEscapedNamesAreDecoded() {
        assertThat(plainServer(false).start(Optional.of(bytes("n,a=boss=2Cx=3Dy@example.org,n=a=3Db=2Cc,r=abc"))))
                .isEqualTo(new SaslResult.NeedCredential("boss,x=y@example.org", "a=b,c"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",                                   // no gs2 header
        "n,",                                 // header cut short
        "x,,n=user,r=abc",                    // unknown flag
        "n,b=bob,n=user,r=abc",               // authzid without a=
        "n,a=,n=user,r=abc",                  // empty authzid
        "n,,n=us=2Xer,r=abc",                 // bad escape
        "n,,n=user=,r=abc",                   // bare '='
        "n,,n=,r=abc",                        // empty name
        "n,,r=abc,n=user",                    // wrong order
        "n,,n=user",                          // no nonce
        "n,,n=user,r=",                       // empty nonce
        "n,,n=user,r=a\u00e9b",               // nonce not printable ASCII
        "n,,n=user,r=abc,1nvalid",            // malformed extension
        "p=tls exporter,,n=user,r=abc",       // binding name with a space
    })
    void malformedClientFirstMessagesFail(String message) {
        ScramServer server = plusOrPlain(message);
        server.start(Optional.empty());
        assertThat(server.respond(bytes(message))).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
    }

    private static ScramServer plusOrPlain(String message) {
        return message.startsWith("p=") ? plusServer() : plainServer(false);
    }

    @Test
    void invalidUtf8AndOversizedMessagesFail() {
        assertThat(plainServer(false).start(Optional.of(new byte[] {'n', ',', ',', 'n', '=', (byte) 0xC3, ',', 'r', '=', 'a'})))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        String huge = "n,,n=" + "u".repeat(ScramServer.MAX_MESSAGE) + ",r=abc";
        assertThat(plainServer(false).start(Optional.of(bytes(huge))))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
    }

    @Test
    void mandatoryExtensionIsUnsupported() {
        assertThat(plainServer(false).start(Optional.of(bytes("n,,m=ext,n=user,r=abc"))))
                .isEqualTo(new SaslResult.Failed(SaslFailure.UNSUPPORTED));
    }

    @Test
    void finalMessageChecks() {
        String prefix = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        assertThat(afterServerFirst().respond(bytes("c=biws,r=rOprNGfwEbeRWgbNEkqOXXX,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")))
                .isEqualTo(new SaslResult.Failed(SaslFailure.NONCE_MISMATCH));
        assertThat(afterServerFirst().respond(bytes(prefix)))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        assertThat(afterServerFirst().respond(bytes(prefix + ",p=***")))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        assertThat(afterServerFirst().respond(bytes(prefix + ",p=AAAA")))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        assertThat(afterServerFirst().respond(bytes("c=***," + prefix.substring(7) + ",p=AAAA")))
                .isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        // Extensions before the proof are allowed and covered by the AuthMessage: the RFC proof no longer fits.
        assertThat(afterServerFirst().respond(bytes(prefix + ",x=ext,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")))
                .isEqualTo(new SaslResult.Failed(SaslFailure.INVALID_PROOF));
    }

    @Test
    void stepsOutOfOrderFail() {
        ScramServer server = plainServer(false);
        assertThat(server.credential(PENCIL)).isEqualTo(new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE));
        ScramServer waiting = plainServer(false);
        waiting.start(Optional.of(bytes(CLIENT_FIRST)));
        assertThat(waiting.respond(bytes(CLIENT_FINAL))).isEqualTo(new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE));
    }

    private static ScramServer afterServerFirst() {
        ScramServer server = plainServer(false);
        server.start(Optional.of(bytes(CLIENT_FIRST)));
        server.credential(PENCIL);
        return server;
    }
}
