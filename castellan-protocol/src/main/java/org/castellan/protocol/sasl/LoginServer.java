package org.castellan.protocol.sasl;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * LOGIN (draft-murchison-sasl-login-00): the server prompts {@code "Username:"} and then
 * {@code "Password:"}; each answer is one UTF-8 string. Obsolete but still the only mechanism of
 * some old clients (Outlook Express, older Windows Mail). An initial response, which some clients
 * send, is the user name.
 */
public final class LoginServer implements SaslServer {

    public static final String NAME = "LOGIN";
    /** Same bound as a PLAIN field (RFC 4616 §2 asks for 255 octets at least). */
    public static final int MAX_FIELD = PlainServer.MAX_FIELD;

    static final byte[] USERNAME_PROMPT = "Username:".getBytes(StandardCharsets.US_ASCII);
    static final byte[] PASSWORD_PROMPT = "Password:".getBytes(StandardCharsets.US_ASCII);

    private enum State { USERNAME, PASSWORD, DONE }

    private State state = State.USERNAME;
    private String username;

    @Override
    public String mechanism() {
        return NAME;
    }

    @Override
    public SaslResult start(Optional<byte[]> initialResponse) {
        if (initialResponse.isPresent()) return respond(initialResponse.get());
        return new SaslResult.Challenge(USERNAME_PROMPT.clone());
    }

    @Override
    public SaslResult respond(byte[] response) {
        switch (state) {
            case USERNAME -> {
                String name = response.length > MAX_FIELD ? null : Utf8.string(response, 0, response.length);
                if (name == null || name.isEmpty() || name.indexOf('\0') >= 0) return fail();
                username = name;
                state = State.PASSWORD;
                return new SaslResult.Challenge(PASSWORD_PROMPT.clone());
            }
            case PASSWORD -> {
                char[] password = response.length > MAX_FIELD ? null : Utf8.decode(response, 0, response.length);
                if (password == null || password.length == 0) {
                    if (password != null) Arrays.fill(password, '\0');
                    return fail();
                }
                state = State.DONE;
                return new SaslResult.PasswordCredentials("", username, password);
            }
            default -> {
                return new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE);
            }
        }
    }

    private SaslResult fail() {
        state = State.DONE;
        return new SaslResult.Failed(SaslFailure.MALFORMED);
    }
}
