package org.castellan.bench.imap;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.castellan.testkit.TestPki;

/**
 * The reference: a throwaway, loopback-only Dovecot from the Debian package
 * ({@code apt-get install dovecot-imapd}), with everything under one directory: its own
 * configuration, {@code base_dir}, {@code state_dir}, log, passwd-file and Maildirs. It runs in
 * the foreground as a child of the benchmark ({@code dovecot -F}); its CPU and memory are the
 * master's and all its children's (imap-login, imap, auth, config, log...).
 *
 * <p>Set up the way Dovecot's documentation recommends for performance: imap-login in
 * high-performance mode (one login process per CPU serving many connections, TLS included),
 * everything else at Dovecot's defaults (one imap process per session). Needs root, like
 * Dovecot itself, to start its services under their own users.
 */
public final class Dovecot implements ServerUnderTest {

    private static final String BINARY = "/usr/sbin/dovecot";
    /** Dovecot's own deadline for starting is seconds; this is for a slow, loaded machine. */
    private static final Duration START_LIMIT = Duration.ofSeconds(30);
    /** Every benchmark's Dovecot but the EXTERNAL one offers these. */
    private static final List<String> PASSWORD_MECHANISMS = List.of("auth_mechanisms = plain login scram-sha-256");

    private final Path dir;
    private final Process master;
    private final int port;

    private Dovecot(Path dir, Process master, int port) {
        this.dir = dir;
        this.master = master;
        this.port = port;
    }

    /**
     * @param sessions how many sessions it must hold at once: raises the process and client
     *     limits above Dovecot's defaults (1,000 connections per login process, 1,024 imap processes)
     */
    static Dovecot start(Path dir, TestPki pki, List<String> users, String password, int sessions) throws IOException, InterruptedException {
        return start(dir, pki, passwd(users, "{PLAIN}" + password, ""), PASSWORD_MECHANISMS, sessions);
    }

    /**
     * For login cycles (docs/performance.md): {@code plainUser} with its password stored in the
     * clear, so that LOGIN costs Dovecot a comparison as a cached LOGIN costs Castellan, and
     * {@code scramUser} with SCRAM-SHA-256 keys as {@code doveadm pw} derives them, so that SCRAM
     * costs it no PBKDF2 per login, as Castellan's stored keys do not.
     */
    public static Dovecot startForLogins(Path dir, TestPki pki, String plainUser, String scramUser, String password,
                                         int sessions) throws IOException, InterruptedException {
        String scram = run(List.of("doveadm", "pw", "-s", "SCRAM-SHA-256", "-p", password)).strip();
        List<String> lines = new java.util.ArrayList<>(passwd(List.of(plainUser), "{PLAIN}" + password, ""));
        lines.addAll(passwd(List.of(scramUser), scram, ""));
        return start(dir, pki, lines, PASSWORD_MECHANISMS, sessions);
    }

    /**
     * For SASL EXTERNAL (RFC 4422 Appendix A) with TLS client certificates: {@code user} logs in
     * with the verified certificate whose subject CN is its address and nothing else. Every
     * handshake asks for a certificate ({@code ssl_verify_client_cert}) and verifies its chain
     * against {@code caFile} (the issuing CA and the root, each followed by its CRL: with
     * Dovecot's default {@code ssl_require_crl = yes} OpenSSL checks every certificate of the chain
     * against its issuer's CRL, at each handshake); the login is refused without a valid one
     * ({@code auth_ssl_require_client_cert}); the user name is the certificate's
     * ({@code auth_ssl_username_from_cert}, {@code ssl_cert_username_field = commonName}). The
     * user stays in the passwd-file, without a password and marked {@code nopassword}, since
     * Dovecot's EXTERNAL asks the passdb to verify an empty password: an account that is not
     * there is still refused. EXTERNAL is the only mechanism offered, so that no password-less
     * login is possible, which is why this is an instance of its own.
     */
    public static Dovecot startForCertificateLogins(Path dir, TestPki pki, Path caFile, String user, int sessions)
            throws IOException, InterruptedException {
        return start(dir, pki, passwd(List.of(user), "", "nopassword=y"), List.of(
                "auth_mechanisms = external",
                "ssl_ca = <" + caFile,
                "ssl_verify_client_cert = yes",
                "auth_ssl_require_client_cert = yes",
                "auth_ssl_username_from_cert = yes",
                "ssl_cert_username_field = commonName"), sessions);
    }

    private static List<String> passwd(List<String> users, String credential, String passdbFields) {
        return users.stream().map(u -> u + ":" + credential + "::::::" + passdbFields).toList();
    }

    /**
     * Dovecot's own IMAP proxy in front of {@code backend}: the same instance, but its passdb
     * answers each login with {@code proxy=y} and the back end's address, so imap-login checks the
     * password, logs in at the back end over TLS and then copies bytes both ways; no imap process
     * runs here. {@code ssl=any-cert}: TLS to the back end without verifying its certificate —
     * Dovecot 2.3.19's imap-login refused the test CA's chain with {@code ssl_client_ca_file} and
     * with {@code ssl_client_ca_dir} alike ("unable to get local issuer certificate"), so the proxy
     * is spared a chain verification per login that Castellan's edge makes.
     */
    static Dovecot startProxy(Path dir, TestPki pki, List<String> users, String password, int sessions, Dovecot backend)
            throws IOException, InterruptedException {
        // hostip spares the name lookup at each login.
        String fields = "proxy=y host=localhost hostip=127.0.0.1 port=" + backend.port() + " ssl=any-cert";
        return start(dir, pki, passwd(users, "{PLAIN}" + password, fields), PASSWORD_MECHANISMS, sessions);
    }

    /** @param authLines the mechanisms and whatever else they need, as lines of dovecot.conf */
    private static Dovecot start(Path dir, TestPki pki, List<String> passwdLines, List<String> authLines, int sessions)
            throws IOException, InterruptedException {
        if (!Files.isExecutable(Path.of(BINARY))) {
            throw new IllegalStateException(BINARY + " is missing: apt-get install dovecot-imapd");
        }
        Files.createDirectories(dir);
        // Dovecot's unprivileged services (dovenull, dovecot, the mail user) must reach these.
        for (Path p = dir; p != null && p.startsWith(Path.of(System.getProperty("java.io.tmpdir"))); p = p.getParent()) {
            if (p.equals(Path.of(System.getProperty("java.io.tmpdir")))) break;
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Path mail = Files.createDirectories(dir.resolve("mail"));
        Path users0 = dir.resolve("users");
        Files.createFile(users0, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(users0, String.join("\n", passwdLines) + "\n");
        run(List.of("chown", "dovecot", users0.toString())); // the auth service reads it as dovecot
        run(List.of("chown", "-R", "mail:mail", mail.toString()));
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        int cpus = Runtime.getRuntime().availableProcessors();
        // Each TLS session holds two descriptors in imap-login (client and imap process).
        int perLogin = Math.max(1000, 2 * sessions / cpus + 100);
        Path conf = dir.resolve("dovecot.conf");
        List<String> config = new java.util.ArrayList<>(List.of(
                "protocols = imap",
                "listen = 127.0.0.1",
                "base_dir = " + dir.resolve("run"),
                "state_dir = " + dir.resolve("state"),
                "log_path = " + dir.resolve("dovecot.log"),
                "ssl = required",
                "ssl_cert = <" + pki.server().chainFile(),
                "ssl_key = <" + pki.server().keyFile(),
                "ssl_min_protocol = TLSv1.2",
                "disable_plaintext_auth = yes"));
        config.addAll(authLines);
        config.addAll(List.of(
                "mail_location = maildir:" + mail + "/%u",
                "first_valid_uid = 8",
                "passdb {", "  driver = passwd-file", "  args = username_format=%u " + users0, "}",
                "userdb {", "  driver = static", "  args = uid=mail gid=mail home=" + mail + "/%u", "}",
                "service imap-login {",
                "  inet_listener imap {", "    port = 0", "  }",
                "  inet_listener imaps {", "    port = " + port, "    ssl = yes", "  }",
                "  service_count = 0",
                "  process_min_avail = " + cpus,
                "  client_limit = " + perLogin,
                "}",
                "service imap {",
                "  process_limit = " + Math.max(1024, sessions + 100),
                "}",
                // Dovecot allows 10 connections per user and address by default; the idle benchmark opens more.
                "mail_max_userip_connections = " + Math.max(10, sessions),
                "default_client_limit = " + Math.max(1000, sessions + 100),
                "default_process_limit = " + Math.max(100, sessions + 100),
                ""));
        Files.writeString(conf, String.join("\n", config));
        Process master = new ProcessBuilder(BINARY, "-F", "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("dovecot.out").toFile()).start();
        Dovecot d = new Dovecot(dir, master, port);
        try {
            await("Dovecot listening on port " + port + "; see " + dir.resolve("dovecot.log"))
                    .atMost(START_LIMIT).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> {
                        if (!master.isAlive()) throw new IllegalStateException("dovecot exited: " + Files.readString(dir.resolve("dovecot.out")));
                        try (Socket s = new Socket("127.0.0.1", port)) {
                            return true;
                        }
                    });
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
        return d;
    }

    @Override
    public String name() { return "dovecot"; }

    @Override
    public int port() { return port; }

    @Override
    public long pid() { return master.pid(); }

    Path log() { return dir.resolve("dovecot.log"); }

    @Override
    public void close() {
        master.destroy(); // SIGTERM: the master stops its services and exits
        try {
            if (!master.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) master.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs {@code command}; its output, or IllegalStateException with it if it failed. */
    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", command) + " failed: " + out.strip());
        return out;
    }
}
