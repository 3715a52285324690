package org.castellan.store.embedded;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Stream;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Account;
import org.castellan.store.AppendResult;
import org.castellan.store.Mailbox;
import org.castellan.store.MailboxStatus;
import org.castellan.store.Quota;
import org.castellan.store.StoreException;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the embedded store does with its files: layout, permissions, sharing, failures. */
class EmbeddedMailStoreFilesTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path temp;

    private Path data() {
        return temp.resolve("data");
    }

    private static Mailbox newInbox(EmbeddedMailStore store, String address) {
        EmailAddress a = EmailAddress.of(address);
        if (store.getDomain(a.domain()).isEmpty()) store.createDomain(a.domain());
        Account account = store.createAccount(a, "secret", OptionalLong.empty());
        return store.getMailbox(account.id(), "INBOX").orElseThrow();
    }

    private static byte[] read(EmbeddedMailStore store, long mailboxId, long uid) throws IOException {
        try (InputStream in = store.openMessage(mailboxId, uid)) {
            return in.readAllBytes();
        }
    }

    /** A body too large to live in the database, so it becomes a file under blobs/. */
    private static byte[] fileSized(String text) {
        byte[] head = text.getBytes(UTF_8);
        byte[] body = Arrays.copyOf(head, EmbeddedMailStore.INLINE_MAX + 1);
        Arrays.fill(body, head.length, body.length, (byte) 'x');
        return body;
    }

    private long inlineBodies() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + data().resolve("mail.db"));
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT count(*) FROM blob_data")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static String sha256(byte[] body) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
    }

    private List<Path> bodyFiles() throws IOException {
        try (Stream<Path> files = Files.walk(data().resolve("blobs"))) {
            return files.filter(Files::isRegularFile).filter(p -> !p.getParent().getFileName().toString().equals("tmp")).toList();
        }
    }

    @Test
    void everythingSurvivesCloseAndReopen() throws Exception {
        long mailboxId;
        AppendResult appended;
        try (EmbeddedMailStore store = EmbeddedMailStore.open(data())) {
            Mailbox inbox = newInbox(store, "alice@example.org");
            mailboxId = inbox.id();
            appended = store.append(inbox.id(), "kept".getBytes(UTF_8), Set.of("\\Seen"), null);
        }
        try (EmbeddedMailStore store = EmbeddedMailStore.open(data())) {
            assertThat(read(store, mailboxId, appended.uid())).isEqualTo("kept".getBytes(UTF_8));
            MailboxStatus status = store.status(mailboxId);
            assertThat(status.uidNext()).isEqualTo(appended.uid() + 1);
            assertThat(status.highestModSeq()).isEqualTo(appended.modSeq());
            assertThat(store.resolveRecipient(EmailAddress.of("alice@example.org"))).isPresent();
        }
    }

    @Test
    void theDataDirectoryDatabaseAndBodiesArePrivateAndTheDatabaseUsesWal() throws Exception {
        try (EmbeddedMailStore store = EmbeddedMailStore.open(data())) {
            Mailbox inbox = newInbox(store, "alice@example.org");
            AppendResult r = store.append(inbox.id(), fileSized("private"), Set.of(), null);

            assertThat(permissions(data())).isEqualTo("rwx------");
            assertThat(permissions(data().resolve("mail.db"))).isEqualTo("rw-------");
            assertThat(permissions(data().resolve("mail.db-wal"))).isEqualTo("rw-------");
            assertThat(permissions(data().resolve("blobs").resolve(r.blobId().substring(0, 2)).resolve(r.blobId())))
                    .isEqualTo("rw-------");
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + data().resolve("mail.db"));
                    Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("PRAGMA journal_mode")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualToIgnoringCase("wal");
            }
        }
    }

    @Test
    void identicalBodiesShareOneFileWhichGoesWithTheLastReference() throws Exception {
        try (EmbeddedMailStore store = EmbeddedMailStore.open(data())) {
            Mailbox alice = newInbox(store, "alice@example.org");
            Mailbox bob = newInbox(store, "bob@example.org");
            byte[] body = fileSized("Subject: newsletter\r\n\r\nsame for everyone");
            AppendResult a = store.append(alice.id(), body, Set.of(), null);
            AppendResult b = store.append(bob.id(), body, Set.of(), null);
            long copyUid = store.copy(bob.id(), List.of(b.uid()), bob.id()).uids().get(b.uid());
            AppendResult other = store.append(bob.id(), fileSized("other"), Set.of(), null);
            Path shared = data().resolve("blobs").resolve(a.blobId().substring(0, 2)).resolve(a.blobId());

            assertThat(a.blobId()).isEqualTo(b.blobId()).isEqualTo(sha256(body));
            assertThat(bodyFiles()).containsExactlyInAnyOrder(shared, data().resolve("blobs")
                    .resolve(other.blobId().substring(0, 2)).resolve(other.blobId()));

            store.expunge(alice.id(), List.of(a.uid()));
            store.expunge(bob.id(), List.of(b.uid()));
            assertThat(shared).exists();
            assertThat(read(store, bob.id(), copyUid)).isEqualTo(body);

            store.deleteAccount(store.getMailbox(bob.id()).orElseThrow().accountId());
            await().atMost(WAIT).until(() -> bodyFiles().isEmpty());
        }
    }

    @Test
    void smallBodiesLiveInTheDatabaseSharedAndGoWithTheLastReference() throws Exception {
        try (EmbeddedMailStore store = EmbeddedMailStore.open(data())) {
            Mailbox alice = newInbox(store, "alice@example.org");
            Mailbox bob = newInbox(store, "bob@example.org");
            byte[] body = "Subject: hello\r\n\r\nsmall".getBytes(UTF_8);
            byte[] largest = Arrays.copyOf(body, EmbeddedMailStore.INLINE_MAX);
            List<AppendResult> both = store.deliver(List.of(alice.id(), bob.id()), body, Set.of(), null);
            AppendResult edge = store.append(alice.id(), largest, Set.of(), null);

            assertThat(bodyFiles()).isEmpty();
            assertThat(inlineBodies()).isEqualTo(2);
            assertThat(read(store, bob.id(), both.get(1).uid())).isEqualTo(body);
            assertThat(read(store, alice.id(), edge.uid())).isEqualTo(largest);

            store.expunge(alice.id(), List.of(both.get(0).uid(), edge.uid()));
            assertThat(inlineBodies()).isEqualTo(1);
            assertThat(read(store, bob.id(), both.get(1).uid())).isEqualTo(body);
            store.expunge(bob.id(), List.of(both.get(1).uid()));
            assertThat(inlineBodies()).isZero();
        }
    }

    @Test
    void aBodyThatCannotBeWrittenFailsTemporarilyChangesNothingAndTheStoreRecovers() throws Exception {
        try (EmbeddedMailStore store = EmbeddedMailStore.open(data())) {
            Mailbox inbox = newInbox(store, "alice@example.org");
            byte[] body = fileSized("Subject: blocked\r\n\r\nthis body cannot be stored");
            // Tests run as root, for whom read-only permissions do not stop writes. A regular file
            // where the body's fan-out directory belongs makes the real file system refuse the
            // write, the way a full or failing disk does, with no test hook in the store.
            Path fanOut = data().resolve("blobs").resolve(sha256(body).substring(0, 2));
            Files.writeString(fanOut, "not a directory");
            MailboxStatus before = store.status(inbox.id());
            Quota quotaBefore = store.quota(inbox.accountId());

            assertThatThrownBy(() -> store.append(inbox.id(), body, Set.of(), null))
                    .isInstanceOfSatisfying(StoreException.class, e -> {
                        assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE);
                        assertThat(e.isTemporary()).isTrue();
                        assertThat(e.getMessage()).contains("check free space");
                    });

            assertThat(store.status(inbox.id())).isEqualTo(before);
            assertThat(store.quota(inbox.accountId())).isEqualTo(quotaBefore);
            assertThat(store.listMessages(inbox.id(), UidRange.all())).isEmpty();
            assertThat(data().resolve("blobs/tmp")).isEmptyDirectory();
            assertThat(bodyFiles()).containsExactly(fanOut);

            Files.delete(fanOut);
            AppendResult r = store.append(inbox.id(), body, Set.of(), null);
            assertThat(r.uid()).isEqualTo(before.uidNext());
            assertThat(read(store, inbox.id(), r.uid())).isEqualTo(body);
        }
    }

    @Test
    void aWriteLockHeldElsewhereBeyondTheBusyTimeoutFailsTemporarilyAndLeavesNoOrphan() throws Exception {
        EmbeddedMailStore.Options quick = new EmbeddedMailStore.Options(Duration.ofMillis(200), 2, 64);
        try (EmbeddedMailStore store = EmbeddedMailStore.open(data(), quick)) {
            Mailbox inbox = newInbox(store, "alice@example.org");
            byte[] refused = fileSized("Subject: refused\r\n\r\nwhile locked");

            try (Connection admin = DriverManager.getConnection("jdbc:sqlite:" + data().resolve("mail.db"));
                    Statement st = admin.createStatement()) {
                st.execute("BEGIN IMMEDIATE"); // another process, e.g. the admin command line, holds the write lock
                assertThatThrownBy(() -> store.append(inbox.id(), refused, Set.of(), null))
                        .isInstanceOfSatisfying(StoreException.class, e -> {
                            assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE);
                            assertThat(e.getMessage()).contains("busy");
                        });
                // Reads go on while the writer is locked out.
                assertThat(store.status(inbox.id()).messages()).isZero();
                st.execute("ROLLBACK");
            }

            AppendResult r = store.append(inbox.id(), "after".getBytes(UTF_8), Set.of(), null);
            assertThat(store.listMessages(inbox.id(), UidRange.all())).extracting(m -> m.uid()).containsExactly(r.uid());
            Path orphan = data().resolve("blobs").resolve(sha256(refused).substring(0, 2)).resolve(sha256(refused));
            await().atMost(WAIT).until(() -> !Files.exists(orphan));
        }
    }

    @Test
    void twoStoresOnOneDirectorySeeEachOthersWrites() throws Exception {
        try (EmbeddedMailStore server = EmbeddedMailStore.open(data());
                EmbeddedMailStore admin = EmbeddedMailStore.open(data())) {
            Mailbox inbox = newInbox(admin, "alice@example.org");
            AppendResult fromServer = server.append(inbox.id(), "one".getBytes(UTF_8), Set.of(), null);
            AppendResult fromAdmin = admin.append(inbox.id(), "two".getBytes(UTF_8), Set.of(), null);

            assertThat(fromAdmin.uid()).isGreaterThan(fromServer.uid());
            assertThat(read(admin, inbox.id(), fromServer.uid())).isEqualTo("one".getBytes(UTF_8));
            assertThat(read(server, inbox.id(), fromAdmin.uid())).isEqualTo("two".getBytes(UTF_8));
            admin.setQuota(inbox.accountId(), OptionalLong.of(3));
            assertThatThrownBy(() -> server.append(inbox.id(), "four".getBytes(UTF_8), Set.of(), null))
                    .isInstanceOfSatisfying(StoreException.class,
                            e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.QUOTA_EXCEEDED));
        }
    }

    @Test
    void aClosedStoreRefusesWorkAsUnavailable() {
        EmbeddedMailStore store = EmbeddedMailStore.open(data());
        Mailbox inbox = newInbox(store, "alice@example.org");
        store.close();
        store.close();

        for (Runnable call : List.<Runnable>of(() -> store.status(inbox.id()),
                () -> store.append(inbox.id(), new byte[1], Set.of(), null),
                () -> store.createDomain("example.net"))) {
            assertThatThrownBy(call::run).isInstanceOfSatisfying(StoreException.class, e -> {
                assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE);
                assertThat(e.getMessage()).contains("closed");
            });
        }
    }

    private static String permissions(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }
}
