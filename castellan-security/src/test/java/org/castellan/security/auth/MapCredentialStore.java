package org.castellan.security.auth;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** A real, in-memory credential store for tests: accounts by lower-cased address, with real SCRAM secrets. */
final class MapCredentialStore implements CredentialStore {

    private final Map<String, StoredCredential> accounts = new ConcurrentHashMap<>();
    private volatile boolean down;

    MapCredentialStore add(String account, String password) {
        accounts.put(account.toLowerCase(Locale.ROOT),
                new StoredCredential(account, ScramSecret.derive(password.toCharArray()).encode()));
        return this;
    }

    MapCredentialStore addRaw(String account, String secret) {
        accounts.put(account.toLowerCase(Locale.ROOT), new StoredCredential(account, secret));
        return this;
    }

    /** Makes every lookup fail as an unreachable database would. */
    void down(boolean down) {
        this.down = down;
    }

    @Override
    public Optional<StoredCredential> find(String username) {
        if (down) throw new IllegalStateException("the account database is not reachable");
        return Optional.ofNullable(accounts.get(username.toLowerCase(Locale.ROOT)));
    }
}
