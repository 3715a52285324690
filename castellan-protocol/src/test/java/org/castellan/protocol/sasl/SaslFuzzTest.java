package org.castellan.protocol.sasl;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import org.castellan.testkit.ScramClient;

/**
 * Jazzer fuzz targets for the SASL mechanisms (client input never makes them throw, see
 * {@link SaslServer}): PLAIN and LOGIN against a direct reading of their specifications, SCRAM's
 * client-first and client-final messages with the outcome a correct server must reach, and
 * EXTERNAL. {@code ./mvnw verify} runs them in regression mode over {@code SaslFuzzTestInputs};
 * {@code JAZZER_FUZZ=1} fuzzes for real (docs/testing.md).
 */
class SaslFuzzTest {

    // RFC 7677 §3's salt and password; the credential is derived once, each exchange only hashes.
    private static final byte[] SALT = Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ==");
    private static final int ITERATIONS = 4096;
    private static final ScramCredential PENCIL = TestCredentials.credential("pencil", SALT, ITERATIONS);
    private static final byte[] SALTED = ScramClient.saltedPassword("pencil", SALT, ITERATIONS);
    private static final String SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private static final String BINDING_TYPE = "tls-exporter";
    private static final byte[] BINDING = "exporter-data-of-this-connection".getBytes(StandardCharsets.US_ASCII);

    /**
     * PLAIN (RFC 4616 §2): credentials exactly when the message is {@code [authzid] NUL authcid
     * NUL passwd} in valid UTF-8 with authcid and passwd not empty and each field within
     * {@link PlainServer#MAX_FIELD}; they are the fields as sent; a second message is out of sequence.
     */
    @FuzzTest(maxDuration = "30s")
    void plain(FuzzedDataProvider data) {
        byte[] message = data.consumeRemainingAsBytes();
        PlainServer server = new PlainServer();
        SaslResult result = server.start(Optional.of(message));
        String[] fields = plainFields(message);
        if (fields == null) {
            assertThat(result).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        } else {
            assertThat(result).isInstanceOf(SaslResult.PasswordCredentials.class);
            SaslResult.PasswordCredentials c = (SaslResult.PasswordCredentials) result;
            assertThat(c.authzid()).isEqualTo(fields[0]);
            assertThat(c.username()).isEqualTo(fields[1]);
            assertThat(new String(c.password())).isEqualTo(fields[2]);
        }
        assertThat(server.respond(message)).isEqualTo(new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE));
    }

    /**
     * LOGIN (draft-murchison-sasl-login-00): prompts "Username:" then "Password:"; each answer is
     * one non-empty UTF-8 string within {@link LoginServer#MAX_FIELD} (the user name without NUL),
     * anything else fails; after the end every message is out of sequence.
     */
    @FuzzTest(maxDuration = "30s")
    void login(FuzzedDataProvider data) {
        LoginServer server = new LoginServer();
        boolean initial = data.consumeBoolean();
        byte[] username = data.consumeBytes(data.consumeInt(0, 1100));
        byte[] password = data.consumeBytes(data.consumeInt(0, 1100));
        byte[] after = data.consumeRemainingAsBytes();
        SaslResult r;
        if (initial) {
            r = server.start(Optional.of(username));
        } else {
            assertThat(((SaslResult.Challenge) server.start(Optional.empty())).data()).isEqualTo(LoginServer.USERNAME_PROMPT);
            r = server.respond(username);
        }
        String name = utf8(username);
        if (name == null || name.isEmpty() || name.indexOf('\0') >= 0 || username.length > LoginServer.MAX_FIELD) {
            assertThat(r).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        } else {
            assertThat(((SaslResult.Challenge) r).data()).isEqualTo(LoginServer.PASSWORD_PROMPT);
            r = server.respond(password);
            String secret = utf8(password);
            if (secret == null || secret.isEmpty() || password.length > LoginServer.MAX_FIELD) {
                assertThat(r).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
            } else {
                SaslResult.PasswordCredentials c = (SaslResult.PasswordCredentials) r;
                assertThat(c.authzid()).isEmpty();
                assertThat(c.username()).isEqualTo(name);
                assertThat(new String(c.password())).isEqualTo(secret);
            }
        }
        assertThat(server.respond(after)).isEqualTo(new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE));
    }

    /**
     * SCRAM-SHA-256(-PLUS), RFC 5802 §5 and §7, on a connection with or without channel binding:
     * a client-first message is either the fuzzer's bytes or built from its choices (cbind flag,
     * authzid, name, nonce, extensions), in which case the server must accept exactly when the
     * RFC says it may. The client-final message is the fuzzer's bytes, or the right one for the
     * password, possibly with one octet changed: only the unchanged right one verifies, with the
     * right server signature. Names come back as sent, with =2C and =3D decoded; nothing throws.
     */
    @FuzzTest(maxDuration = "30s")
    void scram(FuzzedDataProvider data) {
        boolean plus = data.consumeBoolean();
        boolean advertised = plus || data.consumeBoolean();
        Optional<ScramServer.Binding> binding = advertised
                ? Optional.of(new ScramServer.Binding(BINDING_TYPE, BINDING)) : Optional.empty();
        ScramServer server = new ScramServer(plus, binding, advertised, SERVER_NONCE);
        boolean knownUser = data.consumeBoolean();

        ClientFirst first = data.consumeBoolean() ? ClientFirst.of(data) : null;
        byte[] firstBytes = first != null ? first.bytes() : data.consumeBytes(data.consumeInt(0, 600));
        SaslResult r = data.consumeBoolean() ? server.start(Optional.of(firstBytes)) : server.respond(firstBytes);
        if (first != null && first.modelled()) {
            SaslFailure expected = first.expectedFailure(plus, advertised);
            if (expected != null) assertThat(r).isEqualTo(new SaslResult.Failed(expected));
            else assertThat(r).isEqualTo(new SaslResult.NeedCredential(first.authzid, first.username));
        }
        if (r instanceof SaslResult.Challenge) {
            assertThat(firstBytes).as("only an empty initial response asks for the message").isEmpty();
            return;
        }
        if (!(r instanceof SaslResult.NeedCredential need)) {
            assertFinished(server, data);
            return;
        }
        assertThat(ScramServer.saslName(escape(need.username()))).isEqualTo(need.username());

        SaslResult challenge = knownUser ? server.credential(PENCIL) : server.unknownUser(SALT, ITERATIONS);
        String serverFirst = new String(((SaslResult.Challenge) challenge).data(), StandardCharsets.UTF_8);
        String clientNonce = serverFirst.substring(2, serverFirst.indexOf(",s=") - SERVER_NONCE.length());
        if (first != null && first.modelled()) assertThat(clientNonce).isEqualTo(first.nonce);
        assertThat(serverFirst).isEqualTo("r=" + clientNonce + SERVER_NONCE + ",s=" + Base64.getEncoder().encodeToString(SALT)
                + ",i=" + ITERATIONS);

        byte[] finalBytes;
        boolean built = first != null && first.modelled() && data.consumeBoolean();
        boolean right = false;
        if (built) {
            byte[] gs2 = first.gs2Header().getBytes(StandardCharsets.UTF_8);
            ByteArrayOutputStream cbind = new ByteArrayOutputStream();
            cbind.writeBytes(gs2);
            if (plus) cbind.writeBytes(BINDING);
            String withoutProof = "c=" + Base64.getEncoder().encodeToString(cbind.toByteArray()) + ",r=" + clientNonce + SERVER_NONCE;
            String authMessage = first.bare() + "," + serverFirst + "," + withoutProof;
            finalBytes = (withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof(authMessage)))
                    .getBytes(StandardCharsets.UTF_8);
            byte[] original = finalBytes.clone();
            int flip = data.consumeInt(-1, finalBytes.length - 1);
            if (flip >= 0) finalBytes[flip] ^= (byte) data.consumeInt(1, 255);
            // base64 ignores the spare bits of its last character (RFC 4648 §3.5 allows it), so a
            // changed octet may still say the same.
            right = meaning(finalBytes).equals(meaning(original));
            if (right && knownUser) {
                SaslResult.Verified verified = (SaslResult.Verified) server.respond(finalBytes);
                assertThat(verified.username()).isEqualTo(first.username);
                assertThat(verified.authzid()).isEqualTo(first.authzid);
                String signature = Base64.getEncoder().encodeToString(
                        ScramClient.hmac(ScramClient.hmac(SALTED, "Server Key"), authMessage.getBytes(StandardCharsets.UTF_8)));
                assertThat(new String(verified.serverFinal(), StandardCharsets.US_ASCII)).isEqualTo("v=" + signature);
                assertFinished(server, data);
                return;
            }
        } else {
            finalBytes = data.consumeBytes(data.consumeInt(0, 600));
        }
        SaslResult last = server.respond(finalBytes);
        // Only a client that knows the password can be verified; the fuzzer's own bytes may be one.
        if (!knownUser || (built && !right)) assertThat(last).isInstanceOf(SaslResult.Failed.class);
        assertFinished(server, data);
    }

    /** EXTERNAL (RFC 4422 App. A): the authorization identity as sent, when it is UTF-8 without NUL within the limit. */
    @FuzzTest(maxDuration = "30s")
    void external(FuzzedDataProvider data) {
        boolean initial = data.consumeBoolean();
        byte[] authzid = data.consumeRemainingAsBytes();
        ExternalServer server = new ExternalServer();
        SaslResult r = initial ? server.start(Optional.of(authzid)) : server.start(Optional.empty());
        if (!initial) {
            assertThat(((SaslResult.Challenge) r).data()).isEmpty();
            r = server.respond(authzid);
        }
        String text = utf8(authzid);
        if (text == null || text.indexOf('\0') >= 0 || authzid.length > ExternalServer.MAX_AUTHZID) {
            assertThat(r).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        } else {
            assertThat(r).isEqualTo(new SaslResult.ExternalIdentity(text));
        }
        assertThat(server.respond(authzid)).isEqualTo(new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE));
    }

    /**
     * OAUTHBEARER and XOAUTH2 (RFC 7628 §3.1): any bytes give a token or MALFORMED; a token is a
     * non-empty RFC 6750 b64token that the message carries after "auth=Bearer "; then nothing more.
     */
    @FuzzTest(maxDuration = "30s")
    void bearer(FuzzedDataProvider data) {
        boolean xoauth2 = data.consumeBoolean();
        byte[] message = data.consumeRemainingAsBytes();
        BearerServer server = xoauth2 ? BearerServer.xoauth2() : BearerServer.oauthBearer();
        SaslResult r = server.start(Optional.of(message));
        if (r instanceof SaslResult.BearerToken t) {
            assertThat(t.token()).matches("[A-Za-z0-9\\-._~+/]+=*");
            assertThat(new String(message, StandardCharsets.UTF_8).toLowerCase(java.util.Locale.ROOT))
                    .contains("auth=bearer ").contains(t.token().toLowerCase(java.util.Locale.ROOT));
            assertThat(message.length).isLessThanOrEqualTo(BearerServer.MAX_MESSAGE);
        } else {
            assertThat(r).isEqualTo(new SaslResult.Failed(SaslFailure.MALFORMED));
        }
        assertThat(server.respond(message)).isEqualTo(new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE));
    }

    // ---- what the targets compare with

    /** After its outcome the exchange answers everything as out of sequence. */
    private static void assertFinished(ScramServer server, FuzzedDataProvider data) {
        assertThat(server.respond(data.consumeBytes(64))).isEqualTo(new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE));
    }

    /** A client-final message as the server reads it: channel binding and proof decoded, the rest as written. */
    private static String meaning(byte[] clientFinal) {
        String text = utf8(clientFinal);
        int proofAt = text == null ? -1 : text.lastIndexOf(",p=");
        if (proofAt < 0 || !text.startsWith("c=")) return "unreadable " + Base64.getEncoder().encodeToString(clientFinal);
        int comma = text.indexOf(',');
        try {
            return java.util.HexFormat.of().formatHex(Base64.getDecoder().decode(text.substring(2, comma))) + "|"
                    + text.substring(comma, proofAt) + "|"
                    + java.util.HexFormat.of().formatHex(Base64.getDecoder().decode(text.substring(proofAt + 3)));
        } catch (IllegalArgumentException notBase64) {
            return "unreadable " + Base64.getEncoder().encodeToString(clientFinal);
        }
    }

    /** RFC 4616 §2 read directly: the three fields, or null when the message is not a PLAIN message. */
    private static String[] plainFields(byte[] message) {
        int first = -1;
        int second = -1;
        for (int i = 0; i < message.length; i++) {
            if (message[i] != 0) continue;
            if (first < 0) first = i;
            else if (second < 0) second = i;
            else return null;
        }
        if (second < 0 || message.length > PlainServer.MAX_MESSAGE) return null;
        if (first > PlainServer.MAX_FIELD || second - first - 1 > PlainServer.MAX_FIELD
                || message.length - second - 1 > PlainServer.MAX_FIELD) {
            return null;
        }
        String authzid = utf8(java.util.Arrays.copyOfRange(message, 0, first));
        String authcid = utf8(java.util.Arrays.copyOfRange(message, first + 1, second));
        String passwd = utf8(java.util.Arrays.copyOfRange(message, second + 1, message.length));
        if (authzid == null || authcid == null || passwd == null || authcid.isEmpty() || passwd.isEmpty()) return null;
        return new String[] {authzid, authcid, passwd};
    }

    /** Strict UTF-8 (RFC 3629), or null. */
    private static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** RFC 5802 §5.1 saslname: "," and "=" as =2C and =3D. */
    private static String escape(String name) {
        return name.replace("=", "=3D").replace(",", "=2C");
    }

    /** ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage) (RFC 5802 §3). */
    private static byte[] proof(String authMessage) {
        byte[] clientKey = ScramClient.hmac(SALTED, "Client Key");
        byte[] signature = ScramClient.hmac(ScramClient.sha256(clientKey), authMessage.getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < clientKey.length; i++) clientKey[i] ^= signature[i];
        return clientKey;
    }

    /**
     * A client-first message from the fuzzer's choices, each part possibly wrong.
     *
     * @param flag {@code n}, {@code y} or {@code p=type}, or something else
     * @param extensions what follows the nonce, starting with "," when present
     */
    private record ClientFirst(String flag, String authzid, String username, String nonce, String extensions,
            boolean mandatoryExtension) {

        static ClientFirst of(FuzzedDataProvider data) {
            String flag = switch (data.consumeInt(0, 4)) {
                case 0 -> "n";
                case 1 -> "y";
                case 2 -> "p=" + BINDING_TYPE;
                case 3 -> "p=tls-server-end-point";
                default -> text(data, 8);
            };
            String authzid = data.consumeBoolean() ? "" : text(data, 30);
            String username = text(data, 60);
            String nonce = data.consumeBoolean() ? ascii(data, 40) : "rOprNGfwEbeRWgbNEkqO";
            String extensions = switch (data.consumeInt(0, 3)) {
                case 0 -> "";
                case 1 -> ",x=" + ascii(data, 10);
                case 2 -> "," + ascii(data, 10);
                default -> ",t=1,u=" + ascii(data, 5);
            };
            return new ClientFirst(flag, authzid, username, nonce, extensions, data.consumeInt(0, 15) == 0);
        }

        /** Valid UTF-8 of any characters, as a user name may be. */
        private static String text(FuzzedDataProvider data, int max) {
            return new String(data.consumeBytes(data.consumeInt(0, max)), StandardCharsets.UTF_8);
        }

        /** US-ASCII, controls included. */
        private static String ascii(FuzzedDataProvider data, int max) {
            byte[] b = data.consumeBytes(data.consumeInt(0, max));
            for (int i = 0; i < b.length; i++) b[i] &= 0x7f;
            return new String(b, StandardCharsets.US_ASCII);
        }

        /**
         * Whether {@link #expectedFailure} models this message: a comma in the flag or the nonce
         * moves the server's split points, and what it then reads is its own parser's business.
         */
        boolean modelled() {
            return flag.indexOf(',') < 0 && nonce.indexOf(',') < 0;
        }

        String gs2Header() {
            return flag + "," + (authzid.isEmpty() ? "" : "a=" + escape(authzid)) + ",";
        }

        String bare() {
            return (mandatoryExtension ? "m=ext," : "") + "n=" + escape(username) + ",r=" + nonce + extensions;
        }

        byte[] bytes() {
            return (gs2Header() + bare()).getBytes(StandardCharsets.UTF_8);
        }

        /** What RFC 5802 makes of this message on this connection; null when the server must go on. */
        SaslFailure expectedFailure(boolean plus, boolean advertised) {
            if (bytes().length > ScramServer.MAX_MESSAGE) return SaslFailure.MALFORMED;
            if (flag.startsWith("p=")) {
                if (!flag.substring(2).matches("[A-Za-z0-9.-]+") || !plus) return SaslFailure.MALFORMED;
                if (!flag.substring(2).equals(BINDING_TYPE)) return SaslFailure.UNSUPPORTED;
            } else if (flag.equals("y")) {
                if (plus) return SaslFailure.MALFORMED;
                if (advertised) return SaslFailure.DOWNGRADE;
            } else if (flag.equals("n")) {
                if (plus) return SaslFailure.MALFORMED;
            } else {
                return SaslFailure.MALFORMED;
            }
            if (mandatoryExtension) return SaslFailure.UNSUPPORTED;
            if (username.isEmpty() || nonce.isEmpty() || !nonce.chars().allMatch(c -> c >= 0x21 && c <= 0x7e)) {
                return SaslFailure.MALFORMED;
            }
            if (!extensions.isEmpty()) {
                for (String attribute : extensions.substring(1).split(",", -1)) {
                    boolean ok = attribute.length() >= 2 && attribute.charAt(1) == '='
                            && ((attribute.charAt(0) >= 'a' && attribute.charAt(0) <= 'z')
                                    || (attribute.charAt(0) >= 'A' && attribute.charAt(0) <= 'Z'));
                    if (!ok) return SaslFailure.MALFORMED;
                }
            }
            return null;
        }
    }
}
