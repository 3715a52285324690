package org.castellan.bench.soak;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * Named event counts of the run, in the order they were made: the columns of the CSV after the
 * server's and the clients' figures. A count is reported per interval; a gauge (connections held
 * now) as its value at the sample. Counters are made before the run starts and bumped from the
 * clients' event loops.
 */
final class Counters {

    private final Map<String, LongAdder> all = new LinkedHashMap<>();
    private final Set<String> gauges = new HashSet<>();

    synchronized LongAdder count(String name) {
        return all.computeIfAbsent(name, n -> new LongAdder());
    }

    synchronized LongAdder gauge(String name) {
        gauges.add(name);
        return count(name);
    }

    synchronized List<String> names() {
        return new ArrayList<>(all.keySet());
    }

    synchronized boolean isGauge(String name) {
        return gauges.contains(name);
    }

    /** The current totals (counts) and values (gauges), in the order of {@link #names()}. */
    synchronized long[] values() {
        long[] out = new long[all.size()];
        int i = 0;
        for (LongAdder a : all.values()) out[i++] = a.sum();
        return out;
    }
}
