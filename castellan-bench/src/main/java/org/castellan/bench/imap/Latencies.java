package org.castellan.bench.imap;

import java.util.Arrays;

/**
 * The latencies of one sampling interval: clients add from their event loop, the sampler takes
 * them all at the end of the interval and starts afresh.
 */
public final class Latencies {

    /** What one interval's latencies come to, in milliseconds; NaN when there were none. */
    public record Summary(long count, double p50, double p99, double max) {}

    private long[] nanos = new long[1 << 12];
    private int n;

    public synchronized void add(long took) {
        if (n == nanos.length) nanos = Arrays.copyOf(nanos, n * 2);
        nanos[n++] = took;
    }

    public synchronized Summary take() {
        long[] sorted = Arrays.copyOf(nanos, n);
        n = 0;
        Arrays.sort(sorted);
        if (sorted.length == 0) return new Summary(0, Double.NaN, Double.NaN, Double.NaN);
        return new Summary(sorted.length, at(sorted, 0.50), at(sorted, 0.99), sorted[sorted.length - 1] / 1e6);
    }

    private static double at(long[] sorted, double p) {
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(p * sorted.length))] / 1e6;
    }
}
