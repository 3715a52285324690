package org.castellan.security.auth.internal;

import java.net.InetAddress;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.Block;
import org.castellan.security.auth.CertificateFingerprint;

/**
 * Counts failed logins and turns them into delays and blocks (docs/design.md §5.6).
 *
 * <p>A connection without a client certificate is counted under its host (IPv4 /32, IPv6 /64),
 * its IPv4 /24, and the pair of account and network (IPv4 /24, IPv6 /64) — never the account
 * alone, so that nobody can lock a user out from everywhere by failing on purpose. A connection
 * with a verified client certificate is counted only under that certificate: failures from
 * addresses, however many, never slow or block it.
 *
 * <p>A password check is counted before it starts: {@link #admit} reserves a place under each of
 * the attempt's counters, and the check settles the reservation once, as a failure, a success or
 * neither. A counter admits no more checks than its in-flight cap, nor more than the failures it
 * has left before its block, counting those in flight as failures to come: however many guesses
 * arrive together, no more are checked than would have been one after the other, and a block
 * decided by them refuses everything that comes later.
 *
 * <p>Thread-safe; every method is short and holds one lock. Memory is bounded by
 * {@link AuthSettings#maxTracked()}: the least recently touched counters go first. Reservations
 * are kept apart from the counters, so that neither eviction nor forgetting loses one; there are
 * never more than there are attempts in progress.
 */
public final class LoginLimiter {

    /** RFC 4291 §2.5.1: an IPv6 /64 is one subnet, usually one host or one household. */
    private static final int IPV6_HOST_BYTES = 8;
    /** Doubling past 2^30 overflows a millisecond count long before it matters. */
    private static final int MAX_DOUBLINGS = 30;

    private enum Scope { HOST, NETWORK, PAIR, CERTIFICATE }

    private record Key(Scope scope, String source, String account) {}

    private static final class Counter {
        int failures;
        Instant last;
        Instant blockedUntil;
    }

    /**
     * Where an attempt comes from, in the limiter's terms.
     *
     * @param host IPv4 /32 or IPv6 /64; null for a certificate holder
     * @param network IPv4 /24; null for IPv6 and certificate holders
     * @param pairNetwork the network paired with the account: IPv4 /24 or IPv6 /64
     * @param certificate {@code certificate sha256:<hex>}, or null
     */
    public record Origin(String host, String network, String pairNetwork, String certificate) {
        /** The certificate if there is one, else the host: whose turn a check waits for. */
        public String source() {
            return certificate != null ? certificate : host;
        }
    }

    /** What {@link #admit} decided about one attempt. */
    public sealed interface Admission {}

    /** The check may run; its {@code reservation} must be settled exactly once. */
    public record Admitted(Reservation reservation) implements Admission {}

    /** A block is in force for the attempt's host, network, pair or certificate. */
    public record Blocked(Block block) implements Admission {}

    /**
     * {@code source} (for {@code account}, if present) already has {@code inFlight} checks admitted:
     * its cap, or all the failures it has left before its block.
     */
    public record Busy(String source, Optional<String> account, int inFlight) implements Admission {}

    private final AuthSettings settings;
    private final Clock clock;
    private final LinkedHashMap<Key, Counter> counters;
    /** Admitted checks not yet settled, by counter; a key leaves when its last one is settled. */
    private final Map<Key, Integer> inFlight = new HashMap<>();

    public LoginLimiter(AuthSettings settings, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        this.counters = new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, Counter> eldest) {
                return size() > settings.maxTracked();
            }
        };
    }

    /** The origin of a connection from {@code remote}, holding {@code certificate} if verified. */
    public static Origin origin(InetAddress remote, Optional<X509Certificate> certificate) {
        if (certificate.isPresent()) {
            return new Origin(null, null, null, "certificate sha256:" + fingerprint(certificate.get()));
        }
        byte[] address = remote.getAddress();
        byte[] v4 = ipv4(address);
        if (v4 != null) {
            String network = (v4[0] & 0xFF) + "." + (v4[1] & 0xFF) + "." + (v4[2] & 0xFF) + ".0/24";
            return new Origin(ipv4Text(v4) + "/32", network, network, null);
        }
        StringBuilder prefix = new StringBuilder();
        for (int i = 0; i < IPV6_HOST_BYTES; i += 2) {
            prefix.append(Integer.toHexString((address[i] & 0xFF) << 8 | (address[i + 1] & 0xFF))).append(':');
        }
        String host = prefix.append(":/64").toString();
        return new Origin(host, null, host, null);
    }

    /** The block that refuses an attempt from {@code origin} (for {@code account}, once known), if any. */
    public synchronized Optional<Block> blocked(Origin origin, Optional<String> account) {
        Instant now = clock.instant();
        for (Key key : keys(origin, account)) {
            Counter counter = current(key, now);
            if (counter != null && counter.blockedUntil != null) {
                return Optional.of(block(key, counter));
            }
        }
        return Optional.empty();
    }

    /**
     * Reserves a check for an attempt from {@code origin} for {@code account} (as typed, or the
     * canonical account): refused if a block is in force, or if any of its counters already has
     * its cap of checks in flight or as many in flight as it has failures left before its block.
     */
    public synchronized Admission admit(Origin origin, Optional<String> account) {
        Instant now = clock.instant();
        List<Key> keys = keys(origin, account);
        Optional<Block> blocked = blocked(origin, account);
        if (blocked.isPresent()) return new Blocked(blocked.get());
        for (Key key : keys) {
            Counter counter = current(key, now);
            int admitted = inFlight.getOrDefault(key, 0);
            int failures = counter == null ? 0 : counter.failures;
            if (admitted >= cap(key.scope()) || failures + admitted >= blockAfter(key.scope())) {
                return new Busy(key.source(), Optional.ofNullable(key.account()), admitted);
            }
        }
        for (Key key : keys) inFlight.merge(key, 1, Integer::sum);
        return new Admitted(new Reservation(origin, keys));
    }

    /** Checks admitted and not yet settled for {@code origin}'s host (or certificate). */
    public synchronized int inFlight(Origin origin) {
        return inFlight.getOrDefault(keys(origin, Optional.empty()).getFirst(), 0);
    }

    /** One admitted check. Settling it a second time does nothing. */
    public final class Reservation {
        private final Origin origin;
        private final List<Key> keys;
        private boolean settled;

        private Reservation(Origin origin, List<Key> keys) {
            this.origin = origin;
            this.keys = keys;
        }

        /** The credentials were wrong: a failure of {@code account} (the canonical one once known). */
        public void failed(Optional<String> account) {
            synchronized (LoginLimiter.this) {
                if (release()) failure(origin, account);
            }
        }

        /** The credentials were right: as {@link #success}. */
        public void succeeded(String account) {
            synchronized (LoginLimiter.this) {
                if (release()) success(origin, account);
            }
        }

        /** The attempt ended without a verdict on the credentials (store outage, shutdown): nothing is counted. */
        public void cancelled() {
            synchronized (LoginLimiter.this) {
                release();
            }
        }

        private boolean release() {
            if (settled) return false;
            settled = true;
            for (Key key : keys) inFlight.computeIfPresent(key, (k, n) -> n > 1 ? n - 1 : null);
            return true;
        }
    }

    /** How long to wait before the final reply to an attempt from {@code origin}: the largest of its counters' delays. */
    public synchronized Duration delay(Origin origin, Optional<String> account) {
        Instant now = clock.instant();
        Duration delay = Duration.ZERO;
        for (Key key : keys(origin, account)) {
            Counter counter = current(key, now);
            if (counter == null) continue;
            int beyond = counter.failures - free(key.scope());
            if (beyond < 0) continue;
            Duration d = settings.firstDelay().multipliedBy(1L << Math.min(beyond, MAX_DOUBLINGS));
            if (d.compareTo(settings.maxDelay()) > 0) d = settings.maxDelay();
            if (d.compareTo(delay) > 0) delay = d;
        }
        return delay;
    }

    /** Counts a failed attempt; a counter reaching its limit blocks its source. */
    public synchronized void failure(Origin origin, Optional<String> account) {
        Instant now = clock.instant();
        for (Key key : keys(origin, account)) {
            Counter counter = current(key, now);
            if (counter == null) {
                counter = new Counter();
                counters.put(key, counter);
            }
            counter.failures++;
            counter.last = now;
            if (counter.failures >= blockAfter(key.scope()) && counter.blockedUntil == null) {
                counter.blockedUntil = now.plus(settings.blockDuration());
            }
        }
    }

    /** A successful login forgets the failures of this account from this origin (not the host's). */
    public synchronized void success(Origin origin, String account) {
        if (origin.certificate() != null) {
            counters.remove(new Key(Scope.CERTIFICATE, origin.certificate(), null));
        } else {
            counters.remove(new Key(Scope.PAIR, origin.pairNetwork(), normalize(account)));
        }
    }

    /** The blocks in force now, soonest to end first. */
    public synchronized List<Block> blocks() {
        Instant now = clock.instant();
        List<Block> blocks = new ArrayList<>();
        for (Iterator<Map.Entry<Key, Counter>> it = counters.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Counter> entry = it.next();
            Counter counter = entry.getValue();
            if (counter.blockedUntil == null) continue;
            if (!counter.blockedUntil.isAfter(now)) {
                it.remove();
                continue;
            }
            blocks.add(block(entry.getKey(), counter));
        }
        blocks.sort(Comparator.comparing(Block::until).thenComparing(Block::source));
        return blocks;
    }

    /**
     * Lifts every block, and forgets every count, that applies to {@code address}: its host, its
     * /24, and its pairs with any account. Returns how many blocks were lifted.
     */
    public synchronized int clear(InetAddress address) {
        Origin origin = origin(address, Optional.empty());
        int lifted = 0;
        Instant now = clock.instant();
        for (Iterator<Map.Entry<Key, Counter>> it = counters.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Counter> entry = it.next();
            Key key = entry.getKey();
            boolean matches = switch (key.scope()) {
                case HOST -> key.source().equals(origin.host());
                case NETWORK -> key.source().equals(origin.network());
                case PAIR -> key.source().equals(origin.pairNetwork());
                case CERTIFICATE -> false;
            };
            if (!matches) continue;
            Counter counter = entry.getValue();
            if (counter.blockedUntil != null && counter.blockedUntil.isAfter(now)) lifted++;
            it.remove();
        }
        return lifted;
    }

    /** Lifts every block and forgets every count; returns how many blocks were lifted. */
    public synchronized int clearAll() {
        int lifted = blocks().size();
        counters.clear();
        return lifted;
    }

    private List<Key> keys(Origin origin, Optional<String> account) {
        if (origin.certificate() != null) return List.of(new Key(Scope.CERTIFICATE, origin.certificate(), null));
        List<Key> keys = new ArrayList<>(3);
        keys.add(new Key(Scope.HOST, origin.host(), null));
        if (origin.network() != null) keys.add(new Key(Scope.NETWORK, origin.network(), null));
        account.ifPresent(a -> keys.add(new Key(Scope.PAIR, origin.pairNetwork(), normalize(a))));
        return keys;
    }

    /** The counter of {@code key} with expired blocks and stale counts dropped; null if none is left. */
    private Counter current(Key key, Instant now) {
        Counter counter = counters.get(key);
        if (counter == null) return null;
        if (counter.blockedUntil != null && !counter.blockedUntil.isAfter(now)) {
            // A block that ran out starts the source afresh: it has waited its penalty.
            counters.remove(key);
            return null;
        }
        if (counter.blockedUntil == null && counter.last.plus(settings.failureMemory()).isBefore(now)) {
            counters.remove(key);
            return null;
        }
        return counter;
    }

    private int cap(Scope scope) {
        return switch (scope) {
            case HOST, CERTIFICATE -> settings.maxInFlightPerHost();
            case PAIR -> settings.maxInFlightPerAccount();
            // Bounded by its failure budget (network-block-after), shared by the hosts behind it.
            case NETWORK -> Integer.MAX_VALUE;
        };
    }

    private int free(Scope scope) {
        return scope == Scope.NETWORK ? settings.networkFreeFailures() : settings.freeFailures();
    }

    private int blockAfter(Scope scope) {
        return scope == Scope.NETWORK ? settings.networkBlockAfter() : settings.blockAfter();
    }

    private static Block block(Key key, Counter counter) {
        return new Block(key.source(), Optional.ofNullable(key.account()), counter.failures, counter.blockedUntil);
    }

    private static String normalize(String account) {
        return account.toLowerCase(Locale.ROOT);
    }

    /** The IPv4 address, also from an IPv4-mapped IPv6 one (RFC 4291 §2.5.5.2); null for real IPv6. */
    private static byte[] ipv4(byte[] address) {
        if (address.length == 4) return address;
        for (int i = 0; i < 10; i++) {
            if (address[i] != 0) return null;
        }
        if ((address[10] & 0xFF) != 0xFF || (address[11] & 0xFF) != 0xFF) return null;
        return new byte[] {address[12], address[13], address[14], address[15]};
    }

    private static String ipv4Text(byte[] v4) {
        return (v4[0] & 0xFF) + "." + (v4[1] & 0xFF) + "." + (v4[2] & 0xFF) + "." + (v4[3] & 0xFF);
    }

    /** The SHA-256 of the certificate's DER encoding in lower-case hex. */
    public static String fingerprint(X509Certificate certificate) {
        return CertificateFingerprint.sha256(certificate);
    }
}
