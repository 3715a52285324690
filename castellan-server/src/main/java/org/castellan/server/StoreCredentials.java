package org.castellan.server;

import java.util.List;
import java.util.Optional;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.CredentialStore;
import org.castellan.store.MailStore;

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

    private final MailStore store;

    public StoreCredentials(MailStore store) {
        this.store = store;
    }

    @Override
    public Optional<StoredCredential> find(String username) {
        EmailAddress.Parsed parsed = EmailAddress.parse(username);
        if (!parsed.ok()) return Optional.empty();
        return store.getAccount(parsed.address().orElseThrow())
                .map(a -> new StoredCredential(a.address().toString(), a.credential()));
    }

    @Override
    public List<AppSecret> appPasswords(String account) {
        EmailAddress.Parsed parsed = EmailAddress.parse(account);
        if (!parsed.ok()) return List.of();
        return store.getAccount(parsed.address().orElseThrow())
                .map(a -> store.listAppPasswords(a.id()).stream()
                        .map(p -> new AppSecret(p.id(), p.credential(), p.scope())).toList())
                .orElse(List.of());
    }
}
