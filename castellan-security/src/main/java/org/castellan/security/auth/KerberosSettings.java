package org.castellan.security.auth;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * SASL GSSAPI (Kerberos V5, RFC 4752): where the service keys are, which service principal each
 * protocol accepts tickets for, and how a client's principal names an account.
 *
 * <p>A principal names an account by an explicit entry of {@code principalAccounts} first (the
 * operator's word wins); else, with {@code realmDomain} set, a principal of one component in
 * {@code realm} ({@code alice@EXAMPLE.ORG}) names {@code alice@<realmDomain>} ("strip the
 * realm"). Principals with an instance ({@code alice/admin@EXAMPLE.ORG}) and those of other realms
 * name an account only through an explicit entry: a cross-realm trust or an admin instance must
 * never log in as the plain user by accident. The account must still exist in the store.
 *
 * <p>Failure: the constructor throws {@link IllegalArgumentException} naming what is wrong.
 *
 * @param keytab the keytab holding the service principals' keys (readable by the server only)
 * @param realm the Kerberos realm of the users, such as {@code EXAMPLE.ORG}
 * @param servicePrincipals protocol ({@code "imap"}, {@code "pop3"}, {@code "smtp"}) to the full
 *     service principal tickets must be for; a protocol absent here is not offered GSSAPI
 * @param principalAccounts full client principal to account address
 * @param realmDomain the mail domain of {@code realm}'s users, for the strip-realm rule
 */
public record KerberosSettings(Path keytab, String realm, Map<String, String> servicePrincipals,
        Map<String, String> principalAccounts, Optional<String> realmDomain) {

    /** RFC 4120 §6.2: a realm and a principal's components; here without '@' or '/' inside. */
    private static final Pattern SIMPLE_PRINCIPAL = Pattern.compile("([^/@\\\\]+)@([^/@\\\\]+)");

    public KerberosSettings {
        Objects.requireNonNull(keytab, "keytab");
        Objects.requireNonNull(realm, "realm");
        if (realm.isEmpty() || realm.contains("@") || realm.contains("/")) {
            throw new IllegalArgumentException("realm must be a Kerberos realm such as EXAMPLE.ORG, not \"" + realm + "\"");
        }
        servicePrincipals = Map.copyOf(servicePrincipals);
        principalAccounts = Map.copyOf(principalAccounts);
        Objects.requireNonNull(realmDomain, "realmDomain");
        servicePrincipals.forEach((protocol, principal) -> {
            if (!principal.contains("@")) {
                throw new IllegalArgumentException("the " + protocol + " service principal must name its realm,"
                        + " such as imap/mail.example.org@" + realm + ", not \"" + principal + "\"");
            }
        });
    }

    /** The service principal the {@code protocol}'s tickets must be for, if GSSAPI is offered there. */
    public Optional<String> servicePrincipal(String protocol) {
        return Optional.ofNullable(servicePrincipals.get(protocol));
    }

    /**
     * The account name {@code principal} stands for, before the store is asked whether it exists;
     * empty if no rule maps it.
     */
    public Optional<String> accountName(String principal) {
        String mapped = principalAccounts.get(principal);
        if (mapped != null) return Optional.of(mapped);
        var m = SIMPLE_PRINCIPAL.matcher(principal);
        if (realmDomain.isEmpty() || !m.matches() || !m.group(2).equals(realm)) return Optional.empty();
        return Optional.of(m.group(1) + "@" + realmDomain.get());
    }
}
