package org.castellan.server.pop3;

import org.castellan.server.testing.TestServer;
import org.castellan.server.testing.Transcript;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import org.castellan.server.Castellan;
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

    static final String USER = TestServer.USER;
    static final String OTHER = TestServer.OTHER;
    static final String PASSWORD = TestServer.PASSWORD;

    final TestPki pki;
    final Castellan server;
    final long inbox;
    final long otherInbox;

    private Pop3TestServer(TestServer started) {
        this.pki = started.pki();
        this.server = started.server();
        this.inbox = started.inbox();
        this.otherInbox = started.otherInbox();
    }

    static Pop3TestServer start(Path dir) {
        return new Pop3TestServer(TestServer.start(dir,
                TestServer.listener("pop3", "pop3", "starttls", true),
                TestServer.listener("strict", "pop3", "starttls", false),
                TestServer.listener("pop3s", "pop3", "implicit", false),
                // IMAP on the same store: what POP3 deletes, IMAP sessions see expunged.
                TestServer.listener("imap", "imap", "starttls", true)));
    }



    int port(String listener) {
        return server.addresses().get(listener).getPort();
    }

    /**
     * Appends messages to the account's INBOX with the fixtures' expunged gaps after each
     * ({@link TestServer#seed}); returns their UIDs in order.
     */
    long[] seed(String... messages) {
        return TestServer.seed(server.store(), inbox, List.of(messages), this::append);
    }

    /** Appends a message to the account's INBOX, right after whatever was there; returns its UID. */
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
