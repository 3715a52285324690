package org.castellan.bench.soak;

import org.castellan.bench.imap.Latencies;

/**
 * One sampling interval: the server as it was at its end, the well-behaved clients' latencies over
 * it, and the counters (per interval; gauges at its end) in the order of {@link Counters#names()}.
 *
 * @param minutes since the load started
 * @param serverCpuPercent of one core, over the interval
 * @param clientCpuPercent the load generator's, of one core, over the interval
 * @param loadAverage the machine's one-minute load average: neighbours show up here
 */
record Sample(double minutes, long rssKib, double heapAfterGcMib, double serverCpuPercent, int threads, int fds, int sockets,
              double clientCpuPercent, double loadAverage, double seconds, Latencies.Summary commands,
              Latencies.Summary logins, long[] counters) {

    double rssMib() {
        return rssKib / 1024.0;
    }

    double commandsPerSecond() {
        return seconds > 0 ? commands.count() / seconds : Double.NaN;
    }
}
