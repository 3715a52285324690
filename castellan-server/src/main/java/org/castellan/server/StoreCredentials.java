package org.castellan.server;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.CertificateFingerprint;
import org.castellan.security.auth.CredentialStore;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.store.Directory;

/**
 * The accounts of the mail store as {@link org.castellan.security.auth.AuthService}'s credential store: a user name is an
 * account's address, matched case-insensitively ({@link EmailAddress#key()}).
 *
 * <p>Failure: a name that is not an address finds nothing; a store that cannot be read throws its
 * {@link org.castellan.store.StoreException}, which AuthService answers as a temporary failure.
 *
 * @see org.castellan.security.auth.AuthService
 */
public final class StoreCredentials implements CredentialStore {

    private final Directory store;
    private final Optional<CertificateAuthority> ca;

    public StoreCredentials(Directory store) {
        this(store, Optional.empty());
    }

    /** @param ca the built-in CA, whose index records the owner of each device certificate it issued */
    public StoreCredentials(Directory store, Optional<CertificateAuthority> ca) {
        this.store = store;
        this.ca = ca;
    }

    @Override
    public Optional<StoredCredential> find(String username) {
        EmailAddress.Parsed parsed = EmailAddress.parse(username);
        if (!parsed.ok()) return Optional.empty();
        return store.getAccount(parsed.address().orElseThrow())
                .map(a -> new StoredCredential(a.address().toString(), a.credential()));
    }

    /** Compare and set on the account's credential ({@link Directory#replaceCredential}). */
    @Override
    public boolean replaceSecret(String account, String expected, String replacement) {
        EmailAddress.Parsed parsed = EmailAddress.parse(account);
        if (!parsed.ok()) return false;
        return store.getAccount(parsed.address().orElseThrow())
                .map(a -> store.replaceCredential(a.id(), expected, replacement))
                .orElse(false);
    }

    /**
     * The owner the built-in CA recorded for a certificate it issued. The serial alone is not
     * enough: another trusted CA may have used the same number, so the issuer must be ours too.
     */
    @Override
    public List<String> certificateOwners(X509Certificate certificate) {
        if (ca.isEmpty()) return List.of();
        return ca.get().find(certificate.getSerialNumber())
                .filter(e -> ca.get().caCertificate(e.kind()).getSubjectX500Principal()
                        .equals(certificate.getIssuerX500Principal()))
                .map(e -> List.of(e.owner()))
                .orElse(List.of());
    }

    /** The account an operator bound the certificate to ({@code castellan user cert bind}). */
    @Override
    public Optional<String> certificateBinding(X509Certificate certificate) {
        return store.findCertificateBinding(CertificateFingerprint.sha256(certificate))
                .flatMap(b -> store.getAccount(b.accountId()))
                .map(a -> a.address().toString());
    }

    @Override
    public List<AppSecret> appPasswords(String account) {
        EmailAddress.Parsed parsed = EmailAddress.parse(account);
        if (!parsed.ok()) return List.of();
        return store.getAccount(parsed.address().orElseThrow())
                .map(a -> store.listAppPasswords(a.id()).stream()
                        .map(p -> new AppSecret(p.id(), p.credential(), p.scope(), p.selector())).toList())
                .orElse(List.of());
    }
}
