package org.castellan.bench.imap;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.castellan.bench.ProcessCpu;

/** A server the IMAP benchmarks load: where it listens and what its processes cost, from /proc. */
public interface ServerUnderTest extends AutoCloseable {

    String name();

    /** The implicit-TLS IMAP port on 127.0.0.1. */
    int port();

    /** The process whose tree is the server: Castellan's JVM, Dovecot's master. */
    long pid();

    /** CPU seconds of the server's processes, including children that have exited (proc(5)). */
    default double cpuSeconds() {
        return ProcessCpu.treeSeconds(pid());
    }

    /**
     * Memory of the server's processes in KiB: the sum of their proportional set sizes (a page
     * shared by k processes counts 1/k), which for one process is its RSS (VmRSS) and for a
     * forking server such as Dovecot does not count the shared binary once per process.
     */
    default long memoryKb() throws IOException {
        long kb = 0;
        for (long p : ProcessCpu.tree(pid())) kb += field(Path.of("/proc", Long.toString(p), "smaps_rollup"), "Pss:");
        return kb;
    }

    @Override
    void close();

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
}
