package org.castellan.store.postgres;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.castellan.store.AccountEvent;
import org.castellan.store.DirectoryChange;
import org.castellan.store.StoreEvent;
import org.castellan.store.StoreException;
import org.castellan.store.postgres.internal.Pg;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mailbox events of other nodes sharing the database (docs/store.md, "Change
 * notifications"), and on a second channel their writes of blocks and revocations (docs/store.md,
 * "What the nodes share"). A write sends its events with {@code NOTIFY} inside its transaction, so
 * PostgreSQL delivers them when, and only if, it commits, in commit order; each store holds one
 * {@code LISTEN} connection, read on its own thread, and hands the events of other nodes to its
 * dispatcher. Events too long for one notification are kept in {@code event_overflow} and the
 * notification names the row.
 *
 * <p>Failure: when the {@code LISTEN} connection breaks (PostgreSQL restarted) the thread says so
 * once at WARN and connects again, waiting {@link #RECONNECT_FIRST} doubling up to
 * {@link #RECONNECT_MAX} between attempts; once it listens again it says so at INFO and runs the
 * {@code reconnected} callback, which re-reads each watched mailbox once for what the
 * notifications lost meanwhile ({@link PgMailboxes#catchUp}). A callback that fails counts as
 * the connection failing: it runs again on the next reconnect.
 */
final class PgNotifications implements AutoCloseable, PgMailboxes.Notifier {

    private static final Logger log = LoggerFactory.getLogger(PgNotifications.class);

    static final String CHANNEL = "castellan_events";

    /**
     * Blocks and revocations written (docs/store.md, "What the nodes share"): the payload says what
     * to read again, and for lifted blocks of which sources; also accounts removed or moved, and
     * the cluster requests of docs/roles.md §4.
     */
    static final String DIRECTORY_CHANNEL = "castellan_directory";

    /** PostgreSQL refuses a payload of 8000 bytes or more; longer ones go through event_overflow. */
    static final int MAX_PAYLOAD_BYTES = 7900;

    /** How long a read of the LISTEN connection waits before it looks at {@code closed} again (close() also aborts the read). */
    private static final int POLL_MILLIS = 500;

    /**
     * The first wait before connecting again after the LISTEN connection broke: a restart of
     * PostgreSQL takes about a second, so the node is deaf for little longer than the restart.
     */
    static final Duration RECONNECT_FIRST = Duration.ofMillis(250);

    /**
     * The longest wait between attempts (each doubles the one before): a node does not knock at a
     * database that stays down more than once in this, and hears again at most this long after it is back.
     */
    static final Duration RECONNECT_MAX = Duration.ofSeconds(5);

    /** How long an overflowing event is kept for nodes to read. */
    static final Duration OVERFLOW_KEPT = Duration.ofHours(1);

    private final String node = UUID.randomUUID().toString();
    private final String jdbcUrl;
    private final String user;
    private final String password;
    private final Consumer<List<AccountEvent>> remote;
    private final Consumer<DirectoryChange> directory;
    private final Runnable reconnected;
    private final Runnable lost;
    private final Runnable unread;
    private final Thread thread;
    private volatile boolean closed;

    /**
     * @param remote receives the events of other nodes, in the order PostgreSQL delivers them
     * @param directory receives the directory changes of other nodes
     * @param reconnected runs on this thread each time the LISTEN connection is back after it broke,
     *     before any event heard on the new connection is handed on; may throw {@link StoreException}
     * @param lost runs on this thread each time the LISTEN connection is found broken (or could
     *     not be made again): other nodes' changes go unheard until {@code reconnected} has run
     * @param unread runs on this thread when a notification could not be read: its changes went unheard
     */
    PgNotifications(String jdbcUrl, String user, String password, Consumer<List<AccountEvent>> remote,
            Consumer<DirectoryChange> directory, Runnable reconnected, Runnable lost, Runnable unread) {
        this.jdbcUrl = jdbcUrl;
        this.user = user;
        this.password = password;
        this.remote = remote;
        this.directory = directory;
        this.reconnected = reconnected;
        this.lost = lost;
        this.unread = unread;
        this.thread = Thread.ofPlatform().name("castellan-postgres-listen").daemon(true).unstarted(this::loop);
    }

    /**
     * Starts listening and returns once the LISTEN is in place, so every change committed after
     * this returns is heard.
     */
    void start() throws SQLException {
        listening = listen();
        thread.start();
    }

    /**
     * The LISTEN connection the thread reads, null while it has none: the first made by start()
     * before the thread starts, later ones by the thread. close() aborts it, so that a read in
     * progress ends at once rather than at its timeout.
     */
    private volatile Connection listening;

    /**
     * Sends the transaction's events no write of it has announced yet ({@link #payload}) to the
     * other nodes; PostgreSQL delivers them if it commits.
     */
    @Override
    public void beforeCommit(PgTx tx) throws SQLException {
        List<AccountEvent> events = tx.unannounced();
        if (events.isEmpty()) return;
        String payload = node + "\n" + encode(events);
        Connection c = tx.connection();
        if (payload.getBytes(StandardCharsets.UTF_8).length > MAX_PAYLOAD_BYTES) {
            Pg.update(c, "DELETE FROM event_overflow WHERE created_at < now() - make_interval(secs => ?)",
                    OVERFLOW_KEPT.toSeconds());
            long id = Pg.count(c, "INSERT INTO event_overflow (payload, created_at) VALUES (?, now()) RETURNING id",
                    encode(events));
            payload = node + "\n@" + id;
        }
        Pg.one(c, "SELECT pg_notify(?, ?)", rs -> Boolean.TRUE, CHANNEL, payload);
    }

    /** The payload on {@link #CHANNEL} announcing {@code events}; empty when it is too long for a notification. */
    @Override
    public Optional<String> payload(List<AccountEvent> events) {
        String payload = node + "\n" + encode(events);
        return payload.getBytes(StandardCharsets.UTF_8).length > MAX_PAYLOAD_BYTES ? Optional.empty() : Optional.of(payload);
    }

    private Connection listen() throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("user", user);
        properties.setProperty("password", password);
        properties.setProperty("connectTimeout", Long.toString(PostgresStore.CONNECT_TIMEOUT.toSeconds()));
        properties.setProperty("tcpKeepAlive", "true");
        Connection c = DriverManager.getConnection(jdbcUrl, properties);
        try (Statement s = c.createStatement()) {
            s.execute("LISTEN " + CHANNEL);
            s.execute("LISTEN " + DIRECTORY_CHANNEL);
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        return c;
    }

    private void loop() {
        Connection c = listening;
        boolean broken = false;
        Duration wait = RECONNECT_FIRST;
        while (!closed) {
            try {
                if (c == null) {
                    c = listen();
                    listening = c;
                    if (closed) break;
                    // LISTEN first, then the re-read: a change committed between the two is read
                    // and heard, never neither (hearing it twice is harmless, see PgMailboxes#catchUp).
                    reconnected.run();
                    log.info("The LISTEN connection to PostgreSQL is back; other nodes' mailbox changes are heard again,"
                            + " and the watched mailboxes were read again for those made meanwhile");
                    broken = false;
                    wait = RECONNECT_FIRST;
                }
                PGNotification[] received = c.unwrap(PGConnection.class).getNotifications(POLL_MILLIS);
                if (received == null) continue;
                for (PGNotification n : received) {
                    if (n.getName().equals(DIRECTORY_CHANNEL)) receiveDirectory(n.getParameter());
                    else receive(c, n.getParameter());
                }
            } catch (SQLException | StoreException e) {
                if (closed) break;
                lost.run(); // every time: a reconnection whose re-read failed is deaf again
                if (!broken) {
                    log.warn("The LISTEN connection to PostgreSQL failed ({}); other nodes' mailbox changes are not heard"
                            + " until it is back", e.getMessage());
                } else {
                    log.debug("Still cannot LISTEN on PostgreSQL, next attempt in {}: {}", wait, e.getMessage());
                }
                broken = true;
                closeQuietly(c);
                c = null;
                listening = null;
                LockSupport.parkNanos(wait.toNanos());
                wait = wait.multipliedBy(2).compareTo(RECONNECT_MAX) > 0 ? RECONNECT_MAX : wait.multipliedBy(2);
            } catch (RuntimeException e) {
                // One malformed notification must not stop this node hearing the others.
                log.warn("A mailbox notification from another node could not be read", e);
                unread.run();
            }
        }
        closeQuietly(c);
    }

    private void receive(Connection c, String payload) throws SQLException {
        int newline = payload.indexOf('\n');
        if (newline < 0 || payload.substring(0, newline).equals(node)) return; // this node published its own already
        String body = payload.substring(newline + 1);
        if (body.startsWith("@")) {
            body = Pg.one(c, "SELECT payload FROM event_overflow WHERE id = ?", rs -> rs.getString(1),
                    Long.parseLong(body.substring(1))).orElse("");
        }
        List<AccountEvent> events = decode(body);
        if (!events.isEmpty()) remote.accept(events);
    }

    /** Tells the other nodes of {@code change}; PostgreSQL delivers it if the transaction on {@code c} commits. */
    void directoryChanged(Connection c, DirectoryChange change) throws SQLException {
        String body = switch (change) {
            case DirectoryChange.BlocksAdded b -> "B";
            case DirectoryChange.RevocationsAdded r -> "V";
            // An address holds no tab or newline (EmailAddress refuses control characters).
            case DirectoryChange.AccountRemoved a -> "R\t" + a.address();
            // Sources are CIDR prefixes or "certificate sha256:<hex>": no tab, no newline.
            case DirectoryChange.BlocksLifted l -> l.sources().map(sources -> "L\t" + String.join("\t", new TreeSet<>(sources)))
                    .orElse("L");
            // An address or a node name holds no tab; a request is one line of JSON, whose strings escape tabs.
            case DirectoryChange.PlacementChanged p -> "P\t" + p.address() + "\t" + p.node();
            case DirectoryChange.NodesAsked q -> "Q\t" + q.requestId() + "\t" + q.request();
            case DirectoryChange.Missed m -> throw new IllegalArgumentException("a node's own reconnection is never sent");
        };
        Pg.one(c, "SELECT pg_notify(?, ?)", rs -> Boolean.TRUE, DIRECTORY_CHANNEL, node + "\n" + body);
    }

    private void receiveDirectory(String payload) {
        int newline = payload.indexOf('\n');
        if (newline < 0 || payload.substring(0, newline).equals(node)) return; // this node knows its own
        String[] f = payload.substring(newline + 1).split("\t", payload.startsWith("Q\t", newline + 1) ? 3 : -1);
        DirectoryChange change = switch (f[0]) {
            case "B" -> new DirectoryChange.BlocksAdded();
            case "V" -> new DirectoryChange.RevocationsAdded();
            case "R" -> new DirectoryChange.AccountRemoved(f[1]);
            case "P" -> new DirectoryChange.PlacementChanged(f[1], f[2]);
            case "Q" -> new DirectoryChange.NodesAsked(f[1], f[2]);
            case "L" -> new DirectoryChange.BlocksLifted(f.length == 1 ? Optional.empty()
                    : Optional.of(Set.of(Arrays.copyOfRange(f, 1, f.length))));
            default -> throw new IllegalArgumentException("unknown directory change " + f[0]);
        };
        directory.accept(change);
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread); // from a wait between reconnection attempts
        Connection c = listening;
        if (c != null) {
            try {
                c.abort(Runnable::run); // JDBC 4.1: from another thread; the read fails and the loop sees closed
            } catch (SQLException ignored) {
                // closed already
            }
        }
        try {
            if (thread.isAlive()) thread.join(POLL_MILLIS * 4L);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Connection c) {
        if (c == null) return;
        try {
            c.close();
        } catch (SQLException ignored) {
            // broken already; nothing to release
        }
    }

    // ------------------------------------------------------------------ the payload

    /**
     * One event a line, fields separated by tabs: mailbox names hold no control character
     * ({@link org.castellan.store.MailboxNames#normalize}) and keywords are atoms, so neither
     * needs quoting. UID sets are ranges ({@code 1:5,7}).
     */
    static String encode(List<AccountEvent> events) {
        StringBuilder out = new StringBuilder();
        for (AccountEvent a : events) {
            if (!out.isEmpty()) out.append('\n');
            switch (a) {
                case AccountEvent.MailboxChanged m -> {
                    String account = Long.toString(m.accountId());
                    switch (m.change()) {
                        case StoreEvent.MessageAdded e -> line(out, "A", account, e.mailboxId(), uids(e.uids()), e.modSeq(),
                                String.join(" ", new TreeSet<>(e.keywords())));
                        case StoreEvent.FlagsChanged e -> line(out, "F", account, e.mailboxId(), uids(e.uids()), e.modSeq());
                        case StoreEvent.MessagesExpunged e -> line(out, "X", account, e.mailboxId(), uids(e.uids()), e.modSeq());
                        case StoreEvent.MailboxRenamed e -> line(out, "R", account, e.mailboxId(), e.oldName(), e.newName());
                        case StoreEvent.MailboxDeleted e -> line(out, "D", account, e.mailboxId(), e.name());
                    }
                }
                case AccountEvent.MailboxCreated e -> line(out, "C", e.accountId(), e.mailboxId(), e.name());
                case AccountEvent.SubscriptionChanged e -> line(out, "S", e.accountId(), e.subscribed() ? 1 : 0, e.name());
            }
        }
        return out.toString();
    }

    static List<AccountEvent> decode(String payload) {
        List<AccountEvent> events = new ArrayList<>();
        if (payload.isEmpty()) return events;
        for (String line : payload.split("\n")) {
            String[] f = line.split("\t", -1);
            long account = Long.parseLong(f[1]);
            long id = Long.parseLong(f[2]);
            AccountEvent event = switch (f[0]) {
                case "A" -> new AccountEvent.MailboxChanged(account, new StoreEvent.MessageAdded(id, uids(f[3]),
                        Long.parseLong(f[4]), f[5].isEmpty() ? Set.of() : Set.of(f[5].split(" "))));
                case "F" -> new AccountEvent.MailboxChanged(account, new StoreEvent.FlagsChanged(id, uids(f[3]),
                        Long.parseLong(f[4])));
                case "X" -> new AccountEvent.MailboxChanged(account, new StoreEvent.MessagesExpunged(id, uids(f[3]),
                        Long.parseLong(f[4])));
                case "R" -> new AccountEvent.MailboxChanged(account, new StoreEvent.MailboxRenamed(id, f[3], f[4]));
                case "D" -> new AccountEvent.MailboxChanged(account, new StoreEvent.MailboxDeleted(id, f[3]));
                case "C" -> new AccountEvent.MailboxCreated(account, id, f[3]);
                case "S" -> new AccountEvent.SubscriptionChanged(account, f[3], id == 1);
                default -> throw new IllegalArgumentException("unknown event kind " + f[0]);
            };
            events.add(event);
        }
        return events;
    }

    private static void line(StringBuilder out, String kind, Object... fields) {
        out.append(kind);
        for (Object f : fields) out.append('\t').append(f);
    }

    /** Ascending UIDs as ranges: {@code 1:5,7}. */
    static String uids(SortedSet<Long> uids) {
        StringBuilder out = new StringBuilder();
        Long start = null;
        long last = -1;
        for (long uid : uids) {
            if (start != null && uid == last + 1) {
                last = uid;
                continue;
            }
            if (start != null) range(out, start, last);
            start = uid;
            last = uid;
        }
        if (start != null) range(out, start, last);
        return out.toString();
    }

    private static void range(StringBuilder out, long first, long last) {
        if (!out.isEmpty()) out.append(',');
        out.append(first);
        if (last != first) out.append(':').append(last);
    }

    static SortedSet<Long> uids(String ranges) {
        SortedSet<Long> out = new TreeSet<>();
        if (ranges.isEmpty()) return out;
        for (String r : Arrays.asList(ranges.split(","))) {
            int colon = r.indexOf(':');
            long first = Long.parseLong(colon < 0 ? r : r.substring(0, colon));
            long last = colon < 0 ? first : Long.parseLong(r.substring(colon + 1));
            for (long uid = first; uid <= last; uid++) out.add(uid);
        }
        return out;
    }
}
