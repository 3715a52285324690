package org.castellan.security.auth;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A real, in-memory credential store for tests: accounts by lower-cased address, with real SCRAM secrets. */
final class MapCredentialStore implements CredentialStore {

    private final Map<String, StoredCredential> accounts = new ConcurrentHashMap<>();
    private final Map<String, List<AppSecret>> apps = new ConcurrentHashMap<>();
    private final Map<String, String> bindings = new ConcurrentHashMap<>();
    private volatile boolean down;
    /** While set, account lookups wait for it to open, as they would on a slow database. */
    private volatile CountDownLatch paused;
    private final AtomicInteger lookupsNow = new AtomicInteger();
    private final AtomicInteger mostLookups = new AtomicInteger();

    /** Binds a certificate to an account by fingerprint, as {@code castellan user cert bind} does. */
    MapCredentialStore bind(X509Certificate certificate, String account) {
        bindings.put(CertificateFingerprint.sha256(certificate), account);
        return this;
    }

    /** An app password as the server stores one: with its selector if it has one (a generated app password does). */
    MapCredentialStore addApp(String account, long id, String password, Set<String> protocols) {
        apps.computeIfAbsent(account.toLowerCase(Locale.ROOT), k -> new CopyOnWriteArrayList<>())
                .add(new AppSecret(id, ScramSecret.derive(password.toCharArray()).encode(), protocols,
                        Passwords.selector(password.toCharArray())));
        return this;
    }

    void revokeApp(String account, long id) {
        apps.getOrDefault(account.toLowerCase(Locale.ROOT), List.of()).removeIf(a -> a.id() == id);
    }

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

    /** Makes account lookups wait until {@link #resume()}, as a slow database would. */
    void pause() {
        paused = new CountDownLatch(1);
    }

    void resume() {
        CountDownLatch latch = paused;
        paused = null;
        if (latch != null) latch.countDown();
    }

    /** Account lookups in progress now (waiting on {@link #pause()} or not). */
    int lookupsNow() {
        return lookupsNow.get();
    }

    /** The most account lookups that were ever in progress at once. */
    int mostLookupsAtOnce() {
        return mostLookups.get();
    }

    @Override
    public Optional<StoredCredential> find(String username) {
        mostLookups.accumulateAndGet(lookupsNow.incrementAndGet(), Math::max);
        try {
            CountDownLatch latch = paused;
            if (latch != null && !latch.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the account database was paused for a minute");
            }
            if (down) throw new IllegalStateException("the account database is not reachable");
            return Optional.ofNullable(accounts.get(username.toLowerCase(Locale.ROOT)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the account database was paused", e);
        } finally {
            lookupsNow.decrementAndGet();
        }
    }

    @Override
    public boolean replaceSecret(String account, String expected, String replacement) {
        if (down) throw new IllegalStateException("the account database is not reachable");
        String key = account.toLowerCase(Locale.ROOT);
        StoredCredential now = accounts.get(key);
        return now != null && now.secret().equals(expected)
                && accounts.replace(key, now, new StoredCredential(now.account(), replacement));
    }

    /** The secret the store holds now for {@code account}. */
    String secret(String account) {
        return accounts.get(account.toLowerCase(Locale.ROOT)).secret();
    }

    @Override
    public Optional<String> certificateBinding(X509Certificate certificate) {
        if (down) throw new IllegalStateException("the account database is not reachable");
        return Optional.ofNullable(bindings.get(CertificateFingerprint.sha256(certificate)));
    }

    @Override
    public List<AppSecret> appPasswords(String account) {
        if (down) throw new IllegalStateException("the account database is not reachable");
        return List.copyOf(apps.getOrDefault(account.toLowerCase(Locale.ROOT), List.of()));
    }
}
