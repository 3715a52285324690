package org.castellan.bench.auth;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An MIT Kerberos realm in a directory for {@link LoginBench}'s GSSAPI case: its own database
 * (kdb5_util), kdc.conf and krb5.conf, and {@code krb5kdc -n} on a loopback port chosen at run
 * time. Nothing under /etc is read or written: every MIT program runs with {@code KRB5_CONFIG}
 * and {@code KRB5_KDC_PROFILE} pointing here. The JVMs that use it (the bench's client, the
 * server's acceptor) read {@link #krb5Conf()} through {@code java.security.krb5.conf}.
 */
final class BenchRealm implements AutoCloseable {

    static final String REALM = "BENCH.REALM";
    /** MIT programs that have not finished in this time are hung. */
    private static final Duration LIMIT = Duration.ofSeconds(60);

    private final Path dir;
    private Process kdc;

    private BenchRealm(Path dir) {
        this.dir = dir;
    }

    /** Whether MIT's KDC and admin tools are installed (Debian: krb5-kdc, krb5-admin-server). */
    static boolean available() {
        return List.of("krb5kdc", "kdb5_util", "kadmin.local").stream().allMatch(BenchRealm::onPath);
    }

    /** Creates the realm in {@code dir} and starts its KDC. */
    static BenchRealm create(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Files.writeString(dir.resolve("kdc.conf"), String.join("\n", "[kdcdefaults]", " kdc_ports = " + port,
                " kdc_tcp_ports = " + port, "[realms]", " " + REALM + " = {", "  database_name = " + dir.resolve("principal"),
                "  key_stash_file = " + dir.resolve("stash"), "  acl_file = " + dir.resolve("kadm5.acl"), "  max_life = 10h", " }",
                "[logging]", " kdc = FILE:" + dir.resolve("kdc.log"), ""));
        Files.writeString(dir.resolve("krb5.conf"), String.join("\n", "[libdefaults]", " default_realm = " + REALM,
                " dns_lookup_kdc = false", " dns_lookup_realm = false", " rdns = false", " dns_canonicalize_hostname = false",
                " udp_preference_limit = 1", "[realms]", " " + REALM + " = {", "  kdc = 127.0.0.1:" + port, " }", ""));
        BenchRealm realm = new BenchRealm(dir);
        byte[] master = new byte[16];
        new SecureRandom().nextBytes(master);
        realm.run("kdb5_util", "create", "-s", "-r", REALM, "-P", HexFormat.of().formatHex(master));
        ProcessBuilder pb = new ProcessBuilder("krb5kdc", "-n").redirectErrorStream(true)
                .redirectOutput(dir.resolve("krb5kdc.out").toFile());
        pb.environment().putAll(realm.env());
        realm.kdc = pb.start();
        await().atMost(LIMIT).until(() -> !realm.kdc.isAlive() || listening(port));
        if (!realm.kdc.isAlive()) throw new IOException("krb5kdc: " + Files.readString(dir.resolve("krb5kdc.out")));
        return realm;
    }

    Path krb5Conf() {
        return dir.resolve("krb5.conf");
    }

    /** The keytab {@link #addService} writes to. */
    Path keytab() {
        return dir.resolve("service.keytab");
    }

    void addUser(String principal, String password) throws IOException, InterruptedException {
        run("kadmin.local", "-q", "addprinc -pw " + password + " " + principal);
    }

    /** A service principal with a random key, exported to {@link #keytab()}. */
    void addService(String principal) throws IOException, InterruptedException {
        run("kadmin.local", "-q", "addprinc -randkey " + principal);
        run("kadmin.local", "-q", "ktadd -k " + keytab() + " " + principal);
    }

    private Map<String, String> env() {
        return Map.of("KRB5_CONFIG", krb5Conf().toString(), "KRB5_KDC_PROFILE", dir.resolve("kdc.conf").toString());
    }

    private void run(String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env());
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(command[0] + " failed: " + output);
        }
    }

    private static boolean onPath(String program) {
        for (String d : (System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, program))) return true;
        }
        return false;
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (kdc != null) {
            kdc.destroy();
            kdc.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS);
        }
    }
}
