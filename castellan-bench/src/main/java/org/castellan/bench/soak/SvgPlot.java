package org.castellan.bench.soak;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The soak over time as an SVG a browser shows: the server's RSS (and the heap after GC) above,
 * the clients' p99 and p50 latency below, minutes along the bottom, the end of the warm-up as a
 * dashed line and the fitted trends after it as dashed lines. Written by hand: a few polylines and
 * axes need no library.
 */
final class SvgPlot {

    private static final int WIDTH = 960;
    private static final int PANEL = 260;
    private static final int LEFT = 70;
    private static final int RIGHT = 30;
    private static final int TOP = 70;
    private static final int GAP = 60;
    private static final int HEIGHT = TOP + 2 * PANEL + GAP + 50;
    private static final int TICKS = 5;

    private SvgPlot() {}

    static void write(Path file, String title, String subtitle, List<Sample> samples, double warmUpMinutes, Fit rss, Fit p99)
            throws IOException {
        double end = Math.max(samples.get(samples.size() - 1).minutes(), 1e-9);
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">%n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n", WIDTH, HEIGHT));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"14\">%s</text>%n", LEFT, escape(title)));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"34\" fill=\"#555\">%s</text>%n", LEFT, escape(subtitle)));
        Panel memory = new Panel(TOP, end, niceMax(samples, Sample::rssMib), "MiB");
        memory.frame(b, warmUpMinutes);
        memory.line(b, samples, Sample::rssMib, "#1f5fbf", "server RSS", 0);
        memory.line(b, samples, Sample::heapAfterGcMib, "#999999", "heap after GC", 1);
        memory.trend(b, rss, warmUpMinutes, "#1f5fbf");
        // Scaled to the latencies after the warm-up: the first seconds' JIT and ramp would flatten the rest.
        List<Sample> warm = samples.stream().filter(s -> s.minutes() >= warmUpMinutes).toList();
        Panel latency = new Panel(TOP + PANEL + GAP, end, niceMax(warm.isEmpty() ? samples : warm, s -> s.commands().p99()), "ms");
        latency.frame(b, warmUpMinutes);
        latency.line(b, samples, s -> s.commands().p99(), "#c0392b", "p99 latency", 0);
        latency.line(b, samples, s -> s.commands().p50(), "#27ae60", "p50 latency", 1);
        latency.trend(b, p99, warmUpMinutes, "#c0392b");
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">minutes</text>%n",
                LEFT + (WIDTH - LEFT - RIGHT) / 2, HEIGHT - 12));
        b.append("</svg>\n");
        Files.writeString(file, b, StandardCharsets.UTF_8);
    }

    /** One chart: time along x from 0 to {@code end} minutes, y from 0 to {@code max}. */
    private record Panel(int top, double end, double max, String unit) {

        double x(double minutes) {
            return LEFT + minutes / end * (WIDTH - LEFT - RIGHT);
        }

        double y(double v) {
            return top + PANEL - v / max * PANEL;
        }

        void frame(StringBuilder b, double warmUp) {
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>%n",
                    LEFT, top, WIDTH - LEFT - RIGHT, PANEL));
            for (int i = 0; i <= TICKS; i++) {
                double v = max * i / TICKS;
                b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
                                + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                        LEFT, y(v), WIDTH - RIGHT, y(v), LEFT - 6, y(v) + 4, label(v)));
                double t = end * i / TICKS;
                b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                        x(t), top + PANEL + 16, label(t)));
            }
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", 8, top - 4, unit));
            if (warmUp > 0 && warmUp < end) {
                b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\" "
                                + "stroke-dasharray=\"4 4\"/><text x=\"%.1f\" y=\"%d\" fill=\"#888\">warm-up</text>%n",
                        x(warmUp), top, x(warmUp), top + PANEL, x(warmUp) + 4, top + PANEL - 6));
            }
        }

        /** A polyline through the samples whose value is a number; the legend's {@code slot}-th entry. */
        void line(StringBuilder b, List<Sample> samples, ToDoubleFunction<Sample> value, String colour, String name, int slot) {
            StringBuilder points = new StringBuilder();
            for (Sample s : samples) {
                double v = value.applyAsDouble(s);
                if (!Double.isNaN(v)) points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x(s.minutes()), y(Math.min(v, max))));
            }
            b.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>%n",
                    colour, points.toString().strip()));
            int lx = LEFT + 10 + slot * 160;
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>%n", lx, top - 8, lx + 20, top - 8, colour, lx + 25, top - 4, name));
        }

        /** The fitted line from the end of the warm-up to the end. */
        void trend(StringBuilder b, Fit fit, double warmUp, String colour) {
            if (Double.isNaN(fit.slope())) return;
            b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                            + "stroke-width=\"1\" stroke-dasharray=\"8 4\"/><text x=\"%d\" y=\"%d\" fill=\"%s\" text-anchor=\"end\">"
                            + "trend %+.3f %s/min</text>%n",
                    x(warmUp), y(clamp(fit.at(warmUp))), x(end), y(clamp(fit.at(end))), colour, WIDTH - RIGHT - 4, top - 4,
                    colour, fit.slope(), unit));
        }

        private double clamp(double v) {
            return Math.max(0, Math.min(max, v));
        }
    }

    /** A round number at or above the largest value: 1, 2 or 5 times a power of ten, times the ticks. */
    private static double niceMax(List<Sample> samples, ToDoubleFunction<Sample> value) {
        double top = samples.stream().mapToDouble(value).filter(v -> !Double.isNaN(v)).max().orElse(1);
        if (top <= 0) return 1;
        double step = top / TICKS;
        double power = Math.pow(10, Math.floor(Math.log10(step)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * power >= step) return m * power * TICKS;
        }
        return 10 * power * TICKS;
    }

    private static String label(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
