package org.castellan.security.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashSet;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class ScramSecretTest {

    // RFC 7677 §3.
    private static final String CLIENT_FIRST_BARE = "n=user,r=rOprNGfwEbeRWgbNEkqO";
    private static final String SERVER_FIRST =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private static final String CLIENT_FINAL_WITHOUT_PROOF = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private static final String CLIENT_PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private static final String SERVER_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
    private static final byte[] SALT = Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ==");

    private static byte[] authMessage() {
        return (CLIENT_FIRST_BARE + "," + SERVER_FIRST + "," + CLIENT_FINAL_WITHOUT_PROOF)
                .getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void rfc7677ExampleProofAndServerSignatureCheckOut() throws Exception {
        ScramSecret secret = ScramSecret.derive("pencil".toCharArray(), SALT, 4096);
        byte[] proof = Base64.getDecoder().decode(CLIENT_PROOF);

        // RFC 5802 §3, computed here independently of ScramSecret's own methods.
        Mac storedKeyMac = Mac.getInstance("HmacSHA256");
        storedKeyMac.init(new SecretKeySpec(secret.storedKey(), "HmacSHA256"));
        byte[] clientSignature = storedKeyMac.doFinal(authMessage());
        byte[] clientKey = new byte[32];
        for (int i = 0; i < 32; i++) clientKey[i] = (byte) (proof[i] ^ clientSignature[i]);
        assertThat(MessageDigest.getInstance("SHA-256").digest(clientKey)).isEqualTo(secret.storedKey());

        Mac serverKeyMac = Mac.getInstance("HmacSHA256");
        serverKeyMac.init(new SecretKeySpec(secret.serverKey(), "HmacSHA256"));
        assertThat(Base64.getEncoder().encodeToString(serverKeyMac.doFinal(authMessage())))
                .isEqualTo(SERVER_SIGNATURE);

        assertThat(secret.verifyClientProof(authMessage(), proof)).isTrue();
        assertThat(Base64.getEncoder().encodeToString(secret.serverSignature(authMessage())))
                .isEqualTo(SERVER_SIGNATURE);
        proof[0] ^= 1;
        assertThat(secret.verifyClientProof(authMessage(), proof)).isFalse();
    }

    @Test
    void passwordVerifiesAndWrongOnesDoNot() {
        ScramSecret secret = ScramSecret.derive("pencil".toCharArray(), SALT, 4096);
        assertThat(secret.verifyPassword("pencil".toCharArray())).isTrue();
        assertThat(secret.verifyPassword("Pencil".toCharArray())).isFalse();
        assertThat(secret.verifyPassword("pencil ".toCharArray())).isFalse();
        assertThat(secret.verifyPassword("".toCharArray())).isFalse();
        assertThat(secret.verifyPassword("pen\u0000cil".toCharArray())).isFalse();
    }

    @Test
    void encodeAndParseRoundTripInPostgresForm() {
        ScramSecret secret = ScramSecret.derive("correct horse".toCharArray(), 4096);
        String text = secret.encode();
        assertThat(text).matches("SCRAM-SHA-256\\$4096:[A-Za-z0-9+/=]{24}\\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}");
        ScramSecret parsed = ScramSecret.parse(text);
        assertThat(parsed).isEqualTo(secret);
        assertThat(parsed.verifyPassword("correct horse".toCharArray())).isTrue();
        assertThat(secret.toString()).doesNotContain(Base64.getEncoder().encodeToString(secret.storedKey()));
    }

    @Test
    void freshSaltsDiffer() {
        Set<String> salts = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            ScramSecret secret = ScramSecret.derive("same".toCharArray());
            assertThat(secret.salt()).hasSize(ScramSecret.SALT_BYTES);
            salts.add(Base64.getEncoder().encodeToString(secret.salt()));
        }
        assertThat(salts).hasSize(3);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "SCRAM-SHA-1$4096:c2FsdA==$AAAA:AAAA                     | must start with 'SCRAM-SHA-256$'",
        "SCRAM-SHA-256$4096:c2FsdA==                             | two '$'-separated parts",
        "SCRAM-SHA-256$4096$a:b                                  | lacks '<iterations>:<salt>'",
        "SCRAM-SHA-256$4096:c2FsdA==$onlyone                     | lacks '<StoredKey>:<ServerKey>'",
        "SCRAM-SHA-256$many:c2FsdA==$a:b                         | iteration count is not a number",
        "SCRAM-SHA-256$4096:c2F*dA==$a:b                         | salt is not valid base64",
        "SCRAM-SHA-256$4096:$a:b                                 | salt is empty",
        "SCRAM-SHA-256$4096:c2FsdA==$c2FsdA==:c2FsdA==           | must each decode to 32 bytes",
    })
    void malformedStringsSayWhatIsWrong(String text, String message) {
        assertThatThrownBy(() -> ScramSecret.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }

    @Test
    void tooFewIterationsAreRefused() {
        String key = Base64.getEncoder().encodeToString(new byte[32]);
        assertThatThrownBy(() -> ScramSecret.parse("SCRAM-SHA-256$1:c2FsdA==$" + key + ":" + key))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("between 4096 and");
        assertThatThrownBy(() -> ScramSecret.derive("x".toCharArray(), 1000))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void saslPrepMapsSpacesDropsInvisiblesAndRefusesControls() {
        // RFC 4013 §3 examples.
        assertThat(SaslPrep.prepare("I\u00ADX", true)).isEqualTo("IX");
        assertThat(SaslPrep.prepare("user", true)).isEqualTo("user");
        assertThat(SaslPrep.prepare("\u00AA", true)).isEqualTo("a");
        assertThat(SaslPrep.prepare("\u2168", true)).isEqualTo("IX");
        assertThat(SaslPrep.prepare("a\u00A0b", true)).isEqualTo("a b");
        assertThatThrownBy(() -> SaslPrep.prepare("\u0007", true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("U+0007").hasMessageContaining("control character");
        assertThatThrownBy(() -> ScramSecret.derive("secret\u0007".toCharArray(), 4096))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("password is not acceptable")
                .hasMessageNotContaining("secret");
        assertThatThrownBy(() -> ScramSecret.derive(new char[0], 4096))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
        // The same password typed with a composed or decomposed accent is one password.
        ScramSecret secret = ScramSecret.derive("caf\u00E9".toCharArray(), 4096);
        assertThat(secret.verifyPassword("cafe\u0301".toCharArray())).isTrue();
    }

    /** The first and last code point of each range of RFC 3454's tables that SASLprep uses (RFC 4013 §2). */
    @ParameterizedTest(name = "U+{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
            180B  | nothing
            180D  | nothing
            200B  | nothing
            200D  | nothing
            FE00  | nothing
            FE0F  | nothing
            2000  | space
            200A  | space
            1D173 | a control character
            1D17A | a control character
            2060  | nothing
            2063  | a control character
            FFF9  | a control character
            FFFC  | a control character
            FDD0  | a non-character
            FDEF  | a non-character
            2FF0  | not plain text
            2FFB  | not plain text
            202A  | a display-changing character
            202E  | a display-changing character
            206A  | a display-changing character
            206F  | a display-changing character
            E0020 | a tagging character
            E007F | a tagging character
            """)
    void saslPrepTakesEachRangeOfItsTablesWhole(String hex, String expected) {
        String c = Character.toString(Integer.parseInt(hex, 16));
        switch (expected) {
            case "nothing" -> assertThat(SaslPrep.prepare("a" + c + "b", true)).isEqualTo("ab"); // B.1
            case "space" -> assertThat(SaslPrep.prepare("a" + c + "b", true)).isEqualTo("a b"); // C.1.2
            default -> assertThatThrownBy(() -> SaslPrep.prepare("a" + c + "b", true))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("character 2 (U+" + hex + ") is " + expected);
        }
    }

    @Test
    void generatedPasswordsAreLongUnambiguousAndDistinct() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            String password = Passwords.generate();
            assertThat(password).hasSize(Passwords.LENGTH).doesNotContainPattern("[0Oo1lIi5Ss2Zz]");
            seen.add(password);
        }
        assertThat(seen).hasSize(50);
    }
}
