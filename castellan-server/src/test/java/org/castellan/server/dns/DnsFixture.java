package org.castellan.server.dns;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.castellan.server.config.Dns;
import org.castellan.server.testing.ExternalClient;
import org.castellan.testkit.Ports;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * A private DNS for tests: a root zone and the zones a test names, signed with ldns-signzone
 * where asked, served by NSD on a loopback port, behind Unbound as the validating recursive
 * resolver a mail server would ask. All of it lives in a temporary directory and runs
 * unprivileged; {@link #close} stops both servers and removes the directory. Start it once per
 * test class ({@code @BeforeAll}); it takes about a second.
 *
 * <pre>{@code
 * dns = DnsFixture.start(
 *         new Zone("example.test", Signing.SIGNED, List.of("@ MX 10 mx1", "mx1 A 192.0.2.1")),
 *         new Zone("insecure.test", Signing.UNSIGNED, List.of("@ A 192.0.2.2")));
 * DnsResolver resolver = dns.resolver(42);   // validating, trusting the fixture's root key
 * }</pre>
 *
 * <p>Each zone gets an SOA and an NS record (ns.nic., 127.0.0.1) of its own, and a delegation
 * (with DS when signed) in the closest zone above it; a missing top-level zone ({@code test.} for
 * {@code example.test}) is made, signed. Records are zone-file lines relative to the zone.
 * Missing binaries fail the test naming the Debian package; nothing is skipped.
 */
public final class DnsFixture implements AutoCloseable {

    /** How a zone is published. */
    public enum Signing {
        /** Signed, its DS in the parent: answers validate as secure. */
        SIGNED,
        /** Not signed, no DS in the parent: answers are insecure. */
        UNSIGNED,
        /** Signed with its DS in the parent, then every data signature broken: answers are bogus. */
        BOGUS
    }

    /** One zone: its name (with or without the final dot) and records relative to it. */
    public record Zone(String name, Signing signing, List<String> records) {
        public Zone {
            name = name.endsWith(".") ? name : name + ".";
            records = List.copyOf(records);
        }
    }

    /** A server that answers nothing in this time did not start. */
    private static final Duration START_LIMIT = Duration.ofSeconds(30);
    /** Ports tried before a server that finds its port taken is given up on. */
    private static final int PORT_TRIES = 5;
    /** The address every NS record names; the resolver reaches NSD through stub zones instead. */
    private static final String HOST = "127.0.0.1";
    private static final String NAMESERVER = "ns.nic.";
    /** RFC 5737 and RFC 3849 documentation addresses, whose reverse zones Unbound serves empty by default. */
    private static final List<String> TEST_NET_REVERSE = List.of("2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
            "113.0.203.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.");
    private static final DateTimeFormatter SIGNATURE_TIME = DateTimeFormatter.ofPattern("yyyyMMddHHmmss");

    private final Path dir;
    private final List<Process> processes = new ArrayList<>();
    private int authoritativePort;
    private int resolverPort;

    /** Stops the servers if the JVM ends without {@link #close}, so that no NSD or Unbound outlives the tests. */
    private final Thread stopAtExit = new Thread(this::stopServers, "dns-fixture-stop");

    private DnsFixture(Path dir) {
        this.dir = dir;
        Runtime.getRuntime().addShutdownHook(stopAtExit);
    }

    /**
     * Writes, signs and serves {@code zones}, and waits until the resolver answers for them.
     *
     * @throws IOException if a tool fails or a server does not start, with its output
     */
    public static DnsFixture start(Zone... zones) throws IOException {
        ExternalClient.require("nsd", "nsd");
        ExternalClient.require("unbound", "unbound");
        ExternalClient.require("ldns-signzone", "ldnsutils");
        DnsFixture fixture = new DnsFixture(Files.createTempDirectory("castellan-dns-"));
        try {
            fixture.run(List.of(zones));
            return fixture;
        } catch (IOException | RuntimeException e) {
            fixture.close();
            throw e;
        }
    }

    /** Where the validating recursive resolver (Unbound) listens, on UDP and TCP. */
    public InetSocketAddress resolverAddress() {
        return new InetSocketAddress(HOST, resolverPort);
    }

    /** Where the authoritative server (NSD) listens. */
    public InetSocketAddress authoritativeAddress() {
        return new InetSocketAddress(HOST, authoritativePort);
    }

    /** The DS record of the fixture's root, as {@code [dns] trust-anchor} takes it. */
    public Path trustAnchor() {
        return dir.resolve("root.ds");
    }

    /** The {@code [dns]} settings that ask the fixture's resolver and trust its root. */
    public Dns settings(Duration timeout) {
        return new Dns(List.of(resolverAddress()), Optional.of(trustAnchor()), true, timeout);
    }

    /** A validating resolver on {@link #settings}, five-second timeout, equal MX preferences shuffled by {@code seed}. */
    public DnsResolver resolver(long seed) {
        try {
            return new DnsResolver(settings(Dns.DEFAULT_TIMEOUT), new Random(seed));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void run(List<Zone> given) throws IOException {
        Map<String, Zone> zones = new LinkedHashMap<>();
        zones.put(".", new Zone(".", Signing.SIGNED, List.of(NAMESERVER + " A " + HOST)));
        for (Zone zone : given) {
            String[] labels = zone.name().split("\\.");
            String top = labels[labels.length - 1] + ".";
            zones.putIfAbsent(top, new Zone(top, Signing.SIGNED, List.of()));
        }
        given.forEach(z -> zones.put(z.name(), z));

        // Children first: a parent's delegations carry the DS records of its signed children.
        Map<String, List<String>> delegations = new LinkedHashMap<>();
        List<Zone> deepestFirst = zones.values().stream()
                .sorted(Comparator.comparingInt((Zone z) -> labels(z.name())).reversed()).toList();
        List<String> served = new ArrayList<>();
        for (Zone zone : deepestFirst) {
            List<String> lines = new ArrayList<>();
            lines.add("$ORIGIN " + zone.name());
            lines.add("$TTL 300");
            lines.add("@ IN SOA " + NAMESERVER + " hostmaster.nic. 1 3600 600 86400 300");
            lines.add("@ IN NS " + NAMESERVER);
            lines.addAll(zone.records());
            lines.addAll(delegations.getOrDefault(zone.name(), List.of()));
            String file = (zone.name().equals(".") ? "root." : zone.name()) + "zone";
            Files.write(dir.resolve(file), lines);
            List<String> delegation = new ArrayList<>(List.of(zone.name() + " IN NS " + NAMESERVER));
            if (zone.signing() == Signing.UNSIGNED) {
                served.add(zone.name() + " " + file);
            } else {
                String key = tool("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone.name()).strip();
                ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
                tool("ldns-signzone", "-i", now.minusDays(1).format(SIGNATURE_TIME),
                        "-e", now.plusDays(30).format(SIGNATURE_TIME), "-f", file + ".signed", file, key);
                String ds = tool("ldns-key2ds", "-n", "-2", key + ".key").strip();
                delegation.add(ds);
                if (zone.signing() == Signing.BOGUS) {
                    breakSignatures(dir.resolve(file + ".signed"));
                }
                served.add(zone.name() + " " + file + ".signed");
                if (zone.name().equals(".")) {
                    Files.writeString(trustAnchor(), ds + "\n");
                }
            }
            if (!zone.name().equals(".")) {
                delegations.computeIfAbsent(parent(zone.name(), zones), p -> new ArrayList<>()).addAll(delegation);
            }
        }

        authoritativePort = startOnAFreePort("nsd", port -> {
            List<String> nsd = new ArrayList<>(List.of("server:",
                    "  ip-address: " + HOST, "  port: " + port, "  username: \"\"", "  chroot: \"\"",
                    "  zonesdir: \"" + dir + "\"", "  database: \"\"", "  zonelistfile: \"" + dir.resolve("zone.list") + "\"",
                    "  xfrdfile: \"" + dir.resolve("xfrd.state") + "\"", "  xfrdir: \"" + dir + "\"",
                    "  pidfile: \"" + dir.resolve("nsd.pid") + "\"", "  server-count: 1", "  do-ip6: no",
                    "  verbosity: 1", "remote-control:", "  control-enable: no"));
            for (String zone : served) {
                String[] parts = zone.split(" ");
                nsd.addAll(List.of("zone:", "  name: \"" + parts[0] + "\"", "  zonefile: \"" + parts[1] + "\""));
            }
            Files.write(dir.resolve("nsd.conf"), nsd);
            return List.of("nsd", "-d", "-c", dir.resolve("nsd.conf").toString());
        });

        resolverPort = startOnAFreePort("unbound", port -> {
            List<String> unbound = new ArrayList<>(List.of("server:",
                    "  interface: " + HOST, "  port: " + port, "  do-ip6: no", "  do-daemonize: no",
                    "  username: \"\"", "  chroot: \"\"", "  directory: \"" + dir + "\"", "  pidfile: \"" + dir.resolve("unbound.pid") + "\"",
                    "  use-syslog: no", "  logfile: \"\"", "  verbosity: 1", "  num-threads: 1",
                    "  outgoing-range: 64", "  num-queries-per-thread: 32", "  access-control: 127.0.0.0/8 allow",
                    "  do-not-query-localhost: no", "  module-config: \"validator iterator\"",
                    "  trust-anchor-file: \"" + trustAnchor() + "\"", "  qname-minimisation: no",
                    "  unblock-lan-zones: yes", "remote-control:", "  control-enable: no"));
            for (String zone : served) {
                // Unbound answers the special-use names (RFC 6761: test., the TEST-NET reverse zones) itself unless told not to.
                unbound.add(1, "  local-zone: \"" + zone.split(" ")[0] + "\" nodefault");
            }
            for (String reverse : TEST_NET_REVERSE) {
                unbound.add(1, "  local-zone: \"" + reverse + "\" nodefault");
            }
            for (String zone : served) {
                unbound.addAll(List.of("stub-zone:", "  name: \"" + zone.split(" ")[0] + "\"",
                        "  stub-addr: " + HOST + "@" + authoritativePort));
            }
            Files.write(dir.resolve("unbound.conf"), unbound);
            return List.of("unbound", "-d", "-c", dir.resolve("unbound.conf").toString());
        });
    }

    /** Writes a server's configuration for a port and returns the command that starts it. */
    private interface Configuration {
        List<String> forPort(int port) throws IOException;
    }

    /**
     * Starts a server on a port free for UDP and TCP, and on another one if the port was taken
     * before the server bound it (another process's ephemeral socket can land on it).
     */
    private int startOnAFreePort(String name, Configuration configuration) throws IOException {
        for (int attempt = 1; ; attempt++) {
            int port = Ports.freeForUdpAndTcp(InetAddress.getByName(HOST));
            try {
                startServer(name, configuration.forPort(port), port, ".");
                return port;
            } catch (IOException | IllegalStateException e) {
                if (attempt == PORT_TRIES || !String.valueOf(e.getMessage()).contains("already in use")) throw e;
            }
        }
    }

    /** The closest zone above {@code name}. */
    private static String parent(String name, Map<String, Zone> zones) {
        String candidate = name;
        do {
            candidate = candidate.substring(candidate.indexOf('.') + 1);
            if (candidate.isEmpty()) candidate = ".";
        } while (!zones.containsKey(candidate));
        return candidate;
    }

    private static int labels(String name) {
        return name.equals(".") ? 0 : name.split("\\.").length;
    }

    /** Changes the first octet of every signature over data (not over keys or denial records). */
    private static void breakSignatures(Path signed) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(signed)) {
            String[] fields = line.split("\\s+");
            if (fields.length > 5 && fields[3].equals("RRSIG")
                    && !List.of("DNSKEY", "NSEC", "NSEC3", "SOA", "NS").contains(fields[4])) {
                String signature = fields[fields.length - 1];
                char first = signature.charAt(0) == 'A' ? 'B' : 'A';
                line = line.substring(0, line.length() - signature.length()) + first + signature.substring(1);
            }
            out.add(line);
        }
        Files.write(signed, out);
    }

    /** Runs a command in the fixture's directory; returns its standard output. */
    private String tool(String... command) throws IOException {
        Path output = dir.resolve("tool.out");
        Path errors = dir.resolve("tool.err");
        Process p = new ProcessBuilder(command).directory(dir.toFile())
                .redirectOutput(output.toFile()).redirectError(errors.toFile()).start();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " failed: " + Files.readString(errors));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return Files.readString(output);
    }

    private void startServer(String name, List<String> command, int port, String probe) throws IOException {
        Path log = dir.resolve(name + ".log");
        Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        processes.add(process);
        SimpleResolver client = new SimpleResolver(new InetSocketAddress(HOST, port));
        client.setTimeout(Duration.ofMillis(500));
        Message query = Message.newQuery(Record.newRecord(Name.fromString(probe, Name.root), Type.SOA, DClass.IN));
        try {
            await().atMost(START_LIMIT).pollInterval(Duration.ofMillis(50)).ignoreExceptionsMatching(e -> e instanceof IOException)
                    .until(() -> {
                        if (!process.isAlive()) {
                            throw new IllegalStateException(name + " exited with " + process.exitValue() + ":\n"
                                    + Files.readString(log));
                        }
                        return client.send(query).getRcode() == Rcode.NOERROR;
                    });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new IOException(name + " did not answer within " + START_LIMIT + ":\n" + Files.readString(log), e);
        }
    }

    @Override
    public void close() {
        stopServers();
        try {
            Runtime.getRuntime().removeShutdownHook(stopAtExit);
        } catch (IllegalStateException e) {
            // the JVM is already ending
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void stopServers() {
        for (Process p : processes) {
            p.destroy();
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The text of a server's log, for failure messages. */
    String log(String server) throws IOException {
        return new String(Files.readAllBytes(dir.resolve(server + ".log")), StandardCharsets.UTF_8);
    }
}
