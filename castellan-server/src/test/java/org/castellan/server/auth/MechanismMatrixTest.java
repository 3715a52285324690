package org.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.auth.AuthServer.ALICE;
import static org.castellan.server.auth.AuthServer.BOB;
import static org.castellan.server.auth.AuthServer.PASSWORD;
import static org.castellan.server.auth.AuthServer.listener;
import static org.castellan.server.auth.SameOutcomeOnEveryProtocolTest.plainResponse;
import static org.castellan.server.auth.SameOutcomeOnEveryProtocolTest.prompts;
import static org.castellan.server.auth.SameOutcomeOnEveryProtocolTest.scramSteps;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.castellan.server.auth.MailClient.Proto;
import org.castellan.server.auth.MailClient.Reply;
import org.castellan.testkit.ScramClient;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The table of docs/authentication.md ("Which mechanism where"), cell by cell: for SMTP
 * submission, IMAP and POP3, on each kind of listener security, whether each mechanism (and the
 * password commands) is advertised — IMAP CAPABILITY (AUTH=, LOGINDISABLED), EHLO AUTH, POP3 CAPA
 * (SASL, USER) — and what starting it gets: a login where it is offered, and where it is not the
 * protocol's refusal, before any credential is looked at. MX listeners take no AUTH at all.
 *
 * <p>One server: per protocol a listener without TLS, one without TLS with
 * {@code cleartext-auth = true}, a STARTTLS one and an implicit-TLS one (both asking for a client
 * certificate). OAUTHBEARER and XOAUTH2 check tokens minted here against a static JWKS that this
 * test serves over HTTPS; no {@code [kerberos]} is configured, so GSSAPI is never offered
 * (GssapiTest, in a JVM of its own, shows it offered and accepted).
 */
class MechanismMatrixTest {

    private static final InetAddress HOME = AuthServer.loopback("127.0.0.1");
    private static final String ISSUER = "https://issuer.test";
    private static final String AUDIENCE = "https://mail.test";

    @TempDir static Path dir;
    static AuthServer auth;
    static HttpsServer jwks;
    static RSAKey signingKey;

    /** What a cell says: offered and a right login accepted, or not offered and refused with a kind of reply. */
    enum Cell {
        ACCEPTED("a1 OK .*", "235 2\\.7\\.0 .*", "\\+OK .*"),
        /** Only the password commands: listed (no LOGINDISABLED, USER in CAPA), refused as a wrong password would be. */
        INVALID_CREDENTIALS("a1 NO \\[AUTHENTICATIONFAILED\\] .*", "535 5\\.7\\.8 .*", "-ERR \\[AUTH\\] .*"),
        /** RFC 9051 §7.1 PRIVACYREQUIRED; RFC 4954 §6 538; POP3 has only RFC 3206's [AUTH] for it. */
        ENCRYPTION_REQUIRED("a1 NO \\[PRIVACYREQUIRED\\] .*", "538 5\\.7\\.11 .*",
                "-ERR \\[AUTH\\] (TLS required|Cleartext login not allowed).*"),
        /** RFC 5530 CANNOT; RFC 4954 §6 504; RFC 5034 §4 -ERR. */
        UNAVAILABLE("a1 NO \\[CANNOT\\] .*", "504 5\\.5\\.4 .*", "-ERR Unsupported authentication mechanism");

        final String imap;
        final String smtp;
        final String pop3;

        Cell(String imap, String smtp, String pop3) {
            this.imap = imap;
            this.smtp = smtp;
            this.pop3 = pop3;
        }

        String reply(Proto p) {
            return switch (p) {
                case IMAP -> imap;
                case SMTP -> smtp;
                case POP3 -> pop3;
            };
        }

        static Cell of(char code) {
            return switch (code) {
                case '+' -> ACCEPTED;
                case 'E' -> ENCRYPTION_REQUIRED;
                case 'U' -> UNAVAILABLE;
                case 'I' -> INVALID_CREDENTIALS;
                default -> throw new IllegalArgumentException("cell " + code);
            };
        }
    }

    /** The columns; PASSWORD_COMMAND is IMAP LOGIN and POP3 USER/PASS (SMTP has none). */
    enum Mechanism {
        SCRAM_SHA_256_PLUS("SCRAM-SHA-256-PLUS"), SCRAM_SHA_256("SCRAM-SHA-256"), PLAIN("PLAIN"), LOGIN("LOGIN"),
        EXTERNAL("EXTERNAL"), OAUTHBEARER("OAUTHBEARER"), XOAUTH2("XOAUTH2"), GSSAPI("GSSAPI"), PASSWORD_COMMAND(null);

        final String sasl;

        Mechanism(String sasl) {
            this.sasl = sasl;
        }
    }

    enum Connect { PLAIN, STARTTLS, IMPLICIT }

    /**
     * The rows, with one code per column in {@link Mechanism}'s order: {@code +} offered and
     * accepted, {@code E} not offered and refused as needing encryption, {@code U} not offered and
     * refused as unavailable, {@code I} listed but refused as invalid credentials. The same on
     * every protocol. The TWO_FACTOR rows are a listener with
     * {@code require-certificate-for-password = "same-account"}, the certificate alice's.
     */
    enum Security {
        CLEARTEXT("none", Connect.PLAIN, false, false,                   "E E E E U E E E E"),
        CLEARTEXT_AUTH("cleartext", Connect.PLAIN, false, false,         "U + + + U + + U +"),
        BEFORE_STARTTLS("starttls", Connect.PLAIN, false, false,         "E E E E U E E E E"),
        STARTTLS_TLS13("starttls", Connect.STARTTLS, false, false,       "+ + + + U + + U +"),
        STARTTLS_TLS12("starttls", Connect.STARTTLS, true, false,        "+ + + + U + + U +"),
        STARTTLS_CERTIFICATE("starttls", Connect.STARTTLS, false, true,  "+ + + + + + + U +"),
        IMPLICIT_TLS13("implicit", Connect.IMPLICIT, false, false,       "+ + + + U + + U +"),
        IMPLICIT_TLS12("implicit", Connect.IMPLICIT, true, false,        "+ + + + U + + U +"),
        IMPLICIT_CERTIFICATE("implicit", Connect.IMPLICIT, false, true,  "+ + + + + + + U +"),
        TWO_FACTOR_WITHOUT_CERTIFICATE("two", Connect.IMPLICIT, false, false, "U U U U U U U U I"),
        TWO_FACTOR_WITH_CERTIFICATE("two", Connect.IMPLICIT, false, true,     "+ + + + + + + U +");

        final String listener;
        final Connect connect;
        final boolean tls12;
        final boolean certificate;
        final List<Cell> cells;

        Security(String listener, Connect connect, boolean tls12, boolean certificate, String cells) {
            this.listener = listener;
            this.connect = connect;
            this.tls12 = tls12;
            this.certificate = certificate;
            this.cells = Arrays.stream(cells.split(" ")).map(c -> Cell.of(c.charAt(0))).toList();
        }

        boolean tls() {
            return connect != Connect.PLAIN;
        }
    }

    @BeforeAll
    static void start() throws Exception {
        signingKey = new RSAKeyGenerator(2048).keyID("matrix").keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.RS256)
                .generate();
        TestPki jwksPki = TestPki.create(Files.createDirectories(dir.resolve("jwks-pki")));
        jwks = serveJwks(jwksPki, new JWKSet(signingKey).toString(true));
        List<String> tables = new ArrayList<>();
        for (Proto p : Proto.values()) {
            String name = p.name().toLowerCase();
            tables.add(listener(name + "-none", p.configName, "none"));
            tables.add(listener(name + "-cleartext", p.configName, "none", "cleartext-auth = true"));
            tables.add(listener(name + "-starttls", p.configName, "starttls", "client-cert = \"request\""));
            tables.add(listener(name + "-implicit", p.configName, "implicit", "client-cert = \"request\""));
            tables.add(listener(name + "-two", p.configName, "implicit", "client-cert = \"request\"",
                    "require-certificate-for-password = \"same-account\""));
        }
        tables.add(listener("mx", "smtp", "starttls"));
        tables.add(String.join("\n", "[[oauth-issuer]]", "issuer = \"" + ISSUER + "\"", "audience = \"" + AUDIENCE + "\"",
                "jwks-uri = \"https://localhost:" + jwks.getAddress().getPort() + "/jwks.json\"",
                "ca-file = \"" + jwksPki.trustFile() + "\"", ""));
        auth = AuthServer.start(dir.resolve("server"), "", tables.toArray(String[]::new));
    }

    @AfterAll
    static void stop() {
        if (auth != null) auth.close();
        if (jwks != null) jwks.stop(0);
    }

    static Stream<Arguments> cells() {
        List<Arguments> all = new ArrayList<>();
        for (Proto p : Proto.values()) {
            for (Security s : Security.values()) {
                for (Mechanism m : Mechanism.values()) {
                    if (p == Proto.SMTP && m == Mechanism.PASSWORD_COMMAND) continue;
                    all.add(Arguments.of(p, s, m));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cells")
    void offeredWhereAcceptedAndRefusedElsewhere(Proto p, Security security, Mechanism m) throws Throwable {
        Cell expected = security.cells.get(m.ordinal());
        try (MailClient c = connect(p, security)) {
            if (security.tls()) assertThat(c.tlsVersion()).isEqualTo(security.tls12 ? "TLSv1.2" : "TLSv1.3");
            List<String> capabilities = c.capabilities();
            assertThat(offered(p, capabilities, m)).as("advertised in " + capabilities)
                    .isEqualTo(expected == Cell.ACCEPTED || expected == Cell.INVALID_CREDENTIALS);
            Reply reply = attempt(c, p, security, m);
            assertThat(reply.line()).matches(expected.reply(p));
        }
    }

    /** As with a password: on a same-account listener alice's certificate carries no token of bob's in. */
    @ParameterizedTest
    @EnumSource(Proto.class)
    void onATwoFactorListenerTheCertificateMustNameTheTokensAccount(Proto p) throws Exception {
        try (MailClient c = connect(p, Security.TWO_FACTOR_WITH_CERTIFICATE)) {
            String message = "n,,\u0001auth=Bearer " + token(BOB) + "\u0001\u0001";
            assertThat(bearer(c, p, "OAUTHBEARER", message).line()).matches(Cell.INVALID_CREDENTIALS.reply(p));
        }
    }

    /** RFC 4954 leaves AUTH to submission (RFC 6409 §4.3): an MX listener neither lists nor takes it, with or without TLS. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void mxListenersTakeNoAuth(boolean afterStartTls) throws Exception {
        try (MailClient c = MailClient.plain(Proto.SMTP, auth.address("mx"), HOME)) {
            if (afterStartTls) c.startTls(auth.pki().clientContext());
            assertThat(c.capabilities()).noneMatch(l -> l.startsWith("AUTH"));
            for (Mechanism m : Mechanism.values()) {
                if (m.sasl == null) continue;
                assertThat(c.authenticate(m.sasl, plainResponse(ALICE, PASSWORD)).line()).startsWith("503 5.5.1 ");
            }
        }
    }

    // --- helpers --------------------------------------------------------------------------------

    private static MailClient connect(Proto p, Security s) throws IOException {
        InetSocketAddress at = auth.address(p.name().toLowerCase() + "-" + s.listener);
        SSLContext context = s.certificate ? auth.pki().clientContext(auth.pki().client()) : auth.pki().clientContext();
        return switch (s.connect) {
            case PLAIN -> MailClient.plain(p, at, HOME);
            case STARTTLS -> MailClient.plain(p, at, HOME).startTls(context, s.tls12);
            case IMPLICIT -> MailClient.implicit(p, at, HOME, context, s.tls12);
        };
    }

    /** Whether the capabilities list {@code m}: AUTH=M, EHLO's AUTH line, CAPA's SASL line; LOGINDISABLED and USER for the commands. */
    private static boolean offered(Proto p, List<String> capabilities, Mechanism m) {
        if (m == Mechanism.PASSWORD_COMMAND) {
            return p == Proto.IMAP ? !capabilities.contains("LOGINDISABLED") : capabilities.contains("USER");
        }
        return switch (p) {
            case IMAP -> capabilities.contains("AUTH=" + m.sasl);
            case SMTP -> capabilities.stream().anyMatch(l -> l.startsWith("AUTH ") && List.of(l.split(" ")).contains(m.sasl));
            case POP3 -> capabilities.stream().anyMatch(l -> l.startsWith("SASL ") && List.of(l.split(" ")).contains(m.sasl));
        };
    }

    /** Alice's right credentials for {@code m}, as a client on this connection would send them. */
    private static Reply attempt(MailClient c, Proto p, Security s, Mechanism m) throws Throwable {
        return switch (m) {
            case SCRAM_SHA_256_PLUS -> {
                // RFC 9266 on TLS 1.3, RFC 5929 on TLS 1.2; without TLS there is nothing to bind to.
                ScramClient bound = !s.tls() ? new ScramClient(ALICE, PASSWORD, "abc", "p=tls-exporter,,", new byte[32])
                        : s.tls12 ? new ScramClient(ALICE, PASSWORD, "abc", "p=tls-server-end-point,,", c.tlsServerEndPoint())
                        : new ScramClient(ALICE, PASSWORD, "abc", "p=tls-exporter,,", c.tlsExporter());
                yield c.authenticate(m.sasl, bound.clientFirst(), scramSteps(bound, new byte[1][]));
            }
            case SCRAM_SHA_256 -> {
                ScramClient scram = ScramClient.plain(ALICE, PASSWORD, "abc");
                yield c.authenticate(m.sasl, scram.clientFirst(), scramSteps(scram, new byte[1][]));
            }
            case PLAIN -> c.authenticate(m.sasl, plainResponse(ALICE, PASSWORD));
            case LOGIN -> c.authenticate(m.sasl, null, prompts(ALICE, PASSWORD));
            case EXTERNAL -> c.authenticate(m.sasl, new byte[0]);
            case OAUTHBEARER -> bearer(c, p, m.sasl, "n,,\u0001auth=Bearer " + token(ALICE) + "\u0001\u0001");
            case XOAUTH2 -> bearer(c, p, m.sasl, "user=" + ALICE + "\u0001auth=Bearer " + token(ALICE) + "\u0001\u0001");
            // No ticket to send: the refusal comes before any token.
            case GSSAPI -> c.authenticate(m.sasl, null);
            case PASSWORD_COMMAND -> c.passwordCommand(ALICE, PASSWORD);
        };
    }

    /** POP3's AUTH line holds 255 octets (RFC 5034 §4): the token goes after the empty challenge there. */
    private static Reply bearer(MailClient c, Proto p, String mechanism, String message) throws IOException {
        byte[] bytes = message.getBytes(StandardCharsets.US_ASCII);
        boolean inline = p != Proto.POP3;
        return c.authenticate(mechanism, inline ? bytes : null, challenge -> challenge.length == 0 && !inline ? bytes
                : new byte[] {1});
    }

    /** An RFC 9068 access token naming {@code account}, signed with the key the JWKS publishes. */
    private static String token(String account) throws Exception {
        Instant now = Instant.now();
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(ISSUER).audience(AUDIENCE).subject(account)
                .claim("client_id", "matrix").claim("email", account).jwtID("t" + System.nanoTime())
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).type(new JOSEObjectType("at+jwt"))
                .keyID(signingKey.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(signingKey));
        return jwt.serialize();
    }

    /** The public keys as an issuer publishes them (RFC 7517 §5), over HTTPS with the PKI's server certificate. */
    private static HttpsServer serveJwks(TestPki pki, String json) throws Exception {
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(pki.server().keyManagerFactory().getKeyManagers(), null, null);
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        server.createContext("/jwks.json", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "application/jwk-set+json");
            exchange.sendResponseHeaders(200, body.length);
            try (var out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }
}
