package org.castellan.server.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.ToLongFunction;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;
import org.castellan.store.AppendResult;
import org.castellan.store.MailStore;
import org.castellan.store.Mailbox;
import org.castellan.store.NewMessage;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.castellan.testkit.TestPki;

/**
 * A real Castellan over a temporary directory for protocol tests: a test PKI for TLS, a fast SCRAM
 * cost, the listeners given, and the accounts {@link #USER} and {@link #OTHER} in example.org.
 *
 * <p>Mailboxes look used, as production mailboxes do: every mailbox of both accounts starts with
 * an expunged gap (its UIDNEXT is above 1 while it holds nothing, a different UIDNEXT in each
 * mailbox), and {@link #seed} leaves a gap after each message it appends. So a message's UID is
 * never its sequence number, UIDs have holes, UIDNEXT is not the count + 1, and UIDVALIDITY (the
 * time of creation) is unlike any count: a server that confuses the two numbers fails the tests.
 * Tests read UIDs from what {@link #seed} and the store return, never assume them.
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
        return startWithServer(dir, "", tls, auth, listeners);
    }

    /** As {@link #startWith}, with further lines for the {@code [server]} table as well. */
    public static TestServer startWithServer(Path dir, String serverLines, String tls, String auth, String... listeners) {
        try {
            return startOn(TestStores.table(dir), dir, serverLines, tls, auth, listeners);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * As {@link #start(Path, String...)}, on a fresh PostgreSQL database whatever the test store
     * is: the first of several nodes, each a server whose configuration is {@code dir}'s
     * {@code castellan.toml} with its own data directory.
     */
    public static TestServer startOnPostgres(Path dir, String... listeners) {
        try {
            return startOn(TestStores.postgres(dir), dir, "", "", "", listeners);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static TestServer startOn(String storeTable, Path dir, String serverLines, String tls, String auth, String... listeners) {
        try {
            TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
            String config = String.join("\n",
                    "[server]",
                    "hostname = \"localhost\"",
                    "data-dir = \".\"",
                    "shutdown-grace = \"5s\"",
                    serverLines,
                    storeTable,
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
            long inbox = createAccount(store, USER);
            long otherInbox = createAccount(store, OTHER);
            leaveGaps(store, inbox);
            leaveGaps(store, otherInbox);
            return new TestServer(pki, server, inbox, otherInbox);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ConfigException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** Expunged messages at the start of the first mailbox of an account; the others get one more each. */
    public static final int LEADING_GAP = 2;

    /** Gives every mailbox of the INBOX's account its leading expunged gap, each mailbox a different one. */
    public static void leaveGaps(MailStore store, long inbox) {
        long account = store.getMailbox(inbox).orElseThrow().accountId();
        int gap = LEADING_GAP;
        for (Mailbox m : store.listMailboxes(account)) expungedGap(store, m.id(), gap++);
    }

    /**
     * Appends {@code size} messages to the mailbox and expunges them: the UIDs they took are never
     * used again (RFC 9051 §2.3.1.1), as in any mailbox a client has deleted mail from.
     */
    public static void expungedGap(MailStore store, long mailbox, int size) {
        List<NewMessage> fillers = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            byte[] filler = ("Subject: expunged " + i + "\r\n\r\nexpunged before the test\r\n").getBytes(StandardCharsets.UTF_8);
            fillers.add(new NewMessage(() -> new ByteArrayInputStream(filler), Set.of(), null));
        }
        store.expunge(mailbox, store.appendAll(mailbox, fillers).stream().map(AppendResult::uid).toList());
    }

    /**
     * Appends the messages to the mailbox in order as the fixtures do: each is followed by an
     * expunged gap of 1, 2, 3, 1, … messages, so neighbours' UIDs are not consecutive and UIDNEXT
     * is above the last UID + 1.
     *
     * @param append stores one message and returns its UID
     * @return the UIDs, in the order of the messages
     */
    public static <T> long[] seed(MailStore store, long mailbox, List<T> messages, ToLongFunction<T> append) {
        long[] uids = new long[messages.size()];
        for (int i = 0; i < uids.length; i++) {
            uids[i] = append.applyAsLong(messages.get(i));
            expungedGap(store, mailbox, i % 3 + 1);
        }
        return uids;
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
