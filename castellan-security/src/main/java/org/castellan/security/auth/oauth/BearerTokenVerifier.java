package org.castellan.security.auth.oauth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jose.util.Resource;
import com.nimbusds.jose.util.ResourceRetriever;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.castellan.protocol.mail.EmailAddress;

/**
 * Verifies OAuth 2.0 JWT access tokens (RFC 9068) against the configured issuers: the signature
 * with a key from the issuer's JWKS (fetched over HTTPS, cached, fetched again for a key id not
 * yet known — at most twice per {@link OAuthIssuer#minRefresh()} — so that the issuer's key
 * rotation needs nothing here), {@code typ}, {@code iss}, {@code aud}, {@code exp} and
 * {@code nbf} with {@link #CLOCK_SKEW}, the required scope, and the claim naming the account.
 *
 * <p>SECURITY. The token is untrusted. Only asymmetric signatures are accepted (RSA, RSA-PSS,
 * ECDSA, EdDSA) and only with a key of the issuer's JWKS whose type fits the header's
 * {@code alg} (and whose own {@code alg}, if it names one, is that alg): never {@code none}, never
 * an HMAC keyed with a public key. The issuer is chosen by the token's {@code iss}, compared
 * exactly. The token itself is never logged, nor returned in a reason.
 *
 * <p>Threads: {@link #verify} may fetch keys over the network and blocks for it (at most
 * {@link #HTTP_TIMEOUT} per request): call it from a worker, never an event loop. Thread-safe.
 */
public final class BearerTokenVerifier {

    /** RFC 9068 §4 leaves the skew to the resource server; a minute covers clocks kept by NTP. */
    public static final Duration CLOCK_SKEW = Duration.ofSeconds(60);
    /** A JWKS or discovery document that takes longer is treated as unavailable. */
    public static final Duration HTTP_TIMEOUT = Duration.ofSeconds(10);
    /** A JWKS holds a few keys; a discovery document a few kilobytes. More is not one. */
    public static final int MAX_DOCUMENT = 256 * 1024;
    /** The longest reason logged for a refused token. */
    private static final int MAX_REASON = 100;
    /** How long fetched keys are used before they are fetched again (Nimbus's default). */
    public static final Duration KEY_CACHE = Duration.ofMinutes(5);
    /** RFC 9068 §2.1: access tokens are typed {@code at+jwt}; RFC 8725 §3.11 asks for explicit typing. */
    private static final Set<JOSEObjectType> ACCESS_TOKEN_TYPES =
            Set.of(new JOSEObjectType("at+jwt"), new JOSEObjectType("application/at+jwt"));
    /** RFC 8725 §3.1: only the asymmetric algorithms a JWKS can publish a public key for. */
    private static final Set<JWSAlgorithm> ALGORITHMS;

    static {
        Set<JWSAlgorithm> algorithms = new HashSet<>();
        algorithms.addAll(JWSAlgorithm.Family.RSA);
        algorithms.addAll(JWSAlgorithm.Family.EC);
        algorithms.addAll(JWSAlgorithm.Family.ED);
        ALGORITHMS = Set.copyOf(algorithms);
    }

    /** What {@link #verify} found. */
    public sealed interface Verdict {
        /** The token is good; {@code name} is the account it names, not yet looked up. */
        record Valid(OAuthIssuer issuer, String name) implements Verdict {}

        /** Refused; {@code reason} is for the server log and names no part of the token. */
        record Invalid(Optional<OAuthIssuer> issuer, String reason) implements Verdict {}

        /** The issuer's keys could not be fetched: the server's problem, not the client's. */
        record Unavailable(OAuthIssuer issuer, String reason) implements Verdict {}
    }

    private final List<Checker> checkers;
    private final Clock clock;

    /**
     * @param issuers the accepted issuers; none means every token is refused
     * @param clock the time {@code exp} and {@code nbf} are compared with
     * @throws IllegalArgumentException if an issuer's CA file cannot be read
     */
    public BearerTokenVerifier(List<OAuthIssuer> issuers, Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        List<Checker> list = new ArrayList<>();
        for (OAuthIssuer issuer : issuers) list.add(new Checker(issuer, httpClient(issuer.caFile())));
        this.checkers = List.copyOf(list);
    }

    /** The issuers, in configuration order. */
    public List<OAuthIssuer> issuers() {
        return checkers.stream().map(c -> c.issuer).toList();
    }

    /** Verifies {@code token}; never throws for any token. Blocks while keys are fetched. */
    public Verdict verify(String token) {
        JWT jwt;
        JWTClaimsSet unverified;
        try {
            jwt = JWTParser.parse(token);
            unverified = jwt.getJWTClaimsSet();
        } catch (ParseException | RuntimeException e) {
            return new Verdict.Invalid(Optional.empty(), "not-a-jwt");
        }
        if (!(jwt instanceof SignedJWT signed)) {
            // RFC 8725 §2.1: an unsecured ("alg":"none") or encrypted token is never taken as signed.
            return new Verdict.Invalid(Optional.empty(), "unsigned");
        }
        Checker checker = checkers.stream().filter(c -> c.issuer.issuer().equals(unverified.getIssuer()))
                .findFirst().orElse(null);
        if (checker == null) return new Verdict.Invalid(Optional.empty(), "unknown-issuer");
        return checker.verify(signed);
    }

    /** One issuer's processor, built at its first token (discovery needs the network). */
    private final class Checker {
        final OAuthIssuer issuer;
        final HttpClient http;
        private DefaultJWTProcessor<SecurityContext> processor;

        Checker(OAuthIssuer issuer, HttpClient http) {
            this.issuer = issuer;
            this.http = http;
        }

        Verdict verify(SignedJWT token) {
            DefaultJWTProcessor<SecurityContext> p;
            try {
                p = processor();
            } catch (IOException | RuntimeException e) {
                return new Verdict.Unavailable(issuer, "discovery-failed " + e.getClass().getSimpleName());
            }
            JWTClaimsSet claims;
            try {
                claims = p.process(token, null);
            } catch (RateLimitReachedException e) {
                // An unknown key id while the keys were just fetched twice: not a key of this issuer now.
                return new Verdict.Invalid(Optional.of(issuer), "unknown-key");
            } catch (com.nimbusds.jose.KeySourceException e) {
                return new Verdict.Unavailable(issuer, "jwks-unavailable " + e.getClass().getSimpleName());
            } catch (BadJWTException e) {
                return new Verdict.Invalid(Optional.of(issuer), "claims " + reason(e));
            } catch (BadJOSEException e) {
                return new Verdict.Invalid(Optional.of(issuer), reason(e));
            } catch (JOSEException | RuntimeException e) {
                return new Verdict.Invalid(Optional.of(issuer), "bad-signature");
            }
            if (!hasScope(claims)) return new Verdict.Invalid(Optional.of(issuer), "missing-scope");
            String name = account(claims);
            if (name == null) return new Verdict.Invalid(Optional.of(issuer), "no-account-claim " + issuer.accountClaim());
            return new Verdict.Valid(issuer, name);
        }

        private synchronized DefaultJWTProcessor<SecurityContext> processor() throws IOException {
            if (processor != null) return processor;
            URI jwks = issuer.jwksUri().isPresent() ? issuer.jwksUri().get() : discover();
            JWKSource<SecurityContext> keys = JWKSourceBuilder.<SecurityContext>create(jwks.toURL(), this::fetch)
                    .cache(KEY_CACHE.toMillis(), HTTP_TIMEOUT.toMillis())
                    .rateLimited(issuer.minRefresh().toMillis())
                    .retrying(false)
                    .build();
            DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
            Set<JOSEObjectType> types = new HashSet<>(ACCESS_TOKEN_TYPES);
            if (issuer.untypedJwt()) {
                types.add(JOSEObjectType.JWT);
                types.add(null);
            }
            p.setJWSTypeVerifier(new DefaultJOSEObjectTypeVerifier<>(types));
            p.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, keys));
            // RFC 9068 §4: iss exactly, aud containing this server, exp; nbf checked when present.
            Set<String> required = new HashSet<>(Set.of("iss", "aud", "exp", issuer.accountClaim()));
            DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(Set.of(issuer.audience()),
                    new JWTClaimsSet.Builder().issuer(issuer.issuer()).build(), required, null) {
                @Override
                protected Date currentTime() {
                    return Date.from(clock.instant());
                }
            };
            claims.setMaxClockSkew((int) CLOCK_SKEW.toSeconds());
            p.setJWTClaimsSetVerifier(claims);
            processor = p;
            return p;
        }

        /** OpenID Connect Discovery 1.0 §4: the {@code jwks_uri} of the issuer's configuration; https only. */
        private URI discover() throws IOException {
            Resource document = fetch(URI.create(issuer.openidConfiguration()).toURL());
            try {
                Map<String, Object> json = JSONObjectUtils.parse(document.getContent());
                String jwks = JSONObjectUtils.getString(json, "jwks_uri");
                String claimed = JSONObjectUtils.getString(json, "issuer");
                // Discovery §4.3: the document's issuer must be the one it was fetched for.
                if (jwks == null || !issuer.issuer().equals(claimed)) throw new IOException("unusable discovery document");
                URI uri = URI.create(jwks);
                if (!"https".equalsIgnoreCase(uri.getScheme())) throw new IOException("jwks_uri is not https");
                return uri;
            } catch (ParseException | IllegalArgumentException e) {
                throw new IOException("unreadable discovery document", e);
            }
        }

        /** GET over HTTPS with a timeout and a size limit. */
        private Resource fetch(URL url) throws IOException {
            if (!"https".equalsIgnoreCase(url.getProtocol())) throw new IOException("not https: " + url);
            try {
                HttpRequest request = HttpRequest.newBuilder(url.toURI()).timeout(HTTP_TIMEOUT)
                        .header("Accept", "application/json").GET().build();
                HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream body = response.body()) {
                    byte[] bytes = body.readNBytes(MAX_DOCUMENT + 1);
                    if (response.statusCode() != 200) throw new IOException("HTTP " + response.statusCode() + " from " + url);
                    if (bytes.length > MAX_DOCUMENT) throw new IOException("larger than " + MAX_DOCUMENT + " bytes: " + url);
                    return new Resource(new String(bytes, StandardCharsets.UTF_8),
                            response.headers().firstValue("Content-Type").orElse(null));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            } catch (java.net.URISyntaxException e) {
                throw new IOException(e);
            }
        }

        /** RFC 9068 §2.2.3: {@code scope} is a space-separated list (RFC 6749 §3.3). */
        private boolean hasScope(JWTClaimsSet claims) {
            if (issuer.requiredScope().isEmpty()) return true;
            Object scope = claims.getClaim("scope");
            return scope instanceof String s && List.of(s.split(" ")).contains(issuer.requiredScope().get());
        }

        /** The account the configured claim names: an address, or a name completed with the account domain. */
        private String account(JWTClaimsSet claims) {
            Object value = claims.getClaim(issuer.accountClaim());
            if (!(value instanceof String name) || name.isEmpty()) return null;
            if (name.indexOf('@') < 0 && issuer.accountDomain().isPresent()) name = name + "@" + issuer.accountDomain().get();
            return EmailAddress.parse(name).ok() ? name : null;
        }
    }

    /**
     * A reason from Nimbus's message, lower-cased and hyphenated so that no client-chosen value
     * (an audience, an algorithm) can put anything but letters and digits into the log; bounded.
     */
    private static String reason(Exception e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        String words = message.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-|-$", "");
        return words.length() > MAX_REASON ? words.substring(0, MAX_REASON) : words;
    }

    private static HttpClient httpClient(Optional<Path> caFile) {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(HTTP_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER);
        caFile.ifPresent(file -> builder.sslContext(trusting(file)));
        return builder.build();
    }

    /** An SSLContext trusting the certificates of {@code file} (PEM) alone. */
    private static SSLContext trusting(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trust.setCertificateEntry("ca-" + i++, c);
            }
            if (i == 0) throw new IllegalArgumentException(file + " holds no certificate");
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot read the CA certificates of " + file + ": " + e.getMessage(), e);
        }
    }
}
