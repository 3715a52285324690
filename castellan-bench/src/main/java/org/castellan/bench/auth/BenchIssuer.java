package org.castellan.bench.auth;

import com.nimbusds.jose.JOSEException;
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
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import javax.net.ssl.SSLContext;
import org.castellan.testkit.TestPki;

/**
 * An OAuth 2.0 authorization server reduced to what a resource server reads of it, for
 * {@link LoginBench}'s OAUTHBEARER case: a static JWKS over HTTPS from this process (the JDK's
 * HttpsServer with the test PKI's server certificate) and RS256 JWT access tokens (RFC 9068)
 * minted here with its key.
 */
final class BenchIssuer implements AutoCloseable {

    static final String AUDIENCE = "https://mail.bench";
    static final String SCOPE = "mail";
    /** Longer than any run: one token serves every login, as a client reuses its access token until it expires. */
    private static final Duration TOKEN_LIFE = Duration.ofHours(2);

    private final HttpsServer https;
    private final RSAKey key;

    private BenchIssuer(HttpsServer https, RSAKey key) {
        this.https = https;
        this.key = key;
    }

    static BenchIssuer start(TestPki pki) throws IOException, GeneralSecurityException, JOSEException {
        RSAKey key = new RSAKeyGenerator(2048).keyID("bench-1").keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.RS256).generate();
        byte[] jwks = new JWKSet(key.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(pki.server().keyManagerFactory().getKeyManagers(), null, null);
        HttpsServer https = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(tls));
        https.createContext("/jwks", exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, jwks.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(jwks);
            }
        });
        https.start();
        return new BenchIssuer(https, key);
    }

    /** The issuer identifier, an https URL on localhost. */
    String issuer() {
        return "https://localhost:" + https.getAddress().getPort();
    }

    String jwksUri() {
        return issuer() + "/jwks";
    }

    /** An access token for {@code account} (RFC 9068 §2.2's claims), typed at+jwt. */
    String token(String account) throws JOSEException {
        Instant now = Instant.now();
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(issuer()).audience(AUDIENCE).subject(account)
                .claim("client_id", "bench").claim("scope", SCOPE).claim("email", account).jwtID("t" + System.nanoTime())
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plus(TOKEN_LIFE))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).type(new JOSEObjectType("at+jwt"))
                .keyID(key.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    @Override
    public void close() {
        https.stop(0);
    }
}
