package org.castellan.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.castellan.security.auth.oauth.OAuthIssuer;
import org.junit.jupiter.api.Test;

/** The [[oauth-issuer]] tables. */
class OAuthIssuerConfigTest {

    private static final Path FILE = Path.of("/etc/castellan/castellan.toml");

    private static String config(String issuerTables) {
        return """
                [server]
                hostname = "mail.example.org"
                data-dir = "/var/lib/castellan"
                """ + issuerTables;
    }

    @Test
    void noIssuerByDefault() throws ConfigException {
        assertThat(CastellanConfig.parse(config(""), FILE).oauthIssuers()).isEmpty();
    }

    @Test
    void readsEveryKeyWithDefaults() throws ConfigException {
        var issuers = CastellanConfig.parse(config("""
                [[oauth-issuer]]
                issuer = "https://id.example.org"
                audience = "https://mail.example.org"
                [[oauth-issuer]]
                issuer = "https://login.example.net/tenant"
                jwks-uri = "https://login.example.net/keys"
                audience = "mail"
                account-claim = "preferred_username"
                account-domain = "Example.NET"
                required-scope = "mail.read"
                untyped-jwt = true
                ca-file = "issuer-ca.pem"
                min-refresh = "1s"
                """), FILE).oauthIssuers();
        assertThat(issuers).containsExactly(
                new OAuthIssuer("https://id.example.org", Optional.empty(), "https://mail.example.org", "email",
                        Optional.empty(), Optional.empty(), false, Optional.empty(), Duration.ofSeconds(30)),
                new OAuthIssuer("https://login.example.net/tenant", Optional.of(URI.create("https://login.example.net/keys")),
                        "mail", "preferred_username", Optional.of("example.net"), Optional.of("mail.read"), true,
                        Optional.of(Path.of("/var/lib/castellan/issuer-ca.pem")), Duration.ofSeconds(1)));
        assertThat(issuers.getFirst().openidConfiguration())
                .isEqualTo("https://id.example.org/.well-known/openid-configuration");
    }

    @Test
    void issuerAndJwksMustBeHttpsAndAudienceIsRequired() {
        assertThatThrownBy(() -> CastellanConfig.parse(config("""
                [[oauth-issuer]]
                issuer = "http://id.example.org"
                jwks-uri = "ftp://id.example.org/keys"
                """), FILE)).isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.getMessage())
                        .contains("oauth-issuer[1].issuer", "expected an https URL")
                        .contains("oauth-issuer[1].jwks-uri")
                        .contains("oauth-issuer[1].audience: missing"));
    }

    @Test
    void anIssuerOnlyOnce() {
        assertThatThrownBy(() -> CastellanConfig.parse(config("""
                [[oauth-issuer]]
                issuer = "https://id.example.org"
                audience = "a"
                [[oauth-issuer]]
                issuer = "https://id.example.org"
                audience = "b"
                """), FILE)).isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.getMessage())
                        .contains("already configured on line 5"));
    }
}
