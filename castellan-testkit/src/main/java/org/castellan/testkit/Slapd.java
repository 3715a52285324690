package org.castellan.testkit;

import com.sun.security.auth.module.UnixSystem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A real OpenLDAP server for tests, Debian's {@code slapd}: a {@code slapd.conf} in a directory of
 * its own under {@code java.io.tmpdir} with the core, cosine and inetorgperson schemas from
 * {@code /etc/ldap/schema}, one mdb database for {@link #suffix()} with a root DN and a random
 * password, TLS with a certificate of its own (StartTLS, RFC 4513 §3), listening on 127.0.0.1 at a
 * port chosen at run time ({@code -h ldap://127.0.0.1:PORT/}). Runs in the foreground as a child
 * process; {@link #stop()} and {@link #start()} take it down and up on the same port, and
 * {@link #close()} stops it and deletes the directory. Entries are added and read with
 * ldap-utils' {@code ldapadd} and {@code ldapsearch}, as an administrator would.
 *
 * <p>As root (CI) slapd runs as {@code nobody} through {@code setpriv}, as {@link Postgres} does,
 * in a directory given to that user under {@code /tmp}; as anyone else it runs as that user.
 *
 * <p>Trusts: only the test that started it; it listens on loopback only.
 */
public final class Slapd implements AutoCloseable {

    static final Path SLAPD = Path.of("/usr/sbin/slapd");
    static final Path SCHEMAS = Path.of("/etc/ldap/schema");
    static final Path MODULES = Path.of("/usr/lib/ldap");
    /** How long a start may take on a loaded 2-core machine before the test fails with slapd's output. */
    static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    /** How often the fixture tries the port while slapd starts. */
    static final Duration PROBE_INTERVAL = Duration.ofMillis(50);

    private final Path directory;
    private final List<String> runAs;
    private final String suffix;
    private final String password;
    private final Thread shutdownHook;
    private final int port;
    private Process process;

    private Slapd(Path directory, List<String> runAs, String suffix, String password, int port) {
        this.directory = directory;
        this.runAs = runAs;
        this.suffix = suffix;
        this.password = password;
        this.port = port;
        // A test that dies before close() would leave slapd running until the JVM ends.
        this.shutdownHook = new Thread(this::stop, "slapd-stop-" + directory.getFileName());
    }

    /**
     * Writes the configuration for {@code suffix} (such as {@code dc=example,dc=org}), with a
     * self-signed certificate for {@code localhost} and {@code 127.0.0.1} ({@link #certificateFile()})
     * for StartTLS, and starts slapd; returns once it
     * accepts connections. The suffix entry itself is added ({@code dcObject}, {@code organization}).
     *
     * @throws IllegalStateException if slapd or the schemas are missing (the message names the
     *     packages to install) or slapd does not start (the message has its output)
     */
    public static Slapd start(String suffix) {
        if (!Files.isExecutable(SLAPD) || !Files.exists(SCHEMAS.resolve("inetorgperson.schema"))) {
            throw new IllegalStateException("no OpenLDAP server at " + SLAPD + ": install the Debian packages slapd and"
                    + " ldap-utils (apt-get install slapd ldap-utils; ./test does)");
        }
        Path directory;
        List<String> runAs;
        try {
            directory = Files.createTempDirectory("castellan-slapd-");
            Files.createDirectory(directory.resolve("db"));
            // Its own certificate from openssl: GnuTLS (Debian's slapd) cannot read the JDK's PKCS#8 EC
            // keys, which leave out the optional public key.
            ldap("", "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", directory.resolve("tls.key").toString(), "-out", directory.resolve("tls.crt").toString(),
                    "-subj", "/O=Castellan Test/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-days", "2");
            runAs = new UnixSystem().getUid() == 0 ? ServerDirectories.giveTo(directory) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare a directory for slapd in " + System.getProperty("java.io.tmpdir"), e);
        }
        Slapd slapd = new Slapd(directory, runAs, suffix, RandomHex.of(16), ServerDirectories.freePort());
        Runtime.getRuntime().addShutdownHook(slapd.shutdownHook);
        try {
            slapd.writeConfiguration();
            slapd.start();
            String dc = suffix.substring(suffix.indexOf('=') + 1, suffix.contains(",") ? suffix.indexOf(',') : suffix.length());
            slapd.add("dn: " + suffix + "\nobjectClass: dcObject\nobjectClass: organization\ndc: " + dc + "\no: " + dc + "\n");
            return slapd;
        } catch (RuntimeException e) {
            try {
                slapd.close();
            } catch (RuntimeException alsoFailed) {
                e.addSuppressed(alsoFailed);
            }
            throw e;
        }
    }

    /** {@code ldap://127.0.0.1:<port>}: plain LDAP, with StartTLS offered. */
    public String url() {
        return "ldap://127.0.0.1:" + port;
    }

    /** The server's self-signed TLS certificate (PEM), the one thing a client must trust to reach it. */
    public Path certificateFile() {
        return directory.resolve("tls.crt");
    }

    public int port() {
        return port;
    }

    public String suffix() {
        return suffix;
    }

    /** {@code cn=admin,<suffix>}, which may do anything in the database. */
    public String rootDn() {
        return "cn=admin," + suffix;
    }

    public String rootPassword() {
        return password;
    }

    /** Starts slapd (again) on its port; returns once it accepts connections. */
    public synchronized void start() {
        if (process != null && process.isAlive()) return;
        List<String> command = new ArrayList<>(runAs);
        // -d: stay in the foreground, a child of this JVM; "sync" (syncrepl, unused here) prints
        // nothing but the errors, which every debug level shows and -d 0 would hide.
        command.addAll(List.of(SLAPD.toString(), "-d", "sync", "-f", directory.resolve("slapd.conf").toString(),
                "-h", "ldap://127.0.0.1:" + port + "/"));
        try {
            process = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true)
                    .redirectOutput(directory.resolve("slapd.log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        }
        Process started = process;
        try {
            Awaitility.await().atMost(START_TIMEOUT).pollInterval(PROBE_INTERVAL)
                    .until(() -> !started.isAlive() || accepts());
        } catch (ConditionTimeoutException notYet) {
            // said below
        }
        if (!started.isAlive() || !accepts()) {
            started.destroyForcibly();
            throw new IllegalStateException("slapd did not start on port " + port + ":\n" + log());
        }
    }

    /** Stops slapd (SIGTERM, as an administrator's service stop) and waits for it to exit. */
    public synchronized void stop() {
        if (process == null || !process.isAlive()) return;
        process.destroy();
        try {
            if (!process.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Adds {@code ldif} as the root DN with {@code ldapadd}. */
    public void add(String ldif) {
        ldap(ldif, "ldapadd", "-x", "-H", url(), "-D", rootDn(), "-w", password);
    }

    /** Applies {@code ldif} (with {@code changetype} lines) as the root DN with {@code ldapmodify}. */
    public void modify(String ldif) {
        ldap(ldif, "ldapmodify", "-x", "-H", url(), "-D", rootDn(), "-w", password);
    }

    /**
     * The entries {@code filter} finds under the suffix, as {@code ldapsearch -LLL} prints them
     * (LDIF, binary values in base64 after {@code ::}), bound as the root DN.
     */
    public String search(String filter, String... attributes) {
        List<String> command = new ArrayList<>(List.of("ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-x", "-H", url(),
                "-D", rootDn(), "-w", password, "-b", suffix, filter));
        command.addAll(List.of(attributes));
        return ldap("", command.toArray(new String[0]));
    }

    /** Stops slapd if it runs and deletes its directory. */
    @Override
    public void close() {
        try {
            stop();
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException hookRunning) {
            // The JVM is shutting down and runs the hook itself.
        } finally {
            ServerDirectories.delete(directory, "slapd's directory");
        }
    }

    private void writeConfiguration() {
        String conf = """
                include %1$s/core.schema
                include %1$s/cosine.schema
                include %1$s/inetorgperson.schema
                pidfile %2$s/slapd.pid
                argsfile %2$s/slapd.args
                TLSCertificateFile %2$s/tls.crt
                TLSCertificateKeyFile %2$s/tls.key
                modulepath %3$s
                moduleload back_mdb
                database mdb
                suffix "%4$s"
                rootdn "cn=admin,%4$s"
                rootpw %5$s
                directory %2$s/db
                maxsize 10485760
                """.formatted(SCHEMAS, directory, MODULES, suffix, password);
        try {
            Path file = directory.resolve("slapd.conf");
            Files.writeString(file, conf);
            if (!runAs.isEmpty()) {
                for (Path p : List.of(file, directory.resolve("db"), directory.resolve("tls.crt"), directory.resolve("tls.key"))) {
                    ServerDirectories.chownLike(p, directory);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write slapd's configuration in " + directory, e);
        }
    }

    private boolean accepts() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private String log() {
        try {
            return Files.readString(directory.resolve("slapd.log"));
        } catch (IOException e) {
            return "(cannot read slapd.log: " + e + ")";
        }
    }

    private static String ldap(String stdin, String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            try (var in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(command[0] + " did not finish\n" + out);
            }
            if (p.exitValue() != 0) throw new IllegalStateException(String.join(" ", command) + " failed (exit "
                    + p.exitValue() + ")\n" + out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command[0] + " (install the Debian package ldap-utils)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(command[0] + " interrupted", e);
        }
    }
}
