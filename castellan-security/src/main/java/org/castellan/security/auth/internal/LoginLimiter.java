package org.castellan.security.auth.internal;

import java.net.InetAddress;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
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
 * <p>An attempt over an in-flight cap need not be refused: through {@link #admitInTurn} it waits
 * for a place in its counter's line, and is admitted, in arrival order, when one of that
 * counter's checks is settled — the right passwords of a crowd behind one address all get their
 * check, a few at a time. Waiting gains nothing where the answer is known already: a blocked
 * source, and a counter whose failures plus checks in flight reach its block, are refused at once,
 * and a waiter is judged again when its turn comes, since failures may have grown meanwhile. A
 * line holds at most {@link AuthSettings#MAX_WAITING_PER_KEY}; a waiter leaves it when its turn's
 * future is cancelled (its connection closed).
 *
 * <p>Thread-safe; every method is short and holds one lock. A waiter's future is completed after
 * the lock is released, on the thread that settled the reservation which made room. Memory is
 * bounded by {@link AuthSettings#maxTracked()}: the least recently touched counters go first.
 * Reservations and lines are kept apart from the counters, so that neither eviction nor
 * forgetting loses one; there are never more than there are attempts in progress.
 *
 * <p>Across nodes (docs/security.md, "Blocks across nodes"): each block this limiter decides is
 * told to {@link #onBlock}'s listener, and the blocks other nodes decided are {@linkplain #impose
 * imposed} and refuse as its own do. Failures below a block are counted here alone.
 */
public final class LoginLimiter {

    /** RFC 4291 §2.5.1: an IPv6 /64 is one subnet, usually one host or one household. */
    private static final int IPV6_HOST_BYTES = 8;
    /** Doubling past 2^30 overflows a millisecond count long before it matters. */
    private static final int MAX_DOUBLINGS = 30;

    private enum Scope { HOST, NETWORK, PAIR, CERTIFICATE }

    /** How a certificate holder's source begins ({@link Origin#certificate}). */
    private static final String CERTIFICATE_SOURCE = "certificate sha256:";

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
     * all the failures it has left before its block, or its cap with no waiting (from
     * {@link #admit}) or with its line full ({@code waiting} attempts in it).
     */
    public record Busy(String source, Optional<String> account, int inFlight, int waiting) implements Admission {}

    /** An attempt in a counter's line, waiting for one of its checks in flight to be settled. */
    private static final class Waiter {
        final long arrival;
        final Origin origin;
        final List<Key> keys;
        final CompletableFuture<Admission> turn = new CompletableFuture<>();
        /** The counter whose line it is in: the first of its capped counters that was full. */
        Key line;

        Waiter(long arrival, Origin origin, List<Key> keys) {
            this.arrival = arrival;
            this.origin = origin;
            this.keys = keys;
        }
    }

    /** What a settled reservation decided for a waiter, to be told once the lock is released. */
    private record Turn(Waiter waiter, Admission admission) {}

    private final AuthSettings settings;
    private final Clock clock;
    private final LinkedHashMap<Key, Counter> counters;
    /** Admitted checks not yet settled, by counter; a key leaves when its last one is settled. */
    private final Map<Key, Integer> inFlight = new HashMap<>();
    /**
     * Waiters by the counter they wait for, in arrival order; a key leaves when its line empties.
     * Only a counter at its cap has a line, so nobody arriving later passes those in it.
     */
    private final Map<Key, TreeMap<Long, Waiter>> lines = new HashMap<>();
    /** Blocks other nodes decided, by the counter they stand for; replaced as a whole by {@link #impose}. */
    private Map<Key, Block> imposed = new HashMap<>();
    private Consumer<Block> onBlock = block -> {};
    private long arrivals;
    private int admitted;
    private int waiting;
    private boolean closed;

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
            return new Origin(null, null, null, CERTIFICATE_SOURCE + fingerprint(certificate.get()));
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
            Block block = blockOf(key, now);
            if (block != null) return Optional.of(block);
        }
        return Optional.empty();
    }

    /** The block in force for {@code key}: this limiter's own, else one another node imposed; null if none. */
    private Block blockOf(Key key, Instant now) {
        Counter counter = current(key, now);
        if (counter != null && counter.blockedUntil != null) return block(key, counter);
        Block block = imposed.get(key);
        return block != null && block.until().isAfter(now) ? block : null;
    }

    /**
     * Tells {@code listener} of each block this limiter decides from now on, as it decides it:
     * with this limiter's lock held, so the listener must only hand the block on.
     */
    public synchronized void onBlock(Consumer<Block> listener) {
        this.onBlock = Objects.requireNonNull(listener, "listener");
    }

    /**
     * Refuses, as if decided here, the blocks other nodes decided: {@code blocks} replaces every
     * block imposed before. Counts are untouched; a block that has ended refuses nothing.
     */
    public synchronized void impose(List<Block> blocks) {
        Map<Key, Block> fresh = new HashMap<>();
        for (Block block : blocks) fresh.merge(key(block), block, (a, b) -> a.until().isAfter(b.until()) ? a : b);
        imposed = fresh;
    }

    /** The counter a block of another node stands for, from the form {@link #block} gave it. */
    private static Key key(Block block) {
        String source = block.source();
        if (source.startsWith(CERTIFICATE_SOURCE)) return new Key(Scope.CERTIFICATE, source, null);
        if (block.account().isPresent()) return new Key(Scope.PAIR, source, normalize(block.account().get()));
        // An IPv4 /24 is a network; an IPv4 /32 and an IPv6 /64 are hosts.
        return new Key(source.endsWith("/24") ? Scope.NETWORK : Scope.HOST, source, null);
    }

    /**
     * Reserves a check for an attempt from {@code origin} for {@code account} (as typed, or the
     * canonical account), now or never: refused if a block is in force, or if any of its counters
     * already has its cap of checks in flight or as many in flight as it has failures left before
     * its block.
     */
    public synchronized Admission admit(Origin origin, Optional<String> account) {
        List<Key> keys = keys(origin, account);
        Admission refused = refusal(keys, clock.instant());
        if (refused != null) return refused;
        Key full = full(keys);
        return full != null ? busy(full) : reserve(origin, keys);
    }

    /**
     * As {@link #admit}, but an attempt over an in-flight cap waits for a place instead of being
     * refused, unless the line of the counter it waits for already holds
     * {@link AuthSettings#MAX_WAITING_PER_KEY}. The future completes with the admission once it
     * is decided — at once, or when a check of that counter is settled; no thread waits for it.
     * Cancelling the future takes the attempt out of the line; a waiter admitted just as it was
     * cancelled has its reservation returned. After {@link #close()} the future of an attempt
     * that would wait fails with {@link RejectedExecutionException}.
     */
    public CompletableFuture<Admission> admitInTurn(Origin origin, Optional<String> account) {
        Waiter waiter;
        synchronized (this) {
            List<Key> keys = keys(origin, account);
            Admission refused = refusal(keys, clock.instant());
            if (refused != null) return CompletableFuture.completedFuture(refused);
            Key full = full(keys);
            if (full == null) return CompletableFuture.completedFuture(reserve(origin, keys));
            if (closed) return CompletableFuture.failedFuture(new RejectedExecutionException("the login limiter is closed"));
            if (waiting(full) >= AuthSettings.MAX_WAITING_PER_KEY) return CompletableFuture.completedFuture(busy(full));
            waiter = new Waiter(arrivals++, origin, keys);
            join(waiter, full);
        }
        waiter.turn.whenComplete((admission, e) -> {
            if (waiter.turn.isCancelled()) leave(waiter);
        });
        return waiter.turn;
    }

    /** Checks admitted and not yet settled for {@code origin}'s host (or certificate). */
    public synchronized int inFlight(Origin origin) {
        return inFlight.getOrDefault(keys(origin, Optional.empty()).getFirst(), 0);
    }

    /** Checks admitted and not yet settled, from every source. */
    public synchronized int inFlight() {
        return admitted;
    }

    /** Attempts waiting for a place, from every source. */
    public synchronized int waiting() {
        return waiting;
    }

    /**
     * Refuses every attempt still waiting, and any that would wait from now on: their futures
     * fail with {@link RejectedExecutionException}. Admitting and settling go on as before.
     */
    public void close() {
        List<Waiter> dropped = new ArrayList<>();
        synchronized (this) {
            closed = true;
            for (TreeMap<Long, Waiter> line : lines.values()) dropped.addAll(line.values());
            lines.clear();
            waiting = 0;
        }
        for (Waiter w : dropped) w.turn.completeExceptionally(new RejectedExecutionException("the login limiter is closed"));
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

        /**
         * The credentials were wrong: a failure of {@code account} (the canonical one once known),
         * counted before the place goes to the next in line, who is judged with it.
         */
        public void failed(Optional<String> account) {
            List<Turn> turns;
            synchronized (LoginLimiter.this) {
                if (!release()) return;
                failure(origin, account);
                turns = nextInLine(keys);
            }
            tell(turns);
        }

        /** The credentials were right: as {@link #success}. */
        public void succeeded(String account) {
            List<Turn> turns;
            synchronized (LoginLimiter.this) {
                if (!release()) return;
                success(origin, account);
                turns = nextInLine(keys);
            }
            tell(turns);
        }

        /** The attempt ended without a verdict on the credentials (store outage, shutdown): nothing is counted. */
        public void cancelled() {
            List<Turn> turns;
            synchronized (LoginLimiter.this) {
                if (!release()) return;
                turns = nextInLine(keys);
            }
            tell(turns);
        }

        private boolean release() {
            if (settled) return false;
            settled = true;
            admitted--;
            for (Key key : keys) inFlight.computeIfPresent(key, (k, n) -> n > 1 ? n - 1 : null);
            return true;
        }
    }

    /** Why an attempt with {@code keys} is refused whatever it waits for: a block, or a counter's failure budget spent; null if neither. */
    private Admission refusal(List<Key> keys, Instant now) {
        for (Key key : keys) {
            Block block = blockOf(key, now);
            if (block != null) return new Blocked(block);
        }
        for (Key key : keys) {
            Counter counter = current(key, now);
            int failures = counter == null ? 0 : counter.failures;
            if (failures + inFlight(key) >= blockAfter(key.scope())) return busy(key);
        }
        return null;
    }

    /** The first of {@code keys} that has its cap of checks in flight, or null. */
    private Key full(List<Key> keys) {
        for (Key key : keys) {
            if (inFlight(key) >= cap(key.scope())) return key;
        }
        return null;
    }

    private Admitted reserve(Origin origin, List<Key> keys) {
        for (Key key : keys) inFlight.merge(key, 1, Integer::sum);
        admitted++;
        return new Admitted(new Reservation(origin, keys));
    }

    private Busy busy(Key key) {
        return new Busy(key.source(), Optional.ofNullable(key.account()), inFlight(key), waiting(key));
    }

    private int inFlight(Key key) {
        return inFlight.getOrDefault(key, 0);
    }

    private int waiting(Key key) {
        TreeMap<Long, Waiter> line = lines.get(key);
        return line == null ? 0 : line.size();
    }

    private void join(Waiter waiter, Key key) {
        waiter.line = key;
        lines.computeIfAbsent(key, k -> new TreeMap<>()).put(waiter.arrival, waiter);
        waiting++;
    }

    /** A cancelled waiter leaves its line, if it is still in one. */
    private synchronized void leave(Waiter waiter) {
        TreeMap<Long, Waiter> line = lines.get(waiter.line);
        if (line == null || line.remove(waiter.arrival) == null) return;
        waiting--;
        if (line.isEmpty()) lines.remove(waiter.line);
    }

    /**
     * After a reservation of {@code released} was settled: while one of them has room, the first
     * in its line is judged as a newcomer would be — admitted, refused, or moved to the line of
     * another of its counters that is full. What was decided is told by {@link #tell}.
     */
    private List<Turn> nextInLine(List<Key> released) {
        if (closed || waiting == 0) return List.of();
        Instant now = clock.instant();
        List<Turn> turns = new ArrayList<>();
        for (Key key : released) {
            TreeMap<Long, Waiter> line = lines.get(key);
            while (line != null && !line.isEmpty() && inFlight(key) < cap(key.scope())) {
                Waiter next = line.pollFirstEntry().getValue();
                waiting--;
                Admission refused = refusal(next.keys, now);
                Key full = refused == null ? full(next.keys) : null;
                if (refused != null) turns.add(new Turn(next, refused));
                else if (full != null) join(next, full);
                else turns.add(new Turn(next, reserve(next.origin, next.keys)));
            }
            if (line != null && line.isEmpty()) lines.remove(key);
        }
        return turns;
    }

    /** Outside the lock: completes each waiter's future; a place taken by one cancelled meanwhile goes back. */
    private static void tell(List<Turn> turns) {
        for (Turn t : turns) {
            if (!t.waiter().turn.complete(t.admission()) && t.admission() instanceof Admitted a) {
                a.reservation().cancelled();
            }
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
                onBlock.accept(block(key, counter));
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
        for (Map.Entry<Key, Block> entry : imposed.entrySet()) {
            Counter own = counters.get(entry.getKey());
            if (entry.getValue().until().isAfter(now) && (own == null || own.blockedUntil == null)) blocks.add(entry.getValue());
        }
        blocks.sort(Comparator.comparing(Block::until).thenComparing(Block::source));
        return blocks;
    }

    /**
     * Lifts every block, and forgets every count, that applies to {@code address}: its host, its
     * /24, and its pairs with any account. Returns how many blocks were lifted.
     */
    public synchronized int clear(InetAddress address) {
        return clear(sources(address));
    }

    /**
     * The sources under which {@code address} is counted: its host, its IPv4 /24 and the network
     * its account pairs are counted under. What {@link #clear(InetAddress)} lifts.
     */
    public static Set<String> sources(InetAddress address) {
        Origin origin = origin(address, Optional.empty());
        Set<String> sources = new TreeSet<>();
        sources.add(origin.host());
        if (origin.network() != null) sources.add(origin.network());
        sources.add(origin.pairNetwork());
        return sources;
    }

    /**
     * Lifts every block, this limiter's or imposed, and forgets every count, under these sources
     * (with any account); certificates are never among them. Returns how many blocks were lifted.
     */
    public synchronized int clear(Set<String> sources) {
        int lifted = 0;
        Instant now = clock.instant();
        Set<Key> lifting = new HashSet<>();
        for (Iterator<Map.Entry<Key, Counter>> it = counters.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Counter> entry = it.next();
            Key key = entry.getKey();
            if (key.scope() == Scope.CERTIFICATE || !sources.contains(key.source())) continue;
            Counter counter = entry.getValue();
            if (counter.blockedUntil != null && counter.blockedUntil.isAfter(now) && lifting.add(key)) lifted++;
            it.remove();
        }
        for (Iterator<Map.Entry<Key, Block>> it = imposed.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Block> entry = it.next();
            Key key = entry.getKey();
            if (key.scope() == Scope.CERTIFICATE || !sources.contains(key.source())) continue;
            if (entry.getValue().until().isAfter(now) && lifting.add(key)) lifted++;
            it.remove();
        }
        return lifted;
    }

    /** Lifts every block and forgets every count; returns how many blocks were lifted. */
    public synchronized int clearAll() {
        int lifted = blocks().size();
        counters.clear();
        imposed = new HashMap<>();
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
