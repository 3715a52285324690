package org.castellan.server.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.castellan.testkit.TestCertificate;

/**
 * A real Postfix (Debian's) receiving for {@code remote.test} on 127.0.0.1 and 127.0.0.2 at a
 * port chosen at run time, or for another domain on an address of its own (an MX host at port 25),
 * with its own configuration, queue and maildirs in a temporary directory: STARTTLS with the given
 * certificate (none: TLS off, {@code smtpd_tls_security_level = none}), PIPELINING, SIZE, 8BITMIME,
 * SMTPUTF8 and CHUNKING as Postfix offers them. Postfix's master runs as root and drops to its own
 * user, as an installed Postfix does; the tests run as root.
 */
public final class PostfixReceiver implements AutoCloseable {

    /** The mailbox that takes mail: remote.test's only user. */
    public static final String RECIPIENT = "carol@remote.test";
    private static final Duration START = Duration.ofSeconds(30);

    public final int port;
    /** The mailbox that takes mail: its domain's only user. */
    public final String recipient;
    private final Path config;
    private final Path mail;
    private final Path log;

    /** @param mainCf further lines for main.cf, such as {@code smtpd_discard_ehlo_keywords = chunking} */
    public PostfixReceiver(Path dir, TestCertificate certificate, String... mainCf) throws IOException, InterruptedException {
        this(dir, certificate, "remote.test", List.of("127.0.0.1", "127.0.0.2"), freePort(), mainCf);
    }

    /**
     * A Postfix receiving for {@code domain} at {@code address}.
     *
     * @param certificate its STARTTLS certificate; null for no TLS at all
     */
    public PostfixReceiver(Path dir, TestCertificate certificate, String domain, InetSocketAddress address)
            throws IOException, InterruptedException {
        this(dir, certificate, domain, List.of(address.getAddress().getHostAddress()), address.getPort());
    }

    private PostfixReceiver(Path dir, TestCertificate certificate, String domain, List<String> addresses, int port,
                            String... mainCf) throws IOException, InterruptedException {
        ExternalClient.require("postfix", "postfix");
        this.recipient = "carol@" + domain;
        // Postfix's master runs as postfix and its delivery agent as nobody: the directories and
        // their parents (a test's temporary directory, 0700) must be passable.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        Files.setPosixFilePermissions(dir.getParent(), PosixFilePermissions.fromString("rwx--x--x"));
        config = Files.createDirectories(dir.resolve("config"));
        Path queue = Files.createDirectories(dir.resolve("queue"));
        Path data = Files.createDirectories(dir.resolve("data"));
        mail = Files.createDirectories(dir.resolve("mail"));
        Files.setPosixFilePermissions(mail, PosixFilePermissions.fromString("rwxrwxrwx"));
        UserPrincipal postfix = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postfix");
        Files.setOwner(data, postfix);
        log = dir.resolve("maillog");
        this.port = port;
        List<String> tls = certificate == null ? List.of("smtpd_tls_security_level = none") : List.of(
                "smtpd_tls_security_level = may",
                "smtpd_tls_received_header = yes",
                "smtpd_tls_chain_files = " + certificate.keyFile() + ", " + certificate.chainFile());
        List<String> main = new ArrayList<>(List.of(                "compatibility_level = 3.6",
                "queue_directory = " + queue,
                "data_directory = " + data,
                "maillog_file = " + log,
                "maillog_file_prefixes = " + dir,
                "inet_interfaces = loopback-only",
                "inet_protocols = ipv4",
                "myhostname = mx." + domain,
                "mydestination =",
                "mynetworks = 127.0.0.0/8",
                "virtual_mailbox_domains = " + domain,
                "virtual_mailbox_base = " + mail,
                "virtual_mailbox_maps = inline:{ " + recipient + "=carol/ }",
                "virtual_uid_maps = static:65534",
                "virtual_gid_maps = static:65534",
                "virtual_minimum_uid = 1"));
        main.addAll(tls);
        main.addAll(List.of(mainCf));
        Files.writeString(config.resolve("main.cf"), String.join("\n", main) + "\n");
        List<String> master = new ArrayList<>();
        for (String a : addresses) master.add(a + ":" + port + " inet n - n - - smtpd");
        for (String service : List.of("pickup unix n - n 60 1", "cleanup unix n - n - 0", "qmgr unix n - n 300 1",
                "tlsmgr unix - - n 1000? 1", "rewrite unix - - n - - trivial-rewrite", "bounce unix - - n - 0",
                "defer unix - - n - 0 bounce", "trace unix - - n - 0 bounce", "verify unix - - n - 1",
                "flush unix n - n 1000? 0", "proxymap unix - - n - -", "smtp unix - - n - -", "showq unix n - n - -",
                "error unix - - n - -", "retry unix - - n - - error", "discard unix - - n - -", "virtual unix - n n - -",
                "anvil unix - - n - 1", "scache unix - - n - 1", "postlog unix-dgram n - n - 1 postlogd")) {
            // The eighth field, the program, is the service's name unless given.
            master.add(service.split(" ").length == 7 ? service + " " + service.split(" ")[0] : service);
        }
        Files.writeString(config.resolve("master.cf"), String.join("\n", master) + "\n");
        postfix("start");
        Awaitility.await().atMost(START).until(() -> listening(addresses.get(0), port));
    }

    private void postfix(String command) throws IOException, InterruptedException {
        ExternalClient.Result r = ExternalClient.run(List.of("postfix", "-c", config.toString(), command), Map.of());
        if (r.exitCode() != 0) {
            throw new IllegalStateException("postfix " + command + " failed: " + r.output() + "\n" + maillog());
        }
    }

    private static boolean listening(String address, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The messages delivered to {@link #recipient}'s maildir, each with Postfix's Received field. */
    public List<String> messages() throws IOException {
        Path fresh = mail.resolve("carol").resolve("new");
        if (!Files.isDirectory(fresh)) return List.of();
        try (Stream<Path> files = Files.list(fresh)) {
            List<String> out = new ArrayList<>();
            for (Path f : files.sorted().toList()) out.add(Files.readString(f, StandardCharsets.UTF_8));
            return out;
        }
    }

    /**
     * Whether any message reached Postfix's queue: delivered, or logged by its queue manager (which
     * logs "from=<...>, size=..., nrcpt=... (queue active)" for each message it takes up).
     */
    public boolean queuedAnything() throws IOException {
        return !messages().isEmpty() || maillog().contains("(queue active)");
    }

    /** Postfix's log, for the transcript of what its smtpd saw. */
    public String maillog() throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    @Override
    public void close() throws IOException, InterruptedException {
        postfix("stop");
    }
}
