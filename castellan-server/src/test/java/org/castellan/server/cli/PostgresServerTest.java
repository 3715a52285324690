package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.testing.ExternalClient;
import org.castellan.testkit.ObjectStore;
import org.castellan.testkit.Postgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole server on {@code [store] kind = "postgres"} (docs/store.md, "Scale-out"): the operator
 * adds the domain and the account with {@code castellan}, a message arrives by SMTP (Python's
 * smtplib), is read back by IMAP (imaplib), and a flag one session sets is seen by another
 * (RFC 9051 §7.5.2: an untagged FETCH at its next NOOP). The rows are in PostgreSQL, not in the
 * data directory.
 */
class PostgresServerTest {

    private static final String ACCOUNT = "alice@example.org";
    private static final String PASSWORD = "correct horse battery";

    private static final String SCRIPT = String.join("\n",
            "import imaplib, smtplib, ssl, sys, time",
            "mx, imaps, ca, user, pw = sys.argv[1:6]",
            "with smtplib.SMTP('127.0.0.1', int(mx), timeout=20) as s:",
            "    s.sendmail('carol@example.net', [user],",
            "        b'From: carol@example.net\\r\\nTo: ' + user.encode() + b'\\r\\nSubject: over postgres\\r\\n\\r\\nstored in a database\\r\\n')",
            "print('smtp sent')",
            "ctx = ssl.create_default_context(cafile=ca)",
            "a = imaplib.IMAP4_SSL('localhost', int(imaps), ssl_context=ctx, timeout=20)",
            "b = imaplib.IMAP4_SSL('localhost', int(imaps), ssl_context=ctx, timeout=20)",
            "print('login', a.login(user, pw)[0], b.login(user, pw)[0])",
            "print('select', a.select('INBOX')[1][0].decode(), b.select('INBOX')[1][0].decode())",
            "typ, data = a.fetch('1', '(BODY.PEEK[])')",
            "print('fetch', typ, data[0][1].decode().replace('\\r\\n', '|'))",
            "typ, data = a.store('1', '+FLAGS', '(\\\\Flagged)')",
            "print('store', typ, data[0].decode())",
            // The other session hears of the change through the store's events: it may take a moment.
            "seen = None",
            "for _ in range(100):",
            "    b.noop()",
            "    typ, seen = b.response('FETCH')",
            "    if seen and seen[0]: break",
            "    time.sleep(0.1)",
            "print('other', seen[0].decode() if seen and seen[0] else 'nothing')",
            "print('logout', a.logout()[0], b.logout()[0])");

    private static Postgres postgres;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        ExternalClient.require("python3", "python3");
        postgres = Postgres.start();
    }

    @AfterAll
    static void stop() {
        if (postgres != null) postgres.close();
    }

    @Test
    void aServerOnPostgresTakesMailBySmtpAndServesItOverImap() throws Exception {
        Path data = tmp.resolve("data");
        Path config = initOnNewDatabase(data, "castellan_e2e");
        addAccount(data, data);
        assertThat(count("SELECT count(*) FROM accounts WHERE local_part = 'alice'")).isEqualTo(1);

        String out;
        try (Castellan server = Castellan.start(CastellanConfig.load(config))) {
            out = ExternalClient.runOk(List.of("python3", "-c", SCRIPT,
                    Integer.toString(server.addresses().get("mx").getPort()),
                    Integer.toString(server.addresses().get("imaps").getPort()),
                    data.resolve("pki/root.crt").toString(), ACCOUNT, PASSWORD), Map.of()).output();
        }
        assertThat(out).contains("smtp sent")
                .contains("login OK OK")
                .contains("select 1 1")
                .containsPattern("fetch OK .*Subject: over postgres\\|\\|stored in a database\\|")
                .contains("store OK 1 (FLAGS (\\Flagged \\Recent) UID 1)")
                .contains("other 1 (FLAGS (\\Flagged) UID 1)")
                .contains("logout BYE BYE");
        assertThat(count("SELECT count(*) FROM messages WHERE flags LIKE '%\\Flagged%'")).isEqualTo(1);
    }

    /**
     * With {@code [store.object-store]} a body over {@code inline-max} is an object named by its
     * SHA-256 in the bucket, written before the 250, and read back whole over IMAP.
     */
    @Test
    void aLargeBodyIsKeptInTheObjectStoreAndServedWhole() throws Exception {
        Path data = tmp.resolve("data");
        Path config = initOnNewDatabase(data, "castellan_s3");
        Path buckets = tmp.resolve("buckets");
        try (ObjectStore objects = ObjectStore.start(buckets)) {
            Path access = data.resolve("s3.access");
            Path secret = data.resolve("s3.secret");
            Files.writeString(access, objects.accessKey() + "\n");
            Files.writeString(secret, objects.secretKey() + "\n");
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
            String text = Files.readString(config);
            assertThat(text).contains("\n[store.object-store]\n");
            Files.writeString(config, text.replace("\n[store.object-store]\n", "\n[store.object-store]\nendpoint = \""
                    + objects.endpoint() + "\"\nbucket = \"" + objects.bucket()
                    + "\"\naccess-key-file = \"s3.access\"\nsecret-key-file = \"s3.secret\"\n"));
            addAccount(data, data);

            String script = String.join("\n",
                    "import imaplib, smtplib, ssl, sys",
                    "mx, imaps, ca, user, pw = sys.argv[1:6]",
                    "body = b''.join(b'line %06d of a large message body\\r\\n' % i for i in range(10000))",
                    "with smtplib.SMTP('127.0.0.1', int(mx), timeout=20) as s:",
                    "    s.sendmail('carol@example.net', [user], b'From: carol@example.net\\r\\nTo: ' + user.encode()"
                            + " + b'\\r\\nSubject: large\\r\\n\\r\\n' + body)",
                    "a = imaplib.IMAP4_SSL('localhost', int(imaps), ssl_context=ssl.create_default_context(cafile=ca), timeout=20)",
                    "a.login(user, pw); a.select('INBOX')",
                    "typ, data = a.fetch('1', '(BODY.PEEK[TEXT])')",
                    "print('text', typ, data[0][1] == body, len(data[0][1]))",
                    "a.logout()");
            String out;
            try (Castellan server = Castellan.start(CastellanConfig.load(config))) {
                out = ExternalClient.runOk(List.of("python3", "-c", script,
                        Integer.toString(server.addresses().get("mx").getPort()),
                        Integer.toString(server.addresses().get("imaps").getPort()),
                        data.resolve("pki/root.crt").toString(), ACCOUNT, PASSWORD), Map.of()).output();
            }
            assertThat(out).contains("text OK True 370000");
            try (var files = Files.walk(buckets)) {
                assertThat(files.filter(Files::isRegularFile)
                        .filter(f -> f.getFileName().toString().matches("[0-9a-f]{64}"))
                        .filter(f -> f.toFile().length() > 370_000)).hasSize(1);
            }
        }
    }

    /**
     * Two servers on one database (docs/store.md, "Events across nodes"): a message delivered by
     * SMTP to node A reaches a session IDLE on node B (RFC 9051 §6.3.13: an untagged EXISTS while
     * idling), through PostgreSQL's notifications rather than a poll of the session.
     */
    @Test
    void aDeliveryOnOneNodeReachesAnIdleSessionOnAnother() throws Exception {
        Path nodeA = tmp.resolve("a");
        initOnNewDatabase(nodeA, "castellan_nodes");
        Path nodeB = tmp.resolve("b");
        ExternalClient.runOk(List.of("cp", "-a", nodeA.toString(), nodeB.toString()), Map.of());
        addAccount(nodeA, nodeB); // the directory is shared: the domain made on one node, the account on the other

        String script = String.join("\n",
                "import smtplib, socket, ssl, sys, time",
                "mx, imaps, ca, user, pw = sys.argv[1:6]",
                "ctx = ssl.create_default_context(cafile=ca)",
                "s = ctx.wrap_socket(socket.create_connection(('localhost', int(imaps)), timeout=20), server_hostname='localhost')",
                "f = s.makefile('rb')",
                "def send(line): s.sendall(line.encode() + b'\\r\\n')",
                "def until(prefix):",
                "    while True:",
                "        l = f.readline()",
                "        if not l: raise SystemExit('closed while waiting for ' + prefix)",
                "        if l.decode().startswith(prefix): return l.decode().strip()",
                "f.readline()",
                "send('a LOGIN \"%s\" \"%s\"' % (user, pw)); print(until('a '))",
                "send('b SELECT INBOX'); print('select', until('* ') and until('b '))",
                "send('c IDLE'); print('idle', until('+'))",
                "started = time.monotonic()",
                "with smtplib.SMTP('127.0.0.1', int(mx), timeout=20) as m:",
                "    m.sendmail('carol@example.net', [user], b'From: carol@example.net\\r\\nSubject: across nodes\\r\\n\\r\\nhello\\r\\n')",
                "print('heard', until('* 1 EXISTS'))",
                "print('after %.0f ms from the start of the SMTP session' % ((time.monotonic() - started) * 1000), file=sys.stderr)",
                "send('DONE'); print(until('c '))");
        String out;
        try (Castellan a = Castellan.start(CastellanConfig.load(nodeA.resolve("castellan.toml")));
                Castellan b = Castellan.start(CastellanConfig.load(nodeB.resolve("castellan.toml")))) {
            ExternalClient.Result result = ExternalClient.runOk(List.of("python3", "-c", script,
                    Integer.toString(a.addresses().get("mx").getPort()),
                    Integer.toString(b.addresses().get("imaps").getPort()),
                    nodeB.resolve("pki/root.crt").toString(), ACCOUNT, PASSWORD), Map.of());
            out = result.output();
        }
        assertThat(out).contains("a OK").contains("idle +").contains("heard * 1 EXISTS").contains("c OK");
        out.lines().filter(l -> l.contains(" ms from ")).forEach(System.out::println); // for the reader of the test log
    }

    /** A data directory made by castellan init, on a new database of the test's PostgreSQL; returns its configuration file. */
    private static Path initOnNewDatabase(Path data, String database) throws Exception {
        try (Connection c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + database);
        }
        Cli.Run init = Cli.raw(null, "init", "--data", data.toString(), "--hostname", "localhost", "--port-base", "0");
        assertThat(init.code()).as(init.err()).isZero();
        return onPostgres(data, "postgres://127.0.0.1:" + postgres.port() + "/" + database);
    }

    /** The domain added through {@code domainNode}'s data directory, the account through {@code accountNode}'s. */
    private static void addAccount(Path domainNode, Path accountNode) {
        Cli.Run domain = Cli.raw(null, "domain", "add", "example.org", "--data", domainNode.toString());
        assertThat(domain.code()).as(domain.err()).isZero();
        Cli.Run user = Cli.raw(PASSWORD + "\n", "user", "add", ACCOUNT, "--password-stdin", "--data", accountNode.toString());
        assertThat(user.code()).as(user.err()).isZero();
    }

    /** Switches the configuration castellan init wrote to the database at {@code url}; returns its file. */
    private static Path onPostgres(Path data, String url) throws Exception {
        Path passwordFile = data.resolve("postgres.pass");
        Files.writeString(passwordFile, postgres.password() + "\n");
        Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-------"));
        Path config = data.resolve("castellan.toml");
        String text = Files.readString(config);
        assertThat(text).contains("\n# kind = \"embedded\"\n");
        Files.writeString(config, text.replace("\n# kind = \"embedded\"\n", "\nkind = \"postgres\"\nurl = \"" + url
                + "\"\nuser = \"" + postgres.user() + "\"\npassword-file = \"postgres.pass\"\npool-size = 4\n"));
        return config;
    }

    /** The backup command copies an embedded store; on PostgreSQL it would copy an empty directory, and says so instead. */
    @Test
    void backupRefusesAPostgresStoreAndNamesTheDatabaseTools() throws Exception {
        Path data = tmp.resolve("data");
        Cli.Run init = Cli.raw(null, "init", "--data", data.toString(), "--hostname", "localhost", "--port-base", "0");
        assertThat(init.code()).as(init.err()).isZero();
        onPostgres(data, "postgres://127.0.0.1:" + postgres.port() + "/castellan_e2e");
        Cli.Run backup = Cli.raw(null, "backup", "--to", tmp.resolve("backup.zip").toString(), "--data", data.toString());
        assertThat(backup.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(backup.err()).contains("store.kind is \"postgres\"").contains("pg_dump");
        assertThat(tmp.resolve("backup.zip")).doesNotExist();
    }

    private static long count(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + postgres.port() + "/castellan_e2e",
                postgres.user(), postgres.password()); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
