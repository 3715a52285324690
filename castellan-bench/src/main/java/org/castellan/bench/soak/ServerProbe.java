package org.castellan.bench.soak;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.bench.ProcessCpu;

/**
 * What the server process is holding, read from /proc (proc(5)) and from its GC log: resident
 * memory, threads, open descriptors and how many of them are sockets, CPU time, and the smallest
 * heap occupancy after a collection since the last reading.
 */
final class ServerProbe {

    /** One reading; {@code heapAfterGcMib} is NaN when no collection happened since the last one. */
    record Reading(long rssKib, int threads, int fds, int sockets, double cpuSeconds, double heapAfterGcMib) {}

    /** A unified-logging gc line's "before->after(committed)", e.g. {@code 120M->31M(512M)}. */
    private static final Pattern HEAP = Pattern.compile("(\\d+)([KMG])->(\\d+)([KMG])\\(\\d+[KMG]\\)");

    private final long pid;
    private final Path status;
    private final Path fd;
    private final Path gcLog;
    private long gcLogRead;

    ServerProbe(long pid, Path gcLog) {
        this.pid = pid;
        this.status = Path.of("/proc", Long.toString(pid), "status");
        this.fd = Path.of("/proc", Long.toString(pid), "fd");
        this.gcLog = gcLog;
    }

    Reading read() throws IOException {
        long rss = 0;
        int threads = 0;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) rss = Long.parseLong(line.substring(6).strip().split("\\s+")[0]);
            else if (line.startsWith("Threads:")) threads = Integer.parseInt(line.substring(8).strip());
        }
        int fds = 0;
        int sockets = 0;
        try (DirectoryStream<Path> open = Files.newDirectoryStream(fd)) {
            for (Path p : open) {
                fds++;
                try {
                    if (Files.readSymbolicLink(p).toString().startsWith("socket:")) sockets++;
                } catch (IOException closedMeanwhile) {
                    // the descriptor was closed between listing and reading it
                }
            }
        }
        return new Reading(rss, threads, fds, sockets, ProcessCpu.treeSeconds(pid), heapAfterGc());
    }

    /** The smallest "after" of the collections logged since the last call, in MiB. */
    private double heapAfterGc() throws IOException {
        if (!Files.exists(gcLog)) return Double.NaN;
        String added;
        try (RandomAccessFile f = new RandomAccessFile(gcLog.toFile(), "r")) {
            long end = f.length();
            if (end <= gcLogRead) return Double.NaN;
            byte[] bytes = new byte[(int) (end - gcLogRead)];
            f.seek(gcLogRead);
            f.readFully(bytes);
            int lastLine = lastNewline(bytes);
            if (lastLine < 0) return Double.NaN;
            gcLogRead += lastLine + 1; // a line still being written is read next time
            added = new String(bytes, 0, lastLine + 1, StandardCharsets.UTF_8);
        }
        double min = Double.NaN;
        Matcher m = HEAP.matcher(added);
        while (m.find()) {
            double after = mib(Long.parseLong(m.group(3)), m.group(4).charAt(0));
            if (Double.isNaN(min) || after < min) min = after;
        }
        return min;
    }

    private static int lastNewline(byte[] bytes) {
        for (int i = bytes.length - 1; i >= 0; i--) if (bytes[i] == '\n') return i;
        return -1;
    }

    private static double mib(long value, char unit) {
        return switch (unit) {
            case 'K' -> value / 1024.0;
            case 'M' -> value;
            case 'G' -> value * 1024.0;
            default -> throw new IllegalArgumentException("unit " + unit);
        };
    }
}
