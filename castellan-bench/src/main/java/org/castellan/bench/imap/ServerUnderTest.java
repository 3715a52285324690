package org.castellan.bench.imap;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A server the IMAP benchmarks load: where it listens and what its processes cost, from /proc. */
interface ServerUnderTest extends AutoCloseable {

    String name();

    /** The implicit-TLS IMAP port on 127.0.0.1. */
    int port();

    /** The process whose tree is the server: Castellan's JVM, Dovecot's master. */
    long pid();

    /** CPU seconds of the server's processes, including children that have exited (proc(5)). */
    default double cpuSeconds() throws IOException {
        long ticks = 0;
        for (long p : tree(pid())) {
            long[] f = stat(p);
            // utime + stime, and cutime + cstime: what reaped children used is not lost.
            if (f != null) ticks += f[1] + f[2] + f[3] + f[4];
        }
        return ticks / (double) CLOCK_TICKS;
    }

    /**
     * Memory of the server's processes in KiB: the sum of their proportional set sizes (a page
     * shared by k processes counts 1/k), which for one process is its RSS (VmRSS) and for a
     * forking server such as Dovecot does not count the shared binary once per process.
     */
    default long memoryKb() throws IOException {
        long kb = 0;
        for (long p : tree(pid())) kb += field(Path.of("/proc", Long.toString(p), "smaps_rollup"), "Pss:");
        return kb;
    }

    @Override
    void close();

    /** USER_HZ, the unit of /proc/PID/stat times, on every Linux architecture Castellan runs on. */
    long CLOCK_TICKS = 100;

    /** {@code root} and every process below it. */
    static List<Long> tree(long root) {
        List<Long> out = new ArrayList<>();
        out.add(root);
        ProcessHandle.of(root).ifPresent(h -> h.descendants().forEach(d -> out.add(d.pid())));
        return out;
    }

    /** VmRSS of one process in KiB, from /proc/PID/status. */
    static long rssKb(long pid) throws IOException {
        return field(Path.of("/proc", Long.toString(pid), "status"), "VmRSS:");
    }

    private static long field(Path file, String name) throws IOException {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(name)) return Long.parseLong(line.substring(name.length()).strip().split("\\s+")[0]);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            return 0; // the process has exited meanwhile
        }
        return 0;
    }

    /** ppid, utime, stime, cutime, cstime from /proc/PID/stat; null when the process is gone. */
    private static long[] stat(long pid) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            return new long[] {Long.parseLong(f[1]), Long.parseLong(f[11]), Long.parseLong(f[12]),
                    Long.parseLong(f[13]), Long.parseLong(f[14])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
