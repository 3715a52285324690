package org.castellan.bench.soak;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The soak's record: each sample as a CSV row (written and flushed as it comes, so a run cut short
 * keeps what it measured) and a console line; at the end a summary with the trends after the
 * warm-up and the verdict, and the plot next to the CSV.
 */
final class SoakReport implements AutoCloseable {

    private static final String COLUMNS = "elapsed_s,rss_kib,heap_after_gc_mib,server_cpu_pct,server_threads,server_fds,"
            + "server_sockets,client_cpu_pct,load_avg_1m,commands,commands_per_s,p50_ms,p99_ms,max_ms,login_p99_ms";

    private final SoakOptions options;
    private final Counters counters;
    private final List<String> names;
    private final Path csv;
    private final BufferedWriter out;
    private final List<Sample> samples = new ArrayList<>();

    SoakReport(SoakOptions options, Counters counters, Path csv) throws IOException {
        this.options = options;
        this.counters = counters;
        this.names = counters.names();
        this.csv = csv;
        Files.createDirectories(csv.toAbsolutePath().getParent());
        this.out = Files.newBufferedWriter(csv, StandardCharsets.UTF_8);
        StringBuilder header = new StringBuilder(COLUMNS);
        for (String n : names) header.append(',').append(n.replace('.', '_'));
        out.write(header.append('\n').toString());
        out.flush();
    }

    void add(Sample s) throws IOException {
        samples.add(s);
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%.0f,%d,%s,%.1f,%d,%d,%d,%.1f,%.2f,%d,%s,%s,%s,%s,%s",
                s.minutes() * 60, s.rssKib(), number(s.heapAfterGcMib()), s.serverCpuPercent(), s.threads(), s.fds(), s.sockets(),
                s.clientCpuPercent(), s.loadAverage(), s.commands().count(), number(s.commandsPerSecond()), number(s.commands().p50()),
                number(s.commands().p99()), number(s.commands().max()), number(s.logins().p99())));
        for (long v : s.counters()) row.append(',').append(v);
        out.write(row.append('\n').toString());
        out.flush();
        System.out.println(line(s));
    }

    private String line(Sample s) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "%5.1f min  RSS %7.1f MiB  heap %5s MiB  CPU %4.0f%%  fds %5d (%5d sockets)  threads %3d | %6s cmd/s"
                        + "  p50 %6s  p99 %7s  max %7s ms  login p99 %7s ms | load %.1f",
                s.minutes(), s.rssMib(), shown(s.heapAfterGcMib(), 0), s.serverCpuPercent(), s.fds(), s.sockets(), s.threads(),
                shown(s.commandsPerSecond(), 1), shown(s.commands().p50(), 2), shown(s.commands().p99(), 2),
                shown(s.commands().max(), 1), shown(s.logins().p99(), 2), s.loadAverage()));
        b.append(" |");
        for (int i = 0; i < names.size(); i++) {
            if (s.counters()[i] != 0) b.append(' ').append(names.get(i)).append('=').append(s.counters()[i]);
        }
        return b.toString();
    }

    /** Prints the summary and the verdict, writes the plot; returns the summary. */
    String finish(String title) throws IOException {
        double warm = options.warmUp().toSeconds() / 60.0;
        List<Sample> after = samples.stream().filter(s -> s.minutes() >= warm).toList();
        Fit rss = fit(after, Sample::rssMib);
        Fit p99 = fit(after, s -> s.commands().p99());
        Fit heap = fit(after, Sample::heapAfterGcMib);
        StringBuilder b = new StringBuilder();
        Sample first = samples.get(0);
        Sample last = samples.get(samples.size() - 1);
        b.append(String.format(Locale.ROOT, "summary: %.1f min, %d samples, warm-up %s%n", last.minutes(), samples.size(),
                SoakOptions.human(options.warmUp())));
        b.append(String.format(Locale.ROOT, "  server RSS      start %.1f MiB, after warm-up %s, end %.1f MiB%n", first.rssMib(),
                after.isEmpty() ? "-" : String.format(Locale.ROOT, "%.1f MiB", after.get(0).rssMib()), last.rssMib()));
        b.append(String.format(Locale.ROOT, "  RSS trend       %s MiB/min after warm-up (limit %.2f)%n", slope(rss, 3),
                options.rssSlopeLimitMib()));
        b.append(String.format(Locale.ROOT, "  p99 trend       %s ms/min after warm-up (limit %.2f); p99 median %.2f ms, worst %.2f ms%n",
                slope(p99, 3), options.p99SlopeLimitMillis(), median(after, s -> s.commands().p99()), worst(after, s -> s.commands().p99())));
        b.append(String.format(Locale.ROOT, "  LOGIN p99       median %.2f ms, worst %.2f ms after warm-up (what guessing costs the users)%n",
                median(after, s -> s.logins().p99()), worst(after, s -> s.logins().p99())));
        b.append(String.format(Locale.ROOT, "  heap after GC   %s MiB/min after warm-up (the live heap's trend; not part of the verdict)%n",
                slope(heap, 3)));
        b.append(String.format(Locale.ROOT, "  server          fds %d -> %d (max %d), threads %d -> %d, CPU %.0f%% of a core on average%n",
                first.fds(), last.fds(), samples.stream().mapToInt(Sample::fds).max().orElse(0), first.threads(), last.threads(),
                samples.stream().skip(1).mapToDouble(Sample::serverCpuPercent).average().orElse(Double.NaN)));
        long commands = samples.stream().mapToLong(s -> s.commands().count()).sum();
        double seconds = samples.stream().mapToDouble(Sample::seconds).sum();
        b.append(String.format(Locale.ROOT, "  clients         %d commands, %.1f cmd/s%n", commands, commands / seconds));
        b.append("  counters        ").append(totals()).append('\n');
        String verdict = verdict(rss, p99);
        b.append(verdict).append('\n');
        Path svg = sibling(csv, ".svg");
        SvgPlot.write(svg, title, verdict, samples, warm, rss, p99);
        b.append("CSV ").append(csv).append(", plot ").append(svg).append('\n');
        System.out.print(b);
        return b.toString();
    }

    /** "no growth trend" or "growth: ...", with the thresholds. */
    String verdict(Fit rss, Fit p99) {
        String limits = String.format(Locale.ROOT, "thresholds: RSS %.2f MiB/min, p99 %.2f ms/min, least squares after the %s warm-up",
                options.rssSlopeLimitMib(), options.p99SlopeLimitMillis(), SoakOptions.human(options.warmUp()));
        if (rss.points() < 3 || p99.points() < 3) return "verdict: too few samples after the warm-up to fit a trend (" + limits + ")";
        List<String> growth = new ArrayList<>();
        if (rss.slope() > options.rssSlopeLimitMib()) growth.add(String.format(Locale.ROOT, "RSS %+.3f MiB/min", rss.slope()));
        if (p99.slope() > options.p99SlopeLimitMillis()) growth.add(String.format(Locale.ROOT, "p99 %+.3f ms/min", p99.slope()));
        return (growth.isEmpty() ? "verdict: no growth trend" : "verdict: growth: " + String.join(", ", growth)) + " (" + limits + ")";
    }

    /** Counts summed over the run; gauges as their largest value. */
    private String totals() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < names.size(); i++) {
            int c = i;
            boolean gauge = counters.isGauge(names.get(i));
            long v = gauge ? samples.stream().mapToLong(s -> s.counters()[c]).max().orElse(0)
                    : samples.stream().mapToLong(s -> s.counters()[c]).sum();
            if (i > 0) b.append(", ");
            b.append(names.get(i)).append(gauge ? " max " : " ").append(v);
        }
        return b.toString();
    }

    private static Fit fit(List<Sample> samples, java.util.function.ToDoubleFunction<Sample> y) {
        return Fit.of(samples.stream().mapToDouble(Sample::minutes).toArray(), samples.stream().mapToDouble(y).toArray());
    }

    private static double median(List<Sample> samples, java.util.function.ToDoubleFunction<Sample> y) {
        double[] v = samples.stream().mapToDouble(y).filter(d -> !Double.isNaN(d)).sorted().toArray();
        return v.length == 0 ? Double.NaN : v[v.length / 2];
    }

    private static double worst(List<Sample> samples, java.util.function.ToDoubleFunction<Sample> y) {
        return samples.stream().mapToDouble(y).filter(d -> !Double.isNaN(d)).max().orElse(Double.NaN);
    }

    private static String slope(Fit f, int decimals) {
        if (Double.isNaN(f.slope())) return "-";
        String format = "%+." + decimals + "f";
        return String.format(Locale.ROOT, format, f.slope())
                + (Double.isNaN(f.stderr()) ? "" : String.format(Locale.ROOT, " ± %." + decimals + "f", f.stderr()));
    }

    private static String shown(double v, int decimals) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    private static String number(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
    }

    static Path sibling(Path file, String extension) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return file.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + extension);
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
