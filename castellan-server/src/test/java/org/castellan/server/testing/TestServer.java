package org.castellan.server.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
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
 * A real Castellan over a temporary directory for protocol tests: a test PKI for TLS, a fast SCRAM
 * cost, the listeners given, and the accounts {@link #USER} and {@link #OTHER} in example.org.
 *
 * @param inbox {@link #USER}'s INBOX
 * @param otherInbox {@link #OTHER}'s INBOX
 */
public record TestServer(TestPki pki, Castellan server, long inbox, long otherInbox) {

    public static final String USER = "alice@example.org";
    public static final String OTHER = "bob@example.org";
    public static final String PASSWORD = "correct horse battery";
    /** RFC 7677 §4's minimum: tests need no more, and every account creation pays it. */
    private static final int SCRAM_ITERATIONS = 4096;

    /** Starts a server with the given {@code [[listener]]} tables (see {@link #listener}). */
    public static TestServer start(Path dir, String... listeners) {
        return startWith(dir, "", "", listeners);
    }

    /**
     * As {@link #start(Path, String...)}, with further lines for the {@code [tls]} and {@code [auth]}
     * tables; {@code tls} may refer to the test PKI's directory as {@code $PKI}.
     */
    public static TestServer startWith(Path dir, String tls, String auth, String... listeners) {
        try {
            TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
            String config = String.join("\n",
                    "[server]",
                    "hostname = \"localhost\"",
                    "data-dir = \".\"",
                    "shutdown-grace = \"5s\"",
                    "[tls]",
                    "certificate = \"" + pki.server().chainFile() + "\"",
                    "key = \"" + pki.server().keyFile() + "\"",
                    tls.replace("$PKI", pki.directory().toString()),
                    "[auth]",
                    "scram-iterations = " + SCRAM_ITERATIONS,
                    auth,
                    String.join("\n", listeners));
            Path file = dir.resolve("castellan.toml");
            Files.writeString(file, config);
            Castellan server = Castellan.start(CastellanConfig.parse(config, file));
            MailStore store = server.store();
            store.createDomain("example.org");
            return new TestServer(pki, server, createAccount(store, USER), createAccount(store, OTHER));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ConfigException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** A listener on 127.0.0.1 and a port the system chooses. */
    public static String listener(String name, String protocol, String tls, boolean cleartextAuth) {
        return String.join("\n", "[[listener]]", "name = \"" + name + "\"", "protocol = \"" + protocol + "\"",
                "address = \"127.0.0.1\"", "port = 0", "tls = \"" + tls + "\"",
                "cleartext-auth = " + cleartextAuth, "");
    }

    /** The stored messages of a mailbox of {@code store}, in UID order. */
    public static List<byte[]> messages(MailStore store, long mailbox) {
        List<byte[]> out = new ArrayList<>();
        for (MessageMeta m : store.listMessages(mailbox, UidRange.all())) {
            try (InputStream in = store.openMessage(mailbox, m.uid())) {
                out.add(in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    /** Creates an account with {@link #PASSWORD}; returns its INBOX. */
    public static long createAccount(MailStore store, String address) {
        String secret = ScramSecret.derive(PASSWORD.toCharArray(), SCRAM_ITERATIONS).encode();
        var account = store.createAccount(EmailAddress.of(address), secret, OptionalLong.empty());
        return store.getMailbox(account.id(), "INBOX").orElseThrow().id();
    }
}
