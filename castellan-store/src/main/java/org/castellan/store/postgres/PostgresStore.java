package org.castellan.store.postgres;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Account;
import org.castellan.store.AccountEvent;
import org.castellan.store.Alias;
import org.castellan.store.AppPassword;
import org.castellan.store.AppendResult;
import org.castellan.store.AuthAttempt;
import org.castellan.store.AuthLogStore;
import org.castellan.store.CertificateBinding;
import org.castellan.store.CertificateRevocation;
import org.castellan.store.ClusterNode;
import org.castellan.store.DirectoryChange;
import org.castellan.store.LoginBlock;
import org.castellan.store.CopyResult;
import org.castellan.store.Directory;
import org.castellan.store.Domain;
import org.castellan.store.EnrollmentRequest;
import org.castellan.store.EnrollmentToken;
import org.castellan.store.EventSubscription;
import org.castellan.store.ExpungeResult;
import org.castellan.store.FlagOperation;
import org.castellan.store.FlagUpdate;
import org.castellan.store.Mailbox;
import org.castellan.store.MailboxNames;
import org.castellan.store.MailboxStatus;
import org.castellan.store.MailStore;
import org.castellan.store.Mailboxes;
import org.castellan.store.MessageMeta;
import org.castellan.store.NewMessage;
import org.castellan.store.Quota;
import org.castellan.store.Route;
import org.castellan.store.SpecialUse;
import org.castellan.store.StoreEvent;
import org.castellan.store.StoreException;
import org.castellan.store.TextMatches;
import org.castellan.store.UidRange;
import org.castellan.store.internal.DirectoryRules;
import org.castellan.store.internal.RouteCache;
import org.castellan.store.migrate.MigrationTarget;
import org.castellan.store.postgres.internal.BodyStore;
import org.castellan.store.postgres.internal.InlineBodies;
import org.castellan.store.postgres.internal.Pg;
import org.castellan.store.postgres.internal.PgErrors;
import org.castellan.store.queue.AttemptResult;
import org.castellan.store.queue.DueMessage;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.TlsSessionCount;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL store, for installations one machine cannot carry (docs/store.md, "Scale-out").
 * It grows one part of the store at a time, each checked by that part's contract: today the
 * {@link Directory}, the {@link AuthLogStore} and the {@link Mailboxes} ({@link PgMailboxes}, bodies
 * inline or in an object store behind the {@link BodyStore} seam) and the
 * {@link OutboundQueue} ({@link PgQueue}): a whole {@link MailStore}, which {@code Stores.open}
 * opens for {@code [store] kind = "postgres"}.
 *
 * <p>Several nodes may share one database. Rows are locked where two nodes could otherwise both
 * pass a check (a domain's row while an address is taken, an account's while its app passwords
 * are counted, a mailbox's while its UIDs and MODSEQs advance); one conditional UPDATE spends a
 * token or moves a request, so of two nodes one wins. Mailbox events reach other nodes by
 * NOTIFY ({@link PgNotifications}). Routes are remembered as the embedded store remembers them (docs/store.md, "Routes"), and
 * a node notices another's directory changes within {@link Directory#DIRECTORY_RECHECK}; blocks and revocations
 * are told by NOTIFY as well (docs/store.md, "What the nodes share").
 *
 * <p>Durability: a write returns after its transaction committed with the server's
 * {@code synchronous_commit = on}. Failure: every method throws {@link StoreException}
 * {@code UNAVAILABLE} when PostgreSQL cannot be reached or fails ({@link PgErrors}); the pool
 * reconnects without a restart. Security: the password is never logged; the schema comes from
 * Flyway migrations in {@code db/postgres}, run on every open.
 */
public final class PostgresStore implements MailStore {

    private static final Logger log = LoggerFactory.getLogger(PostgresStore.class);

    /**
     * How long a call waits for a connection before it fails as {@code UNAVAILABLE}. With
     * PostgreSQL down every call waits this long and the client gets a temporary error (SMTP 451,
     * IMAP {@code NO [UNAVAILABLE]}): short enough that an IMAP client, which waits for its reply
     * with no timeout of the protocol's, is told soon; far below the minutes an SMTP client waits
     * for a reply (RFC 5321 §4.5.3.2.6). HikariCP's default, 30 s, would hold each session that long.
     */
    static final Duration CONNECTION_TIMEOUT = Duration.ofSeconds(5);

    /**
     * How long the pool's check of a connection it hands out ({@code Connection.isValid}) may take.
     * A connection broken by a restart of PostgreSQL fails the check at once and is replaced; one
     * to a server that stopped answering is given up after this.
     */
    static final Duration VALIDATION_TIMEOUT = Duration.ofSeconds(2);

    /**
     * The PostgreSQL driver's limit on opening one connection (TCP and login, its
     * {@code connectTimeout}; its default is 10 s): within {@link #CONNECTION_TIMEOUT}, so a server
     * that accepts but never answers is one failed attempt, not a hang.
     */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);

    private final HikariDataSource pool;
    private final RouteCache routes = new RouteCache();
    private final ScheduledExecutorService recheck;
    private final PgMailboxes mailboxes;
    private final BodyStore bodies;
    private final PgQueue queue;
    private PgNotifications notifications;
    private final List<Consumer<DirectoryChange>> directoryListeners = new CopyOnWriteArrayList<>();

    private PostgresStore(HikariDataSource pool, BodyStore bodies) {
        this.pool = pool;
        this.bodies = bodies;
        this.mailboxes = new PgMailboxes(pool, bodies, routes::versionSeen);
        this.queue = new PgQueue(pool, mailboxes);
        this.recheck = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "castellan-postgres-directory-recheck");
            t.setDaemon(true);
            return t;
        });
        recheck.scheduleWithFixedDelay(this::recheckDirectory, DIRECTORY_RECHECK.toMillis(), DIRECTORY_RECHECK.toMillis(),
                TimeUnit.MILLISECONDS);
        recheck.scheduleWithFixedDelay(this::collectOrphansNow, ORPHAN_COLLECTION.toMillis(), ORPHAN_COLLECTION.toMillis(),
                TimeUnit.MILLISECONDS);
        recheck.scheduleWithFixedDelay(this::sweepBodiesNow, BODY_SWEEP.toMillis(), BODY_SWEEP.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** How often released bodies are looked for in the object store (docs/store.md, "Bodies in an object store"). */
    static final Duration ORPHAN_COLLECTION = Duration.ofMinutes(10);

    private void collectOrphansNow() {
        try {
            int collected = collectOrphans(Instant.now());
            if (collected > 0) log.info("collected {} released bodies from the object store", collected);
        } catch (StoreException e) {
            log.warn("collecting released bodies failed, trying again in {}: {}", ORPHAN_COLLECTION, e.getMessage());
        }
    }

    /**
     * Deletes the bodies whose last reference went more than the body store's grace period before
     * {@code now} and that nothing references again, in batches; returns how many. Every node may
     * run it at once: each takes the rows the others have not locked.
     */
    public int collectOrphans(Instant now) {
        int total = 0;
        int collected;
        do {
            collected = write("collect released bodies", c -> bodies.collectOrphans(c, now));
            total += collected;
        } while (collected > 0);
        return total;
    }

    /**
     * Deletes stored bodies that no row records, older than the body store's grace period before
     * {@code now} (left by transactions that rolled back after storing a body); returns how many.
     * It reads the whole object store's listing, so it runs every {@link #BODY_SWEEP}.
     */
    public int sweepBodies(Instant now) {
        return write("sweep unrecorded bodies", c -> bodies.sweep(c, now));
    }

    /** How often the object store's listing is compared with the rows (a day: the listing is long). */
    static final Duration BODY_SWEEP = Duration.ofDays(1);

    private void sweepBodiesNow() {
        try {
            int swept = sweepBodies(Instant.now());
            if (swept > 0) log.info("deleted {} bodies no message records from the object store", swept);
        } catch (StoreException e) {
            log.warn("sweeping the object store failed, trying again in {}: {}", BODY_SWEEP, e.getMessage());
        }
    }

    /** Another node's directory change retires this node's routes (docs/store.md, "Routes"). */
    private void recheckDirectory() {
        try {
            routes.versionSeen(read("read the directory version", PostgresStore::directoryVersion));
        } catch (StoreException e) {
            log.debug("directory recheck failed, trying again in {}: {}", DIRECTORY_RECHECK, e.getMessage());
        }
    }

    private static long directoryVersion(Connection c) throws SQLException {
        return Pg.count(c, "SELECT version FROM directory_version");
    }

    /**
     * Connects, brings the schema up to date and returns the store.
     *
     * @param poolSize the most connections this process holds open at once
     * @throws StoreException {@code UNAVAILABLE} when PostgreSQL cannot be reached, refuses the
     *     login or the schema cannot be migrated (the message says which)
     */
    public static PostgresStore open(String jdbcUrl, String user, String password, int poolSize) {
        return open(jdbcUrl, user, password, poolSize, new InlineBodies());
    }

    /**
     * As {@link #open(String, String, String, int)}, with the bodies kept by {@code bodies}
     * ({@code S3Bodies} for an object store); the store closes it.
     */
    public static PostgresStore open(String jdbcUrl, String user, String password, int poolSize, BodyStore bodies) {
        try {
            return connect(jdbcUrl, user, password, poolSize, bodies);
        } catch (RuntimeException e) {
            bodies.close(); // idempotent where the store was made and closed already
            throw e;
        }
    }

    private static PostgresStore connect(String jdbcUrl, String user, String password, int poolSize, BodyStore bodies) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(poolSize);
        config.setConnectionTimeout(CONNECTION_TIMEOUT.toMillis());
        config.setValidationTimeout(VALIDATION_TIMEOUT.toMillis());
        config.addDataSourceProperty("connectTimeout", Long.toString(CONNECT_TIMEOUT.toSeconds()));
        // A dead peer (a node of PostgreSQL powered off, not restarted) is noticed by the kernel.
        config.addDataSourceProperty("tcpKeepAlive", "true");
        config.setPoolName("castellan-postgres");
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(config);
        } catch (HikariPool.PoolInitializationException e) {
            throw e.getCause() instanceof SQLException sql ? PgErrors.map(sql, "connect to " + jdbcUrl)
                    : StoreException.unavailable("cannot connect to " + jdbcUrl + ": " + e.getMessage(), e);
        }
        try {
            // Flyway opens connections of its own (it holds one for its lock while another migrates),
            // so a pool of one connection does not starve it.
            Flyway.configure(PostgresStore.class.getClassLoader()).dataSource(jdbcUrl, user, password)
                    .locations("classpath:db/postgres").load().migrate();
        } catch (FlywayException e) {
            pool.close();
            throw StoreException.unavailable("cannot bring the PostgreSQL schema up to date: " + e.getMessage(), e);
        }
        try {
            requireDurableCommits(pool);
        } catch (StoreException e) {
            pool.close();
            throw e;
        }
        PostgresStore store = new PostgresStore(pool, bodies);
        store.notifications = new PgNotifications(jdbcUrl, user, password, store.mailboxes::publishRemote,
                store::directoryChanged, store::reconnected, store.mailboxes::listenLost, store.mailboxes::notificationUnread);
        try {
            store.notifications.start();
        } catch (SQLException e) {
            store.close();
            throw PgErrors.map(e, "listen for other nodes' changes on " + jdbcUrl);
        }
        store.mailboxes.notifier(store.notifications);
        store.recheckDirectory();
        return store;
    }

    /**
     * A write returns once it is durable (Mailboxes, "Durability"): PostgreSQL must flush the
     * commit before it answers, which {@code synchronous_commit = off} or {@code local} with
     * standbys would not promise. Checked once at open, where an operator sees the refusal.
     */
    private static void requireDurableCommits(HikariDataSource pool) {
        String setting;
        try (Connection c = pool.getConnection()) {
            setting = Pg.one(c, "SHOW synchronous_commit", rs -> rs.getString(1)).orElse("");
        } catch (SQLException e) {
            throw PgErrors.map(e, "read synchronous_commit");
        }
        if (!DURABLE_COMMITS.contains(setting)) {
            throw StoreException.unavailable("PostgreSQL runs with synchronous_commit = " + setting + ", so a message"
                    + " acknowledged could be lost in a crash; set it to on", null);
        }
    }

    /** The synchronous_commit values that flush a commit before it is acknowledged, here and on synchronous standbys. */
    static final Set<String> DURABLE_COMMITS = Set.of("on", "remote_apply");

    /**
     * This store as the target of {@code castellan store migrate} (docs/administration.md, "Moving an
     * embedded store to PostgreSQL"): writes that keep the source's UIDs, MODSEQs and counters.
     * Only while no server uses the database; closing this store ends it.
     */
    public MigrationTarget migrationTarget() {
        return new PgImport(pool, bodies, mailboxes);
    }

    // ------------------------------------------------------------------ domains

    @Override
    public Domain createDomain(String name) {
        String domain = DirectoryRules.validDomain(name);
        Instant now = now();
        return directoryWrite("create domain " + domain, c -> {
            if (Pg.update(c, "INSERT INTO domains (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                    domain, now) == 0) {
                throw StoreException.alreadyExists("domain " + domain + " already exists");
            }
            return new Domain(domain, now);
        });
    }

    @Override
    public List<Domain> listDomains() {
        return read("list domains", c -> Pg.list(c, "SELECT name, created_at FROM domains ORDER BY name", PostgresStore::domain));
    }

    @Override
    public Optional<Domain> getDomain(String name) {
        String domain = name.toLowerCase(Locale.ROOT);
        return read("look up domain " + domain,
                c -> Pg.one(c, "SELECT name, created_at FROM domains WHERE name = ?", PostgresStore::domain, domain));
    }

    @Override
    public void deleteDomain(String name) {
        String domain = name.toLowerCase(Locale.ROOT);
        directoryWrite("delete domain " + domain, c -> {
            lockDomain(c, domain);
            long accounts = Pg.count(c, "SELECT count(*) FROM accounts WHERE domain = ?", domain);
            long aliases = Pg.count(c, "SELECT count(*) FROM aliases WHERE domain = ?", domain);
            if (accounts > 0 || aliases > 0) {
                throw StoreException.invalid("domain " + domain + " still has " + accounts + " account(s) and " + aliases
                        + " alias(es); delete them first");
            }
            Pg.update(c, "DELETE FROM domains WHERE name = ?", domain);
            return null;
        });
    }

    /**
     * Holds the domain's row until the transaction ends: every write that takes an address of the
     * domain (account or alias) or removes the domain goes through it, so two nodes cannot both
     * find an address free.
     */
    private static void lockDomain(Connection c, String domain) throws SQLException {
        if (!Pg.exists(c, "SELECT 1 FROM domains WHERE name = ? FOR UPDATE", domain)) throw DirectoryRules.noDomain(domain);
    }

    // ------------------------------------------------------------------ accounts

    private static final String ACCOUNT_COLUMNS = "id, local_part, domain, credential, quota_bytes, created_at";

    @Override
    public Account createAccount(EmailAddress address, String credential, OptionalLong quotaBytes) {
        DirectoryRules.validCredential(credential);
        DirectoryRules.validQuota(quotaBytes);
        Instant now = now();
        return directoryWrite("create account " + address, c -> {
            lockDomain(c, address.domain());
            if (Pg.exists(c, "SELECT 1 FROM accounts WHERE address_key = ?", address.key())) {
                throw StoreException.alreadyExists("account " + address + " already exists");
            }
            if (Pg.exists(c, "SELECT 1 FROM aliases WHERE address_key = ?", address.key())) {
                throw StoreException.alreadyExists(address + " is an alias; delete the alias before creating an account");
            }
            long id = Pg.count(c, "INSERT INTO accounts (address_key, local_part, domain, credential, quota_bytes, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?) RETURNING id", address.key(), address.localPart(), address.domain(), credential,
                    quotaBytes.isPresent() ? quotaBytes.getAsLong() : null, now);
            insertSubscribedMailbox(c, id, MailboxNames.INBOX, null, now);
            for (DefaultMailbox m : DEFAULT_MAILBOXES) insertSubscribedMailbox(c, id, m.name(), m.specialUse(), now);
            return new Account(id, address, credential, quotaBytes, now);
        });
    }

    /** A new mailbox, subscribed. */
    private static void insertSubscribedMailbox(Connection c, long accountId, String name, SpecialUse specialUse, Instant now)
            throws SQLException {
        PgMailboxes.insertMailbox(c, accountId, name, specialUse, now);
        Pg.update(c, "INSERT INTO subscriptions (account_id, name) VALUES (?, ?)", accountId, name);
    }

    @Override
    public Optional<Account> getAccount(EmailAddress address) {
        return read("look up account " + address, c -> accountByKey(c, address.key()));
    }

    private static Optional<Account> accountByKey(Connection c, String addressKey) throws SQLException {
        return Pg.one(c, "SELECT " + ACCOUNT_COLUMNS + " FROM accounts WHERE address_key = ?", PostgresStore::account, addressKey);
    }

    @Override
    public Optional<Account> getAccount(long accountId) {
        return read("look up account " + accountId, c -> Pg.one(c,
                "SELECT " + ACCOUNT_COLUMNS + " FROM accounts WHERE id = ?", PostgresStore::account, accountId));
    }

    @Override
    public List<Account> listAccounts() {
        return read("list accounts", c -> Pg.list(c,
                "SELECT " + ACCOUNT_COLUMNS + " FROM accounts ORDER BY address_key", PostgresStore::account));
    }

    @Override
    public List<Account> listAccounts(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        return read("list accounts of " + d, c -> Pg.list(c,
                "SELECT " + ACCOUNT_COLUMNS + " FROM accounts WHERE domain = ? ORDER BY address_key", PostgresStore::account, d));
    }

    @Override
    public void setCredential(long accountId, String credential) {
        DirectoryRules.validCredential(credential);
        write("set the credential of account " + accountId, c -> {
            if (Pg.update(c, "UPDATE accounts SET credential = ? WHERE id = ?", credential, accountId) == 0) {
                throw DirectoryRules.noAccount(accountId);
            }
            return null;
        });
    }

    @Override
    public boolean replaceCredential(long accountId, String expected, String credential) {
        DirectoryRules.validCredential(credential);
        return write("replace the credential of account " + accountId, c -> Pg.update(c,
                "UPDATE accounts SET credential = ? WHERE id = ? AND credential = ?", credential, accountId, expected) == 1);
    }

    @Override
    public void setQuota(long accountId, OptionalLong quotaBytes) {
        DirectoryRules.validQuota(quotaBytes);
        directoryWrite("set the quota of account " + accountId, c -> {
            if (Pg.update(c, "UPDATE accounts SET quota_bytes = ? WHERE id = ?",
                    quotaBytes.isPresent() ? quotaBytes.getAsLong() : null, accountId) == 0) {
                throw DirectoryRules.noAccount(accountId);
            }
            return null;
        });
    }

    @Override
    public Optional<String> placement(long accountId) {
        // Optional.of(Optional.empty()) is an account without a placement; empty is no account.
        return read("look up the placement of account " + accountId, c -> Pg.one(c,
                "SELECT mailbox_node FROM accounts WHERE id = ?", r -> Optional.ofNullable(r.getString(1)), accountId))
                .orElseThrow(() -> StoreException.notFound("account " + accountId));
    }

    @Override
    public void setPlacement(long accountId, Optional<String> node) {
        DirectoryRules.validNodeName(node);
        directoryWrite("place account " + accountId, c -> {
            if (Pg.update(c, "UPDATE accounts SET mailbox_node = ? WHERE id = ?",
                    node.orElse(null), accountId) == 0) {
                throw DirectoryRules.noAccount(accountId);
            }
            return null;
        });
    }

    // ------------------------------------------------------------------ moves and cluster operations

    @Override
    public Optional<Instant> moveLock(long accountId) {
        return read("look up the move lock of account " + accountId, c -> Pg.one(c,
                "SELECT move_locked_until FROM accounts WHERE id = ?", r -> Pg.instant(r, 1), accountId))
                .orElseThrow(() -> StoreException.notFound("account " + accountId))
                .filter(until -> until.isAfter(now()));
    }

    @Override
    public boolean lockForMove(long accountId, Instant until) {
        return write("lock account " + accountId + " for a move", c -> {
            requireAccount(c, accountId);
            return Pg.update(c, "UPDATE accounts SET move_locked_until = ? WHERE id = ?"
                    + " AND (move_locked_until IS NULL OR move_locked_until <= ?)", until, accountId, now()) == 1;
        });
    }

    @Override
    public void finishMove(long accountId, Optional<String> node) {
        DirectoryRules.validNodeName(node);
        directoryWrite("end the move of account " + accountId, c -> {
            Optional<String> address = Pg.one(c, "SELECT local_part || '@' || domain FROM accounts WHERE id = ?",
                    rs -> rs.getString(1), accountId);
            if (address.isEmpty()) throw DirectoryRules.noAccount(accountId);
            if (node.isPresent()) {
                Pg.update(c, "UPDATE accounts SET mailbox_node = ?, move_locked_until = NULL WHERE id = ?", node.get(), accountId);
                // Delivered at commit, with the lock lifted: a node closes what is left of the account's sessions.
                notifications.directoryChanged(c, new DirectoryChange.PlacementChanged(address.get(), node.get()));
            } else {
                Pg.update(c, "UPDATE accounts SET move_locked_until = NULL WHERE id = ?", accountId);
            }
            return null;
        });
    }

    @Override
    public void announceNode(String name, String role) {
        write("name node " + name, c -> Pg.update(c, "INSERT INTO cluster_nodes (name, role, seen_at) VALUES (?, ?, ?)"
                + " ON CONFLICT (name) DO UPDATE SET role = excluded.role, seen_at = excluded.seen_at", name, role, now()));
    }

    @Override
    public List<ClusterNode> clusterNodes() {
        return read("list the nodes", c -> Pg.list(c, "SELECT name, role, seen_at FROM cluster_nodes ORDER BY name",
                rs -> new ClusterNode(rs.getString(1), rs.getString(2), Pg.instant(rs, 3).orElseThrow())));
    }

    /** Answers older than this belong to a command that is long gone; the next request deletes them. */
    static final java.time.Duration CLUSTER_ANSWERS_KEPT = java.time.Duration.ofMinutes(5);

    @Override
    public void askNodes(String requestId, String request) {
        if (request.length() > MAX_CLUSTER_REQUEST || request.indexOf('\n') >= 0) {
            throw StoreException.invalid("a cluster request is one line of at most " + MAX_CLUSTER_REQUEST + " characters");
        }
        write("ask the nodes", c -> {
            Pg.update(c, "DELETE FROM cluster_answers WHERE created_at < ?", now().minus(CLUSTER_ANSWERS_KEPT));
            notifications.directoryChanged(c, new DirectoryChange.NodesAsked(requestId, request));
            return null;
        });
    }

    @Override
    public void answerNodes(String requestId, String node, String answer) {
        write("answer request " + requestId, c -> Pg.update(c, "INSERT INTO cluster_answers (request_id, node, answer, created_at)"
                + " VALUES (?, ?, ?, ?) ON CONFLICT (request_id, node) DO UPDATE SET answer = excluded.answer",
                requestId, node, answer, now()));
    }

    @Override
    public Map<String, String> nodeAnswers(String requestId, boolean forget) {
        return write("read the answers to request " + requestId, c -> {
            Map<String, String> answers = new java.util.TreeMap<>();
            for (String[] row : Pg.list(c, "SELECT node, answer FROM cluster_answers WHERE request_id = ?",
                    rs -> new String[] {rs.getString(1), rs.getString(2)}, requestId)) {
                answers.put(row[0], row[1]);
            }
            if (forget) Pg.update(c, "DELETE FROM cluster_answers WHERE request_id = ?", requestId);
            return answers;
        });
    }

    @Override
    public void deleteAccount(long accountId) {
        // The mailboxes release their bodies and tell their listeners; subscriptions, app
        // passwords, bindings, tokens and requests go with the account (V2).
        mailboxes.deleteAccount(accountId, c -> {
            Optional<String> address = Pg.one(c, "SELECT local_part || '@' || domain FROM accounts WHERE id = ?",
                    rs -> rs.getString(1), accountId);
            if (Pg.update(c, "DELETE FROM accounts WHERE id = ?", accountId) == 0) throw DirectoryRules.noAccount(accountId);
            // The other nodes close the account's sessions (docs/store.md, "What the nodes share").
            notifications.directoryChanged(c, new DirectoryChange.AccountRemoved(address.orElseThrow()));
        });
    }

    /** The account's row, held until the transaction ends, so its limits are counted by one node at a time. */
    private static void lockAccount(Connection c, long accountId) throws SQLException {
        if (!Pg.exists(c, "SELECT 1 FROM accounts WHERE id = ? FOR UPDATE", accountId)) throw DirectoryRules.noAccount(accountId);
    }

    private static void requireAccount(Connection c, long accountId) throws SQLException {
        if (!Pg.exists(c, "SELECT 1 FROM accounts WHERE id = ?", accountId)) throw DirectoryRules.noAccount(accountId);
    }

    // ------------------------------------------------------------------ app passwords

    private static final String APP_PASSWORD_COLUMNS = "id, account_id, label, credential, scope, created_at, selector";

    @Override
    public AppPassword createAppPassword(long accountId, String label, String credential, Optional<String> selector,
            Set<String> scope) {
        DirectoryRules.validAppPassword(label, credential, selector, scope);
        Instant now = now();
        return write("create an app password for account " + accountId, c -> {
            lockAccount(c, accountId);
            if (Pg.count(c, "SELECT count(*) FROM app_passwords WHERE account_id = ?", accountId) >= MAX_APP_PASSWORDS) {
                throw DirectoryRules.tooManyAppPasswords(accountId);
            }
            if (selector.isPresent() && Pg.exists(c, "SELECT 1 FROM app_passwords WHERE account_id = ? AND selector = ?",
                    accountId, selector.get())) {
                throw DirectoryRules.selectorTaken(accountId);
            }
            long id = Pg.count(c, "INSERT INTO app_passwords (account_id, label, credential, scope, created_at, selector)"
                    + " VALUES (?, ?, ?, ?, ?, ?) RETURNING id", accountId, label, credential,
                    String.join(" ", new TreeSet<>(scope)), now, selector.orElse(null));
            return new AppPassword(id, accountId, label, credential, scope, now, selector);
        });
    }

    @Override
    public List<AppPassword> listAppPasswords(long accountId) {
        return read("list the app passwords of account " + accountId, c -> {
            requireAccount(c, accountId);
            return Pg.list(c, "SELECT " + APP_PASSWORD_COLUMNS + " FROM app_passwords WHERE account_id = ? ORDER BY id",
                    PostgresStore::appPassword, accountId);
        });
    }

    @Override
    public void revokeAppPassword(long accountId, long appPasswordId) {
        write("revoke app password " + appPasswordId + " of account " + accountId, c -> {
            if (Pg.update(c, "DELETE FROM app_passwords WHERE id = ? AND account_id = ?", appPasswordId, accountId) == 0) {
                throw StoreException.notFound("account " + accountId + " has no app password " + appPasswordId);
            }
            return null;
        });
    }

    // ------------------------------------------------------------------ certificate bindings

    private static final String BINDING_COLUMNS = "fingerprint, account_id, label, created_at";

    @Override
    public CertificateBinding bindCertificate(long accountId, String fingerprint, String label) {
        DirectoryRules.validCertificateBinding(fingerprint, label);
        Instant now = now();
        return write("bind certificate " + fingerprint + " to account " + accountId, c -> {
            requireAccount(c, accountId);
            if (Pg.update(c, "INSERT INTO certificate_bindings (" + BINDING_COLUMNS + ") VALUES (?, ?, ?, ?)"
                    + " ON CONFLICT (fingerprint) DO NOTHING", fingerprint, accountId, label, now) == 0) {
                long owner = Pg.count(c, "SELECT account_id FROM certificate_bindings WHERE fingerprint = ?", fingerprint);
                throw StoreException.alreadyExists("certificate " + fingerprint + " is already bound to account "
                        + owner + "; unbind it first");
            }
            return new CertificateBinding(fingerprint, accountId, label, now);
        });
    }

    @Override
    public Optional<CertificateBinding> findCertificateBinding(String fingerprint) {
        if (!CertificateBinding.isFingerprint(fingerprint)) return Optional.empty();
        return read("find the binding of certificate " + fingerprint, c -> Pg.one(c,
                "SELECT " + BINDING_COLUMNS + " FROM certificate_bindings WHERE fingerprint = ?",
                PostgresStore::certificateBinding, fingerprint));
    }

    @Override
    public List<CertificateBinding> listCertificateBindings(long accountId) {
        return read("list the certificates bound to account " + accountId, c -> {
            requireAccount(c, accountId);
            return Pg.list(c, "SELECT " + BINDING_COLUMNS + " FROM certificate_bindings WHERE account_id = ?"
                    + " ORDER BY created_at, fingerprint", PostgresStore::certificateBinding, accountId);
        });
    }

    @Override
    public List<CertificateBinding> listCertificateBindings() {
        return read("list the certificate bindings", c -> Pg.list(c, "SELECT " + BINDING_COLUMNS
                + " FROM certificate_bindings ORDER BY created_at, fingerprint", PostgresStore::certificateBinding));
    }

    @Override
    public void unbindCertificate(String fingerprint) {
        write("unbind certificate " + fingerprint, c -> {
            if (Pg.update(c, "DELETE FROM certificate_bindings WHERE fingerprint = ?", fingerprint) == 0) {
                throw StoreException.notFound("certificate " + fingerprint + " is not bound to any account");
            }
            return null;
        });
    }

    // ------------------------------------------------------------------ blocks and revocations

    @Override
    public void putBlock(LoginBlock block) {
        write("keep a login block of " + block.source(), c -> {
            Pg.update(c, "DELETE FROM login_blocks WHERE blocked_until <= now()");
            Pg.update(c, "INSERT INTO login_blocks (source, account, failures, blocked_until) VALUES (?, ?, ?, ?)"
                    + " ON CONFLICT (source, account) DO UPDATE SET failures = EXCLUDED.failures,"
                    + " blocked_until = greatest(login_blocks.blocked_until, EXCLUDED.blocked_until)",
                    block.source(), block.account().orElse(""), block.failures(), block.until());
            notifications.directoryChanged(c, new DirectoryChange.BlocksAdded());
            return null;
        });
    }

    @Override
    public List<LoginBlock> listBlocks(Instant now) {
        return read("list the login blocks", c -> Pg.list(c, "SELECT source, account, failures, blocked_until FROM login_blocks"
                + " WHERE blocked_until > ? ORDER BY blocked_until, source, account", rs -> new LoginBlock(rs.getString(1),
                        Optional.of(rs.getString(2)).filter(a -> !a.isEmpty()), rs.getInt(3),
                        Pg.instant(rs, 4).orElseThrow()), now));
    }

    @Override
    public int deleteBlocks(Set<String> sources) {
        return write("lift the login blocks of " + sources, c -> {
            int lifted = 0;
            for (String source : sources) lifted += Pg.update(c, "DELETE FROM login_blocks WHERE source = ?", source);
            notifications.directoryChanged(c, new DirectoryChange.BlocksLifted(Optional.of(Set.copyOf(sources))));
            return lifted;
        });
    }

    @Override
    public int deleteAllBlocks() {
        return write("lift every login block", c -> {
            int lifted = Pg.update(c, "DELETE FROM login_blocks");
            notifications.directoryChanged(c, new DirectoryChange.BlocksLifted(Optional.empty()));
            return lifted;
        });
    }

    @Override
    public boolean recordRevocation(CertificateRevocation r) {
        return write("record the revocation of " + r.serial(), c -> {
            boolean added = Pg.update(c, "INSERT INTO certificate_revocations (issuer, serial, revoked_at, reason)"
                    + " VALUES (?, ?, ?, ?) ON CONFLICT (issuer, serial) DO NOTHING",
                    r.issuer(), r.serial(), r.revokedAt(), r.reason()) > 0;
            if (added) notifications.directoryChanged(c, new DirectoryChange.RevocationsAdded());
            return added;
        });
    }

    @Override
    public List<CertificateRevocation> listRevocations() {
        return read("list the revocations", c -> Pg.list(c, "SELECT issuer, serial, revoked_at, reason"
                + " FROM certificate_revocations ORDER BY revoked_at, issuer, serial", rs -> new CertificateRevocation(
                        rs.getString(1), rs.getString(2), Pg.instant(rs, 3).orElseThrow(), rs.getString(4))));
    }

    @Override
    public void watchDirectory(Consumer<DirectoryChange> listener) {
        directoryListeners.add(listener);
    }

    /** On the LISTEN thread: one listener's failure must not keep the change from the others. */
    /**
     * The LISTEN connection is back after it broke: what other nodes changed meanwhile was not
     * heard, so the watched mailboxes and the directory's shared tables are read again once.
     */
    private void reconnected() {
        mailboxes.catchUp();
        directoryChanged(new DirectoryChange.Missed());
    }

    private void directoryChanged(DirectoryChange change) {
        for (Consumer<DirectoryChange> listener : directoryListeners) {
            try {
                listener.accept(change);
            } catch (RuntimeException e) {
                log.warn("a listener of directory changes failed on {}", change, e);
            }
        }
    }

    // ------------------------------------------------------------------ enrollment tokens

    private static final String ENROLL_TOKEN_COLUMNS = "id, account_id, secret_hash, device, kind, created_at, expires_at, used_at";

    @Override
    public EnrollmentToken createEnrollmentToken(long accountId, String id, String secretHash, String device, String kind,
            Instant expires) {
        Instant now = now();
        DirectoryRules.validEnrollmentToken(id, secretHash, device, kind, expires, now);
        Instant expiresAt = expires.truncatedTo(ChronoUnit.MILLIS);
        return write("create enrollment token " + id + " for account " + accountId, c -> {
            requireAccount(c, accountId);
            if (Pg.update(c, "INSERT INTO enroll_tokens (" + ENROLL_TOKEN_COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, NULL)"
                    + " ON CONFLICT (id) DO NOTHING", id, accountId, secretHash, device, kind, now, expiresAt) == 0) {
                throw StoreException.alreadyExists("enrollment token " + id + " exists already");
            }
            return new EnrollmentToken(id, accountId, secretHash, device, kind, now, expiresAt, Optional.empty());
        });
    }

    @Override
    public Optional<EnrollmentToken> findEnrollmentToken(String id) {
        return read("find enrollment token " + id, c -> Pg.one(c,
                "SELECT " + ENROLL_TOKEN_COLUMNS + " FROM enroll_tokens WHERE id = ?", PostgresStore::enrollmentToken, id));
    }

    @Override
    public boolean useEnrollmentToken(String id, Instant now) {
        // One conditional UPDATE decides: a second one waits for the first's row lock, then finds used_at set.
        Instant at = now.truncatedTo(ChronoUnit.MILLIS);
        return write("use enrollment token " + id, c -> Pg.update(c,
                "UPDATE enroll_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?", at, id, at) == 1);
    }

    // ------------------------------------------------------------------ enrollment requests

    private static final String ENROLL_REQUEST_COLUMNS =
            "id, account_id, kind, device, key_type, key_hash, csr, requested_at, state, reason, decided_at";

    @Override
    public EnrollmentRequest createEnrollmentRequest(long accountId, String id, String kind, String device, String keyType,
            String keyHash, byte[] csr) {
        DirectoryRules.validEnrollmentRequest(id, kind, device, keyHash);
        Instant now = now();
        return write("create enrollment request " + id + " for account " + accountId, c -> {
            requireAccount(c, accountId);
            if (Pg.update(c, "INSERT INTO enroll_pending (" + ENROLL_REQUEST_COLUMNS + ")"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL) ON CONFLICT (id) DO NOTHING",
                    id, accountId, kind, device, keyType, keyHash, csr, now, EnrollmentRequest.State.PENDING.sqlName()) == 0) {
                throw StoreException.alreadyExists("enrollment request " + id + " exists already");
            }
            return new EnrollmentRequest(id, accountId, kind, device, keyType, keyHash, csr, now,
                    EnrollmentRequest.State.PENDING, Optional.empty(), Optional.empty());
        });
    }

    @Override
    public Optional<EnrollmentRequest> findEnrollmentRequest(String id) {
        return read("find enrollment request " + id, c -> Pg.one(c,
                "SELECT " + ENROLL_REQUEST_COLUMNS + " FROM enroll_pending WHERE id = ?", PostgresStore::enrollmentRequest, id));
    }

    @Override
    public Optional<EnrollmentRequest> findOpenEnrollmentRequest(long accountId, String kind, String device, String keyHash) {
        return read("find open enrollment request of account " + accountId, c -> Pg.one(c,
                "SELECT " + ENROLL_REQUEST_COLUMNS + " FROM enroll_pending WHERE account_id = ? AND kind = ? AND device = ?"
                        + " AND key_hash = ? AND state <> ? ORDER BY requested_at DESC, seq DESC LIMIT 1",
                PostgresStore::enrollmentRequest, accountId, kind, device, keyHash, EnrollmentRequest.State.ISSUED.sqlName()));
    }

    @Override
    public List<EnrollmentRequest> listEnrollmentRequests(EnrollmentRequest.State state) {
        return read("list enrollment requests", c -> Pg.list(c,
                "SELECT " + ENROLL_REQUEST_COLUMNS + " FROM enroll_pending WHERE state = ? ORDER BY requested_at, seq",
                PostgresStore::enrollmentRequest, state.sqlName()));
    }

    @Override
    public boolean moveEnrollmentRequest(String id, EnrollmentRequest.State from, EnrollmentRequest.State to, String reason,
            Instant now) {
        // One conditional UPDATE decides, as for a token: of an approval and a denial at once, one wins.
        return write("move enrollment request " + id + " to " + to.sqlName(), c -> Pg.update(c,
                "UPDATE enroll_pending SET state = ?, reason = ?, decided_at = ? WHERE id = ? AND state = ?",
                to.sqlName(), reason, now.truncatedTo(ChronoUnit.MILLIS), id, from.sqlName()) == 1);
    }

    // ------------------------------------------------------------------ aliases and routes

    @Override
    public Alias createAlias(EmailAddress address, EmailAddress target) {
        DirectoryRules.validAlias(address, target);
        Instant now = now();
        return directoryWrite("create alias " + address, c -> {
            lockDomain(c, address.domain());
            if (Pg.exists(c, "SELECT 1 FROM aliases WHERE address_key = ?", address.key())) {
                throw StoreException.alreadyExists("alias " + address + " already exists");
            }
            if (Pg.exists(c, "SELECT 1 FROM accounts WHERE address_key = ?", address.key())) {
                throw StoreException.alreadyExists(address + " is an account; an alias cannot share its address");
            }
            Pg.update(c, "INSERT INTO aliases (address_key, local_part, domain, target, created_at) VALUES (?, ?, ?, ?, ?)",
                    address.key(), address.localPart(), address.domain(), target.toString(), now);
            return new Alias(address, target, now);
        });
    }

    @Override
    public List<Alias> listAliases() {
        return read("list aliases", c -> Pg.list(c,
                "SELECT local_part, domain, target, created_at FROM aliases ORDER BY address_key",
                rs -> new Alias(new EmailAddress(rs.getString(1), rs.getString(2)), EmailAddress.of(rs.getString(3)),
                        Pg.instant(rs, 4).orElseThrow())));
    }

    @Override
    public void deleteAlias(EmailAddress address) {
        directoryWrite("delete alias " + address, c -> {
            if (Pg.update(c, "DELETE FROM aliases WHERE address_key = ?", address.key()) == 0) {
                throw StoreException.notFound("alias " + address + " does not exist");
            }
            return null;
        });
    }

    @Override
    public Optional<Account> resolveRecipient(EmailAddress recipient) {
        return snapshotRead("resolve recipient " + recipient, c -> DirectoryRules.resolve(recipient, lookup(c)));
    }

    @Override
    public Optional<Route> route(EmailAddress recipient) {
        long generation = routes.generation();
        Optional<Route> route = snapshotRead("route mail for " + recipient, c -> DirectoryRules.route(recipient, lookup(c)));
        route.ifPresent(r -> routes.put(recipient.key(), r, generation));
        return route;
    }

    @Override
    public Optional<Route> knownRoute(EmailAddress recipient) {
        return routes.get(recipient.key());
    }

    /**
     * The directory's look-ups on one connection, for alias resolution and routes; the caller
     * reads in one snapshot ({@link #snapshotRead}), so a chain is followed in one state of the directory.
     */
    private static DirectoryRules.Lookup lookup(Connection c) {
        return new DirectoryRules.Lookup() {
            @Override
            public Optional<Account> account(String addressKey) throws SQLException {
                return accountByKey(c, addressKey);
            }

            @Override
            public Optional<String> aliasTarget(String addressKey) throws SQLException {
                return Pg.one(c, "SELECT target FROM aliases WHERE address_key = ?", rs -> rs.getString(1), addressKey);
            }

            @Override
            public Optional<Long> inbox(long accountId) throws SQLException {
                return Pg.one(c, "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", rs -> rs.getLong(1),
                        accountId, MailboxNames.INBOX);
            }
        };
    }

    // ------------------------------------------------------------------ rows

    private static Domain domain(ResultSet rs) throws SQLException {
        return new Domain(rs.getString(1), Pg.instant(rs, 2).orElseThrow());
    }

    private static Account account(ResultSet rs) throws SQLException {
        long quota = rs.getLong(5);
        OptionalLong quotaBytes = rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(quota);
        return new Account(rs.getLong(1), new EmailAddress(rs.getString(2), rs.getString(3)), rs.getString(4), quotaBytes,
                Pg.instant(rs, 6).orElseThrow());
    }

    private static AppPassword appPassword(ResultSet rs) throws SQLException {
        return new AppPassword(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                Set.of(rs.getString(5).split(" ")), Pg.instant(rs, 6).orElseThrow(), Optional.ofNullable(rs.getString(7)));
    }

    private static CertificateBinding certificateBinding(ResultSet rs) throws SQLException {
        return new CertificateBinding(rs.getString(1), rs.getLong(2), rs.getString(3), Pg.instant(rs, 4).orElseThrow());
    }

    private static EnrollmentToken enrollmentToken(ResultSet rs) throws SQLException {
        return new EnrollmentToken(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5),
                Pg.instant(rs, 6).orElseThrow(), Pg.instant(rs, 7).orElseThrow(), Pg.instant(rs, 8));
    }

    private static EnrollmentRequest enrollmentRequest(ResultSet rs) throws SQLException {
        return new EnrollmentRequest(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5),
                rs.getString(6), rs.getBytes(7), Pg.instant(rs, 8).orElseThrow(),
                EnrollmentRequest.State.valueOf(rs.getString(9).toUpperCase(Locale.ROOT)), Optional.ofNullable(rs.getString(10)),
                Pg.instant(rs, 11));
    }

    // ------------------------------------------------------------------ auth log

    private static final String AUTH_LOG_COLUMNS = "at, remote, listener, protocol, mechanism, account, result, tls_version,"
            + " certificate, reason";

    @Override
    public void recordAuthAttempts(List<AuthAttempt> attempts) {
        if (attempts.isEmpty()) return;
        OffsetDateTime oldest = utc(Instant.now().minus(AUTH_LOG_MAX_AGE));
        write("record " + attempts.size() + " authentication attempts", c -> {
            try (PreparedStatement insert = c.prepareStatement(
                    "INSERT INTO auth_log (" + AUTH_LOG_COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (AuthAttempt a : attempts) {
                    insert.setObject(1, utc(a.time()));
                    insert.setString(2, a.remote());
                    insert.setString(3, a.listener());
                    insert.setString(4, a.protocol());
                    insert.setString(5, a.mechanism());
                    insert.setString(6, a.account().toLowerCase(Locale.ROOT));
                    insert.setString(7, a.result());
                    insert.setString(8, a.tlsVersion().orElse(null));
                    insert.setString(9, a.certificate().orElse(null));
                    insert.setString(10, a.reason().orElse(null));
                    insert.addBatch();
                }
                insert.executeBatch();
            }
            // The newest AUTH_LOG_MAX_ROWS by id, counted rather than computed from the largest id:
            // identity values have gaps (rolled-back inserts, other nodes' cached ranges).
            try (PreparedStatement trim = c.prepareStatement("DELETE FROM auth_log WHERE at < ? OR id < "
                    + "(SELECT id FROM auth_log ORDER BY id DESC OFFSET ? LIMIT 1)")) {
                trim.setObject(1, oldest);
                trim.setInt(2, AUTH_LOG_MAX_ROWS - 1);
                trim.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public List<AuthAttempt> listAuthAttempts(Optional<String> account, int limit) {
        if (limit < 1) throw StoreException.invalid("the limit must be at least 1, got " + limit);
        String sql = "SELECT " + AUTH_LOG_COLUMNS + " FROM auth_log"
                + (account.isPresent() ? " WHERE account = ?" : "") + " ORDER BY id DESC LIMIT ?";
        Object[] args = account.isPresent() ? new Object[] {account.get().toLowerCase(Locale.ROOT), limit} : new Object[] {limit};
        return read("read the auth log", c -> Pg.list(c, sql, PostgresStore::authAttempt, args));
    }

    private static AuthAttempt authAttempt(ResultSet rs) throws SQLException {
        return new AuthAttempt(Pg.instant(rs, 1).orElseThrow(), rs.getString(2), rs.getString(3),
                rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), Optional.ofNullable(rs.getString(8)),
                Optional.ofNullable(rs.getString(9)), Optional.ofNullable(rs.getString(10)));
    }

    // ------------------------------------------------------------------ plumbing

    // ------------------------------------------------------------------ mailboxes (PgMailboxes)

    @Override
    public Mailbox createMailbox(long accountId, String name, Optional<SpecialUse> specialUse) {
        return mailboxes.createMailbox(accountId, name, specialUse);
    }

    @Override
    public Mailbox renameMailbox(long mailboxId, String newName) {
        return mailboxes.renameMailbox(mailboxId, newName);
    }

    @Override
    public void deleteMailbox(long mailboxId) {
        mailboxes.deleteMailbox(mailboxId);
    }

    @Override
    public List<Mailbox> listMailboxes(long accountId) {
        return mailboxes.listMailboxes(accountId);
    }

    @Override
    public Optional<Mailbox> getMailbox(long accountId, String name) {
        return mailboxes.getMailbox(accountId, name);
    }

    @Override
    public Optional<Mailbox> getMailbox(long mailboxId) {
        return mailboxes.getMailbox(mailboxId);
    }

    @Override
    public void subscribeMailbox(long accountId, String name) {
        mailboxes.subscribeMailbox(accountId, name);
    }

    @Override
    public void unsubscribeMailbox(long accountId, String name) {
        mailboxes.unsubscribeMailbox(accountId, name);
    }

    @Override
    public List<String> listSubscriptions(long accountId) {
        return mailboxes.listSubscriptions(accountId);
    }

    @Override
    public MailboxStatus status(long mailboxId) {
        return mailboxes.status(mailboxId);
    }

    @Override
    public AppendResult append(long mailboxId, InputStream content, Set<String> flags, Instant internalDate) {
        return mailboxes.append(mailboxId, content, flags, internalDate);
    }

    @Override
    public List<AppendResult> appendAll(long mailboxId, List<NewMessage> messages) {
        return mailboxes.appendAll(mailboxId, messages);
    }

    @Override
    public List<AppendResult> deliver(List<Long> mailboxIds, InputStream content, Set<String> flags, Instant internalDate) {
        return mailboxes.deliver(mailboxIds, content, flags, internalDate);
    }

    @Override
    public List<MessageMeta> listMessages(long mailboxId, UidRange range) {
        return mailboxes.listMessages(mailboxId, range);
    }

    @Override
    public InputStream openMessage(long mailboxId, long uid) {
        return mailboxes.openMessage(mailboxId, uid);
    }

    @Override
    public Optional<MessageStructure> structure(long mailboxId, long uid) {
        return mailboxes.structure(mailboxId, uid);
    }

    @Override
    public Map<Long, MessageStructure> structures(long mailboxId, SortedSet<Long> uids) {
        return mailboxes.structures(mailboxId, uids);
    }

    @Override
    public TextMatches searchText(long mailboxId, boolean bodyOnly, String needle) {
        return mailboxes.searchText(mailboxId, bodyOnly, needle);
    }

    @Override
    public FlagUpdate storeFlags(long mailboxId, Collection<Long> uids, FlagOperation operation, Set<String> flags,
            OptionalLong unchangedSince) {
        return mailboxes.storeFlags(mailboxId, uids, operation, flags, unchangedSince);
    }

    @Override
    public ExpungeResult expunge(long mailboxId, Collection<Long> uids) {
        return mailboxes.expunge(mailboxId, uids);
    }

    @Override
    public ExpungeResult expungeDeleted(long mailboxId, Collection<Long> uids) {
        return mailboxes.expungeDeleted(mailboxId, uids);
    }

    @Override
    public SortedSet<Long> expungedSince(long mailboxId, long modSeq) {
        return mailboxes.expungedSince(mailboxId, modSeq);
    }

    @Override
    public CopyResult copy(long fromMailboxId, Collection<Long> uids, long toMailboxId) {
        return mailboxes.copy(fromMailboxId, uids, toMailboxId);
    }

    @Override
    public CopyResult move(long fromMailboxId, Collection<Long> uids, long toMailboxId) {
        return mailboxes.move(fromMailboxId, uids, toMailboxId);
    }

    @Override
    public long claimRecent(long mailboxId, long upToUid) {
        return mailboxes.claimRecent(mailboxId, upToUid);
    }

    @Override
    public long firstRecentUid(long mailboxId) {
        return mailboxes.firstRecentUid(mailboxId);
    }

    @Override
    public Quota quota(long accountId) {
        return mailboxes.quota(accountId);
    }

    @Override
    public Optional<byte[]> accessKey(long mailboxId) {
        return mailboxes.accessKey(mailboxId);
    }

    @Override
    public byte[] ensureAccessKey(long mailboxId) {
        return mailboxes.ensureAccessKey(mailboxId);
    }

    @Override
    public void resetAccessKey(long mailboxId) {
        mailboxes.resetAccessKey(mailboxId);
    }

    @Override
    public void resetAccessKeys(long accountId) {
        mailboxes.resetAccessKeys(accountId);
    }

    @Override
    public EventSubscription subscribe(long mailboxId, Consumer<StoreEvent> listener) {
        return mailboxes.subscribe(mailboxId, listener);
    }

    @Override
    public EventSubscription subscribeAccount(long accountId, Consumer<AccountEvent> listener) {
        return mailboxes.subscribeAccount(accountId, listener);
    }

    @Override
    public long publishedModSeq(long mailboxId) {
        return mailboxes.publishedModSeq(mailboxId);
    }

    // ------------------------------------------------------------------ outbound queue (PgQueue)

    @Override
    public QueuedMessage enqueue(NewQueuedMessage message, InputStream content) {
        return queue.enqueue(message, content);
    }

    @Override
    public List<DueMessage> lease(Instant now, Instant leaseUntil, int maxRecipients) {
        return queue.lease(now, leaseUntil, maxRecipients);
    }

    @Override
    public int releaseLeases() {
        return queue.releaseLeases();
    }

    @Override
    public int renewLeases(Collection<Long> recipientIds, Instant leaseUntil) {
        return queue.renewLeases(recipientIds, leaseUntil);
    }

    @Override
    public void record(Collection<AttemptResult> results) {
        queue.record(results);
    }

    @Override
    public void markReported(Collection<Long> recipientIds, Report report) {
        queue.markReported(recipientIds, report);
    }

    @Override
    public List<QueuedMessage> needingNotification(Instant delayCutoff, int limit) {
        return queue.needingNotification(delayCutoff, limit);
    }

    @Override
    public InputStream openContent(long messageId) {
        return queue.openContent(messageId);
    }

    @Override
    public Optional<Instant> nextAttempt() {
        return queue.nextAttempt();
    }

    @Override
    public List<QueuedMessage> list(int limit) {
        return queue.list(limit);
    }

    @Override
    public Optional<QueuedMessage> get(long messageId) {
        return queue.get(messageId);
    }

    @Override
    public boolean hold(long messageId) {
        return queue.hold(messageId);
    }

    @Override
    public boolean release(long messageId) {
        return queue.release(messageId);
    }

    @Override
    public boolean retryNow(long messageId) {
        return queue.retryNow(messageId);
    }

    @Override
    public boolean delete(long messageId) {
        return queue.delete(messageId);
    }

    @Override
    public int purgeFinished() {
        return queue.purgeFinished();
    }

    @Override
    public void countTlsSession(LocalDate day, String policyDomain, String policy, String result) {
        queue.countTlsSession(day, policyDomain, policy, result);
    }

    @Override
    public List<TlsSessionCount> tlsSessions() {
        return queue.tlsSessions();
    }

    @Override
    public List<TlsSessionCount> drainTlsSessions(LocalDate day, String policyDomain) {
        return queue.drainTlsSessions(day, policyDomain);
    }

    /** Closes the pool: calls under way finish, later ones fail as {@code UNAVAILABLE}. */
    @Override
    public void close() {
        recheck.shutdownNow();
        if (notifications != null) notifications.close();
        pool.close();
        mailboxes.close();
        bodies.close();
    }

    private interface Work<T> extends Pg.Work<T> {}

    /** One transaction, committed before this returns; rolled back as a whole if anything fails. */
    private <T> T write(String doing, Work<T> work) {
        return Pg.transaction(pool, doing, work, Connection::commit);
    }

    /**
     * A write that may change what a route depends on: it reads the directory version before it
     * commits, and a new value retires this node's remembered routes once the write has committed.
     */
    private <T> T directoryWrite(String doing, Work<T> work) {
        long[] version = new long[1];
        T result = write(doing, c -> {
            T r = work.run(c);
            version[0] = directoryVersion(c);
            return r;
        });
        routes.versionSeen(version[0]);
        return result;
    }

    /** Several statements that must see one committed state, as the embedded store's reads do. */
    private <T> T snapshotRead(String doing, Work<T> work) {
        return Pg.snapshot(pool, doing, work);
    }

    private <T> T read(String doing, Work<T> work) {
        return Pg.read(pool, doing, work);
    }

    /** Times are kept to the millisecond, as the embedded store keeps them. */
    private static Instant now() {
        return Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }

    private static OffsetDateTime utc(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }
}
