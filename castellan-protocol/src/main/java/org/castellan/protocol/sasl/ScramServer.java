package org.castellan.protocol.sasl;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;

/**
 * SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677), server side.
 *
 * <p>Steps: client-first → {@link SaslResult.NeedCredential}; the caller answers with
 * {@link #credential} (or {@link #unknownUser} with a fake salt, so that the server-first message
 * of a missing account looks like any other) → server-first challenge; client-final →
 * {@link SaslResult.Verified} carrying the server-final {@code v=} message, or {@link SaslResult.Failed}.
 *
 * <p>Channel binding (RFC 5802 §6): with -PLUS the client must name this connection's binding
 * type and {@code c=} must carry the gs2 header followed by the binding data. Without -PLUS, a
 * client that says {@code y} ("I could bind, but you did not offer it") while the server did
 * offer -PLUS has had the offer stripped by someone in the middle, and the exchange fails.
 *
 * <p>User names are returned with {@code =2C}/{@code =3D} decoded (RFC 5802 §5.1) but not
 * SASLprepped: preparation belongs with the credential lookup.
 */
public final class ScramServer implements SaslServer {

    public static final String SHA_256 = "SCRAM-SHA-256";
    public static final String SHA_256_PLUS = "SCRAM-SHA-256-PLUS";
    /**
     * A client-first message is a gs2 header, a name and a nonce; a name of a few hundred octets
     * and a nonce of a few dozen fit many times over. Anything longer is not a real client.
     */
    public static final int MAX_MESSAGE = 4096;
    /** SHA-256 output: the length of ClientProof (RFC 7677 §3). */
    static final int PROOF_BYTES = 32;

    /**
     * This connection's channel binding.
     *
     * @param type {@code tls-exporter} (RFC 9266) or {@code tls-server-end-point} (RFC 5929)
     */
    public record Binding(String type, byte[] data) {
        public Binding {
            Objects.requireNonNull(type, "type");
            data = data.clone();
        }

        @Override
        public byte[] data() {
            return data.clone();
        }
    }

    private enum State { CLIENT_FIRST, CREDENTIAL, CLIENT_FINAL, DONE }

    private final boolean plus;
    private final Optional<Binding> binding;
    private final boolean plusAdvertised;
    private final String serverNonce;

    private State state = State.CLIENT_FIRST;
    private String gs2Header;
    private String authzid;
    private String username;
    private String clientFirstBare;
    private String clientNonce;
    private String serverFirst;
    private ScramCredential credential;

    /**
     * @param plus whether this is SCRAM-SHA-256-PLUS
     * @param binding this connection's channel binding, if the TLS engine provides one
     * @param plusAdvertised whether -PLUS was offered on this connection (for the downgrade check)
     * @param serverNonce the server's part of the nonce: fresh random printable characters
     *     (RFC 5802 §5.1), without commas
     * @throws IllegalArgumentException if {@code plus} without a binding, or the nonce is unusable
     */
    public ScramServer(boolean plus, Optional<Binding> binding, boolean plusAdvertised, String serverNonce) {
        this.plus = plus;
        this.binding = Objects.requireNonNull(binding, "binding");
        this.plusAdvertised = plusAdvertised;
        this.serverNonce = Objects.requireNonNull(serverNonce, "serverNonce");
        if (plus && binding.isEmpty()) throw new IllegalArgumentException(SHA_256_PLUS + " needs channel binding data");
        if (serverNonce.isEmpty() || !printable(serverNonce)) {
            throw new IllegalArgumentException("a SCRAM nonce is non-empty printable ASCII without ','");
        }
    }

    @Override
    public String mechanism() {
        return plus ? SHA_256_PLUS : SHA_256;
    }

    @Override
    public SaslResult start(Optional<byte[]> initialResponse) {
        if (initialResponse.isPresent() && initialResponse.get().length > 0) return respond(initialResponse.get());
        // SCRAM is client-first: an absent or empty initial response asks for the client-first message.
        return new SaslResult.Challenge(new byte[0]);
    }

    @Override
    public SaslResult respond(byte[] response) {
        return switch (state) {
            case CLIENT_FIRST -> clientFirst(response);
            case CLIENT_FINAL -> clientFinal(response);
            case CREDENTIAL, DONE -> fail(SaslFailure.OUT_OF_SEQUENCE);
        };
    }

    /** Continues after {@link SaslResult.NeedCredential} with the account's secret: the server-first challenge. */
    public SaslResult credential(ScramCredential stored) {
        Objects.requireNonNull(stored, "stored");
        if (state != State.CREDENTIAL) return fail(SaslFailure.OUT_OF_SEQUENCE);
        credential = stored;
        return serverFirst(stored.salt(), stored.iterations());
    }

    /**
     * Continues after {@link SaslResult.NeedCredential} for a name with no account: the server-first
     * challenge carries {@code fakeSalt} and {@code iterations} and the exchange fails at the end.
     * The caller derives the salt from the name so that repeated tries see the same one.
     */
    public SaslResult unknownUser(byte[] fakeSalt, int iterations) {
        if (state != State.CREDENTIAL) return fail(SaslFailure.OUT_OF_SEQUENCE);
        credential = null;
        return serverFirst(fakeSalt, iterations);
    }

    private SaslResult serverFirst(byte[] salt, int iterations) {
        serverFirst = "r=" + clientNonce + serverNonce + ",s=" + Base64.getEncoder().encodeToString(salt)
                + ",i=" + iterations;
        state = State.CLIENT_FINAL;
        return new SaslResult.Challenge(serverFirst.getBytes(StandardCharsets.UTF_8));
    }

    // RFC 5802 §7: client-first-message = gs2-header client-first-message-bare
    private SaslResult clientFirst(byte[] message) {
        if (message.length > MAX_MESSAGE) return fail(SaslFailure.MALFORMED);
        String text = Utf8.string(message, 0, message.length);
        if (text == null) return fail(SaslFailure.MALFORMED);
        // gs2-header = gs2-cbind-flag "," [ authzid ] ","
        int firstComma = text.indexOf(',');
        int secondComma = firstComma < 0 ? -1 : text.indexOf(',', firstComma + 1);
        if (secondComma < 0) return fail(SaslFailure.MALFORMED);
        String flag = text.substring(0, firstComma);
        String authzidPart = text.substring(firstComma + 1, secondComma);
        gs2Header = text.substring(0, secondComma + 1);
        clientFirstBare = text.substring(secondComma + 1);

        if (flag.startsWith("p=")) {
            String type = flag.substring(2);
            if (!type.matches("[A-Za-z0-9.-]+")) return fail(SaslFailure.MALFORMED);
            // RFC 5802 §6: a binding request on the non-PLUS mechanism, or of a type we do not have.
            if (!plus) return fail(SaslFailure.MALFORMED);
            if (!binding.get().type().equals(type)) return fail(SaslFailure.UNSUPPORTED);
        } else if (flag.equals("y")) {
            if (plus) return fail(SaslFailure.MALFORMED);
            // RFC 5802 §6: the client could bind and believes we cannot; we offered -PLUS, so the
            // offer it saw was tampered with.
            if (plusAdvertised) return fail(SaslFailure.DOWNGRADE);
        } else if (flag.equals("n")) {
            if (plus) return fail(SaslFailure.MALFORMED);
        } else {
            return fail(SaslFailure.MALFORMED);
        }

        if (authzidPart.isEmpty()) {
            authzid = "";
        } else {
            if (!authzidPart.startsWith("a=")) return fail(SaslFailure.MALFORMED);
            authzid = saslName(authzidPart.substring(2));
            if (authzid == null || authzid.isEmpty()) return fail(SaslFailure.MALFORMED);
        }

        // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
        String[] attributes = clientFirstBare.split(",", -1);
        // RFC 5802 §5.1: m= is reserved for a mandatory extension we cannot know; fail.
        if (attributes.length > 0 && attributes[0].startsWith("m=")) return fail(SaslFailure.UNSUPPORTED);
        if (attributes.length < 2 || !attributes[0].startsWith("n=") || !attributes[1].startsWith("r=")) {
            return fail(SaslFailure.MALFORMED);
        }
        username = saslName(attributes[0].substring(2));
        clientNonce = attributes[1].substring(2);
        if (username == null || username.isEmpty() || clientNonce.isEmpty() || !printable(clientNonce)) {
            return fail(SaslFailure.MALFORMED);
        }
        for (int i = 2; i < attributes.length; i++) {
            if (!attribute(attributes[i])) return fail(SaslFailure.MALFORMED);
        }
        state = State.CREDENTIAL;
        return new SaslResult.NeedCredential(authzid, username);
    }

    // client-final-message = channel-binding "," nonce ["," extensions] "," proof
    private SaslResult clientFinal(byte[] message) {
        if (message.length > MAX_MESSAGE) return fail(SaslFailure.MALFORMED);
        String text = Utf8.string(message, 0, message.length);
        if (text == null) return fail(SaslFailure.MALFORMED);
        int proofAt = text.lastIndexOf(",p=");
        if (proofAt < 0) return fail(SaslFailure.MALFORMED);
        String withoutProof = text.substring(0, proofAt);
        byte[] proof = base64(text.substring(proofAt + 3));
        String[] attributes = withoutProof.split(",", -1);
        if (proof == null || attributes.length < 2 || !attributes[0].startsWith("c=")
                || !attributes[1].startsWith("r=")) {
            return fail(SaslFailure.MALFORMED);
        }
        byte[] channelBinding = base64(attributes[0].substring(2));
        if (channelBinding == null) return fail(SaslFailure.MALFORMED);
        for (int i = 2; i < attributes.length; i++) {
            if (!attribute(attributes[i])) return fail(SaslFailure.MALFORMED);
        }
        if (!attributes[1].substring(2).equals(clientNonce + serverNonce)) return fail(SaslFailure.NONCE_MISMATCH);
        // RFC 5802 §7: c= is base64(gs2-header [cbind-data]), binding data only with p=.
        if (!MessageDigest.isEqual(channelBinding, expectedChannelBinding())) {
            return fail(SaslFailure.CHANNEL_BINDING_MISMATCH);
        }
        if (proof.length != PROOF_BYTES) return fail(SaslFailure.MALFORMED);
        if (credential == null) return fail(SaslFailure.UNKNOWN_USER);
        byte[] authMessage = (clientFirstBare + "," + serverFirst + "," + withoutProof).getBytes(StandardCharsets.UTF_8);
        if (!credential.verifyClientProof(authMessage, proof)) return fail(SaslFailure.INVALID_PROOF);
        state = State.DONE;
        String serverFinal = "v=" + Base64.getEncoder().encodeToString(credential.serverSignature(authMessage));
        return new SaslResult.Verified(authzid, username, serverFinal.getBytes(StandardCharsets.US_ASCII));
    }

    private byte[] expectedChannelBinding() {
        byte[] header = gs2Header.getBytes(StandardCharsets.UTF_8);
        if (!plus) return header;
        byte[] data = binding.get().data();
        byte[] expected = new byte[header.length + data.length];
        System.arraycopy(header, 0, expected, 0, header.length);
        System.arraycopy(data, 0, expected, header.length, data.length);
        return expected;
    }

    private SaslResult fail(SaslFailure reason) {
        state = State.DONE;
        credential = null;
        return new SaslResult.Failed(reason);
    }

    /** RFC 5802 §7 saslname: "," and "=" appear only as =2C and =3D; null if malformed. */
    static String saslName(String value) {
        StringBuilder name = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == ',') return null;
            if (c != '=') {
                name.append(c);
            } else if (value.startsWith("=2C", i)) {
                name.append(',');
                i += 2;
            } else if (value.startsWith("=3D", i)) {
                name.append('=');
                i += 2;
            } else {
                return null;
            }
        }
        return name.toString();
    }

    /** RFC 5802 §7 printable = %x21-2B / %x2D-7E (no comma). */
    private static boolean printable(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x21 || c > 0x7E || c == ',') return false;
        }
        return true;
    }

    /** RFC 5802 §7 attr-val = ALPHA "=" value: an extension we ignore must still be well formed. */
    private static boolean attribute(String value) {
        return value.length() >= 2 && value.charAt(1) == '='
                && ((value.charAt(0) >= 'a' && value.charAt(0) <= 'z') || (value.charAt(0) >= 'A' && value.charAt(0) <= 'Z'));
    }

    private static byte[] base64(String value) {
        try {
            return Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
