package org.castellan.store.postgres;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.castellan.store.StoreAssertions.assertFails;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.castellan.store.Account;
import org.castellan.store.AccountEvent;
import org.castellan.store.AppendResult;
import org.castellan.store.AuthAttempt;
import org.castellan.store.AuthLogContract;
import org.castellan.store.AuthLogStore;
import org.castellan.store.CertificateRevocation;
import org.castellan.store.ClusterNode;
import org.castellan.store.Directory;
import org.castellan.store.DirectoryChange;
import org.castellan.store.DirectoryContract;
import org.castellan.store.ExpungeResult;
import org.castellan.store.FlagOperation;
import org.castellan.store.FlagUpdate;
import org.castellan.store.LoginBlock;
import org.castellan.store.Mailbox;
import org.castellan.store.MailboxStatus;
import org.castellan.store.Mailboxes;
import org.castellan.store.MailboxesContract;
import org.castellan.store.MessageMeta;
import org.castellan.store.StoreEvent;
import org.castellan.store.StoreException;
import org.castellan.store.TextMatches;
import org.castellan.store.UidRange;
import org.castellan.testkit.Postgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The directory and auth log contracts on a real PostgreSQL server (one per class, a new database
 * per test), and what only this store shows: data survives reopening, a closed store or a wrong
 * password is a temporary failure, and one node notices another's directory changes.
 */
class PostgresStoreTest implements DirectoryContract, AuthLogContract, MailboxesContract {

    private static Postgres server;
    private static int databases;

    private String url;
    private PostgresStore store;

    @BeforeAll
    static void startServer() {
        server = Postgres.start();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void open() throws SQLException {
        url = MigratedDatabases.create(server, "store_" + ++databases);
        store = PostgresStore.open(url, server.user(), server.password(), 2);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Override
    public Directory directory() {
        return store;
    }

    @Override
    public Mailboxes mailboxes() {
        return store;
    }

    @Override
    public AuthLogStore authLog() {
        return store;
    }

    @Test
    void attemptsOutliveReopeningAndTheSchemaIsMigratedOnce() {
        AuthAttempt attempt = new AuthAttempt(Instant.now().truncatedTo(ChronoUnit.MILLIS), "192.0.2.7", "imaps", "imap",
                "PLAIN", "alice@example.org", "OK", Optional.of("TLSv1.3"), Optional.empty());
        store.recordAuthAttempts(List.of(attempt));
        store.close();

        store = PostgresStore.open(url, server.user(), server.password(), 2);
        assertThat(store.listAuthAttempts(Optional.empty(), 10)).containsExactly(attempt);
    }

    @Test
    void aClosedStoreOrAWrongPasswordIsATemporaryFailure() {
        store.close();
        assertFails(StoreException.Kind.UNAVAILABLE, "auth log", () -> store.listAuthAttempts(Optional.empty(), 1));
        assertFails(StoreException.Kind.UNAVAILABLE, "password", () -> PostgresStore.open(url, server.user(), "wrong", 1));
    }

    /** Two nodes on one database: a route one remembers goes once the other deletes the account. */
    @Test
    void aNodeForgetsRoutesAnotherNodeChanged() {
        Account bob = account("bob@example.org");
        store.route(bob.address()).orElseThrow();
        assertThat(store.knownRoute(bob.address())).isPresent();

        try (PostgresStore otherNode = PostgresStore.open(url, server.user(), server.password(), 1)) {
            otherNode.deleteAccount(bob.id());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> store.knownRoute(bob.address()).isEmpty());
        assertThat(store.route(bob.address())).isEmpty();
    }

    /** docs/store.md, "Scale-out": a write returns once durable, so a server that would not flush commits is refused. */
    @Test
    void aServerThatDoesNotFlushCommitsIsRefused() throws SQLException {
        String name = url.substring(url.lastIndexOf('/') + 1);
        try (Connection c = DriverManager.getConnection(server.jdbcUrl(), server.user(), server.password());
                Statement s = c.createStatement()) {
            s.execute("ALTER DATABASE " + name + " SET synchronous_commit = off");
        }
        assertFails(StoreException.Kind.UNAVAILABLE, "synchronous_commit",
                () -> PostgresStore.open(url, server.user(), server.password(), 1));
    }

    /**
     * Two nodes append to one mailbox and change its flags at once: every UID is given once and
     * in order (RFC 9051 §2.3.1.1), every change has its own, higher MODSEQ (RFC 7162 §3.1).
     */
    @Test
    void twoNodesWritingOneMailboxGetDistinctUidsAndEverGrowingModSeqs() throws Exception {
        Mailbox inbox = inbox(account("shared@example.org"));
        int perThread = 15;
        List<Long> modSeqs = new CopyOnWriteArrayList<>();
        List<Long> uids = new CopyOnWriteArrayList<>();
        List<Long> heardHere = new CopyOnWriteArrayList<>();
        List<Long> heardThere = new CopyOnWriteArrayList<>();
        try (PostgresStore otherNode = PostgresStore.open(url, server.user(), server.password(), 2)) {
            store.subscribe(inbox.id(), e -> heardHere.add(StoreEvent.modSeqOf(e)));
            otherNode.subscribe(inbox.id(), e -> heardThere.add(StoreEvent.modSeqOf(e)));
            List<Callable<Void>> work = new ArrayList<>();
            for (PostgresStore node : List.of(store, otherNode, store, otherNode)) {
                work.add(() -> {
                    for (int i = 0; i < perThread; i++) {
                        AppendResult r = node.append(inbox.id(), ("Subject: " + i + "\r\n\r\nx").getBytes(UTF_8), Set.of(),
                                null);
                        uids.add(r.uid());
                        modSeqs.add(r.modSeq());
                        FlagUpdate u = node.storeFlags(inbox.id(), List.of(r.uid()), FlagOperation.ADD, Set.of("\\Seen"),
                                OptionalLong.empty());
                        u.changed().forEach(c -> modSeqs.add(c.modSeq()));
                    }
                    return null;
                });
            }
            ExecutorService threads = Executors.newFixedThreadPool(work.size());
            try {
                for (Future<Void> f : threads.invokeAll(work)) f.get();
            } finally {
                threads.shutdownNow();
            }
            // Each node's listeners hear every change, its own and the other's, in MODSEQ order (RFC 7162 §3.1).
            await().atMost(EVENT_WAIT).until(() -> heardHere.size() == perThread * 8 && heardThere.size() == perThread * 8);
        }
        assertThat(heardHere).isSorted().doesNotHaveDuplicates();
        assertThat(heardThere).isSorted().doesNotHaveDuplicates();
        int appended = perThread * 4;
        assertThat(uids).doesNotHaveDuplicates().hasSize(appended);
        assertThat(new TreeSet<>(uids)).containsExactlyElementsOf(LongStream.rangeClosed(1, appended).boxed().toList());
        assertThat(modSeqs).doesNotHaveDuplicates().hasSize(appended * 2);
        MailboxStatus status = store.status(inbox.id());
        assertThat(status.messages()).isEqualTo(appended);
        assertThat(status.unseen()).isZero();
        assertThat(status.uidNext()).isEqualTo(appended + 1);
        assertThat(status.highestModSeq()).isEqualTo(Collections.max(modSeqs));
        List<MessageMeta> messages = store.listMessages(inbox.id(), UidRange.all());
        assertThat(messages).extracting(MessageMeta::modSeq).doesNotHaveDuplicates();
    }

    /**
     * docs/store.md, "What the nodes share": blocks, revocations and account deletions one node
     * writes are told to the others; a node is not told of its own.
     */
    @Test
    void aNodeHearsTheBlocksRevocationsAndAccountDeletionsOfAnother() {
        List<DirectoryChange> heardHere = new CopyOnWriteArrayList<>();
        store.watchDirectory(heardHere::add);
        try (PostgresStore otherNode = PostgresStore.open(url, server.user(), server.password(), 1)) {
            List<DirectoryChange> heard = new CopyOnWriteArrayList<>();
            otherNode.watchDirectory(heard::add);
            Instant until = Instant.now().plusSeconds(600).truncatedTo(ChronoUnit.MILLIS);
            store.putBlock(new LoginBlock("192.0.2.7/32", Optional.empty(), 10, until));
            store.deleteBlocks(Set.of("192.0.2.7/32", "192.0.2.0/24"));
            store.deleteAllBlocks();
            CertificateRevocation r = new CertificateRevocation("CN=Device CA", "2a", until, "keyCompromise");
            store.recordRevocation(r);
            store.recordRevocation(r); // kept already: nobody is told again
            store.deleteAccount(account("Carol@example.org").id());

            await().atMost(EVENT_WAIT).until(() -> heard.size() == 5);
            assertThat(heard).containsExactly(new DirectoryChange.BlocksAdded(),
                    new DirectoryChange.BlocksLifted(Optional.of(Set.of("192.0.2.7/32", "192.0.2.0/24"))),
                    new DirectoryChange.BlocksLifted(Optional.empty()), new DirectoryChange.RevocationsAdded(),
                    new DirectoryChange.AccountRemoved("Carol@example.org"));
            assertThat(otherNode.listRevocations()).containsExactly(r);
            assertThat(heardHere).isEmpty();
        }
    }

    /**
     * docs/roles.md §4: one move holds an account's lock at a time, until it ends or its time
     * runs out; the switch lifts it and is heard by another node with the account and its node;
     * a request one node asks is heard by another, whose answer the first reads once.
     */
    @Test
    void aMoveLocksTheAccountOnceAndAnotherNodeHearsTheSwitchAndTheRequests() {
        long dave = account("dave@example.org").id();
        try (PostgresStore otherNode = PostgresStore.open(url, server.user(), server.password(), 1)) {
            List<DirectoryChange> heard = new CopyOnWriteArrayList<>();
            otherNode.watchDirectory(heard::add);
            Instant until = Instant.now().plusSeconds(60);
            assertThat(store.lockForMove(dave, until)).isTrue();
            assertThat(otherNode.lockForMove(dave, until)).as("a second move").isFalse();
            assertThat(otherNode.moveLock(dave)).isPresent();
            store.finishMove(dave, Optional.of("mailbox-2"));
            assertThat(otherNode.moveLock(dave)).isEmpty();
            assertThat(otherNode.placement(dave)).hasValue("mailbox-2");
            // A lock whose time ran out (a move that died) holds no more.
            assertThat(store.lockForMove(dave, Instant.now().minusSeconds(1))).isTrue();
            assertThat(otherNode.moveLock(dave)).isEmpty();
            assertThat(otherNode.lockForMove(dave, until)).isTrue();
            otherNode.finishMove(dave, Optional.empty());
            assertThat(store.placement(dave)).as("a move given up keeps the placement").hasValue("mailbox-2");

            otherNode.announceNode("mailbox-2", "mailbox");
            assertThat(store.clusterNodes()).extracting(ClusterNode::name, ClusterNode::role)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("mailbox-2", "mailbox"));
            store.askNodes("r1", "{\"command\":\"sessions\",\"text\":\"a\\tb\"}");
            await().atMost(EVENT_WAIT).until(() -> heard.size() == 2);
            assertThat(heard).containsExactly(new DirectoryChange.PlacementChanged("dave@example.org", "mailbox-2"),
                    new DirectoryChange.NodesAsked("r1", "{\"command\":\"sessions\",\"text\":\"a\\tb\"}"));
            otherNode.answerNodes("r1", "mailbox-2", "{\"ok\":true}");
            assertThat(store.nodeAnswers("r1", true)).containsExactly(Map.entry("mailbox-2", "{\"ok\":true}"));
            assertThat(store.nodeAnswers("r1", false)).as("read once").isEmpty();
        }
    }

    /** docs/store.md, "Change notifications": one node's committed changes reach another node's listeners. */
    @Test
    void aNodeHearsTheChangesOfAnother() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        try (PostgresStore otherNode = PostgresStore.open(url, server.user(), server.password(), 1)) {
            List<StoreEvent> heard = new CopyOnWriteArrayList<>();
            List<AccountEvent> accountHeard = new CopyOnWriteArrayList<>();
            otherNode.subscribe(inbox.id(), heard::add);
            otherNode.subscribeAccount(alice.id(), accountHeard::add);

            AppendResult r = store.append(inbox.id(), "Subject: hi\r\n\r\nx".getBytes(UTF_8), Set.of("$Work"), null);
            await().atMost(EVENT_WAIT).until(() -> !heard.isEmpty());
            assertThat(heard).containsExactly(new StoreEvent.MessageAdded(inbox.id(), new TreeSet<>(List.of(r.uid())), r.modSeq(),
                    Set.of("$Work")));
            assertThat(otherNode.publishedModSeq(inbox.id())).isEqualTo(r.modSeq());

            // Too long for one NOTIFY payload: it travels through a row.
            Set<String> keywords = new TreeSet<>();
            for (int i = 0; i < 40; i++) keywords.add("$K" + i + "x".repeat(230));
            AppendResult big = store.append(inbox.id(), "Subject: many keywords\r\n\r\nx".getBytes(UTF_8), keywords, null);
            Mailbox work = store.createMailbox(alice.id(), "Work");
            await().atMost(EVENT_WAIT).until(() -> heard.size() == 2
                    && accountHeard.contains(new AccountEvent.MailboxCreated(alice.id(), work.id(), "Work")));
            assertThat(heard.get(1)).isEqualTo(new StoreEvent.MessageAdded(inbox.id(), new TreeSet<>(List.of(big.uid())),
                    big.modSeq(), keywords));

            // A flag change and an expunge, each announced by its own transaction.
            long flagged = store.storeFlags(inbox.id(), List.of(r.uid()), FlagOperation.ADD, Set.of("\\Seen"),
                    OptionalLong.empty()).changed().getFirst().modSeq();
            ExpungeResult gone = store.expunge(inbox.id(), List.of(r.uid(), big.uid() + 1));
            await().atMost(EVENT_WAIT).until(() -> heard.size() == 4);
            assertThat(heard.subList(2, 4)).containsExactly(
                    new StoreEvent.FlagsChanged(inbox.id(), new TreeSet<>(List.of(r.uid())), flagged),
                    new StoreEvent.MessagesExpunged(inbox.id(), new TreeSet<>(List.of(r.uid())), gone.modSeq()));
            assertThat(otherNode.publishedModSeq(inbox.id())).isEqualTo(gone.modSeq());
        }
    }

    /**
     * PostgreSQL restarted under a running store: calls fail as temporary ({@code UNAVAILABLE}),
     * never otherwise, until the pool has reconnected by itself; other nodes are heard again.
     */
    @Test
    void theStoreRecoversFromARestartOfPostgresql() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        try (PostgresStore otherNode = PostgresStore.open(url, server.user(), server.password(), 1)) {
            List<StoreEvent> heard = new CopyOnWriteArrayList<>();
            otherNode.subscribe(inbox.id(), heard::add);
            store.append(inbox.id(), "Subject: before\r\n\r\nx".getBytes(UTF_8), Set.of(), null);

            server.restart();

            List<StoreException.Kind> failures = new CopyOnWriteArrayList<>();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                try {
                    store.append(inbox.id(), "Subject: after\r\n\r\nx".getBytes(UTF_8), Set.of(), null);
                    return true;
                } catch (StoreException e) {
                    failures.add(e.kind());
                    return false;
                }
            });
            assertThat(failures).allMatch(k -> k == StoreException.Kind.UNAVAILABLE);
            assertThat(otherNode.listMessages(inbox.id(), UidRange.all())).hasSizeGreaterThanOrEqualTo(2);
            // The LISTEN connection is back: a later change reaches the other node again.
            AtomicInteger tick = new AtomicInteger();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                store.storeFlags(inbox.id(), List.of(1L), FlagOperation.REPLACE, Set.of("$Tick" + tick.incrementAndGet()),
                        OptionalLong.empty());
                return heard.stream().anyMatch(e -> e instanceof StoreEvent.FlagsChanged);
            });
        }
    }

    /**
     * docs/store.md, "Change notifications": a node that could not LISTEN while another node
     * added, flagged and expunged messages hears each once its connection is back, from reading
     * its watched mailbox again: the notifications sent meanwhile never reached it. The node logs
     * in as a role of its own whose logins are refused meanwhile, so the gap is certain.
     */
    @Test
    void aNodeThatCouldNotListenHearsWhatItMissedOnceItIsBack() throws SQLException {
        Mailbox inbox = inbox(account("alice@example.org"));
        long kept = store.append(inbox.id(), "Subject: kept\r\n\r\nx".getBytes(UTF_8), Set.of(), null).uid();
        long gone = store.append(inbox.id(), "Subject: gone\r\n\r\nx".getBytes(UTF_8), Set.of(), null).uid();
        String role = "deaf_" + databases;
        try (PostgresStore deaf = nodeOfItsOwnRole(role)) {
            List<StoreEvent> heard = new CopyOnWriteArrayList<>();
            deaf.subscribe(inbox.id(), heard::add);
            List<DirectoryChange> directoryHeard = new CopyOnWriteArrayList<>();
            deaf.watchDirectory(directoryHeard::add);
            admin("ALTER ROLE " + role + " NOLOGIN");
            admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + role + "'");
            await().atMost(EVENT_WAIT).until(() -> admin("SELECT count(*) FROM pg_stat_activity WHERE usename = '" + role + "'") == 0);

            AppendResult added = store.append(inbox.id(), "Subject: new\r\n\r\nx".getBytes(UTF_8), Set.of("$New"), null);
            store.storeFlags(inbox.id(), List.of(kept), FlagOperation.ADD, Set.of("\\Flagged"), OptionalLong.empty());
            long last = store.expunge(inbox.id(), List.of(gone)).modSeq();
            store.putBlock(new LoginBlock("192.0.2.9/32", Optional.empty(), 10, Instant.now().plusSeconds(600)));
            assertThat(heard).isEmpty();
            assertThat(directoryHeard).isEmpty();

            admin("ALTER ROLE " + role + " LOGIN");
            await().atMost(Duration.ofSeconds(30)).until(() -> heard.size() >= 3);
            assertThat(heard).containsExactly(
                    new StoreEvent.MessageAdded(inbox.id(), new TreeSet<>(List.of(added.uid())), last, Set.of("$New")),
                    new StoreEvent.FlagsChanged(inbox.id(), new TreeSet<>(List.of(kept)), last),
                    new StoreEvent.MessagesExpunged(inbox.id(), new TreeSet<>(List.of(gone)), last));
            assertThat(deaf.publishedModSeq(inbox.id())).isEqualTo(last);
            // The block written meanwhile was not heard: the node is told to read the shared tables again.
            await().atMost(EVENT_WAIT).until(() -> directoryHeard.contains(new DirectoryChange.Missed()));
            assertThat(deaf.listBlocks(Instant.now())).extracting(LoginBlock::source).contains("192.0.2.9/32");
        }
    }

    /**
     * docs/store.md, "Listings held by a node": a node answers a listing of a mailbox from its
     * memory while it has heard no change since; a flag change, an expunge and an append made on
     * another node show in its next listing once it has heard of them, and before any of its
     * listeners is told. The node that wrote them shows the same.
     */
    @Test
    void aListingHeldByANodeShowsWhatAnotherNodeChangedOnceHeard() {
        Mailbox inbox = inbox(account("alice@example.org"));
        long first = store.append(inbox.id(), "Subject: one\r\n\r\nx".getBytes(UTF_8), Set.of(), null).uid();
        long second = store.append(inbox.id(), "Subject: two\r\n\r\nx".getBytes(UTF_8), Set.of(), null).uid();
        store.listMessages(inbox.id(), UidRange.all()); // the writing node holds it too, and keeps it with its own writes
        try (PostgresStore otherNode = PostgresStore.open(url, server.user(), server.password(), 1)) {
            List<List<MessageMeta>> seenWhenTold = new CopyOnWriteArrayList<>();
            otherNode.subscribe(inbox.id(), e -> seenWhenTold.add(otherNode.listMessages(inbox.id(), UidRange.all())));
            assertThat(otherNode.listMessages(inbox.id(), UidRange.all())).extracting(MessageMeta::uid).containsExactly(first, second);
            assertThat(otherNode.listMessages(inbox.id(), UidRange.of(second))).extracting(MessageMeta::uid).containsExactly(second);

            store.storeFlags(inbox.id(), List.of(first), FlagOperation.ADD, Set.of("\\Flagged"), OptionalLong.empty());
            await().atMost(EVENT_WAIT).until(() -> seenWhenTold.size() == 1);
            assertThat(seenWhenTold.getLast().getFirst().flags()).contains("\\Flagged");
            assertThat(otherNode.listMessages(inbox.id(), UidRange.of(first)).getFirst().flags()).contains("\\Flagged");

            store.expunge(inbox.id(), List.of(second));
            await().atMost(EVENT_WAIT).until(() -> seenWhenTold.size() == 2);
            assertThat(seenWhenTold.getLast()).extracting(MessageMeta::uid).containsExactly(first);
            assertThat(otherNode.listMessages(inbox.id(), UidRange.of(second))).isEmpty();

            long third = store.append(inbox.id(), "Subject: three\r\n\r\nx".getBytes(UTF_8), Set.of("$New"), null).uid();
            await().atMost(EVENT_WAIT).until(() -> seenWhenTold.size() == 3);
            assertThat(seenWhenTold.getLast()).extracting(MessageMeta::uid).containsExactly(first, third);
            assertThat(otherNode.listMessages(inbox.id(), UidRange.of(third)).getFirst().flags()).containsExactly("$New");
            assertThat(otherNode.listMessages(inbox.id(), UidRange.all()))
                    .isEqualTo(store.listMessages(inbox.id(), UidRange.all()));
        }
    }

    /**
     * docs/store.md, "Listings held by a node": while a node cannot LISTEN it holds no listing (the
     * changes of other nodes go unheard), and once it listens again it reads afresh what changed
     * meanwhile. Only the LISTEN connection is cut: the node's pooled connection still reads.
     */
    @Test
    void aNodeThatCannotListenReadsItsListingsAfreshUntilItIsBack() throws SQLException {
        Mailbox inbox = inbox(account("alice@example.org"));
        long kept = store.append(inbox.id(), "Subject: kept\r\n\r\nx".getBytes(UTF_8), Set.of(), null).uid();
        long gone = store.append(inbox.id(), "Subject: gone\r\n\r\nx".getBytes(UTF_8), Set.of(), null).uid();
        String role = "deaf_" + databases;
        try (PostgresStore deaf = nodeOfItsOwnRole(role)) {
            List<StoreEvent> heard = new CopyOnWriteArrayList<>();
            deaf.subscribe(inbox.id(), heard::add);
            assertThat(deaf.listMessages(inbox.id(), UidRange.all())).extracting(MessageMeta::uid).containsExactly(kept, gone);
            admin("ALTER ROLE " + role + " NOLOGIN");
            String listening = "SELECT count(*) FROM pg_stat_activity WHERE usename = '" + role + "' AND query LIKE 'LISTEN%'";
            admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + role + "' AND query LIKE 'LISTEN%'");
            await().atMost(EVENT_WAIT).until(() -> admin(listening) == 0);

            store.storeFlags(inbox.id(), List.of(kept), FlagOperation.ADD, Set.of("\\Flagged"), OptionalLong.empty());
            await().atMost(EVENT_WAIT).until(() -> deaf.listMessages(inbox.id(), UidRange.of(kept)).getFirst().flags()
                    .contains("\\Flagged"));
            store.expunge(inbox.id(), List.of(gone));
            assertThat(deaf.listMessages(inbox.id(), UidRange.all())).extracting(MessageMeta::uid).containsExactly(kept);
            assertThat(heard).isEmpty();

            admin("ALTER ROLE " + role + " LOGIN");
            await().atMost(Duration.ofSeconds(30)).until(() -> heard.size() >= 2);
            assertThat(deaf.listMessages(inbox.id(), UidRange.all())).extracting(MessageMeta::uid).containsExactly(kept);
            // Listening again: a listing is held, and what another node changes next shows once heard.
            store.storeFlags(inbox.id(), List.of(kept), FlagOperation.ADD, Set.of("\\Seen"), OptionalLong.empty());
            await().atMost(EVENT_WAIT).until(() -> heard.size() >= 3);
            assertThat(deaf.listMessages(inbox.id(), UidRange.all()).getFirst().flags()).contains("\\Flagged", "\\Seen");
        }
    }

    /** Another node, logging in as a role of its own, whose logins a test can refuse ({@code ALTER ROLE ... NOLOGIN}). */
    private PostgresStore nodeOfItsOwnRole(String role) throws SQLException {
        admin("CREATE ROLE " + role + " LOGIN PASSWORD 'deaf' IN ROLE " + server.user());
        return PostgresStore.open(url, role, "deaf", 1);
    }

    /** Runs a statement as the test server's superuser; the first column of its first row, or 0. */
    private static long admin(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(server.jdbcUrl(), server.user(), server.password());
                Statement s = c.createStatement()) {
            if (!s.execute(sql)) return 0;
            try (ResultSet rs = s.getResultSet()) {
                return rs.next() && rs.getObject(1) instanceof Number n ? n.longValue() : 0;
            }
        }
    }

    /** SEARCH TEXT is a substring test (RFC 9051 §6.4.4): LIKE's own wildcards in a needle match only themselves. */
    @Test
    void textSearchAnswersFromTheDatabaseAndWildcardsAreLiteral() {
        Mailbox inbox = inbox(account("text@example.org"));
        long hit = append(inbox, "Subject: plan\r\n\r\n100% sure_thing\r\n").uid();
        append(inbox, "Subject: other\r\n\r\n100 percent surely\r\n");
        TextMatches m = store.searchText(inbox.id(), true, "0% SURE_");
        assertThat(m.matching()).containsExactly(hit);
        assertThat(m.unindexed()).isEmpty();
        assertThat(store.searchText(inbox.id(), true, "0%sure").matching()).isEmpty();
        assertThat(store.searchText(inbox.id(), false, "PLAN").matching()).containsExactly(hit);
    }

    /** A body is kept once however many messages use it, and goes with the last of them (docs/store.md, "Scale-out"). */
    @Test
    void aBodyIsStoredOnceAndGoesWithItsLastMessage() throws SQLException {
        Mailbox alices = inbox(account("alice@example.org"));
        Mailbox bobs = inbox(account("bob@example.org"));
        byte[] body = "Subject: shared\r\n\r\nsame body".getBytes(UTF_8);
        store.deliver(List.of(alices.id(), bobs.id()), body, Set.of(), null);
        store.copy(alices.id(), List.of(1L), alices.id());
        assertThat(storedBodies()).containsExactly(1L, 1L);

        store.expunge(alices.id(), List.of(1L, 2L));
        assertThat(storedBodies()).containsExactly(1L, 1L);
        assertThat(read(bobs, 1)).isEqualTo("Subject: shared\r\n\r\nsame body");
        store.deleteMailbox(store.createMailbox(bobs.accountId(), "Keep").id());
        store.move(bobs.id(), List.of(1L), store.getMailbox(bobs.accountId(), "Trash").orElseThrow().id());
        assertThat(storedBodies()).containsExactly(1L, 1L);
        directory().deleteAccount(bobs.accountId());
        assertThat(storedBodies()).containsExactly(0L, 0L);
    }

    /** The rows of {@code blobs} (references) and of {@code blob_data} (bytes). */
    private List<Long> storedBodies() throws SQLException {
        try (Connection c = DriverManager.getConnection(url, server.user(), server.password());
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT (SELECT count(*) FROM blobs), (SELECT count(*) FROM blob_data)")) {
            rs.next();
            return List.of(rs.getLong(1), rs.getLong(2));
        }
    }
}
