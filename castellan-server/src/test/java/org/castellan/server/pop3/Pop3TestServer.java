package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;
import org.castellan.store.MailStore;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.castellan.testkit.TestPki;

/**
 * A real Castellan over a temporary directory with three POP3 listeners and one account:
 * {@code pop3} (STLS offered, cleartext authentication allowed, for transcripts), {@code strict}
 * (STLS offered, no credentials before TLS, the secure default) and {@code pop3s} (implicit TLS),
 * plus an {@code imap} listener (cleartext authentication allowed) on the same store.
 */
final class Pop3TestServer implements AutoCloseable {

    static final String USER = "alice@example.org";
    static final String OTHER = "bob@example.org";
    static final String PASSWORD = "correct horse battery";

    final TestPki pki;
    final Castellan server;
    final long inbox;
    final long otherInbox;

    private Pop3TestServer(TestPki pki, Castellan server) {
        this.pki = pki;
        this.server = server;
        MailStore store = server.store();
        store.createDomain("example.org");
        this.inbox = createAccount(store, USER);
        this.otherInbox = createAccount(store, OTHER);
    }

    static Pop3TestServer start(Path dir) {
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
                    listener("pop3", "starttls", true),
                    listener("strict", "starttls", false),
                    listener("pop3s", "implicit", false),
                    // IMAP on the same store: what POP3 deletes, IMAP sessions see expunged.
                    String.join("\n", "[[listener]]", "name = \"imap\"", "protocol = \"imap\"",
                            "address = \"127.0.0.1\"", "port = 0", "tls = \"starttls\"", "cleartext-auth = true", ""));
            Path file = dir.resolve("castellan.toml");
            Files.writeString(file, config);
            return new Pop3TestServer(pki, Castellan.start(CastellanConfig.parse(config, file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ConfigException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static String listener(String name, String tls, boolean cleartextAuth) {
        return String.join("\n", "[[listener]]", "name = \"" + name + "\"", "protocol = \"pop3\"",
                "address = \"127.0.0.1\"", "port = 0", "tls = \"" + tls + "\"",
                "cleartext-auth = " + cleartextAuth, "");
    }

    private static long createAccount(MailStore store, String address) {
        String secret = ScramSecret.derive(PASSWORD.toCharArray(), 4096).encode();
        var account = store.createAccount(EmailAddress.of(address), secret, OptionalLong.empty());
        return store.getMailbox(account.id(), "INBOX").orElseThrow().id();
    }

    int port(String listener) {
        return server.addresses().get(listener).getPort();
    }

    /** Appends a message to the account's INBOX; returns its UID. */
    long append(String message) {
        return append(inbox, message);
    }

    long append(long mailbox, String message) {
        return server.store().append(mailbox, message.getBytes(StandardCharsets.UTF_8), Set.of(), Instant.now()).uid();
    }

    List<Long> uids() {
        return server.store().listMessages(inbox, UidRange.all()).stream().map(MessageMeta::uid).toList();
    }

    Transcript connect(String listener) {
        try {
            if (listener.equals("pop3s")) {
                SSLSocket s = (SSLSocket) pki.clientContext().getSocketFactory().createSocket();
                s.connect(new InetSocketAddress("127.0.0.1", port(listener)));
                s.startHandshake();
                return new Transcript(s, pki);
            }
            Socket s = new Socket("127.0.0.1", port(listener));
            return new Transcript(s, pki);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A session on the cleartext-auth listener, logged in. */
    Transcript loggedIn() {
        Transcript t = connect("pop3");
        t.run("""
                S: \\+OK .*
                C: USER %s
                S: \\+OK.*
                C: PASS %s
                S: \\+OK .*
                """.formatted(USER, PASSWORD));
        return t;
    }

    @Override
    public void close() {
        server.close();
    }
}
