package org.castellan.security.auth.oauth;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import javax.net.ssl.SSLContext;
import org.castellan.security.auth.oauth.BearerTokenVerifier.Verdict;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checks of RFC 9068 §4 and RFC 8725 against a JWKS and discovery document served over HTTPS
 * by the JDK's server (the test PKI's certificate), with tokens signed here: typ, alg against the
 * key's type and declared alg, exp and nbf with the skew, aud, iss, scope, the account claim, and
 * when the keys are fetched.
 */
class BearerTokenVerifierTest {

    static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
    static final String AUDIENCE = "https://mail.example.org";

    @TempDir Path dir;
    HttpsServer https;
    String issuer;
    volatile String jwks;
    volatile int status = 200;
    final AtomicInteger jwksFetches = new AtomicInteger();
    RSAKey rsa;
    ECKey ec;
    Path trust;

    @BeforeEach
    void serve() throws Exception {
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
        trust = pki.trustFile();
        rsa = new RSAKeyGenerator(2048).keyID("rsa").keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.RS256).generate();
        ec = new ECKeyGenerator(Curve.P_256).keyID("ec").keyUse(KeyUse.SIGNATURE).generate();
        publish(rsa, ec);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(pki.server().keyManagerFactory().getKeyManagers(), null, null);
        https = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(tls));
        issuer = "https://localhost:" + https.getAddress().getPort();
        https.createContext("/.well-known/openid-configuration", exchange -> {
            byte[] body = ("{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + issuer + "/jwks\"}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        https.createContext("/jwks", exchange -> {
            jwksFetches.incrementAndGet();
            byte[] body = jwks.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        https.start();
    }

    @AfterEach
    void stop() {
        https.stop(0);
    }

    private void publish(JWK... keys) {
        jwks = new JWKSet(List.of(keys)).toString(true);
    }

    private OAuthIssuer config(UnaryOperator<OAuthIssuer> change) {
        return change.apply(new OAuthIssuer(issuer, Optional.empty(), AUDIENCE, "email", Optional.empty(),
                Optional.of("mail"), false, Optional.of(trust), Duration.ofMinutes(1)));
    }

    private BearerTokenVerifier verifier(UnaryOperator<OAuthIssuer> change) {
        return new BearerTokenVerifier(List.of(config(change)), Clock.fixed(NOW, ZoneOffset.UTC));
    }

    private BearerTokenVerifier verifier() {
        return verifier(i -> i);
    }

    private JWTClaimsSet.Builder claims() {
        return new JWTClaimsSet.Builder().issuer(issuer).audience(List.of(AUDIENCE, "other")).subject("42")
                .claim("scope", "openid mail").claim("email", "alice@example.org")
                .issueTime(Date.from(NOW.minusSeconds(10))).expirationTime(Date.from(NOW.plusSeconds(300)));
    }

    private static String sign(JWK key, JWSAlgorithm alg, JOSEObjectType typ, JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).type(typ).keyID(key.getKeyID()).build(), claims);
        jwt.sign(key instanceof RSAKey r ? new RSASSASigner(r) : new ECDSASigner((ECKey) key));
        return jwt.serialize();
    }

    private String token(JWTClaimsSet claims) throws Exception {
        return sign(rsa, JWSAlgorithm.RS256, new JOSEObjectType("at+jwt"), claims);
    }

    private static String reason(Verdict verdict) {
        assertThat(verdict).isInstanceOf(Verdict.Invalid.class);
        return ((Verdict.Invalid) verdict).reason();
    }

    @Test
    void aGoodTokenNamesItsAccountAfterDiscovery() throws Exception {
        Verdict verdict = verifier().verify(token(claims().build()));
        assertThat(verdict).isInstanceOf(Verdict.Valid.class);
        assertThat(((Verdict.Valid) verdict).name()).isEqualTo("alice@example.org");
        assertThat(verifier().verify(sign(ec, JWSAlgorithm.ES256, new JOSEObjectType("at+jwt"), claims().build())))
                .isInstanceOf(Verdict.Valid.class);
    }

    @Test
    void typeMustBeAtJwtUnlessUntypedTokensAreAccepted() throws Exception {
        // RFC 9068 §4: the resource server MUST verify typ at+jwt (or application/at+jwt).
        String jwt = sign(rsa, JWSAlgorithm.RS256, JOSEObjectType.JWT, claims().build());
        String untyped = sign(rsa, JWSAlgorithm.RS256, null, claims().build());
        assertThat(verifier().verify(jwt)).isInstanceOf(Verdict.Invalid.class);
        assertThat(verifier().verify(untyped)).isInstanceOf(Verdict.Invalid.class);
        assertThat(verifier().verify(sign(rsa, JWSAlgorithm.RS256, new JOSEObjectType("application/at+jwt"),
                claims().build()))).isInstanceOf(Verdict.Valid.class);
        BearerTokenVerifier lenient = verifier(i -> new OAuthIssuer(i.issuer(), i.jwksUri(), i.audience(), i.accountClaim(),
                i.accountDomain(), i.requiredScope(), true, i.caFile(), i.minRefresh()));
        assertThat(lenient.verify(jwt)).isInstanceOf(Verdict.Valid.class);
        assertThat(lenient.verify(untyped)).isInstanceOf(Verdict.Valid.class);
    }

    @Test
    void algorithmMustFitTheKey() throws Exception {
        // The EC key's id on an RS256 header, and PS256 with an RSA key published for RS256 only.
        String ecKidRsaSigned = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).type(new JOSEObjectType("at+jwt"))
                .keyID("ec").build(), claims().build()) {
            {
                sign(new RSASSASigner(rsa));
            }
        }.serialize();
        assertThat(reason(verifier().verify(ecKidRsaSigned))).contains("no-matching-key");
        assertThat(reason(verifier().verify(sign(rsa, JWSAlgorithm.PS256, new JOSEObjectType("at+jwt"), claims().build()))))
                .contains("no-matching-key");
    }

    @Test
    void expiryAndNotBeforeAllowTheSkewAndNoMore() throws Exception {
        long skew = BearerTokenVerifier.CLOCK_SKEW.toSeconds();
        assertThat(verifier().verify(token(claims().expirationTime(Date.from(NOW.minusSeconds(skew - 5))).build())))
                .isInstanceOf(Verdict.Valid.class);
        assertThat(reason(verifier().verify(token(claims().expirationTime(Date.from(NOW.minusSeconds(skew + 5))).build()))))
                .contains("expired");
        assertThat(verifier().verify(token(claims().notBeforeTime(Date.from(NOW.plusSeconds(skew - 5))).build())))
                .isInstanceOf(Verdict.Valid.class);
        assertThat(reason(verifier().verify(token(claims().notBeforeTime(Date.from(NOW.plusSeconds(skew + 5))).build()))))
                .contains("before-use");
        JWTClaimsSet noExpiry = new JWTClaimsSet.Builder(claims().build()).expirationTime(null).build();
        assertThat(reason(verifier().verify(token(noExpiry)))).contains("exp");
    }

    @Test
    void audienceIssuerAndScope() throws Exception {
        assertThat(reason(verifier().verify(token(claims().audience("https://other.example").build())))).contains("aud");
        assertThat(reason(verifier().verify(token(claims().issuer(issuer + "/").build())))).isEqualTo("unknown-issuer");
        assertThat(reason(verifier().verify(token(claims().claim("scope", "openid").build())))).isEqualTo("missing-scope");
        assertThat(verifier(i -> new OAuthIssuer(i.issuer(), i.jwksUri(), i.audience(), i.accountClaim(), i.accountDomain(),
                Optional.empty(), false, i.caFile(), i.minRefresh())).verify(token(claims().claim("scope", null).build())))
                .isInstanceOf(Verdict.Valid.class);
    }

    @Test
    void accountClaimWithADomain() throws Exception {
        BearerTokenVerifier byName = verifier(i -> new OAuthIssuer(i.issuer(), i.jwksUri(), i.audience(),
                "preferred_username", Optional.of("example.org"), i.requiredScope(), false, i.caFile(), i.minRefresh()));
        Verdict verdict = byName.verify(token(claims().claim("preferred_username", "bob").build()));
        assertThat(((Verdict.Valid) verdict).name()).isEqualTo("bob@example.org");
        assertThat(reason(byName.verify(token(claims().claim("preferred_username", "bo b\r\n").build()))))
                .startsWith("no-account-claim");
        assertThat(reason(byName.verify(token(claims().build())))).contains("preferred-username");
    }

    @Test
    void anUnknownKeyIdFetchesTheKeysAgainAtMostTwicePerMinRefresh() throws Exception {
        BearerTokenVerifier verifier = verifier();
        assertThat(verifier.verify(token(claims().build()))).isInstanceOf(Verdict.Valid.class);
        assertThat(jwksFetches).hasValue(1);
        // The issuer rotates its key: the new key id fetches the keys again.
        RSAKey rotated = rsaKey("rsa-2");
        publish(rotated, rsa);
        assertThat(verifier.verify(sign(rotated, JWSAlgorithm.RS256, new JOSEObjectType("at+jwt"), claims().build())))
                .isInstanceOf(Verdict.Valid.class);
        assertThat(jwksFetches).hasValue(2);
        // A third fetch within min-refresh is not made: a token with yet another key id is refused unfetched.
        RSAKey third = rsaKey("rsa-3");
        publish(third, rotated, rsa);
        assertThat(reason(verifier.verify(sign(third, JWSAlgorithm.RS256, new JOSEObjectType("at+jwt"), claims().build()))))
                .isEqualTo("unknown-key");
        assertThat(jwksFetches).hasValue(2);
    }

    private static RSAKey rsaKey(String kid) throws Exception {
        return new RSAKeyGenerator(2048).keyID(kid).keyUse(KeyUse.SIGNATURE).generate();
    }

    @Test
    void unreachableKeysAreTheServersProblemNotTheClients() throws Exception {
        status = 500;
        assertThat(verifier().verify(token(claims().build()))).isInstanceOf(Verdict.Unavailable.class);
        BearerTokenVerifier cleartext = verifier(i -> new OAuthIssuer(i.issuer(),
                Optional.of(URI.create("http://localhost:" + https.getAddress().getPort() + "/jwks")), i.audience(),
                i.accountClaim(), i.accountDomain(), i.requiredScope(), false, i.caFile(), i.minRefresh()));
        status = 200;
        assertThat(cleartext.verify(token(claims().build()))).isInstanceOf(Verdict.Unavailable.class);
        // The system's CAs do not know the test PKI.
        BearerTokenVerifier systemTrust = verifier(i -> new OAuthIssuer(i.issuer(), i.jwksUri(), i.audience(),
                i.accountClaim(), i.accountDomain(), i.requiredScope(), false, Optional.empty(), i.minRefresh()));
        assertThat(systemTrust.verify(token(claims().build()))).isInstanceOf(Verdict.Unavailable.class);
    }

    @Test
    void garbageIsNotAToken() {
        assertThat(reason(verifier().verify("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="))).isEqualTo("not-a-jwt");
        assertThat(reason(verifier().verify("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."))).isEqualTo("unsigned");
    }
}
