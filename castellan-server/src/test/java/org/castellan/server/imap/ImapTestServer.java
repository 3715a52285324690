package org.castellan.server.imap;

import org.castellan.server.testing.TestServer;
import org.castellan.server.testing.Transcript;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;
import org.castellan.store.MailStore;
import org.castellan.testkit.TestPki;

/**
 * A real Castellan over a temporary directory with three IMAP listeners and two accounts:
 * {@code imap} (STARTTLS offered, cleartext authentication allowed, for transcripts),
 * {@code strict} (STARTTLS offered, no credentials before TLS, the secure default) and
 * {@code imaps} (implicit TLS).
 */
final class ImapTestServer implements AutoCloseable {

    static final String USER = TestServer.USER;
    static final String OTHER = TestServer.OTHER;
    static final String PASSWORD = TestServer.PASSWORD;

    final TestPki pki;
    final Castellan server;
    final long inbox;
    final long otherInbox;

    private ImapTestServer(TestServer started) {
        this.pki = started.pki();
        this.server = started.server();
        this.inbox = started.inbox();
        this.otherInbox = started.otherInbox();
    }

    static ImapTestServer start(Path dir) {
        return start(dir, "");
    }

    /** With further lines for the {@code [auth]} table. */
    static ImapTestServer start(Path dir, String auth) {
        return new ImapTestServer(TestServer.startWith(dir, "", auth, LISTENERS));
    }

    private static final String[] LISTENERS = {
            TestServer.listener("imap", "imap", "starttls", true),
            TestServer.listener("strict", "imap", "starttls", false),
            TestServer.listener("imaps", "imap", "implicit", false)};

    /** The first node of several on one fresh PostgreSQL database; {@link #startNode} starts the others. */
    static ImapTestServer startOnPostgres(Path dir) {
        return new ImapTestServer(TestServer.startOnPostgres(dir, LISTENERS));
    }

    /**
     * Another node on this one's database, with its own data directory {@code nodeDir} and its own
     * ports; the caller closes it.
     */
    Castellan startNode(Path nodeDir) {
        try {
            Files.createDirectories(nodeDir);
            Path config = nodeDir.resolve("castellan.toml");
            Files.writeString(config, Files.readString(server.config().file()));
            return Castellan.start(CastellanConfig.load(config));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ConfigException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }



    MailStore store() {
        return server.store();
    }

    int port(String listener) {
        return server.addresses().get(listener).getPort();
    }

    /**
     * Appends messages to alice's INBOX with the fixtures' expunged gaps after each
     * ({@link TestServer#seed}); returns their UIDs in order.
     */
    long[] seed(String... messages) {
        return TestServer.seed(store(), inbox, java.util.List.of(messages), this::append);
    }

    /** Appends a message to alice's INBOX, right after whatever was there; returns its UID. */
    long append(String message) {
        return append(inbox, message, Set.of());
    }

    long append(long mailbox, String message, Set<String> flags) {
        return server.store().append(mailbox, message.getBytes(StandardCharsets.UTF_8), flags, Instant.parse("2024-02-01T10:00:00Z")).uid();
    }

    Transcript connect(String listener) {
        try {
            if (listener.equals("imaps")) {
                SSLSocket s = (SSLSocket) pki.clientContext().getSocketFactory().createSocket();
                s.connect(new InetSocketAddress("127.0.0.1", port(listener)));
                s.startHandshake();
                return new Transcript(s, pki);
            }
            return new Transcript(new Socket("127.0.0.1", port(listener)), pki);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A session on the cleartext-auth listener, logged in. */
    Transcript loggedIn() {
        Transcript t = connect("imap");
        t.run("""
                S: \\* OK \\[CAPABILITY .*\\] .*
                C: l1 LOGIN %s "%s"
                S: l1 OK \\[CAPABILITY .*\\] Logged in
                """.formatted(USER, PASSWORD));
        return t;
    }

    /** Logged in with INBOX selected. */
    Transcript selected() {
        Transcript t = loggedIn();
        t.send("s1 SELECT INBOX");
        while (!t.readLine().startsWith("s1 OK")) {
            // untagged SELECT data
        }
        return t;
    }

    /** An Angus Mail (Jakarta Mail) session for the {@code imaps} listener, trusting the test CA. */
    jakarta.mail.Session angusSession() {
        java.util.Properties props = new java.util.Properties();
        props.put("mail.imaps.ssl.socketFactory", pki.clientContext().getSocketFactory());
        props.put("mail.imaps.ssl.checkserveridentity", "true");
        props.put("mail.imaps.timeout", "20000");
        props.put("mail.imaps.connectiontimeout", "20000");
        return jakarta.mail.Session.getInstance(props);
    }

    @Override
    public void close() {
        server.close();
    }
}
