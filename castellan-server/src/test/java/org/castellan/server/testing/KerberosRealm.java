package org.castellan.server.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;
import org.castellan.testkit.Ports;

/**
 * A real MIT Kerberos realm in a temporary directory: its own database (kdb5_util with a master
 * password drawn here), kdc.conf and krb5.conf, and {@code krb5kdc -n} in the foreground on a
 * loopback port chosen at run time. Nothing under /etc is read or written: every MIT program runs
 * with {@code KRB5_CONFIG} and {@code KRB5_KDC_PROFILE} pointing here.
 *
 * <p>The krb5.conf allows 1 second of clock skew (MIT's and the JDK's default is 5 minutes), so
 * that a ticket is refused as expired a second after its end, not five minutes after.
 *
 * <p>A JVM reads its Kerberos configuration once, from the {@code java.security.krb5.conf}
 * property: a test that runs Kerberos in the JVM (the server's acceptor, a Java client) must set
 * it to {@link #krb5Conf()} before any Kerberos class loads, so such tests run in a surefire
 * execution of their own (castellan-server/pom.xml, {@code kerberos}).
 */
public final class KerberosRealm implements AutoCloseable {

    public static final String REALM = "TEST.REALM";
    /** MIT programs that have not finished in this time are hung. */
    private static final Duration LIMIT = Duration.ofSeconds(60);

    /** Ports tried before a KDC that finds its port taken is given up on. */
    private static final int PORT_TRIES = 5;
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final Path dir;
    private final Process kdc;
    private int port;

    private KerberosRealm(Path dir, Process kdc) {
        this.dir = dir;
        this.kdc = kdc;
    }

    /** Creates the realm in {@code dir} and starts its KDC. */
    public static KerberosRealm create(Path dir) {
        return create(dir, () -> Ports.freeForUdpAndTcp(LOOPBACK));
    }

    /** As {@link #create(Path)}, with the KDC's ports drawn from {@code ports}. */
    static KerberosRealm create(Path dir, IntSupplier ports) {
        ExternalClient.require("krb5kdc", "krb5-kdc");
        ExternalClient.require("kadmin.local", "krb5-admin-server");
        ExternalClient.require("kinit", "krb5-user");
        try {
            Files.createDirectories(dir);
            KerberosRealm realm = new KerberosRealm(dir, null);
            realm.configure(ports.getAsInt());
            byte[] master = new byte[16];
            new SecureRandom().nextBytes(master);
            realm.run(List.of("kdb5_util", "create", "-s", "-r", REALM, "-P", HexFormat.of().formatHex(master)), Map.of());
            for (int attempt = 1; ; attempt++) {
                Process kdc = realm.startKdc();
                if (kdc.isAlive()) return new KerberosRealm(dir, kdc);
                // The port was found free, but another process's socket may have taken it since.
                String log = Files.exists(realm.kdcLog()) ? Files.readString(realm.kdcLog()) : "";
                if (attempt == PORT_TRIES || !log.contains("Address already in use")) {
                    throw new AssertionError("krb5kdc exited with " + kdc.exitValue() + ": "
                            + Files.readString(dir.resolve("krb5kdc.out")) + log);
                }
                realm.configure(ports.getAsInt());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes kdc.conf and krb5.conf for a KDC on {@code port} of the loopback address only, UDP
     * and TCP (MIT's {@code kdc_ports} would bind every address).
     */
    private void configure(int port) throws IOException {
        String address = LOOPBACK.getHostAddress() + ":" + port;
        Files.writeString(dir.resolve("kdc.conf"), String.join("\n",
                "[kdcdefaults]",
                " kdc_listen = " + address,
                " kdc_tcp_listen = " + address,
                "[realms]",
                " " + REALM + " = {",
                "  database_name = " + dir.resolve("principal"),
                "  key_stash_file = " + dir.resolve("stash"),
                "  acl_file = " + dir.resolve("kadm5.acl"),
                "  max_life = 10h",
                " }",
                "[logging]",
                " kdc = FILE:" + kdcLog(),
                ""));
        Files.writeString(dir.resolve("krb5.conf"), String.join("\n",
                "[libdefaults]",
                " default_realm = " + REALM,
                " dns_lookup_kdc = false",
                " dns_lookup_realm = false",
                " rdns = false",
                " clockskew = 1",
                " dns_canonicalize_hostname = false",
                " udp_preference_limit = 1",
                "[realms]",
                " " + REALM + " = {",
                "  kdc = " + address,
                " }",
                ""));
        this.port = port;
    }

    /** Starts {@code krb5kdc -n} and waits until it listens or has exited. */
    private Process startKdc() throws IOException {
        Files.deleteIfExists(kdcLog());
        ProcessBuilder pb = new ProcessBuilder("krb5kdc", "-n").redirectErrorStream(true)
                .redirectOutput(dir.resolve("krb5kdc.out").toFile());
        pb.environment().putAll(env());
        Process kdc = pb.start();
        await().atMost(LIMIT).until(() -> !kdc.isAlive() || listening(port));
        return kdc;
    }

    private Path kdcLog() {
        return dir.resolve("kdc.log");
    }

    /** The krb5.conf clients and the JVM must use. */
    public Path krb5Conf() {
        return dir.resolve("krb5.conf");
    }

    /** The keytab {@link #addService} writes to. */
    public Path keytab() {
        return dir.resolve("service.keytab");
    }

    /** The environment MIT programs need for this realm. */
    public Map<String, String> env() {
        return Map.of("KRB5_CONFIG", krb5Conf().toString(), "KRB5_KDC_PROFILE", dir.resolve("kdc.conf").toString());
    }

    /** As {@link #env()}, with {@code ccache} as the credential cache. */
    public Map<String, String> env(Path ccache) {
        return Map.of("KRB5_CONFIG", krb5Conf().toString(), "KRB5_KDC_PROFILE", dir.resolve("kdc.conf").toString(),
                "KRB5CCNAME", "FILE:" + ccache);
    }

    /** A user principal with a password; {@code options} go to addprinc, such as {@code -maxlife "4 seconds"}. */
    public void addUser(String principal, String password, String... options) {
        run(List.of("kadmin.local", "-q", "addprinc " + String.join(" ", options) + " -pw " + password + " " + principal),
                Map.of());
    }

    /** A service principal with a random key, exported to {@link #keytab()}. */
    public void addService(String principal) {
        run(List.of("kadmin.local", "-q", "addprinc -randkey " + principal), Map.of());
        run(List.of("kadmin.local", "-q", "ktadd -k " + keytab() + " " + principal), Map.of());
    }

    /** {@code kinit} into {@code ccache} with the password on standard input. */
    public void kinit(String principal, String password, Path ccache) {
        try {
            ProcessBuilder pb = new ProcessBuilder("kinit", principal).redirectErrorStream(true);
            pb.environment().putAll(env(ccache));
            Process p = pb.start();
            p.getOutputStream().write((password + "\n").getBytes());
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(LIMIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as("kinit %s: %s", principal, out).isZero();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void run(List<String> command, Map<String, String> extra) {
        try {
            Map<String, String> env = new java.util.HashMap<>(env());
            env.putAll(extra);
            ExternalClient.runOk(command, env);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(LOOPBACK, port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() {
        if (kdc != null) {
            kdc.destroy();
            try {
                kdc.waitFor(LIMIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
