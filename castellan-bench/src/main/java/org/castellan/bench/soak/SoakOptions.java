package org.castellan.bench.soak;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The soak's settings, from {@code --name value} arguments; every one has a default, so no
 * arguments is the one-hour run. Durations are {@code 90s}, {@code 5m}, {@code 1h} or
 * {@code 500ms}; sizes are bytes with an optional {@code k} or {@code m} (KiB, MiB).
 */
record SoakOptions(Duration duration, Duration interval, Duration warmUp, Path csv,
                   int clients, int clientsPerAccount, int messages, String sizes, Duration idle,
                   int imapGuessers, int smtpGuessers, int hogs, int hogMessages, int hogMessageBytes, int hogPipeline,
                   int flood, int floodAddresses, int tricklers, Duration trickleEvery, int harvesters,
                   String heap, double rssSlopeLimitMib, double p99SlopeLimitMillis) {

    /** Each option with its default, in the order usage lists them. */
    private static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("duration", "1h");
        DEFAULTS.put("interval", "10s");
        DEFAULTS.put("warmup", "duration/6");
        DEFAULTS.put("csv", "soak.csv in the run's directory");
        DEFAULTS.put("clients", "200");
        DEFAULTS.put("clients-per-account", "2");
        DEFAULTS.put("messages", "100");
        DEFAULTS.put("sizes", "mix");
        DEFAULTS.put("idle", "2s");
        DEFAULTS.put("imap-guessers", "16");
        DEFAULTS.put("smtp-guessers", "16");
        DEFAULTS.put("hogs", "2");
        DEFAULTS.put("hog-messages", "8");
        DEFAULTS.put("hog-message-size", "4m");
        DEFAULTS.put("hog-pipeline", "16");
        DEFAULTS.put("flood", "400");
        DEFAULTS.put("flood-addresses", "8");
        DEFAULTS.put("tricklers", "8");
        DEFAULTS.put("trickle-every", "5s");
        DEFAULTS.put("harvesters", "4");
        DEFAULTS.put("heap", "512m");
        DEFAULTS.put("rss-slope-limit", "1.0");
        DEFAULTS.put("p99-slope-limit", "0.5");
    }

    static String usage() {
        StringBuilder b = new StringBuilder("usage: castellan-bench/run soak.SoakBench [--option value]...\n");
        DEFAULTS.forEach((k, v) -> b.append(String.format("  --%-20s default %s%n", k, v)));
        b.append("""
                  --heap is the server's -Xms/-Xmx, pre-touched (or "default" for the JVM's own sizing);
                  the slope limits are MiB/min of RSS and ms/min of p99 latency, fitted after the warm-up.
                """);
        return b.toString();
    }

    static SoakOptions parse(String[] args) {
        Map<String, String> given = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String name = args[i].startsWith("--") ? args[i].substring(2) : null;
            if (name == null || !DEFAULTS.containsKey(name) || i + 1 == args.length) {
                throw new IllegalArgumentException("unexpected argument " + args[i] + "\n" + usage());
            }
            given.put(name, args[++i]);
        }
        Duration duration = duration(given.getOrDefault("duration", "1h"));
        Duration warmUp = given.containsKey("warmup") ? duration(given.get("warmup")) : duration.dividedBy(6);
        if (warmUp.compareTo(duration) >= 0) throw new IllegalArgumentException("--warmup must be shorter than --duration");
        return new SoakOptions(duration, duration(given.getOrDefault("interval", "10s")), warmUp,
                given.containsKey("csv") ? Path.of(given.get("csv")) : null,
                integer(given, "clients"), integer(given, "clients-per-account"), integer(given, "messages"),
                given.getOrDefault("sizes", "mix"), duration(given.getOrDefault("idle", "2s")),
                integer(given, "imap-guessers"), integer(given, "smtp-guessers"), integer(given, "hogs"),
                integer(given, "hog-messages"), (int) bytes(given.getOrDefault("hog-message-size", "4m")),
                integer(given, "hog-pipeline"), integer(given, "flood"), Math.max(1, integer(given, "flood-addresses")),
                integer(given, "tricklers"), duration(given.getOrDefault("trickle-every", "5s")), integer(given, "harvesters"),
                given.getOrDefault("heap", "512m"),
                Double.parseDouble(given.getOrDefault("rss-slope-limit", "1.0")),
                Double.parseDouble(given.getOrDefault("p99-slope-limit", "0.5")));
    }

    private static int integer(Map<String, String> given, String name) {
        return Integer.parseInt(given.getOrDefault(name, DEFAULTS.get(name)));
    }

    static Duration duration(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        if (t.endsWith("ms")) return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
        long n = Long.parseLong(t.replaceAll("[smh]$", ""));
        return switch (t.charAt(t.length() - 1)) {
            case 'h' -> Duration.ofHours(n);
            case 'm' -> Duration.ofMinutes(n);
            default -> Duration.ofSeconds(n);
        };
    }

    static long bytes(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        long n = Long.parseLong(t.replaceAll("[km]$", ""));
        if (t.endsWith("k")) return n * 1024;
        if (t.endsWith("m")) return n * 1024 * 1024;
        return n;
    }

    /** Accounts of the well-behaved clients: {@code clientsPerAccount} clients share one. */
    int accounts() {
        return Math.max(1, (clients + clientsPerAccount - 1) / clientsPerAccount);
    }

    /** One line for the report's header. */
    String describe() {
        return String.format("%s, samples every %ss, warm-up %s; %d IMAP clients (%d per account, INBOX of %d messages, %s, IDLE ~%s);"
                        + " attackers: %d IMAP + %d SMTP guessers, %d FETCH hogs (%d x %d KiB, %d FETCHes), flood %d from %d addresses,"
                        + " %d tricklers (a byte every %ss), %d RCPT harvesters; server heap %s",
                human(duration), interval.toSeconds(), human(warmUp), clients, clientsPerAccount, messages, sizes, human(idle),
                imapGuessers, smtpGuessers, hogs, hogMessages, hogMessageBytes / 1024, hogPipeline, flood, floodAddresses,
                tricklers, trickleEvery.toSeconds(), harvesters, heap);
    }

    static String human(Duration d) {
        long s = d.toSeconds();
        if (s >= 3600 && s % 3600 == 0) return s / 3600 + "h";
        if (s >= 60 && s % 60 == 0) return s / 60 + "m";
        if (s > 0) return s + "s";
        return d.toMillis() + "ms";
    }
}
