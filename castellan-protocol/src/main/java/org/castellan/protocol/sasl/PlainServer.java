package org.castellan.protocol.sasl;

import java.util.Arrays;
import java.util.Optional;

/**
 * PLAIN (RFC 4616): one message {@code [authzid] NUL authcid NUL passwd}. The result is a
 * {@link SaslResult.PasswordCredentials} for the caller to check; this class never sees a stored
 * secret.
 */
public final class PlainServer implements SaslServer {

    public static final String NAME = "PLAIN";
    /**
     * RFC 4616 §2 requires accepting at least 255 octets per field; four times that leaves room
     * for long UTF-8 names and passphrases while bounding what a client can make the server hash.
     */
    public static final int MAX_FIELD = 1024;
    /** Three fields and two separators. */
    public static final int MAX_MESSAGE = 3 * MAX_FIELD + 2;

    private boolean done;

    @Override
    public String mechanism() {
        return NAME;
    }

    @Override
    public SaslResult start(Optional<byte[]> initialResponse) {
        if (initialResponse.isPresent()) return respond(initialResponse.get());
        // RFC 4422 §5 item 2: without an initial response the server sends an empty challenge.
        return new SaslResult.Challenge(new byte[0]);
    }

    @Override
    public SaslResult respond(byte[] message) {
        if (done) return new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE);
        done = true;
        return parse(message);
    }

    /** Parses one PLAIN message. */
    static SaslResult parse(byte[] message) {
        if (message.length > MAX_MESSAGE) return new SaslResult.Failed(SaslFailure.MALFORMED);
        int first = indexOf(message, 0);
        int second = first < 0 ? -1 : indexOf(message, first + 1);
        // RFC 4616 §2: exactly two NULs; authcid and passwd are 1*SAFE, authzid may be absent.
        if (second < 0 || indexOf(message, second + 1) >= 0) return new SaslResult.Failed(SaslFailure.MALFORMED);
        if (first > MAX_FIELD || second - first - 1 > MAX_FIELD || message.length - second - 1 > MAX_FIELD) {
            return new SaslResult.Failed(SaslFailure.MALFORMED);
        }
        String authzid = Utf8.string(message, 0, first);
        String authcid = Utf8.string(message, first + 1, second);
        char[] password = Utf8.decode(message, second + 1, message.length);
        if (authzid == null || authcid == null || authcid.isEmpty() || password == null || password.length == 0) {
            if (password != null) Arrays.fill(password, '\0');
            return new SaslResult.Failed(SaslFailure.MALFORMED);
        }
        return new SaslResult.PasswordCredentials(authzid, authcid, password);
    }

    private static int indexOf(byte[] bytes, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == 0) return i;
        }
        return -1;
    }
}
