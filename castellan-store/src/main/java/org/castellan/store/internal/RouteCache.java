package org.castellan.store.internal;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.castellan.store.Route;

/**
 * Routes found by lookups, kept while the directory they were read from is unchanged.
 *
 * <p>Every entry carries the generation it was read under. A new generation starts whenever the
 * database's {@code directory_version} (raised by triggers on domains, accounts, aliases and
 * mailboxes, V8) is seen above the last one seen: after each administrative write of
 * this store, and on the periodic recheck that notices other processes' writes. A reader takes
 * the generation before it starts looking, so a change committed while it looks retires its
 * answer as soon as the change is seen.
 */
public final class RouteCache {

    /** More distinct addresses than this and the cache starts over: it holds live recipients, not the directory. */
    static final int MAX_ENTRIES = 50_000;

    private record Entry(Route route, long generation) {
    }

    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
    private final AtomicLong generation = new AtomicLong();
    private long seenVersion = Long.MIN_VALUE;

    /** The generation to pass to {@link #put} for a lookup about to start. */
    public long generation() {
        return generation.get();
    }

    /** The route for an address key, if it was read under the current generation. */
    public Optional<Route> get(String addressKey) {
        Entry e = entries.get(addressKey);
        return e != null && e.generation() == generation.get() ? Optional.of(e.route()) : Optional.empty();
    }

    public void put(String addressKey, Route route, long readUnder) {
        if (entries.size() >= MAX_ENTRIES) entries.clear();
        entries.put(addressKey, new Entry(route, readUnder));
    }

    /**
     * The database's directory version as just read: a higher one retires every entry. The version
     * only grows (each trigger adds one), so a lower one is a read that started before a write this
     * cache has already seen, such as the periodic recheck's snapshot taken just before an
     * administrative write committed: it retires nothing.
     */
    public synchronized void versionSeen(long version) {
        if (version <= seenVersion) return;
        seenVersion = version;
        generation.incrementAndGet();
        entries.clear();
    }
}
