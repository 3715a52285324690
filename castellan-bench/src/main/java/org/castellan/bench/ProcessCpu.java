package org.castellan.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * CPU time of a server's processes, read from /proc (proc(5)), so that a benchmark charges a
 * server with everything it ran: a JVM, or a master process and every daemon below it.
 */
public final class ProcessCpu {

    /** USER_HZ, the unit of /proc/PID/stat times, on every Linux architecture Castellan runs on. */
    public static final long CLOCK_TICKS = 100;

    private ProcessCpu() {}

    /** {@code root} and every process below it, as they are now. */
    public static List<Long> tree(long root) {
        List<Long> out = new ArrayList<>();
        out.add(root);
        ProcessHandle.of(root).ifPresent(h -> h.descendants().forEach(d -> out.add(d.pid())));
        return out;
    }

    /**
     * Binds {@code root}, every thread of it and every process below it to CPU {@code cpu}
     * ({@code taskset -a -p -c}, sched_setaffinity(2)); what they start later inherits the binding.
     */
    public static void pinTree(long root, int cpu) throws IOException, InterruptedException {
        for (long pid : tree(root)) {
            Process p = new ProcessBuilder("taskset", "-a", "-p", "-c", Integer.toString(cpu), Long.toString(pid))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            // A process that ended meanwhile is nothing to bind; any other failure is.
            if (p.waitFor() != 0 && ProcessHandle.of(pid).isPresent()) {
                throw new IOException("taskset could not bind process " + pid + " to CPU " + cpu);
            }
        }
    }

    /**
     * CPU seconds of {@code root} and its descendants: utime + stime of each, plus cutime + cstime,
     * so that what children used before they were reaped is not lost.
     */
    public static double treeSeconds(long root) {
        long ticks = 0;
        for (long pid : tree(root)) {
            String[] f = statFields(pid);
            // After the command name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
            if (f != null) ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
        }
        return ticks / (double) CLOCK_TICKS;
    }

    /**
     * CPU seconds of the threads of {@code pid} whose name starts with one of {@code prefixes}
     * (the JIT's "C1 CompilerThre", "C2 CompilerThre").
     */
    public static double threadSeconds(long pid, String... prefixes) throws IOException {
        long ticks = 0;
        for (ThreadTicks t : threads(pid)) {
            for (String prefix : prefixes) {
                if (!t.name().startsWith(prefix)) continue;
                ticks += t.user() + t.system();
                break;
            }
        }
        return ticks / (double) CLOCK_TICKS;
    }

    /**
     * CPU seconds (user, system) of each thread of {@code pid} so far, summed by thread name with
     * digits dropped ("epollEventLoopGroup-3-1" and "-3-2" together): where a server spends its
     * time, for the difference of two calls around a measured window.
     */
    public static Map<String, double[]> byThreadName(long pid) throws IOException {
        Map<String, double[]> out = new TreeMap<>();
        for (ThreadTicks t : threads(pid)) {
            double[] sum = out.computeIfAbsent(t.name().replaceAll("[0-9]+", "#"), n -> new double[2]);
            sum[0] += t.user() / (double) CLOCK_TICKS;
            sum[1] += t.system() / (double) CLOCK_TICKS;
        }
        return out;
    }

    /** One thread's name (as the kernel keeps it, 15 characters at most) and its CPU ticks. */
    private record ThreadTicks(String name, long user, long system) {}

    /** Every thread of {@code pid} now; threads that end while they are read are left out. */
    private static List<ThreadTicks> threads(long pid) throws IOException {
        List<Path> tasks;
        try (var list = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            tasks = list.toList();
        }
        List<ThreadTicks> out = new ArrayList<>();
        for (Path task : tasks) {
            String stat;
            try {
                stat = Files.readString(task.resolve("stat"));
            } catch (IOException gone) {
                continue;
            }
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // After the command name: state(3) ... utime(14) stime(15).
            out.add(new ThreadTicks(stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
                    Long.parseLong(f[11]), Long.parseLong(f[12])));
        }
        return out;
    }

    /** The fields of /proc/PID/stat after the command name; null when the process is gone. */
    private static String[] statFields(long pid) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return s.substring(s.lastIndexOf(')') + 2).split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
