package org.castellan.security.auth.oauth;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One OAuth 2.0 authorization server whose JWT access tokens (RFC 9068) log users in with
 * OAUTHBEARER and XOAUTH2.
 *
 * @param issuer the exact {@code iss} of its tokens (an https URL)
 * @param jwksUri where its signing keys are published; empty: read {@code jwks_uri} from
 *     {@code issuer/.well-known/openid-configuration} (OpenID Connect Discovery 1.0 §4)
 * @param audience a value the token's {@code aud} must contain (RFC 9068 §4)
 * @param accountClaim the claim naming the account, such as {@code email} or {@code preferred_username}
 * @param accountDomain appended as {@code @domain} to a claim value without one; empty: none
 * @param requiredScope a scope the token's {@code scope} must contain; empty: none
 * @param untypedJwt whether tokens typed {@code JWT}, or without {@code typ}, are accepted besides
 *     {@code at+jwt} (RFC 9068 §2.1): some servers issue access tokens as plain JWTs
 * @param caFile PEM certificates trusted for this issuer's HTTPS instead of the system's; empty: the system's
 * @param minRefresh the keys are fetched at most twice in this time; a token with an unknown key id
 *     fetches them
 */
public record OAuthIssuer(String issuer, Optional<URI> jwksUri, String audience, String accountClaim,
        Optional<String> accountDomain, Optional<String> requiredScope, boolean untypedJwt,
        Optional<Path> caFile, Duration minRefresh) {

    public OAuthIssuer {
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(jwksUri, "jwksUri");
        Objects.requireNonNull(audience, "audience");
        Objects.requireNonNull(accountClaim, "accountClaim");
        Objects.requireNonNull(accountDomain, "accountDomain");
        Objects.requireNonNull(requiredScope, "requiredScope");
        Objects.requireNonNull(caFile, "caFile");
        Objects.requireNonNull(minRefresh, "minRefresh");
        accountDomain = accountDomain.map(d -> d.toLowerCase(Locale.ROOT));
    }

    /** The discovery document (OpenID Connect Discovery 1.0 §4), named in the RFC 7628 §3.2.2 error. */
    public String openidConfiguration() {
        return (issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer)
                + "/.well-known/openid-configuration";
    }
}
