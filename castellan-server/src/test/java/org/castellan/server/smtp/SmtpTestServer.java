package org.castellan.server.smtp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.ScramSecret;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.security.rules.ConnectionRules;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.StoreCredentials;
import org.castellan.server.config.Listener;
import org.castellan.server.config.MailAuth;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.Smtp;
import org.castellan.server.config.TlsMode;
import org.castellan.server.testing.TestServer;
import org.castellan.server.testing.TestStores;
import org.castellan.server.transport.MessageSpool;
import org.castellan.server.transport.SessionRegistry;
import org.castellan.server.transport.Transport;
import org.castellan.store.MailStore;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.store.postgres.PostgresStore;
import org.castellan.testkit.TestPki;

/**
 * The SMTP service over real sockets, real TLS and a real store (embedded in a temporary directory,
 * or a fresh PostgreSQL database with {@code -Dcastellan.test.store=postgres}), wired as
 * {@code Castellan.start} wires it, but with limits and store options a test may choose. Listeners:
 * {@code mx} (smtp, STARTTLS), {@code submission} (STARTTLS, no credentials before TLS),
 * {@code submissions} (implicit TLS). Accounts alice and bob in example.org, their mailboxes
 * starting with expunged gaps as {@link TestServer}'s do; alias {@code al@example.org} → alice.
 */
final class SmtpTestServer implements AutoCloseable {

    static final String ALICE = "alice@example.org";
    static final String BOB = "bob@example.org";
    static final String PASSWORD = "correct horse battery";
    /** A busy timeout short enough that a test holding the database's write lock sees a temporary failure quickly. */
    static final Duration BUSY_TIMEOUT = Duration.ofMillis(300);

    final Path dir;
    final TestPki pki;
    final MailStore store;
    /** The PostgreSQL database the store is on; null on the embedded store. */
    private final TestStores.Database database;
    final AuthService auth;
    final ExecutorService blocking = Executors.newVirtualThreadPerTaskExecutor();
    final Transport transport;
    final long aliceId;
    final long aliceInbox;
    final long bobId;
    final long bobInbox;
    private final List<Listener> listeners = new ArrayList<>();

    SmtpTestServer(Path dir, SmtpLimits limits) {
        this(dir, limits, MailAuth.DISABLED, null);
    }

    /**
     * With the inbound mail checks of the MX listener: the one seam where tests give the server
     * DNS data of their own ({@code dns}, e.g. a zone of TXT records) instead of a resolver.
     */
    SmtpTestServer(Path dir, SmtpLimits limits, MailAuth mailAuth, DnsLookup dns) {
        try {
            this.dir = dir;
            this.pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
            // TestStores.PROPERTY chooses the store, as for the IMAP and POP3 test servers.
            this.database = TestStores.embedded() ? null : TestStores.database();
            this.store = database == null
                    ? EmbeddedMailStore.open(Files.createDirectories(dir.resolve("mail")),
                            new EmbeddedMailStore.Options(BUSY_TIMEOUT, 2, EmbeddedMailStore.Options.defaults().maxBatch()))
                    : openAgain();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        store.createDomain("example.org");
        aliceId = account(ALICE, OptionalLong.empty());
        aliceInbox = store.getMailbox(aliceId, "INBOX").orElseThrow().id();
        bobId = account(BOB, OptionalLong.empty());
        bobInbox = store.getMailbox(bobId, "INBOX").orElseThrow().id();
        TestServer.leaveGaps(store, aliceInbox);
        TestServer.leaveGaps(store, bobInbox);
        store.createAlias(EmailAddress.of("al@example.org"), EmailAddress.of(ALICE));
        AuthSettings d = AuthSettings.defaults();
        auth = new AuthService(new StoreCredentials(store), new AuthSettings(4096, d.plainCacheSize(), d.freeFailures(),
                d.blockAfter(), d.networkFreeFailures(), d.networkBlockAfter(), d.firstDelay(), d.maxDelay(),
                d.blockDuration(), d.failureMemory(), d.maxTracked(), d.workerThreads()), Clock.systemUTC());
        TlsPolicy tls = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, pki.server().chainFile(), pki.server().keyFile()).build();
        transport = new Transport(new SessionRegistry(), new ConnectionRules(List.of()), tls, Clock.systemUTC());
        SmtpService smtp = new SmtpService("mail.example.org", store, auth, blocking, Clock.systemUTC(), limits, Optional.empty(),
                MessageSpool.SYSTEM_TEMP, Smtp.DEFAULTS, mailAuth, dns);
        bind(smtp, "mx", Protocol.SMTP, TlsMode.STARTTLS);
        bind(smtp, "submission", Protocol.SUBMISSION, TlsMode.STARTTLS);
        bind(smtp, "submissions", Protocol.SUBMISSION, TlsMode.IMPLICIT);
    }

    private void bind(SmtpService smtp, String name, Protocol protocol, TlsMode tls) {
        Listener l = new Listener(name, protocol, "127.0.0.1", 0, tls, ClientCertMode.NONE, false, List.of());
        listeners.add(l);
        transport.bind(l, smtp);
    }

    /**
     * Another handle on the server's store, as the command line or another node opens it: the
     * embedded store's directory, or the same PostgreSQL database. The caller closes it.
     */
    MailStore openAgain() {
        if (database == null) return EmbeddedMailStore.open(dir.resolve("mail"));
        return PostgresStore.open(database.jdbcUrl(), database.user(), database.password(), 2);
    }

    long account(String address, OptionalLong quota) {
        return store.createAccount(EmailAddress.of(address), ScramSecret.derive(PASSWORD.toCharArray(), 4096).encode(), quota).id();
    }

    int port(String listener) {
        return transport.addresses().get(listener).getPort();
    }

    SmtpClient connect(String listener) {
        return listener.equals("submissions") ? SmtpClient.tls(port(listener), pki) : SmtpClient.plain(port(listener), pki);
    }

    /** The stored messages of a mailbox, in UID order. */
    List<byte[]> messages(long mailbox) {
        return messages(store, mailbox);
    }

    /** The stored messages of a mailbox of {@code store}, in UID order. */
    static List<byte[]> messages(MailStore store, long mailbox) {
        return org.castellan.server.testing.TestServer.messages(store, mailbox);
    }

    /** The stored messages of a mailbox without the Received field Castellan prepended. */
    List<String> bodies(long mailbox) {
        return messages(mailbox).stream().map(SmtpTestServer::afterReceived).toList();
    }

    /** Strips the first field, which must be Castellan's Received field (RFC 5321 §4.4). */
    static String afterReceived(byte[] message) {
        String s = new String(message, StandardCharsets.UTF_8);
        if (!s.startsWith("Received: from ")) throw new AssertionError("no Received field first: " + s);
        int i = 0;
        while (true) {
            int eol = s.indexOf("\r\n", i);
            i = eol + 2;
            if (i >= s.length() || (s.charAt(i) != ' ' && s.charAt(i) != '\t')) return s.substring(i);
        }
    }

    /** The Received field Castellan prepended. */
    static String received(byte[] message) {
        String s = new String(message, StandardCharsets.UTF_8);
        return s.substring(0, s.length() - afterReceived(message).length());
    }

    static byte[] bytes(ByteArrayOutputStream out) {
        return out.toByteArray();
    }

    private boolean closed;

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        transport.shutdown(Duration.ofSeconds(5));
        blocking.close();
        auth.close();
        store.close();
    }
}
