package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.OptionalLong;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
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

    static final String USER = "alice@example.org";
    static final String OTHER = "bob@example.org";
    static final String PASSWORD = "correct horse battery";

    final TestPki pki;
    final Castellan server;
    final long inbox;
    final long otherInbox;

    private ImapTestServer(TestPki pki, Castellan server) {
        this.pki = pki;
        this.server = server;
        MailStore store = server.store();
        store.createDomain("example.org");
        this.inbox = createAccount(store, USER);
        this.otherInbox = createAccount(store, OTHER);
    }

    static ImapTestServer start(Path dir) {
        try {
            Path pkiDir = Files.createDirectories(dir.resolve("test-pki"));
            TestPki pki = TestPki.create(pkiDir);
            String config = String.join("\n",
                    "[server]",
                    "hostname = \"localhost\"",
                    "data-dir = \".\"",
                    "shutdown-grace = \"5s\"",
                    "[tls]",
                    "certificate = \"" + pki.server().chainFile() + "\"",
                    "key = \"" + pki.server().keyFile() + "\"",
                    "[auth]",
                    "scram-iterations = 4096",
                    listener("imap", "starttls", true),
                    listener("strict", "starttls", false),
                    listener("imaps", "implicit", false));
            Path file = dir.resolve("castellan.toml");
            Files.writeString(file, config);
            return new ImapTestServer(pki, Castellan.start(CastellanConfig.parse(config, file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ConfigException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static String listener(String name, String tls, boolean cleartextAuth) {
        return String.join("\n", "[[listener]]", "name = \"" + name + "\"", "protocol = \"imap\"",
                "address = \"127.0.0.1\"", "port = 0", "tls = \"" + tls + "\"",
                "cleartext-auth = " + cleartextAuth, "");
    }

    private static long createAccount(MailStore store, String address) {
        String secret = ScramSecret.derive(PASSWORD.toCharArray(), 4096).encode();
        var account = store.createAccount(EmailAddress.of(address), secret, OptionalLong.empty());
        return store.getMailbox(account.id(), "INBOX").orElseThrow().id();
    }

    MailStore store() {
        return server.store();
    }

    int port(String listener) {
        return server.addresses().get(listener).getPort();
    }

    /** Appends a message to alice's INBOX; returns its UID. */
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

    @Override
    public void close() {
        server.close();
    }
}
