package org.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.castellan.server.auth.AuthServer.ALICE;
import static org.castellan.server.auth.AuthServer.listener;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.castellan.server.auth.MailClient.Outcome;
import org.castellan.server.auth.MailClient.Proto;
import org.castellan.server.testing.ExternalClient;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * OAUTHBEARER (RFC 7628) and XOAUTH2 against a real OpenID Connect provider: node's
 * oidc-provider on a loopback port over HTTPS (oidc-provider.mjs), which issues JWT access tokens
 * (RFC 9068) for the resource https://mail.test by the client_credentials grant. The server finds
 * its keys by discovery. Tokens from the provider log in on IMAP, POP3 and submission, through
 * this package's MailClient and through Python's imaplib; expired, wrong-audience, wrong-issuer,
 * unsigned, tampered, HMAC-with-the-public-key and unknown-key tokens, and a token naming no
 * account, get the RFC 7628 §3.2.2 error challenge, then the failure after the client's %x01. A
 * refused token counts for the limiter. After the provider restarts with a new key, its new
 * tokens log in once the server has fetched the keys again.
 *
 * <p>Each refused attempt comes from a loopback address of its own, so that the limiter (which
 * blocks a host at its third failure here) delays or blocks only what a test means it to.
 */
class OAuthBearerTest {

    static final String VERSION = "9.13.3";
    static final Path MODULES = Path.of(System.getProperty("user.home"), ".cache", "castellan-tests",
            "oidc-provider-" + VERSION);
    static final String AUDIENCE = "https://mail.test";

    @TempDir static Path dir;
    static AuthServer auth;
    static TestPki idpPki;
    static int idpPort;
    static String issuer;
    static RSAKey signingKey;
    static Process provider;
    /** A fresh source address per refused attempt: 127.0.N.M. */
    static final AtomicInteger SOURCES = new AtomicInteger(10 * 256);

    @BeforeAll
    static void start() throws Exception {
        ExternalClient.require("node", "nodejs");
        assertThat(MODULES.resolve("node_modules/oidc-provider/package.json"))
                .as("oidc-provider " + VERSION + " is installed by ./test").exists();
        idpPki = TestPki.create(Files.createDirectories(dir.resolve("idp-pki")));
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            idpPort = probe.getLocalPort();
        }
        issuer = "https://localhost:" + idpPort;
        signingKey = rsaKey("k1");
        startProvider(signingKey);
        String issuerTable = String.join("\n", "[[oauth-issuer]]", "issuer = \"" + issuer + "\"",
                "audience = \"" + AUDIENCE + "\"", "required-scope = \"mail\"",
                "ca-file = \"" + idpPki.trustFile() + "\"", "min-refresh = \"1s\"", "");
        auth = AuthServer.start(dir.resolve("server"), "free-failures = 2\nblock-after = 3\nfirst-delay = \"10ms\"\nmax-delay = \"20ms\"",
                listener("imaps", "imap", "implicit"), listener("pop3s", "pop3", "implicit"),
                listener("smtps", "submission", "implicit"), listener("imap", "imap", "starttls"), issuerTable);
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (auth != null) auth.close();
        stopProvider();
    }

    // --- good tokens ----------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Proto.class)
    void aTokenFromTheProviderLogsInWithOauthBearerAndXoauth2(Proto proto) throws Exception {
        String token = providerToken("alice", AUDIENCE);
        try (MailClient c = client(proto, InetAddress.getLoopbackAddress())) {
            assertThat(login(c, proto, "OAUTHBEARER", oauthBearer(token), null).outcome()).isEqualTo(Outcome.OK);
        }
        try (MailClient c = client(proto, InetAddress.getLoopbackAddress())) {
            assertThat(login(c, proto, "XOAUTH2", xoauth2(ALICE, token), null).outcome()).isEqualTo(Outcome.OK);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> auth.server().store().listAuthAttempts(Optional.of(ALICE), 500)
                .stream().anyMatch(a -> a.mechanism().equals("XOAUTH2") && a.result().equals("OK")
                        && a.protocol().equals(proto.configName.equals("submission") ? "smtp" : proto.configName)));
    }

    @Test
    void pythonImaplibLogsInAndSeesTheErrorOfARefusedToken() throws Exception {
        ExternalClient.require("python3", "python3");
        Path script = dir.resolve("oauth.py");
        Files.writeString(script, String.join("\n",
                "import imaplib, ssl, sys",
                "cafile, port, mechanism, user, token = sys.argv[1:]",
                "def message(challenge):",
                "    if challenge:",
                "        print('challenge', challenge.decode(), flush=True)",
                "        return b'\\x01' if mechanism == 'OAUTHBEARER' else b''",
                "    if mechanism == 'OAUTHBEARER':",
                "        return ('n,a=%s,\\x01auth=Bearer %s\\x01\\x01' % (user, token)).encode()",
                "    return ('user=%s\\x01auth=Bearer %s\\x01\\x01' % (user, token)).encode()",
                "m = imaplib.IMAP4_SSL('localhost', int(port), ssl_context=ssl.create_default_context(cafile=cafile))",
                "try:",
                "    print(m.authenticate(mechanism, message)[0], flush=True)",
                "except imaplib.IMAP4.error as e:",
                "    print('NO', e, flush=True)",
                ""));
        String token = providerToken("alice", AUDIENCE);
        assertThat(imaplib(script, "OAUTHBEARER", token)).contains("OK").doesNotContain("challenge");
        assertThat(imaplib(script, "XOAUTH2", token)).contains("OK").doesNotContain("challenge");
        assertThat(imaplib(script, "OAUTHBEARER", tampered(token)))
                .contains("challenge " + errorJson()).contains("NO").doesNotContain("OK");
    }

    @Test
    void advertisedWithTlsOnEveryProtocol() throws Exception {
        ExternalClient.require("python3", "python3");
        Path script = dir.resolve("capabilities.py");
        Files.writeString(script, String.join("\n",
                "import imaplib, poplib, smtplib, ssl, sys",
                "cafile, imaps, imap, pop3s, smtps = sys.argv[1:]",
                "ctx = ssl.create_default_context(cafile=cafile)",
                "m = imaplib.IMAP4_SSL('localhost', int(imaps), ssl_context=ctx)",
                "print('imaps:', ' '.join(m.capabilities))",
                "m.logout()",
                "m = imaplib.IMAP4('localhost', int(imap))",
                "print('imap before STARTTLS:', ' '.join(m.capabilities))",
                "m.starttls(ssl_context=ctx)",
                "print('imap after STARTTLS:', ' '.join(m.capabilities))",
                "m.logout()",
                "p = poplib.POP3_SSL('localhost', int(pop3s), context=ctx)",
                "print('pop3s:', ' '.join(p.capa().get('SASL', [])))",
                "p.quit()",
                "s = smtplib.SMTP_SSL('localhost', int(smtps), context=ctx)",
                "s.ehlo()",
                "print('smtps:', s.esmtp_features.get('auth', ''))",
                "s.quit()",
                ""));
        String output = ExternalClient.runOk(List.of("python3", script.toString(), auth.pki().trustFile().toString(),
                port("imaps"), port("imap"), port("pop3s"), port("smtps")), Map.of()).output();
        assertThat(output.lines().filter(l -> l.contains(":")).toList()).satisfiesExactly(
                l -> assertThat(l).startsWith("imaps:").contains(" AUTH=OAUTHBEARER", " AUTH=XOAUTH2"),
                l -> assertThat(l).startsWith("imap before STARTTLS:").doesNotContain("OAUTHBEARER", "XOAUTH2"),
                l -> assertThat(l).startsWith("imap after STARTTLS:").contains(" AUTH=OAUTHBEARER", " AUTH=XOAUTH2"),
                l -> assertThat(l).startsWith("pop3s:").contains(" OAUTHBEARER", " XOAUTH2"),
                l -> assertThat(l).startsWith("smtps:").contains(" OAUTHBEARER", " XOAUTH2"));
    }

    private static String port(String listener) {
        return Integer.toString(auth.address(listener).getPort());
    }

    // --- refused tokens -------------------------------------------------------------------------

    static Stream<Arguments> refusedTokens() {
        List<Arguments> cases = new ArrayList<>();
        for (String kind : List.of("expired", "wrong-audience", "wrong-issuer", "unsigned", "tampered", "hmac-with-public-key",
                "unknown-key", "unknown-account")) {
            for (Proto proto : Proto.values()) cases.add(Arguments.of(kind, proto));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("refusedTokens")
    void aRefusedTokenGetsTheErrorChallengeThenTheFailure(String kind, Proto proto) throws Exception {
        String token = switch (kind) {
            case "expired" -> mint(signingKey, claims("alice").expirationTime(Date.from(Instant.now().minusSeconds(300)))
                    .issueTime(Date.from(Instant.now().minusSeconds(900))).build());
            case "wrong-audience" -> providerToken("alice", "https://other.test");
            case "wrong-issuer" -> mint(signingKey, claims("alice").issuer("https://localhost:1").build());
            case "unsigned" -> unsigned(providerToken("alice", AUDIENCE));
            case "tampered" -> tampered(providerToken("alice", AUDIENCE));
            case "hmac-with-public-key" -> hmacWithPublicKey(providerToken("alice", AUDIENCE));
            case "unknown-key" -> mint(rsaKey("k-unknown"), claims("alice").build());
            case "unknown-account" -> providerToken("nobody", AUDIENCE);
            default -> throw new IllegalArgumentException(kind);
        };
        List<String> challenges = new ArrayList<>();
        try (MailClient c = client(proto, nextSource())) {
            MailClient.Reply reply = login(c, proto, "OAUTHBEARER", oauthBearer(token), challenges);
            // RFC 7628 §3.2.2: the error as a challenge; §3.2.3: the client's %x01, then the failure.
            assertThat(challenges).containsExactly(errorJson());
            assertThat(reply.outcome()).as(reply.line()).isEqualTo(Outcome.INVALID);
        }
    }

    @Test
    void xoauth2GetsGooglesErrorFormAndNamesItsUser() throws Exception {
        String token = providerToken("alice", AUDIENCE);
        List<String> challenges = new ArrayList<>();
        try (MailClient c = client(Proto.IMAP, nextSource())) {
            // The token is alice's; user= names bob.
            MailClient.Reply reply = login(c, Proto.IMAP, "XOAUTH2", xoauth2(AuthServer.BOB, token), challenges);
            assertThat(challenges).containsExactly("{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"mail\"}");
            assertThat(reply.outcome()).isEqualTo(Outcome.INVALID);
        }
    }

    @Test
    void refusedTokensCountForTheLimiter() throws Exception {
        InetAddress source = nextSource();
        long failures = auth.server().auth().stats().failures();
        for (int i = 0; i < 3; i++) {
            try (MailClient c = client(Proto.IMAP, source)) {
                assertThat(login(c, Proto.IMAP, "OAUTHBEARER",
                        oauthBearer(tampered(providerToken("alice", AUDIENCE))), null).outcome()).isEqualTo(Outcome.INVALID);
            }
        }
        assertThat(auth.server().auth().stats().failures()).isEqualTo(failures + 3);
        // block-after = 3: the host is blocked now, and a good token from it is refused for the time being.
        try (MailClient c = client(Proto.IMAP, source)) {
            assertThat(login(c, Proto.IMAP, "OAUTHBEARER", oauthBearer(providerToken("alice", AUDIENCE)), null).outcome())
                    .isEqualTo(Outcome.TEMPORARY);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> auth.server().store().listAuthAttempts(Optional.empty(), 500)
                .stream().anyMatch(a -> a.mechanism().equals("OAUTHBEARER") && a.result().equals("INVALID_CREDENTIALS")
                        && a.remote().equals(source.getHostAddress())
                        && a.reason().orElse("").startsWith("invalid-token")));
    }

    @Test
    void notOfferedNorAcceptedBeforeTls() throws Exception {
        try (MailClient c = MailClient.plain(Proto.IMAP, auth.address("imap"), nextSource())) {
            assertThat(login(c, Proto.IMAP, "OAUTHBEARER", oauthBearer(providerToken("alice", AUDIENCE)), null).outcome())
                    .isEqualTo(Outcome.ENCRYPTION_REQUIRED);
        }
    }

    // --- key rotation ---------------------------------------------------------------------------

    @Test
    void afterKeyRotationTheNewKeysTokensLogInOnceTheKeysAreFetchedAgain() throws Exception {
        // The server knows k1 (a login fetched it), then the provider restarts signing with k2 alone.
        try (MailClient c = client(Proto.IMAP, InetAddress.getLoopbackAddress())) {
            assertThat(login(c, Proto.IMAP, "OAUTHBEARER", oauthBearer(providerToken("alice", AUDIENCE)), null).outcome())
                    .isEqualTo(Outcome.OK);
        }
        RSAKey rotated = rsaKey("k2");
        synchronized (OAuthBearerTest.class) {
            stopProvider();
            startProvider(rotated);
            signingKey = rotated;
        }
        String token = providerToken("alice", AUDIENCE);
        assertThat(SignedJWT.parse(token).getHeader().getKeyID()).isEqualTo("k2");
        // An unknown key id fetches the keys again, at most once per min-refresh (1s): until then it is refused.
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            try (MailClient c = client(Proto.IMAP, nextSource())) {
                return login(c, Proto.IMAP, "OAUTHBEARER", oauthBearer(token), null).outcome() == Outcome.OK;
            }
        });
    }

    // --- helpers --------------------------------------------------------------------------------

    /**
     * One exchange: the message as an initial response, except on POP3, whose AUTH line is limited
     * to 255 octets (RFC 5034 §4), so the client sends it after the server's empty challenge. An
     * error challenge is collected in {@code errors} (unless null) and answered as RFC 7628 §3.2.3
     * asks, with %x01 (OAUTHBEARER), or empty as Google's clients do (XOAUTH2).
     */
    private static MailClient.Reply login(MailClient c, Proto proto, String mechanism, byte[] message, List<String> errors)
            throws IOException {
        boolean inline = proto != Proto.POP3;
        return c.authenticate(mechanism, inline ? message : null, challenge -> {
            if (challenge.length == 0 && !inline) return message;
            if (errors != null) errors.add(new String(challenge, StandardCharsets.UTF_8));
            return mechanism.equals("XOAUTH2") ? new byte[0] : new byte[] {1};
        });
    }

    private static MailClient client(Proto proto, InetAddress from) throws IOException {
        String listener = switch (proto) {
            case IMAP -> "imaps";
            case POP3 -> "pop3s";
            case SMTP -> "smtps";
        };
        return MailClient.implicit(proto, auth.address(listener), from, auth.pki().clientContext(), false).oneShot();
    }

    private static InetAddress nextSource() {
        int n = SOURCES.incrementAndGet();
        return AuthServer.loopback("127.0." + (n / 256) + "." + (n % 256 == 0 ? 1 : n % 256));
    }

    /** RFC 7628 §3.1: a gs2 header without authzid, host, port and the token. */
    private static byte[] oauthBearer(String token) {
        return ("n,,\u0001host=localhost\u0001port=993\u0001auth=Bearer " + token + "\u0001\u0001")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] xoauth2(String user, String token) {
        return ("user=" + user + "\u0001auth=Bearer " + token + "\u0001\u0001").getBytes(StandardCharsets.US_ASCII);
    }

    private static String errorJson() {
        return "{\"status\":\"invalid_token\",\"scope\":\"mail\",\"openid-configuration\":\"" + issuer
                + "/.well-known/openid-configuration\"}";
    }

    /** An access token from the provider's token endpoint (RFC 6749 §4.4, RFC 8707 resource). */
    private static synchronized String providerToken(String client, String resource) throws Exception {
        HttpClient http = HttpClient.newBuilder().sslContext(idpPki.clientContext()).build();
        String form = "grant_type=client_credentials&scope=mail&resource=" + java.net.URLEncoder.encode(resource, StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(URI.create(issuer + "/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString((client + ":secret").getBytes(StandardCharsets.UTF_8)))
                .POST(HttpRequest.BodyPublishers.ofString(form)).build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JSONObjectUtils.getString(JSONObjectUtils.parse(response.body()), "access_token");
    }

    /** Claims as the provider's tokens carry them. */
    private static JWTClaimsSet.Builder claims(String client) {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder().issuer(issuer).audience(AUDIENCE).subject(client).claim("client_id", client)
                .claim("scope", "mail").claim("email", client + "@example.org").jwtID("t" + System.nanoTime())
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600)));
    }

    private static String mint(RSAKey key, JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).type(new JOSEObjectType("at+jwt"))
                .keyID(key.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    /** RFC 7519 §6: the same claims with {"alg":"none"} and no signature. */
    private static String unsigned(String token) {
        String header = Base64URL.encode("{\"alg\":\"none\",\"typ\":\"at+jwt\"}").toString();
        return header + "." + token.split("\\.")[1] + ".";
    }

    /** One byte of the payload flipped: alice's address becomes blice's; the signature no longer fits. */
    private static String tampered(String token) {
        String[] parts = token.split("\\.");
        String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
        assertThat(payload).contains("\"alice@example.org\"");
        String changed = payload.replace("\"alice@example.org\"", "\"blice@example.org\"");
        return parts[0] + "." + Base64URL.encode(changed) + "." + parts[2];
    }

    /** The provider's claims signed HS256 with the bytes of its public key as the secret (RFC 8725 §2.1). */
    private static String hmacWithPublicKey(String token) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(new JOSEObjectType("at+jwt"))
                .keyID(signingKey.getKeyID()).build(), SignedJWT.parse(token).getJWTClaimsSet());
        jwt.sign(new MACSigner(signingKey.toPublicKey().getEncoded()));
        return jwt.serialize();
    }

    private static RSAKey rsaKey(String kid) throws Exception {
        return new RSAKeyGenerator(2048).keyID(kid).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.RS256).generate();
    }

    private static String imaplib(Path script, String mechanism, String token) throws Exception {
        return ExternalClient.runOk(List.of("python3", script.toString(), auth.pki().trustFile().toString(),
                Integer.toString(auth.address("imaps").getPort()), mechanism, ALICE, token), Map.of()).output();
    }

    private static void startProvider(RSAKey key) throws Exception {
        Path jwks = dir.resolve("jwks-" + key.getKeyID() + ".json");
        Files.writeString(jwks, new JWKSet(key).toString(false));
        Path log = dir.resolve("provider-" + key.getKeyID() + ".log");
        Path script = Path.of(OAuthBearerTest.class.getResource("oidc-provider.mjs").toURI());
        provider = new ProcessBuilder("node", script.toString(), MODULES.toString(), Integer.toString(idpPort),
                idpPki.server().chainFile().toString(), idpPki.server().keyFile().toString(), jwks.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Process started = provider;
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            if (!started.isAlive()) throw new IllegalStateException("oidc-provider exited: " + Files.readString(log));
            return Files.readString(log).contains("listening");
        });
    }

    private static void stopProvider() throws InterruptedException {
        if (provider != null) {
            provider.destroy();
            provider.waitFor();
        }
    }
}
