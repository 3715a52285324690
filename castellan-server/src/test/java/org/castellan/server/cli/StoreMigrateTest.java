package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.testing.ExternalClient;
import org.castellan.store.Account;
import org.castellan.store.FlagOperation;
import org.castellan.store.Mailbox;
import org.castellan.store.NewMessage;
import org.castellan.store.SpecialUse;
import org.castellan.store.UidRange;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.store.postgres.PostgresStore;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.testkit.ObjectStore;
import org.castellan.testkit.Postgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code castellan store migrate} (docs/administration.md, "Moving an embedded store to
 * PostgreSQL"): a store as a server leaves it after a while (three accounts, seven mailboxes, about
 * 2,000 messages with expunged gaps, keywords and a few multi-megabyte attachments, a queued
 * outbound message) copied into a real PostgreSQL and S3Proxy; then a server on the copy shows
 * imaplib and poplib exactly what the server on the embedded store showed (RFC 9051 §2.3.1.1: the
 * same UIDVALIDITY and UIDs, so clients keep their caches; RFC 7162 §3.1: the same MODSEQs; RFC 1939
 * §7: the same UIDL). Also: a copy killed in the middle and run again, a tampered target found by
 * {@code --verify}, and the refusals.
 */
class StoreMigrateTest {

    private static final String PASSWORD = "correct horse battery";
    private static final List<String> ACCOUNTS = List.of("alice@example.org", "bob@example.org", "carol@example.net");
    /** Every message is in one of these; some are expunged afterwards. */
    private static final int MESSAGES = 2_300;

    private static Postgres postgres;
    @TempDir
    static Path shared;
    private static Path template;
    private static int stored;
    private static int mailboxes;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        ExternalClient.require("python3", "python3");
        postgres = Postgres.start();
        template = shared.resolve("template");
        stored = buildStore(template);
    }

    @AfterAll
    static void stop() {
        if (postgres != null) postgres.close();
    }

    // ------------------------------------------------------------------ the behaviour

    @Test
    void aMigratedStoreServesTheSameMailboxesByteForByte() throws Exception {
        Path data = copyOfTemplate("main");
        try (ObjectStore objects = ObjectStore.start(tmp.resolve("buckets"))) {
            useObjectStore(data, objects);
            String before = clientView(data);
            assertThat(before).contains("login alice@example.org OK").doesNotContain("UIDVALIDITY 1)")
                    .containsPattern("vanished INBOX \\[b'\\(EARLIER\\) \\d+")
                    .containsPattern("search INBOX \\[b'\\d+ \\d+");
            assertThat(before.lines().filter(l -> l.startsWith("msg "))).hasSize(stored);

            String url = newDatabase("migrate_main");
            Cli.Run run = migrate(data, url);
            assertThat(run.code()).as(run.out() + run.err()).isZero();
            System.out.println(run.out()); // the summary, with its throughput, for the reader of the test log
            assertThat(run.out()).contains("copied 3 account(s), " + mailboxes + " mailbox(es), " + stored + " message(s)")
                    .contains("verified: " + mailboxes + " mailbox(es), " + stored + " message(s)")
                    .contains("set [store] kind = \"postgres\"");

            switchToPostgres(data, url);
            String after = clientView(data);
            assertThat(after).isEqualTo(before);
            try (Stream<Path> files = Files.walk(tmp.resolve("buckets"))) {
                assertThat(files.filter(f -> f.getFileName().toString().matches("[0-9a-f]{64}"))
                        .filter(f -> f.toFile().length() > 2_000_000)).as("the large bodies are objects").hasSize(3);
            }
            assertThat(count(url, "SELECT count(*) FROM blob_data")).as("the small bodies are inline").isPositive();
            assertThat(count(url, "SELECT count(*) FROM queue_messages")).isEqualTo(1);
            assertThat(count(url, "SELECT sum(refcount) FROM blobs"))
                    .isEqualTo(count(url, "SELECT count(*) FROM messages") + count(url, "SELECT count(*) FROM queue_messages"));
        }
    }

    /** kill -9 in the middle of the copy, then the same command again: every message once, verified. */
    @Test
    void aCopyKilledInTheMiddleIsCompletedByTheNextRun() throws Exception {
        Path data = copyOfTemplate("killed");
        String url = newDatabase("migrate_killed");
        Path out = tmp.resolve("first-run.out");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(migrateArgs(data, url));
        Process first = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            await().atMost(Duration.ofSeconds(120)).until(() -> !first.isAlive() || messagesIn(url) >= 400);
            first.destroyForcibly(); // SIGKILL: no shutdown hook, no rollback but PostgreSQL's own
            first.waitFor();
        } finally {
            first.destroyForcibly();
        }
        long copiedBefore = messagesIn(url);
        assertThat(copiedBefore).as("killed in the middle of the copy: %s", Files.readString(out)).isBetween(400L, stored - 1L);

        Cli.Run second = migrate(data, url);
        assertThat(second.code()).as(second.out() + second.err()).isZero();
        assertThat(second.out()).contains("verified: " + mailboxes + " mailbox(es), " + stored + " message(s)");
        assertThat(messagesIn(url)).isEqualTo(stored);
        assertThat(count(url, "SELECT count(*) FROM (SELECT mailbox_id, uid FROM messages GROUP BY 1, 2 HAVING count(*) > 1) d"))
                .isZero();
        assertThat(count(url, "SELECT sum(refcount) FROM blobs"))
                .isEqualTo(count(url, "SELECT count(*) FROM messages") + count(url, "SELECT count(*) FROM queue_messages"));
        assertThat(count(url, "SELECT count(*) FROM accounts")).isEqualTo(3);
    }

    @Test
    void verifyNamesATamperedMessageAndABodyMissingFromTheObjectStore() throws Exception {
        Path data = copyOfTemplate("tampered");
        try (ObjectStore objects = ObjectStore.start(tmp.resolve("buckets"))) {
            useObjectStore(data, objects);
            String url = newDatabase("migrate_tampered");
            assertThat(migrate(data, url).code()).isZero();
            Cli.Run clean = Cli.raw(null, withVerify(migrateArgs(data, url)));
            assertThat(clean.code()).as(clean.err()).isZero();
            assertThat(clean.out()).contains("verified: " + mailboxes + " mailbox(es)").doesNotContain("copied");

            long uid = count(url, "SELECT min(uid) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
                    + " JOIN accounts a ON a.id = b.account_id WHERE a.address_key = 'bob@example.org' AND b.name = 'INBOX'"
                    + " AND uid > 100");
            execute(url, "UPDATE messages SET flags = '\\Deleted' WHERE uid = " + uid + " AND mailbox_id = (SELECT b.id FROM"
                    + " mailboxes b JOIN accounts a ON a.id = b.account_id WHERE a.address_key = 'bob@example.org' AND b.name = 'INBOX')");
            String carolInbox = "(SELECT b.id FROM mailboxes b JOIN accounts a ON a.id = b.account_id"
                    + " WHERE a.address_key = 'carol@example.net' AND b.name = 'INBOX')";
            execute(url, "DELETE FROM expunged WHERE mailbox_id = " + carolInbox + " AND uid = (SELECT max(uid) FROM expunged"
                    + " WHERE mailbox_id = " + carolInbox + ")");
            Cli.Run tampered = Cli.raw(null, withVerify(migrateArgs(data, url)));
            assertThat(tampered.code()).isEqualTo(Main.FAILURE);
            assertThat(tampered.err()).contains("mailbox bob@example.org/INBOX: UID " + uid + " differs")
                    .contains("mailbox carol@example.net/INBOX: the expunged UIDs QRESYNC reports differ");

            Path object;
            try (Stream<Path> files = Files.walk(tmp.resolve("buckets"))) {
                object = files.filter(f -> f.toFile().length() > 2_000_000).findFirst().orElseThrow();
            }
            Files.delete(object);
            Cli.Run missing = Cli.raw(null, withVerify(migrateArgs(data, url)));
            assertThat(missing.code()).isEqualTo(Main.FAILURE);
            assertThat(missing.err()).containsPattern("mailbox alice@example.org/Archive/2025: UID \\d+: its body "
                    + object.getFileName() + " is missing in the target");
        }
    }

    @Test
    void refusesWhileTheServerRuns() throws Exception {
        Path data = copyOfTemplate("running");
        String url = newDatabase("migrate_running");
        try (Castellan server = Castellan.start(CastellanConfig.load(data.resolve("castellan.toml")))) {
            Cli.Run run = migrate(data, url);
            assertThat(run.code()).isEqualTo(Main.BAD_INPUT);
            assertThat(run.err()).contains("a Castellan server is running on " + data).contains("stop it first");
        }
        assertThat(messagesIn(url)).as("nothing was copied, not even the schema").isEqualTo(-1);
    }

    @Test
    void refusesATargetItCannotReach() throws Exception {
        Path data = copyOfTemplate("unreachable");
        Cli.Run run = migrate(data, "postgres://127.0.0.1:1/castellan");
        assertThat(run.code()).isEqualTo(Main.FAILURE);
        assertThat(run.err()).contains("the connection to PostgreSQL failed; check that the server runs and is reachable");
    }

    @Test
    void refusesATargetHoldingAnotherStoresData() throws Exception {
        Path other = tmp.resolve("other");
        Cli.init(other, "alice@example.org"); // the same address, another account: another secret, another time
        String url = newDatabase("migrate_other");
        Cli.Run first = migrate(other, url);
        assertThat(first.code()).as(first.err()).isZero();

        Cli.Run run = migrate(copyOfTemplate("mine"), url);
        assertThat(run.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(run.err()).contains("the target database holds account alice@example.org, with another secret or"
                + " creation time than this store's: it holds another store's data; migrate into a new, empty database");
    }

    /** A database someone set up by hand (or another server used) is not taken for an earlier run's copy. */
    @Test
    void refusesATargetWhoseDirectoryItDidNotWrite() throws Exception {
        String url = newDatabase("migrate_by_hand");
        try (PostgresStore store = PostgresStore.open(jdbc(url), postgres.user(), postgres.password(), 2)) {
            store.createDomain("example.org");
        }
        Cli.Run run = migrate(copyOfTemplate("by-hand"), url);
        assertThat(run.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(run.err()).contains("the target database already holds domains or accounts that castellan store migrate"
                + " did not write; migrate into a new, empty database");
        assertThat(count(url, "SELECT count(*) FROM accounts")).isZero();
    }

    @Test
    void refusesATargetWithoutSynchronousCommit() throws Exception {
        Path data = copyOfTemplate("async");
        String url = newDatabase("migrate_async");
        execute(postgres.jdbcUrl(), "ALTER DATABASE migrate_async SET synchronous_commit = off");
        Cli.Run run = migrate(data, url);
        assertThat(run.code()).isEqualTo(Main.FAILURE);
        assertThat(run.err()).contains("synchronous_commit = off").contains("set it to on");
        assertThat(count(url, "SELECT count(*) FROM accounts")).as("the schema is made, nothing copied").isZero();
    }

    // ------------------------------------------------------------------ the store a server leaves

    /**
     * A data directory whose embedded store holds what a server leaves after a while; returns how
     * many messages its mailboxes hold.
     */
    private static int buildStore(Path data) throws Exception {
        Cli.Run init = Cli.raw(null, "init", "--data", data.toString(), "--hostname", "localhost", "--port-base", "0");
        assertThat(init.code()).as(init.err()).isZero();
        for (String domain : List.of("example.org", "example.net")) {
            assertThat(Cli.raw(null, "domain", "add", domain, "--data", data.toString()).code()).isZero();
        }
        for (String account : ACCOUNTS) {
            Cli.Run user = Cli.raw(PASSWORD + "\n", "user", "add", account, "--password-stdin", "--data", data.toString());
            assertThat(user.code()).as(user.err()).isZero();
        }
        Path storeDir = CastellanConfig.load(data.resolve("castellan.toml")).store().directory();
        Random random = new Random(20261207);
        int kept = 0;
        try (EmbeddedMailStore store = EmbeddedMailStore.open(storeDir)) {
            Account alice = store.getAccount(EmailAddress.parse("alice@example.org").address().orElseThrow()).orElseThrow();
            store.createAlias(EmailAddress.parse("postmaster@example.org").address().orElseThrow(),
                    EmailAddress.parse("alice@example.org").address().orElseThrow());
            store.createAppPassword(alice.id(), "phone", alice.credential(), Optional.of("abcd"), Set.of("imap"));
            store.bindCertificate(alice.id(), "ab".repeat(32), "laptop");
            store.createEnrollmentToken(alice.id(), "et-0123456789abcdef", "cd".repeat(32), "tablet", "device",
                    Instant.now().plus(Duration.ofDays(7)));
            store.countTlsSession(LocalDate.of(2026, 12, 6), "example.com", "sts", "");
            List<Mailbox> boxes = new ArrayList<>();
            for (String account : ACCOUNTS) {
                Account a = store.getAccount(EmailAddress.parse(account).address().orElseThrow()).orElseThrow();
                Mailbox inbox = store.getMailbox(a.id(), "INBOX").orElseThrow();
                boxes.add(inbox);
                if (account.startsWith("alice")) {
                    boxes.add(store.createMailbox(a.id(), "Archive/2025", Optional.empty()));
                    boxes.add(store.getMailbox(a.id(), "Sent").orElseGet(() -> store.createMailbox(a.id(), "Sent",
                            Optional.of(SpecialUse.SENT))));
                    store.subscribeMailbox(a.id(), "Archive/2025");
                    store.ensureAccessKey(inbox.id());
                } else if (account.startsWith("bob")) {
                    boxes.add(store.createMailbox(a.id(), "Lists/castellan-dev", Optional.empty()));
                } else {
                    boxes.add(store.createMailbox(a.id(), "Projects", Optional.empty()));
                }
            }
            Instant date = Instant.parse("2025-01-01T08:00:00Z");
            for (int i = 0; i < MESSAGES; i++) {
                Mailbox box = boxes.get(i % boxes.size() == 1 ? 1 : random.nextInt(boxes.size()));
                byte[] body = message(i, random, box.name().equals("Archive/2025") && i % 700 == 1);
                date = date.plus(random.nextInt(7200), ChronoUnit.SECONDS);
                Set<String> flags = switch (i % 5) {
                    case 0, 1 -> Set.of("\\Seen");
                    case 2 -> Set.of("\\Seen", "\\Answered", "$Label1");
                    case 3 -> Set.of("project-x");
                    default -> Set.of();
                };
                store.appendAll(box.id(), List.of(new NewMessage(() -> new ByteArrayInputStream(body), flags, date)));
                kept++;
            }
            for (Mailbox box : boxes) {
                List<Long> uids = store.listMessages(box.id(), UidRange.all()).stream()
                        .map(m -> m.uid()).toList();
                store.storeFlags(box.id(), uids.stream().filter(u -> u % 3 == 0).toList(), FlagOperation.ADD,
                        Set.of("\\Flagged"), OptionalLong.empty());
                List<Long> gone = uids.stream().filter(u -> u % 7 == 3).toList();
                store.expunge(box.id(), gone);
                kept -= gone.size();
            }
            for (String account : ACCOUNTS) {
                mailboxes += store.listMailboxes(store.getAccount(EmailAddress.parse(account).address().orElseThrow())
                        .orElseThrow().id()).size();
            }
            store.enqueue(new NewQueuedMessage("alice@example.org", Optional.of("env-1"), Dsn.Ret.HDRS,
                    SmtpCommand.Body.SEVEN_BIT, false, false, Optional.of("alice@example.org"), "127.0.0.1",
                    Instant.parse("2026-12-06T10:00:00Z"), List.of(new NewQueuedRecipient("dave@example.com",
                            EnumSet.of(Dsn.Notify.FAILURE), Optional.empty()))),
                    new ByteArrayInputStream(message(99_999, random, false)));
        }
        return kept;
    }

    /** A message of a few KiB, or with an attachment of 2 to 4 MiB. */
    private static byte[] message(int i, Random random, boolean large) {
        StringBuilder m = new StringBuilder()
                .append("From: \"Sender ").append(i % 17).append("\" <sender").append(i % 17).append("@example.com>\r\n")
                .append("To: undisclosed-recipients:;\r\n")
                .append("Subject: message ").append(i).append(" (").append(random.nextInt(1000)).append(")\r\n")
                .append("Message-ID: <").append(i).append(".migrate@example.com>\r\n");
        if (!large) {
            m.append("Content-Type: text/plain; charset=utf-8\r\n\r\n");
            for (int l = 0, n = 5 + random.nextInt(60); l < n; l++) m.append("line ").append(l).append(" of message ").append(i).append("\r\n");
            return m.toString().getBytes(StandardCharsets.UTF_8);
        }
        byte[] attachment = new byte[2 * 1024 * 1024 + random.nextInt(2 * 1024 * 1024)];
        random.nextBytes(attachment);
        m.append("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n")
                .append("Content-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\n")
                .append("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
                .append(Base64.getMimeEncoder().encodeToString(attachment)).append("\r\n--b1--\r\n");
        return m.toString().getBytes(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ helpers

    private static final String CLIENT = String.join("\n",
            "import imaplib, poplib, ssl, sys, hashlib, re",
            "imaps, pop3s, ca, pw = sys.argv[1:5]",
            "ctx = ssl.create_default_context(cafile=ca)",
            "for user in sys.argv[5:]:",
            "    a = imaplib.IMAP4_SSL('localhost', int(imaps), ssl_context=ctx, timeout=60)",
            "    print('login', user, a.login(user, pw)[0])",
            "    print('enable', a._simple_command('ENABLE', 'QRESYNC')[0])",
            "    names = []",
            "    for l in sorted(a.list()[1]):",
            "        print('list', l.decode())",
            "        names.append(re.match(rb'\\(.*?\\) (?:\"[^\"]*\"|NIL) (.*)$', l).group(1).decode())",
            "    for l in sorted(x for x in a.lsub()[1] if x): print('lsub', l.decode())",
            "    for name in names:",
            "        print('status', a.status(name, '(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)')[1][0].decode())",
            "        a.select(name, readonly=True)",
            "        typ, data = a.uid('FETCH', '1:*', '(FLAGS MODSEQ INTERNALDATE RFC822.SIZE BODY.PEEK[])')",
            "        for part in data:",
            "            if not isinstance(part, tuple): continue",
            "            head = part[0].decode()",
            "            flags = ' '.join(sorted(f for f in re.search(r'FLAGS \\((.*?)\\)', head).group(1).split() if f != '\\\\Recent'))",
            "            print('msg', name, re.search(r'UID (\\d+)', head).group(1), flags, re.search(r'MODSEQ \\((\\d+)\\)', head).group(1),",
            "                  re.search(r'INTERNALDATE \"(.*?)\"', head).group(1), re.search(r'RFC822.SIZE (\\d+)', head).group(1),",
            "                  hashlib.sha256(part[1]).hexdigest())",
            // RFC 7162 §3.2.6: what a resynchronising client is told was expunged; RFC 9051 §6.4.4: what SEARCH finds
            "        a.uid('FETCH', '1:*', '(UID) (CHANGEDSINCE 1 VANISHED)')",
            "        print('vanished', name, a.response('VANISHED')[1])",
            "        print('search', name, a.uid('SEARCH', 'BODY', '\"line 7 of message 1\"')[1])",
            "    a.logout()",
            "    p = poplib.POP3_SSL('localhost', int(pop3s), context=ctx, timeout=60)",
            "    p.user(user); p.pass_(pw)",
            "    for l in p.uidl()[1]: print('uidl', user, l.decode())",
            "    p.quit()");

    /** What imaplib and poplib see of every account, with a server running on {@code data}. */
    private static String clientView(Path data) throws Exception {
        try (Castellan server = Castellan.start(CastellanConfig.load(data.resolve("castellan.toml")))) {
            List<String> command = new ArrayList<>(List.of("python3", "-c", CLIENT,
                    Integer.toString(server.addresses().get("imaps").getPort()),
                    Integer.toString(server.addresses().get("pop3s").getPort()),
                    data.resolve("pki/root.crt").toString(), PASSWORD));
            command.addAll(ACCOUNTS);
            return ExternalClient.runOk(command, Map.of()).output();
        }
    }

    private Path copyOfTemplate(String name) throws Exception {
        Path data = tmp.resolve(name);
        ExternalClient.runOk(List.of("cp", "-a", template.toString(), data.toString()), Map.of());
        // castellan init wrote absolute paths of the template into its configuration
        Path config = data.resolve("castellan.toml");
        Files.writeString(config, Files.readString(config).replace(template.toString(), data.toString()));
        return data;
    }

    /** Adds {@code [store.object-store]} keys for {@code objects} to the data directory's configuration. */
    private static void useObjectStore(Path data, ObjectStore objects) throws Exception {
        Files.writeString(data.resolve("s3.access"), objects.accessKey() + "\n");
        Path secret = data.resolve("s3.secret");
        Files.writeString(secret, objects.secretKey() + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Path config = data.resolve("castellan.toml");
        String text = Files.readString(config);
        assertThat(text).contains("\n[store.object-store]\n");
        Files.writeString(config, text.replace("\n[store.object-store]\n", "\n[store.object-store]\nendpoint = \""
                + objects.endpoint() + "\"\nbucket = \"" + objects.bucket()
                + "\"\naccess-key-file = \"s3.access\"\nsecret-key-file = \"s3.secret\"\n"));
    }

    /** What the operator switches after the copy: {@code [store] kind = "postgres"} with the database. */
    private static void switchToPostgres(Path data, String url) throws Exception {
        Path config = data.resolve("castellan.toml");
        String text = Files.readString(config);
        assertThat(text).contains("\n# kind = \"embedded\"\n");
        Files.writeString(config, text.replace("\n# kind = \"embedded\"\n", "\nkind = \"postgres\"\nurl = \"" + url
                + "\"\nuser = \"" + postgres.user() + "\"\npassword-file = \"postgres.pass\"\npool-size = 4\n"));
    }

    private static List<String> migrateArgs(Path data, String url) throws Exception {
        Path passwordFile = data.resolve("postgres.pass");
        if (!Files.exists(passwordFile)) {
            Files.writeString(passwordFile, postgres.password() + "\n");
            Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-------"));
        }
        return List.of("store", "migrate", "--to", url, "--user", postgres.user(), "--password-file", passwordFile.toString(),
                "--data", data.toString());
    }

    private static String[] withVerify(List<String> args) {
        List<String> all = new ArrayList<>(args);
        all.add("--verify");
        return all.toArray(String[]::new);
    }

    private static Cli.Run migrate(Path data, String url) throws Exception {
        return Cli.raw(null, migrateArgs(data, url).toArray(String[]::new));
    }

    /** A new database of the test's PostgreSQL; its postgres:// URL. */
    private static String newDatabase(String name) throws Exception {
        execute(postgres.jdbcUrl(), "CREATE DATABASE " + name);
        return "postgres://127.0.0.1:" + postgres.port() + "/" + name;
    }

    private static String jdbc(String url) {
        return url.startsWith("jdbc:") ? url : "jdbc:postgresql:" + url.substring(url.indexOf("//"));
    }

    private static void execute(String url, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(jdbc(url), postgres.user(), postgres.password());
                Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static long count(String url, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(jdbc(url), postgres.user(), postgres.password());
                Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Messages in the target; -1 while it has no schema. */
    private static long messagesIn(String url) throws Exception {
        if (count(url, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'messages'") == 0) return -1;
        return count(url, "SELECT count(*) FROM messages");
    }
}
