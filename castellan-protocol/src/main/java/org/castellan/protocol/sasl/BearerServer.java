package org.castellan.protocol.sasl;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's older format with the same purpose): the client
 * sends an OAuth 2.0 bearer token (RFC 6750) in one message; the result is a
 * {@link SaslResult.BearerToken} for the caller to verify. A refused token is answered, as RFC
 * 7628 §3.2.2 asks, with an error challenge ({@link #refuse}) that the client must acknowledge
 * before the failure: OAUTHBEARER's client sends {@code %x01} (§3.2.3), XOAUTH2's an empty
 * response. Both then end as {@link SaslFailure#INVALID_TOKEN}.
 */
public final class BearerServer implements SaslServer {

    public static final String OAUTHBEARER = "OAUTHBEARER";
    public static final String XOAUTH2 = "XOAUTH2";
    /**
     * RFC 7628 sets no limit. JWT access tokens of the large providers are a few kilobytes (a
     * token with many groups or roles is the largest); 16 KiB holds those with room and bounds
     * what a client can make the server parse and verify.
     */
    public static final int MAX_MESSAGE = 16 * 1024;
    /** RFC 7628 §3.1: {@code kvsep = %x01}. */
    static final byte KVSEP = 0x01;
    /** RFC 7628 §3.1: {@code key = 1*(ALPHA)}. */
    private static final Pattern KEY = Pattern.compile("[A-Za-z]+");
    /** RFC 7628 §3.1: {@code value = *(VCHAR / SP / HTAB / CR / LF)}. */
    private static final Pattern VALUE = Pattern.compile("[\\x21-\\x7E \\t\\r\\n]*");
    /** RFC 6750 §2.1: {@code credentials = "Bearer" 1*SP b64token}; the scheme is case-insensitive (RFC 9110 §11.1). */
    private static final Pattern BEARER = Pattern.compile("(?i:bearer) +([A-Za-z0-9\\-._~+/]+=*)");
    /** RFC 7628 §3.1: the port is a decimal number. */
    private static final Pattern PORT = Pattern.compile("[0-9]{1,5}");

    private enum State { START, TOKEN, REFUSED, DONE }

    private final boolean xoauth2;
    private State state = State.START;

    private BearerServer(boolean xoauth2) {
        this.xoauth2 = xoauth2;
    }

    /** RFC 7628 OAUTHBEARER. */
    public static BearerServer oauthBearer() {
        return new BearerServer(false);
    }

    /** XOAUTH2: {@code user=NAME ^A auth=Bearer TOKEN ^A ^A}. */
    public static BearerServer xoauth2() {
        return new BearerServer(true);
    }

    @Override
    public String mechanism() {
        return xoauth2 ? XOAUTH2 : OAUTHBEARER;
    }

    @Override
    public SaslResult start(Optional<byte[]> initialResponse) {
        if (state != State.START) return fail(SaslFailure.OUT_OF_SEQUENCE);
        state = State.TOKEN;
        if (initialResponse.isPresent()) return respond(initialResponse.get());
        // RFC 4422 §5 item 2: without an initial response the server sends an empty challenge.
        return new SaslResult.Challenge(new byte[0]);
    }

    @Override
    public SaslResult respond(byte[] response) {
        return switch (state) {
            case TOKEN -> {
                state = State.DONE;
                yield xoauth2 ? parseXoauth2(response) : parseOauthBearer(response);
            }
            // RFC 7628 §3.2.3: the client answers the error with a single %x01; the failure follows whatever it sends.
            case REFUSED -> {
                state = State.DONE;
                yield fail(SaslFailure.INVALID_TOKEN);
            }
            case START, DONE -> fail(SaslFailure.OUT_OF_SEQUENCE);
        };
    }

    /**
     * The token of the last {@link SaslResult.BearerToken} was refused: the error challenge to
     * send (RFC 7628 §3.2.2), after which the client's answer ends the exchange as
     * {@link SaslFailure#INVALID_TOKEN}.
     *
     * @param scope the scope a token needs, or empty
     * @param openidConfiguration the issuer's discovery document URL (OAUTHBEARER only), or empty
     */
    public SaslResult refuse(Optional<String> scope, Optional<String> openidConfiguration) {
        if (state != State.DONE) return fail(SaslFailure.OUT_OF_SEQUENCE);
        state = State.REFUSED;
        return new SaslResult.Challenge(errorJson(scope, openidConfiguration).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * RFC 7628 §3.2.2: {@code {"status":"invalid_token","scope":...,"openid-configuration":...}};
     * XOAUTH2 clients expect Google's form, {@code {"status":"401","schemes":"bearer","scope":...}}.
     */
    String errorJson(Optional<String> scope, Optional<String> openidConfiguration) {
        StringBuilder json = new StringBuilder("{\"status\":");
        json.append(xoauth2 ? "\"401\",\"schemes\":\"bearer\"" : "\"invalid_token\"");
        scope.ifPresent(s -> json.append(",\"scope\":").append(jsonString(s)));
        if (!xoauth2) openidConfiguration.ifPresent(u -> json.append(",\"openid-configuration\":").append(jsonString(u)));
        return json.append('}').toString();
    }

    /** RFC 7628 §3.1: {@code gs2-header kvsep *kvpair kvsep}. */
    static SaslResult parseOauthBearer(byte[] message) {
        String text = text(message);
        if (text == null) return fail(SaslFailure.MALFORMED);
        int sep = text.indexOf((char) KVSEP);
        if (sep < 0) return fail(SaslFailure.MALFORMED);
        Optional<String> authzid = gs2Header(text.substring(0, sep));
        if (authzid == null) return fail(SaslFailure.MALFORMED);
        Map<String, String> pairs = kvpairs(text.substring(sep + 1));
        if (pairs == null) return fail(SaslFailure.MALFORMED);
        return token(authzid.orElse(""), pairs);
    }

    /** XOAUTH2: {@code "user=" name ^A "auth=Bearer " token ^A ^A}. */
    static SaslResult parseXoauth2(byte[] message) {
        String text = text(message);
        Map<String, String> pairs = text == null ? null : kvpairs(text);
        if (pairs == null) return fail(SaslFailure.MALFORMED);
        String user = pairs.get("user");
        if (user == null || user.isEmpty()) return fail(SaslFailure.MALFORMED);
        return token(user, pairs);
    }

    private static SaslResult token(String authzid, Map<String, String> pairs) {
        String auth = pairs.get("auth");
        if (auth == null) return fail(SaslFailure.MALFORMED);
        var bearer = BEARER.matcher(auth);
        if (!bearer.matches()) return fail(SaslFailure.MALFORMED);
        String port = pairs.get("port");
        if (port != null && !PORT.matcher(port).matches()) return fail(SaslFailure.MALFORMED);
        return new SaslResult.BearerToken(authzid, bearer.group(1), Optional.ofNullable(pairs.get("host")),
                Optional.ofNullable(port).map(Integer::valueOf));
    }

    /**
     * RFC 7628 §3.1 and RFC 5801 §4: {@code gs2-cb-flag "," [gs2-authzid] ","}. The flag is
     * {@code n} or {@code y}: OAUTHBEARER defines no channel binding, so {@code p} is refused.
     * Returns the authzid (empty if none), or null if malformed.
     */
    private static Optional<String> gs2Header(String header) {
        if (header.length() < 3 || (header.charAt(0) != 'n' && header.charAt(0) != 'y') || header.charAt(1) != ','
                || header.charAt(header.length() - 1) != ',') {
            return null;
        }
        String authzid = header.substring(2, header.length() - 1);
        if (authzid.isEmpty()) return Optional.empty();
        if (!authzid.startsWith("a=") || authzid.indexOf(',') >= 0) return null;
        String name = decodeSaslname(authzid.substring(2));
        return name == null || name.isEmpty() ? null : Optional.of(name);
    }

    /** RFC 5801 §4 saslname: {@code =2C} is ',' and {@code =3D} is '='; any other '=' is an error. */
    private static String decodeSaslname(String value) {
        StringBuilder name = new StringBuilder();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
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

    /**
     * {@code *kvpair kvsep}, each {@code key "=" value kvsep}: the pairs by lower-cased key, or null
     * if malformed or a key repeats.
     */
    private static Map<String, String> kvpairs(String text) {
        if (text.isEmpty() || text.charAt(text.length() - 1) != (char) KVSEP) return null;
        Map<String, String> pairs = new LinkedHashMap<>();
        int from = 0;
        int end = text.length() - 1;
        while (from < end) {
            int sep = text.indexOf((char) KVSEP, from);
            if (sep < 0) return null;
            String pair = text.substring(from, sep);
            int eq = pair.indexOf('=');
            if (eq < 0) return null;
            String key = pair.substring(0, eq);
            String value = pair.substring(eq + 1);
            if (!KEY.matcher(key).matches() || !VALUE.matcher(value).matches()) return null;
            if (pairs.put(key.toLowerCase(Locale.ROOT), value) != null) return null;
            from = sep + 1;
        }
        return from == end ? pairs : null;
    }

    private static String text(byte[] message) {
        if (message.length > MAX_MESSAGE) return null;
        return Utf8.string(message, 0, message.length);
    }

    /** A JSON string (RFC 8259 §7): quotes, backslashes and control characters escaped. */
    private static String jsonString(String value) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }

    private static SaslResult fail(SaslFailure reason) {
        return new SaslResult.Failed(reason);
    }
}
