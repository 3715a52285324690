package org.castellan.bench.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.store.NewMessage;
import org.castellan.store.postgres.PostgresStore;
import org.castellan.testkit.Postgres;
import org.castellan.testkit.TestPki;

/**
 * Statements per IMAP SEARCH on header keys (SUBJECT, FROM, HEADER, SENTSINCE), and per SORT by
 * SUBJECT, over one PostgreSQL mailbox: the figure docs/store.md ("Scale-out", header search) quotes.
 *
 * <p>One testkit PostgreSQL with pg_stat_statements ({@link PgStats}); the mailbox is filled
 * through {@link PostgresStore#appendAll} in one transaction; a Castellan server runs in this JVM
 * on that database; one IMAPS session logs in and selects INBOX, then for each search the
 * statement counters are reset, the command is sent and its calls are summed. Also prints the
 * command's wall time, which on a shared machine is only indicative.
 *
 * <p>Arguments: {@code [messages=10000]}.
 */
public final class HeaderSearchBench {

    private static final String USER = "alice@bench.test";
    private static final String PASSWORD = "bench-password";
    private static final String DATABASE = "castellan_search";
    /** Statements named under each command, most called first. */
    private static final int TOP = 3;

    /** Header keys, each also mixed with a flag and with OR/NOT, as clients send them. */
    private static final List<String> SEARCHES = List.of(
            "SEARCH SUBJECT \"message 7777\"",
            "SEARCH FROM sender7",
            "SEARCH HEADER Message-ID \"<4242@\"",
            "SEARCH SENTSINCE 1-Feb-2024",
            "SEARCH UNSEEN SUBJECT \"message 12\"",
            "SEARCH OR SUBJECT \"message 99\" NOT FROM sender3",
            "SEARCH BODY \"message 4321\"",
            "SORT (SUBJECT) UTF-8 ALL");

    private HeaderSearchBench() {}

    public static void main(String[] args) throws Exception {
        int messages = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        Path dir = Files.createTempDirectory("castellan-bench-header-search");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
        try (Postgres postgres = Postgres.start(); PgStats pg = PgStats.prepare(postgres, 40)) {
            if (!pg.countsStatements()) throw new IllegalStateException("pg_stat_statements is missing: install postgresql-contrib");
            pg.createDatabase(DATABASE);
            String base = postgres.jdbcUrl().substring(0, postgres.jdbcUrl().lastIndexOf('/') + 1) + DATABASE;
            long t0 = System.nanoTime();
            try (PostgresStore store = PostgresStore.open(base, postgres.user(), postgres.password(), 2)) {
                store.createDomain("bench.test");
                var account = store.createAccount(EmailAddress.of(USER), ScramSecret.derive(PASSWORD.toCharArray(), 4096).encode(),
                        OptionalLong.empty());
                long inbox = store.getMailbox(account.id(), "INBOX").orElseThrow().id();
                List<NewMessage> batch = new ArrayList<>(messages);
                for (int i = 0; i < messages; i++) {
                    byte[] content = message(i);
                    batch.add(new NewMessage(() -> new ByteArrayInputStream(content), i % 3 == 0 ? Set.of("\\Seen") : Set.of(),
                            Instant.parse("2024-02-01T10:00:00Z")));
                }
                store.appendAll(inbox, batch);
            }
            System.out.printf("header search: %d messages in one PostgreSQL mailbox, filled in %.1f s%n", messages,
                    (System.nanoTime() - t0) / 1e9);
            Path password = dir.resolve("postgres.pass");
            Files.writeString(password, postgres.password() + "\n");
            Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
            Path node = Files.createDirectories(dir.resolve("node"));
            Path config = node.resolve("castellan.toml");
            Files.writeString(config, String.join("\n",
                    "[server]", "hostname = \"localhost\"", "data-dir = \".\"",
                    "[tls]", "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                    "[store]", "kind = \"postgres\"", "url = \"postgres://127.0.0.1:" + postgres.port() + "/" + DATABASE + "\"",
                    "user = \"" + postgres.user() + "\"", "password-file = \"" + password + "\"", "pool-size = 4",
                    "[[listener]]", "name = \"imaps\"", "protocol = \"imap\"", "address = \"127.0.0.1\"", "port = 0",
                    "tls = \"implicit\"", ""));
            Castellan server = Castellan.start(CastellanConfig.load(config));
            try (SSLSocket socket = (SSLSocket) pki.clientContext().getSocketFactory()
                    .createSocket("127.0.0.1", server.addresses().get("imaps").getPort())) {
                socket.setSoTimeout(600_000);
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                OutputStream out = socket.getOutputStream();
                in.readLine(); // greeting
                command(in, out, "l LOGIN " + USER + " " + PASSWORD);
                command(in, out, "s SELECT INBOX");
                System.out.printf("%-52s %10s %8s %10s%n", "command", "statements", "found", "ms");
                int n = 0;
                for (String search : SEARCHES) {
                    pg.resetStatements();
                    long s = System.nanoTime();
                    List<String> reply = command(in, out, "q" + (++n) + " " + search);
                    long ms = (System.nanoTime() - s) / 1_000_000;
                    List<PgStats.StatementCount> statements = pg.statements(DATABASE);
                    long calls = statements.stream().mapToLong(PgStats.StatementCount::calls).sum();
                    int found = reply.stream().filter(l -> l.startsWith("* SEARCH") || l.startsWith("* SORT")).findFirst()
                            .map(l -> l.split(" ").length - 2).orElse(0);
                    System.out.printf("%-52s %10d %8d %10d%n", search, calls, found, ms);
                    for (PgStats.StatementCount st : statements.subList(0, Math.min(TOP, statements.size()))) {
                        System.out.printf("    %7d x %s%n", st.calls(), st.query().replaceAll("\\s+", " "));
                    }
                }
                command(in, out, "z LOGOUT");
            } finally {
                server.close();
            }
        }
    }

    /** Message {@code i}: small, a Subject and a Message-ID naming {@code i}, one of 50 senders. */
    private static byte[] message(int i) {
        return ("From: sender" + i % 50 + "@example.net\r\nTo: alice@bench.test\r\nSubject: message " + i
                + "\r\nDate: Thu, 1 Feb 2024 10:00:00 +0000\r\nMessage-ID: <" + i + "@example.net>\r\n\r\nbody of message "
                + i + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** Sends one tagged command; returns its lines up to and including the tagged reply. */
    private static List<String> command(BufferedReader in, OutputStream out, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        String tag = line.substring(0, line.indexOf(' ') + 1);
        List<String> lines = new ArrayList<>();
        String got;
        while ((got = in.readLine()) != null) {
            lines.add(got);
            if (got.startsWith(tag)) {
                if (!got.startsWith(tag + "OK")) throw new IllegalStateException(line + ": " + got);
                return lines;
            }
        }
        throw new IOException("the server closed the connection after " + line);
    }
}
