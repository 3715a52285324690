package org.castellan.server.config;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.castellan.security.auth.KerberosSettings;

/**
 * The {@code [kerberos]} table: SASL GSSAPI (Kerberos V5, RFC 4752) on IMAP, POP3 and submission
 * (docs/authentication.md, "GSSAPI (Kerberos)").
 *
 * <p>The reader checks the keys and reports problems with their lines; the constructor only
 * copies.
 *
 * @param keytab the keytab with the service principals' keys; empty turns GSSAPI off
 * @param realm the users' realm
 * @param protocols the protocols that offer GSSAPI ({@code imap}, {@code pop3}, {@code smtp})
 * @param servicePrincipals each of those protocols' service principal, written or defaulted to
 *     {@code <service>/<server.hostname>@<realm>}
 * @param principals explicit client principal to account address mappings
 * @param realmDomain the mail domain of the realm's users, for the strip-realm rule
 */
public record Kerberos(Optional<Path> keytab, String realm, List<String> protocols,
        Map<String, String> servicePrincipals, Map<String, String> principals, Optional<String> realmDomain) {

    /** The protocols GSSAPI can be offered on, as {@code AuthContext.protocol()} names them. */
    public static final List<String> PROTOCOLS = List.of("imap", "pop3", "smtp");

    /** GSSAPI off. */
    public static final Kerberos NONE = new Kerberos(Optional.empty(), "", PROTOCOLS, Map.of(), Map.of(), Optional.empty());

    public Kerberos {
        Objects.requireNonNull(keytab, "keytab");
        Objects.requireNonNull(realm, "realm");
        protocols = List.copyOf(protocols);
        servicePrincipals = Map.copyOf(servicePrincipals);
        principals = Map.copyOf(principals);
        Objects.requireNonNull(realmDomain, "realmDomain");
    }

    /**
     * The GSS-API service name of a protocol's host-based principal: RFC 4752 §3.1 asks each
     * protocol's profile for it: "imap" (RFC 9051 §6.2.2), "pop" (RFC 5034 §4), "smtp" (RFC 4954 §4).
     */
    public static String serviceName(String protocol) {
        return switch (protocol) {
            case "pop3" -> "pop";
            default -> protocol;
        };
    }

    /** What AuthService is given: empty when GSSAPI is off. */
    public Optional<KerberosSettings> settings() {
        if (keytab.isEmpty()) return Optional.empty();
        Map<String, String> offered = new LinkedHashMap<>();
        for (String protocol : protocols) {
            if (servicePrincipals.containsKey(protocol)) offered.put(protocol, servicePrincipals.get(protocol));
        }
        return Optional.of(new KerberosSettings(keytab.get(), realm, offered, principals, realmDomain));
    }
}
