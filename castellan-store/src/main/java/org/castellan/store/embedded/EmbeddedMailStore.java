package org.castellan.store.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Account;
import org.castellan.store.AccountEvent;
import org.castellan.store.Alias;
import org.castellan.store.AppPassword;
import org.castellan.store.CertificateBinding;
import org.castellan.store.CertificateRevocation;
import org.castellan.store.LoginBlock;
import org.castellan.store.EnrollmentRequest;
import org.castellan.store.EnrollmentToken;
import org.castellan.store.AuthAttempt;
import org.castellan.store.AppendResult;
import org.castellan.store.CopyResult;
import org.castellan.store.Domain;
import org.castellan.store.EventSubscription;
import org.castellan.store.ExpungeResult;
import org.castellan.store.FlagOperation;
import org.castellan.store.FlagUpdate;
import org.castellan.store.Flags;
import org.castellan.store.MailStore;
import org.castellan.store.Mailbox;
import org.castellan.store.MailboxNames;
import org.castellan.store.MailboxStatus;
import org.castellan.store.MessageMeta;
import org.castellan.store.NewMessage;
import org.castellan.store.Quota;
import org.castellan.store.Route;
import org.castellan.store.SpecialUse;
import org.castellan.store.StoreEvent;
import org.castellan.store.StoreException;
import org.castellan.store.UidRange;
import org.castellan.store.queue.AttemptResult;
import org.castellan.store.queue.DueMessage;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.TlsSessionCount;
import org.castellan.store.embedded.internal.BlobRefs;
import org.castellan.store.embedded.internal.BlobStore;
import org.castellan.store.embedded.internal.EventDispatcher;
import org.castellan.store.embedded.internal.GroupCommitWriter;
import org.castellan.store.embedded.internal.QueueTables;
import org.castellan.store.embedded.internal.ReadPool;
import org.castellan.store.embedded.internal.Sql;
import org.castellan.store.embedded.internal.TextIndexer;
import org.castellan.store.TextMatches;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.imap.SearchText;
import org.castellan.store.embedded.internal.SqlErrors;
import org.castellan.store.embedded.internal.Tx;
import org.castellan.store.internal.DirectoryRules;
import org.castellan.store.internal.MailboxRules;
import org.castellan.store.internal.RouteCache;
import org.castellan.store.embedded.internal.TxWork;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.sqlite.SQLiteConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The default {@link MailStore}: SQLite in WAL mode ({@code directory/mail.db}) for metadata and
 * a content-addressed blob directory ({@code directory/blobs/}) for message bodies. No server to
 * install.
 *
 * <p><b>Writes</b> go through one writer thread that commits many callers' requests in one
 * transaction (group commit); a write returns after its body file and directory are fsynced and
 * the transaction is committed with {@code synchronous=FULL}. <b>Reads</b> use separate
 * read-only connections and never wait for the writer.
 *
 * <p>Several processes may open the same directory (the admin command line while the server
 * runs): SQLite serializes their writes, and a write lock held longer than
 * {@link Options#busyTimeout()} fails the request as {@code UNAVAILABLE}. Change notifications
 * only cover changes made through this instance.
 *
 * <p>It is also the {@link OutboundQueue} (see {@link QueueTables}), in the same database and blob
 * directory: a body delivered to mailboxes and queued for other domains is stored once.
 *
 * <p>Security: the directory is created 0700 and the database 0600 (it holds credential
 * secrets); body files are 0600. Nothing here logs credentials or message content.
 */
public final class EmbeddedMailStore implements MailStore {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedMailStore.class);

    /**
     * Tuning of an embedded store.
     *
     * @param busyTimeout how long a write waits for another process's write lock before failing as
     *     UNAVAILABLE
     * @param readConnections how many reads may run at once
     * @param maxBatch how many write requests may share one transaction
     * @param textIndex whether a background thread keeps the full-text index up to date; without
     *     it, SEARCH TEXT and BODY scan every message (the answers are the same)
     */
    public record Options(Duration busyTimeout, int readConnections, int maxBatch, boolean textIndex) {

        /** The admin command line holds the lock for short transactions only; 10 s is ample. */
        public static final Duration DEFAULT_BUSY_TIMEOUT = Duration.ofSeconds(10);
        /** Enough for the IMAP sessions of a small server; more only adds idle file handles. */
        public static final int DEFAULT_READ_CONNECTIONS = 4;
        /** Bounds one transaction's size and so the latency of its first request. */
        public static final int DEFAULT_MAX_BATCH = 256;

        public Options {
            if (busyTimeout.isNegative() || busyTimeout.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("busyTimeout must be between 0 and " + Integer.MAX_VALUE + " ms");
            }
            if (readConnections < 1) throw new IllegalArgumentException("readConnections must be at least 1");
            if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be at least 1");
        }

        /** Options with the text index on. */
        public Options(Duration busyTimeout, int readConnections, int maxBatch) {
            this(busyTimeout, readConnections, maxBatch, true);
        }

        public static Options defaults() {
            return new Options(DEFAULT_BUSY_TIMEOUT, DEFAULT_READ_CONNECTIONS, DEFAULT_MAX_BATCH, true);
        }

        /** These options with the text index on or off. */
        public Options withTextIndex(boolean on) {
            return new Options(busyTimeout, readConnections, maxBatch, on);
        }
    }

    static final String DATABASE_FILE = "mail.db";
    static final String BLOB_DIRECTORY = "blobs";
    /** Bodies up to this size live in the database (see {@link BlobRefs#INLINE_MAX}). */
    static final int INLINE_MAX = BlobRefs.INLINE_MAX;
    private static final String MIGRATIONS = "classpath:db/migration/embedded";

    /** RFC 9051 §2.3.1.1: UIDs and UIDVALIDITY are 32-bit unsigned numbers. */
    static final long MAX_UID = 0xFFFF_FFFFL;
    static final long MAX_UID_VALIDITY = 0xFFFF_FFFFL;

    private final Path directory;
    private final BlobStore blobs;
    private final Connection writeConnection;
    private final GroupCommitWriter writer;
    private final ReadPool readers;
    private final EventDispatcher events;
    private final TextIndexer indexer;
    private final QueueTables queue;
    private final RouteCache routes = new RouteCache();
    private final ScheduledExecutorService directoryRecheck;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedMailStore(Path directory, BlobStore blobs, Connection writeConnection, List<Connection> readConnections,
            Options options) {
        this.directory = directory;
        this.blobs = blobs;
        this.writeConnection = writeConnection;
        this.events = new EventDispatcher("castellan-store-events");
        this.writer = new GroupCommitWriter(writeConnection, blobs, events, options.maxBatch(), "castellan-store-writer");
        this.readers = new ReadPool(readConnections);
        this.queue = new QueueTables(writer, readers, blobs, closed::get);
        this.indexer = new TextIndexer(readers, writer, this::bodyBuffer, "castellan-store-indexer", options.textIndex());
        indexer.wake(); // messages stored before this open (or before V5) are indexed in the background
        this.directoryRecheck = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "castellan-store-directory");
            t.setDaemon(true);
            return t;
        });
        long every = DIRECTORY_RECHECK.toMillis();
        directoryRecheck.scheduleWithFixedDelay(this::recheckDirectory, 0, every, TimeUnit.MILLISECONDS);
    }

    /** Notices changes other processes (the command line) made to domains, accounts, aliases or mailboxes. */
    private void recheckDirectory() {
        if (closed.get()) return;
        try {
            routes.versionSeen(readers.read("read the directory version", EmbeddedMailStore::directoryVersion));
        } catch (StoreException e) {
            // Closing, or the database is briefly unreadable: the next recheck tries again, and
            // until one succeeds the last generation stands.
            if (!closed.get()) log.warn("cannot read the directory version: {}", e.toString());
        } catch (RuntimeException bug) {
            // The boundary of a scheduled task: anything escaping would cancel every later recheck
            // without a word (ScheduledExecutorService), so a bug is logged with its stack instead.
            log.error("cannot read the directory version", bug);
        }
    }

    private static long directoryVersion(Connection c) throws SQLException {
        return Sql.one(c, "SELECT version FROM directory_version WHERE id = 1", rs -> rs.getLong(1))
                .orElseThrow(() -> new SQLException("directory_version has no row"));
    }

    /** Opens (creating if needed) the store in {@code directory} with default options. */
    public static EmbeddedMailStore open(Path directory) {
        return open(directory, Options.defaults());
    }

    /**
     * Opens (creating if needed) the store in {@code directory} and brings its schema up to date.
     *
     * @throws StoreException {@code UNAVAILABLE} naming the file and the problem when the
     *     directory cannot be created, the database cannot be opened or migrated
     */
    public static EmbeddedMailStore open(Path directory, Options options) {
        Path database = directory.resolve(DATABASE_FILE);
        List<Connection> opened = new ArrayList<>();
        try {
            if (!Files.isDirectory(directory)) {
                Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            // Created 0600 before SQLite sees it: it holds credential secrets, and SQLite gives
            // its -wal and -shm files the database file's permissions.
            try {
                Files.createFile(database, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (FileAlreadyExistsException existing) {
                // an existing store
            }
            BlobStore blobs = new BlobStore(directory.resolve(BLOB_DIRECTORY));
            String url = "jdbc:sqlite:" + database.toAbsolutePath();
            int busyMillis = (int) options.busyTimeout().toMillis();

            SQLiteConfig write = new SQLiteConfig();
            write.setJournalMode(SQLiteConfig.JournalMode.WAL);
            write.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
            write.enforceForeignKeys(true);
            write.setBusyTimeout(busyMillis);
            Connection writeConnection = write.createConnection(url);
            opened.add(writeConnection);
            migrate(url, busyMillis);

            SQLiteConfig read = new SQLiteConfig();
            read.setReadOnly(true);
            read.setBusyTimeout(busyMillis);
            List<Connection> readConnections = new ArrayList<>();
            for (int i = 0; i < options.readConnections(); i++) {
                Connection c = read.createConnection(url);
                opened.add(c);
                readConnections.add(c);
            }
            return new EmbeddedMailStore(directory, blobs, writeConnection, readConnections, options);
        } catch (IOException e) {
            closeAll(opened);
            throw SqlErrors.map(e, "open the mail store in " + directory);
        } catch (SQLException e) {
            closeAll(opened);
            throw SqlErrors.map(e, "open the mail store database " + database);
        } catch (FlywayException e) {
            closeAll(opened);
            throw StoreException.unavailable("cannot bring the schema of " + database + " up to date: " + e.getMessage()
                    + " (is the file from a newer Castellan, or damaged?)", e);
        }
    }

    private static void migrate(String url, int busyMillis) {
        Flyway.configure(EmbeddedMailStore.class.getClassLoader())
                .dataSource(url + "?busy_timeout=" + busyMillis, "", "")
                .locations(MIGRATIONS)
                .loggers("slf4j")
                .load()
                .migrate();
    }

    private static void closeAll(List<Connection> connections) {
        for (Connection c : connections) {
            try {
                Sql.close(c);
            } catch (SQLException ignored) {
                // already failing; the first error is the one to report
            }
        }
    }

    /** The data directory this store lives in. */
    public Path directory() {
        return directory;
    }

    // ------------------------------------------------------------------ domains

    @Override
    public Domain createDomain(String name) {
        String domain = DirectoryRules.validDomain(name);
        Instant now = now();
        return write("create domain " + domain, tx -> {
            Connection c = tx.connection();
            if (Sql.exists(c, "SELECT 1 FROM domains WHERE name = ?", domain)) {
                throw StoreException.alreadyExists("domain " + domain + " already exists");
            }
            Sql.update(c, "INSERT INTO domains (name, created_at) VALUES (?, ?)", domain, now.toEpochMilli());
            return new Domain(domain, now);
        });
    }

    @Override
    public List<Domain> listDomains() {
        return read("list domains", c -> Sql.list(c, "SELECT name, created_at FROM domains ORDER BY name", EmbeddedMailStore::domain));
    }

    @Override
    public Optional<Domain> getDomain(String name) {
        String domain = name.toLowerCase(Locale.ROOT);
        return read("look up domain " + domain,
                c -> Sql.one(c, "SELECT name, created_at FROM domains WHERE name = ?", EmbeddedMailStore::domain, domain));
    }

    @Override
    public void deleteDomain(String name) {
        String domain = name.toLowerCase(Locale.ROOT);
        write("delete domain " + domain, tx -> {
            Connection c = tx.connection();
            requireDomain(c, domain);
            long accounts = Sql.count(c, "SELECT count(*) FROM accounts WHERE domain = ?", domain);
            long aliases = Sql.count(c, "SELECT count(*) FROM aliases WHERE domain = ?", domain);
            if (accounts > 0 || aliases > 0) {
                throw StoreException.invalid("domain " + domain + " still has " + accounts + " account(s) and " + aliases
                        + " alias(es); delete them first");
            }
            Sql.update(c, "DELETE FROM domains WHERE name = ?", domain);
            return null;
        });
    }

    // ------------------------------------------------------------------ accounts

    private static final String ACCOUNT_COLUMNS = "id, local_part, domain, credential, quota_bytes, created_at";

    @Override
    public Account createAccount(EmailAddress address, String credential, OptionalLong quotaBytes) {
        DirectoryRules.validCredential(credential);
        DirectoryRules.validQuota(quotaBytes);
        Instant now = now();
        return write("create account " + address, tx -> {
            Connection c = tx.connection();
            requireDomain(c, address.domain());
            if (Sql.exists(c, "SELECT 1 FROM accounts WHERE address_key = ?", address.key())) {
                throw StoreException.alreadyExists("account " + address + " already exists");
            }
            if (Sql.exists(c, "SELECT 1 FROM aliases WHERE address_key = ?", address.key())) {
                throw StoreException.alreadyExists(address + " is an alias; delete the alias before creating an account");
            }
            long id = nextId(c, "account_id");
            Sql.update(c, "INSERT INTO accounts (id, address_key, local_part, domain, credential, quota_bytes, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?)", id, address.key(), address.localPart(), address.domain(), credential,
                    quotaBytes.isPresent() ? quotaBytes.getAsLong() : null, now.toEpochMilli());
            insertMailbox(c, id, MailboxNames.INBOX, null, now);
            Sql.update(c, "INSERT INTO subscriptions (account_id, name) VALUES (?, ?)", id, MailboxNames.INBOX);
            for (DefaultMailbox m : DEFAULT_MAILBOXES) {
                insertMailbox(c, id, m.name(), m.specialUse(), now);
                Sql.update(c, "INSERT INTO subscriptions (account_id, name) VALUES (?, ?)", id, m.name());
            }
            return new Account(id, address, credential, quotaBytes, now);
        });
    }

    @Override
    public Optional<Account> getAccount(EmailAddress address) {
        return read("look up account " + address, c -> Sql.one(c,
                "SELECT " + ACCOUNT_COLUMNS + " FROM accounts WHERE address_key = ?", EmbeddedMailStore::account, address.key()));
    }

    @Override
    public Optional<Account> getAccount(long accountId) {
        return read("look up account " + accountId, c -> Sql.one(c,
                "SELECT " + ACCOUNT_COLUMNS + " FROM accounts WHERE id = ?", EmbeddedMailStore::account, accountId));
    }

    @Override
    public List<Account> listAccounts() {
        return read("list accounts", c -> Sql.list(c,
                "SELECT " + ACCOUNT_COLUMNS + " FROM accounts ORDER BY address_key", EmbeddedMailStore::account));
    }

    @Override
    public List<Account> listAccounts(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        return read("list accounts of " + d, c -> Sql.list(c,
                "SELECT " + ACCOUNT_COLUMNS + " FROM accounts WHERE domain = ? ORDER BY address_key", EmbeddedMailStore::account, d));
    }

    @Override
    public void setCredential(long accountId, String credential) {
        DirectoryRules.validCredential(credential);
        write("set the credential of account " + accountId, tx -> {
            if (Sql.update(tx.connection(), "UPDATE accounts SET credential = ? WHERE id = ?", credential, accountId) == 0) {
                throw noAccount(accountId);
            }
            return null;
        });
    }

    @Override
    public boolean replaceCredential(long accountId, String expected, String credential) {
        DirectoryRules.validCredential(credential);
        return write("replace the credential of account " + accountId, tx -> Sql.update(tx.connection(),
                "UPDATE accounts SET credential = ? WHERE id = ? AND credential = ?", credential, accountId, expected) == 1);
    }

    @Override
    public void setQuota(long accountId, OptionalLong quotaBytes) {
        DirectoryRules.validQuota(quotaBytes);
        write("set the quota of account " + accountId, tx -> {
            if (Sql.update(tx.connection(), "UPDATE accounts SET quota_bytes = ? WHERE id = ?",
                    quotaBytes.isPresent() ? quotaBytes.getAsLong() : null, accountId) == 0) {
                throw noAccount(accountId);
            }
            return null;
        });
    }

    @Override
    public Optional<String> placement(long accountId) {
        // Optional.of(Optional.empty()) is an account without a placement; empty is no account.
        return read("look up the placement of account " + accountId, c -> Sql.one(c,
                "SELECT mailbox_node FROM accounts WHERE id = ?", r -> Optional.ofNullable(r.getString(1)), accountId))
                .orElseThrow(() -> StoreException.notFound("account " + accountId));
    }

    @Override
    public void setPlacement(long accountId, Optional<String> node) {
        DirectoryRules.validNodeName(node);
        write("place account " + accountId, tx -> {
            if (Sql.update(tx.connection(), "UPDATE accounts SET mailbox_node = ? WHERE id = ?",
                    node.orElse(null), accountId) == 0) {
                throw noAccount(accountId);
            }
            return null;
        });
    }

    @Override
    public void deleteAccount(long accountId) {
        write("delete account " + accountId, tx -> {
            Connection c = tx.connection();
            requireAccount(c, accountId);
            for (MailboxRow m : Sql.list(c, "SELECT " + MAILBOX_ROW + " FROM mailboxes WHERE account_id = ?",
                    EmbeddedMailStore::mailboxRow, accountId)) {
                deleteMailboxRows(tx, m);
            }
            Sql.update(c, "DELETE FROM subscriptions WHERE account_id = ?", accountId);
            Sql.update(c, "DELETE FROM app_passwords WHERE account_id = ?", accountId);
            Sql.update(c, "DELETE FROM certificate_bindings WHERE account_id = ?", accountId);
            Sql.update(c, "DELETE FROM enroll_tokens WHERE account_id = ?", accountId);
            Sql.update(c, "DELETE FROM enroll_pending WHERE account_id = ?", accountId);
            Sql.update(c, "DELETE FROM accounts WHERE id = ?", accountId);
            return null;
        });
    }

    // ------------------------------------------------------------------ app passwords

    private static final String APP_PASSWORD_COLUMNS = "id, account_id, label, credential, scope, created_at, selector";

    @Override
    public AppPassword createAppPassword(long accountId, String label, String credential, Optional<String> selector,
            Set<String> scope) {
        DirectoryRules.validAppPassword(label, credential, selector, scope);
        Instant now = now();
        return write("create an app password for account " + accountId, tx -> {
            Connection c = tx.connection();
            requireAccount(c, accountId);
            if (Sql.count(c, "SELECT COUNT(*) FROM app_passwords WHERE account_id = ?", accountId) >= MAX_APP_PASSWORDS) {
                throw DirectoryRules.tooManyAppPasswords(accountId);
            }
            if (selector.isPresent() && Sql.count(c, "SELECT COUNT(*) FROM app_passwords WHERE account_id = ? AND selector = ?",
                    accountId, selector.get()) > 0) {
                throw DirectoryRules.selectorTaken(accountId);
            }
            Sql.update(c, "INSERT INTO app_passwords (account_id, label, credential, scope, created_at, selector)"
                            + " VALUES (?, ?, ?, ?, ?, ?)",
                    accountId, label, credential, String.join(" ", new TreeSet<>(scope)), now.toEpochMilli(),
                    selector.orElse(null));
            return new AppPassword(Sql.lastId(c), accountId, label, credential, scope, now, selector);
        });
    }

    @Override
    public List<AppPassword> listAppPasswords(long accountId) {
        return read("list the app passwords of account " + accountId, c -> {
            requireAccount(c, accountId);
            return Sql.list(c, "SELECT " + APP_PASSWORD_COLUMNS + " FROM app_passwords WHERE account_id = ? ORDER BY id",
                    EmbeddedMailStore::appPassword, accountId);
        });
    }

    @Override
    public void revokeAppPassword(long accountId, long appPasswordId) {
        write("revoke app password " + appPasswordId + " of account " + accountId, tx -> {
            if (Sql.update(tx.connection(), "DELETE FROM app_passwords WHERE id = ? AND account_id = ?",
                    appPasswordId, accountId) == 0) {
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
        return write("bind certificate " + fingerprint + " to account " + accountId, tx -> {
            Connection c = tx.connection();
            requireAccount(c, accountId);
            Optional<Long> owner = Sql.one(c, "SELECT account_id FROM certificate_bindings WHERE fingerprint = ?",
                    rs -> rs.getLong(1), fingerprint);
            if (owner.isPresent()) {
                throw StoreException.alreadyExists("certificate " + fingerprint + " is already bound to account "
                        + owner.get() + "; unbind it first");
            }
            Sql.update(c, "INSERT INTO certificate_bindings (" + BINDING_COLUMNS + ") VALUES (?, ?, ?, ?)",
                    fingerprint, accountId, label, now.toEpochMilli());
            return new CertificateBinding(fingerprint, accountId, label, now);
        });
    }

    @Override
    public Optional<CertificateBinding> findCertificateBinding(String fingerprint) {
        if (!CertificateBinding.isFingerprint(fingerprint)) return Optional.empty();
        return read("find the binding of certificate " + fingerprint, c -> Sql.one(c,
                "SELECT " + BINDING_COLUMNS + " FROM certificate_bindings WHERE fingerprint = ?",
                EmbeddedMailStore::certificateBinding, fingerprint));
    }

    @Override
    public List<CertificateBinding> listCertificateBindings(long accountId) {
        return read("list the certificates bound to account " + accountId, c -> {
            requireAccount(c, accountId);
            return Sql.list(c, "SELECT " + BINDING_COLUMNS + " FROM certificate_bindings WHERE account_id = ?"
                    + " ORDER BY created_at, fingerprint", EmbeddedMailStore::certificateBinding, accountId);
        });
    }

    @Override
    public List<CertificateBinding> listCertificateBindings() {
        return read("list the certificate bindings", c -> Sql.list(c, "SELECT " + BINDING_COLUMNS
                + " FROM certificate_bindings ORDER BY created_at, fingerprint", EmbeddedMailStore::certificateBinding));
    }

    @Override
    public void unbindCertificate(String fingerprint) {
        write("unbind certificate " + fingerprint, tx -> {
            if (Sql.update(tx.connection(), "DELETE FROM certificate_bindings WHERE fingerprint = ?", fingerprint) == 0) {
                throw StoreException.notFound("certificate " + fingerprint + " is not bound to any account");
            }
            return null;
        });
    }

    // ------------------------------------------------------------------ blocks and revocations

    @Override
    public void putBlock(LoginBlock block) {
        write("keep a login block of " + block.source(), tx -> {
            Sql.update(tx.connection(), "DELETE FROM login_blocks WHERE blocked_until <= ?", now().toEpochMilli());
            Sql.update(tx.connection(), "INSERT INTO login_blocks (source, account, failures, blocked_until) VALUES (?, ?, ?, ?)"
                    + " ON CONFLICT (source, account) DO UPDATE SET failures = excluded.failures,"
                    + " blocked_until = max(blocked_until, excluded.blocked_until)",
                    block.source(), block.account().orElse(""), block.failures(), block.until().toEpochMilli());
            return null;
        });
    }

    @Override
    public List<LoginBlock> listBlocks(Instant now) {
        return read("list the login blocks", c -> Sql.list(c, "SELECT source, account, failures, blocked_until FROM login_blocks"
                + " WHERE blocked_until > ? ORDER BY blocked_until, source, account", rs -> new LoginBlock(rs.getString(1),
                        Optional.of(rs.getString(2)).filter(a -> !a.isEmpty()), rs.getInt(3),
                        Instant.ofEpochMilli(rs.getLong(4))), now.toEpochMilli()));
    }

    @Override
    public int deleteBlocks(Set<String> sources) {
        return write("lift the login blocks of " + sources, tx -> {
            int lifted = 0;
            for (String source : sources) {
                lifted += Sql.update(tx.connection(), "DELETE FROM login_blocks WHERE source = ?", source);
            }
            return lifted;
        });
    }

    @Override
    public int deleteAllBlocks() {
        return write("lift every login block", tx -> Sql.update(tx.connection(), "DELETE FROM login_blocks"));
    }

    @Override
    public boolean recordRevocation(CertificateRevocation r) {
        return write("record the revocation of " + r.serial(), tx -> Sql.update(tx.connection(),
                "INSERT INTO certificate_revocations (issuer, serial, revoked_at, reason) VALUES (?, ?, ?, ?)"
                        + " ON CONFLICT (issuer, serial) DO NOTHING",
                r.issuer(), r.serial(), r.revokedAt().toEpochMilli(), r.reason()) > 0);
    }

    @Override
    public List<CertificateRevocation> listRevocations() {
        return read("list the revocations", c -> Sql.list(c, "SELECT issuer, serial, revoked_at, reason"
                + " FROM certificate_revocations ORDER BY revoked_at, issuer, serial", rs -> new CertificateRevocation(
                        rs.getString(1), rs.getString(2), Instant.ofEpochMilli(rs.getLong(3)), rs.getString(4))));
    }

    // ------------------------------------------------------------------ enrollment tokens

    private static final String ENROLL_TOKEN_COLUMNS = "id, account_id, secret_hash, device, kind, created_at, expires_at, used_at";

    @Override
    public EnrollmentToken createEnrollmentToken(long accountId, String id, String secretHash, String device, String kind,
            Instant expires) {
        Instant now = now();
        DirectoryRules.validEnrollmentToken(id, secretHash, device, kind, expires, now);
        return write("create enrollment token " + id + " for account " + accountId, tx -> {
            Connection c = tx.connection();
            requireAccount(c, accountId);
            if (Sql.count(c, "SELECT COUNT(*) FROM enroll_tokens WHERE id = ?", id) > 0) {
                throw StoreException.alreadyExists("enrollment token " + id + " exists already");
            }
            Sql.update(c, "INSERT INTO enroll_tokens (" + ENROLL_TOKEN_COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                    id, accountId, secretHash, device, kind, now.toEpochMilli(), expires.toEpochMilli());
            return new EnrollmentToken(id, accountId, secretHash, device, kind, now, Instant.ofEpochMilli(expires.toEpochMilli()),
                    Optional.empty());
        });
    }

    @Override
    public Optional<EnrollmentToken> findEnrollmentToken(String id) {
        return read("find enrollment token " + id, c -> Sql.one(c,
                "SELECT " + ENROLL_TOKEN_COLUMNS + " FROM enroll_tokens WHERE id = ?", EmbeddedMailStore::enrollmentToken, id));
    }

    @Override
    public boolean useEnrollmentToken(String id, Instant now) {
        // One UPDATE decides: the single writer runs it once, so of two requests with the same token one wins.
        return write("use enrollment token " + id, tx -> Sql.update(tx.connection(),
                "UPDATE enroll_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?",
                now.toEpochMilli(), id, now.toEpochMilli()) == 1);
    }

    private static EnrollmentToken enrollmentToken(ResultSet rs) throws SQLException {
        long used = rs.getLong(8);
        Optional<Instant> usedAt = rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(used));
        return new EnrollmentToken(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5),
                Instant.ofEpochMilli(rs.getLong(6)), Instant.ofEpochMilli(rs.getLong(7)), usedAt);
    }

    // ------------------------------------------------------------------ enrollment requests

    private static final String ENROLL_REQUEST_COLUMNS =
            "id, account_id, kind, device, key_type, key_hash, csr, requested_at, state, reason, decided_at";

    @Override
    public EnrollmentRequest createEnrollmentRequest(long accountId, String id, String kind, String device, String keyType,
            String keyHash, byte[] csr) {
        DirectoryRules.validEnrollmentRequest(id, kind, device, keyHash);
        Instant now = Instant.ofEpochMilli(now().toEpochMilli());
        return write("create enrollment request " + id + " for account " + accountId, tx -> {
            Connection c = tx.connection();
            requireAccount(c, accountId);
            if (Sql.count(c, "SELECT COUNT(*) FROM enroll_pending WHERE id = ?", id) > 0) {
                throw StoreException.alreadyExists("enrollment request " + id + " exists already");
            }
            Sql.update(c, "INSERT INTO enroll_pending (" + ENROLL_REQUEST_COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                    id, accountId, kind, device, keyType, keyHash, csr, now.toEpochMilli(), EnrollmentRequest.State.PENDING.sqlName());
            return new EnrollmentRequest(id, accountId, kind, device, keyType, keyHash, csr, now,
                    EnrollmentRequest.State.PENDING, Optional.empty(), Optional.empty());
        });
    }

    @Override
    public Optional<EnrollmentRequest> findEnrollmentRequest(String id) {
        return read("find enrollment request " + id, c -> Sql.one(c,
                "SELECT " + ENROLL_REQUEST_COLUMNS + " FROM enroll_pending WHERE id = ?", EmbeddedMailStore::enrollmentRequest, id));
    }

    @Override
    public Optional<EnrollmentRequest> findOpenEnrollmentRequest(long accountId, String kind, String device, String keyHash) {
        return read("find open enrollment request of account " + accountId, c -> Sql.one(c,
                "SELECT " + ENROLL_REQUEST_COLUMNS + " FROM enroll_pending WHERE account_id = ? AND kind = ? AND device = ?"
                        + " AND key_hash = ? AND state <> ? ORDER BY requested_at DESC, rowid DESC LIMIT 1",
                EmbeddedMailStore::enrollmentRequest, accountId, kind, device, keyHash, EnrollmentRequest.State.ISSUED.sqlName()));
    }

    @Override
    public List<EnrollmentRequest> listEnrollmentRequests(EnrollmentRequest.State state) {
        return read("list enrollment requests", c -> Sql.list(c,
                "SELECT " + ENROLL_REQUEST_COLUMNS + " FROM enroll_pending WHERE state = ? ORDER BY requested_at, rowid",
                EmbeddedMailStore::enrollmentRequest, state.sqlName()));
    }

    @Override
    public boolean moveEnrollmentRequest(String id, EnrollmentRequest.State from, EnrollmentRequest.State to, String reason,
            Instant now) {
        // One UPDATE decides, as for a token: of an approval and a denial at once, one wins.
        return write("move enrollment request " + id + " to " + to.sqlName(), tx -> Sql.update(tx.connection(),
                "UPDATE enroll_pending SET state = ?, reason = ?, decided_at = ? WHERE id = ? AND state = ?",
                to.sqlName(), reason, now.toEpochMilli(), id, from.sqlName()) == 1);
    }

    private static EnrollmentRequest enrollmentRequest(ResultSet rs) throws SQLException {
        long decided = rs.getLong(11);
        Optional<Instant> decidedAt = rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(decided));
        return new EnrollmentRequest(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5),
                rs.getString(6), rs.getBytes(7), Instant.ofEpochMilli(rs.getLong(8)),
                EnrollmentRequest.State.valueOf(rs.getString(9).toUpperCase(java.util.Locale.ROOT)),
                Optional.ofNullable(rs.getString(10)), decidedAt);
    }

    // ------------------------------------------------------------------ auth log

    private static final String AUTH_LOG_COLUMNS = "at, remote, listener, protocol, mechanism, account, result, tls_version, certificate, reason";

    @Override
    public void recordAuthAttempts(List<AuthAttempt> attempts) {
        if (attempts.isEmpty()) return;
        List<AuthAttempt> copy = List.copyOf(attempts);
        long oldest = now().minus(AUTH_LOG_MAX_AGE).toEpochMilli();
        write("record " + copy.size() + " authentication attempts", tx -> {
            Connection c = tx.connection();
            for (AuthAttempt a : copy) {
                Sql.update(c, "INSERT INTO auth_log (" + AUTH_LOG_COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        a.time().toEpochMilli(), a.remote(), a.listener(), a.protocol(), a.mechanism(),
                        a.account().toLowerCase(Locale.ROOT), a.result(), a.tlsVersion().orElse(null),
                        a.certificate().orElse(null), a.reason().orElse(null));
            }
            Sql.update(c, "DELETE FROM auth_log WHERE at < ? OR id <= (SELECT MAX(id) FROM auth_log) - ?",
                    oldest, AUTH_LOG_MAX_ROWS);
            return null;
        });
    }

    @Override
    public List<AuthAttempt> listAuthAttempts(Optional<String> account, int limit) {
        if (limit < 1) throw StoreException.invalid("the limit must be at least 1, got " + limit);
        return read("read the auth log", c -> account.isPresent()
                ? Sql.list(c, "SELECT " + AUTH_LOG_COLUMNS + " FROM auth_log WHERE account = ? ORDER BY id DESC LIMIT ?",
                        EmbeddedMailStore::authAttempt, account.get().toLowerCase(Locale.ROOT), limit)
                : Sql.list(c, "SELECT " + AUTH_LOG_COLUMNS + " FROM auth_log ORDER BY id DESC LIMIT ?",
                        EmbeddedMailStore::authAttempt, limit));
    }

    // ------------------------------------------------------------------ aliases

    @Override
    public Alias createAlias(EmailAddress address, EmailAddress target) {
        DirectoryRules.validAlias(address, target);
        Instant now = now();
        return write("create alias " + address, tx -> {
            Connection c = tx.connection();
            requireDomain(c, address.domain());
            if (Sql.exists(c, "SELECT 1 FROM aliases WHERE address_key = ?", address.key())) {
                throw StoreException.alreadyExists("alias " + address + " already exists");
            }
            if (Sql.exists(c, "SELECT 1 FROM accounts WHERE address_key = ?", address.key())) {
                throw StoreException.alreadyExists(address + " is an account; an alias cannot share its address");
            }
            Sql.update(c, "INSERT INTO aliases (address_key, local_part, domain, target, created_at) VALUES (?, ?, ?, ?, ?)",
                    address.key(), address.localPart(), address.domain(), target.toString(), now.toEpochMilli());
            return new Alias(address, target, now);
        });
    }

    @Override
    public List<Alias> listAliases() {
        return read("list aliases", c -> Sql.list(c,
                "SELECT local_part, domain, target, created_at FROM aliases ORDER BY address_key",
                rs -> new Alias(new EmailAddress(rs.getString(1), rs.getString(2)), EmailAddress.of(rs.getString(3)),
                        Instant.ofEpochMilli(rs.getLong(4)))));
    }

    @Override
    public void deleteAlias(EmailAddress address) {
        write("delete alias " + address, tx -> {
            if (Sql.update(tx.connection(), "DELETE FROM aliases WHERE address_key = ?", address.key()) == 0) {
                throw StoreException.notFound("alias " + address + " does not exist");
            }
            return null;
        });
    }

    @Override
    public Optional<Account> resolveRecipient(EmailAddress recipient) {
        return read("resolve recipient " + recipient, c -> DirectoryRules.resolve(recipient, lookup(c)));
    }

    @Override
    public Optional<Route> route(EmailAddress recipient) {
        long generation = routes.generation();
        Optional<Route> route = read("route mail for " + recipient, c -> DirectoryRules.route(recipient, lookup(c)));
        route.ifPresent(r -> routes.put(recipient.key(), r, generation));
        return route;
    }

    @Override
    public Optional<Route> knownRoute(EmailAddress recipient) {
        return routes.get(recipient.key());
    }

    /** The directory's look-ups on one read connection, for alias resolution and routes. */
    private static DirectoryRules.Lookup lookup(Connection c) {
        return new DirectoryRules.Lookup() {
            @Override
            public Optional<Account> account(String addressKey) throws SQLException {
                return Sql.one(c, "SELECT " + ACCOUNT_COLUMNS + " FROM accounts WHERE address_key = ?",
                        EmbeddedMailStore::account, addressKey);
            }

            @Override
            public Optional<String> aliasTarget(String addressKey) throws SQLException {
                return Sql.one(c, "SELECT target FROM aliases WHERE address_key = ?", rs -> rs.getString(1), addressKey);
            }

            @Override
            public Optional<Long> inbox(long accountId) throws SQLException {
                return Sql.one(c, "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", rs -> rs.getLong(1),
                        accountId, MailboxNames.INBOX);
            }
        };
    }

    // ------------------------------------------------------------------ mailboxes

    private static final String MAILBOX_ROW = "id, account_id, name, uid_validity, uid_next, highest_modseq, special_use";
    private static final String MAILBOX_SELECT = "SELECT m.id, m.account_id, m.name, m.uid_validity, m.special_use,"
            + " s.name IS NOT NULL FROM mailboxes m LEFT JOIN subscriptions s ON s.account_id = m.account_id AND s.name = m.name";

    @Override
    public Mailbox createMailbox(long accountId, String name, Optional<SpecialUse> specialUse) {
        String normalized = MailboxNames.normalize(name);
        Instant now = now();
        return write("create mailbox " + normalized, tx -> {
            Connection c = tx.connection();
            requireAccount(c, accountId);
            if (mailboxId(c, accountId, normalized).isPresent()) {
                throw StoreException.alreadyExists("mailbox " + normalized + " already exists");
            }
            createParents(tx, accountId, normalized, now);
            long id = createMailboxRow(tx, accountId, normalized, specialUse.orElse(null), now);
            return mailbox(c, id);
        });
    }

    @Override
    public Mailbox renameMailbox(long mailboxId, String newName) {
        String target = MailboxNames.normalize(newName);
        Instant now = now();
        return write("rename mailbox " + mailboxId + " to " + target, tx -> {
            Connection c = tx.connection();
            MailboxRow source = requireMailbox(c, mailboxId);
            if (mailboxId(c, source.accountId, target).isPresent()) {
                throw StoreException.alreadyExists("mailbox " + target + " already exists");
            }
            if (source.isInbox()) {
                // RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox; INBOX stays.
                createParents(tx, source.accountId, target, now);
                long id = createMailboxRow(tx, source.accountId, target, null, now);
                List<Long> uids = Sql.list(c, "SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid",
                        rs -> rs.getLong(1), source.id);
                copyMessages(tx, source.id, uids, id, true);
                return mailbox(c, id);
            }
            if (MailboxNames.isSelfOrChild(target, source.name)) {
                throw StoreException.invalid("mailbox " + source.name + " cannot be moved below itself (" + target + ")");
            }
            List<MailboxRow> moving = Sql.list(c, "SELECT " + MAILBOX_ROW + " FROM mailboxes WHERE account_id = ?"
                    + " AND (name = ? OR substr(name, 1, ?) = ?)", EmbeddedMailStore::mailboxRow,
                    source.accountId, source.name, source.name.length() + 1, source.name + MailboxNames.SEPARATOR);
            Map<MailboxRow, String> renamed = new LinkedHashMap<>();
            for (MailboxRow m : moving) {
                String to = MailboxRules.renamed(m.name, source.name, target);
                if (mailboxId(c, source.accountId, to).isPresent()) {
                    throw StoreException.alreadyExists("cannot rename " + m.name + " to " + to + ": that mailbox exists");
                }
                renamed.put(m, to);
            }
            // Two steps, so that a child's new name may be another moving mailbox's old name.
            for (MailboxRow m : moving) {
                Sql.update(c, "UPDATE mailboxes SET name = ? WHERE id = ?", "\u0000renaming\u0000" + m.id, m.id);
            }
            for (Map.Entry<MailboxRow, String> e : renamed.entrySet()) {
                Sql.update(c, "UPDATE mailboxes SET name = ? WHERE id = ?", e.getValue(), e.getKey().id);
                tx.publish(source.accountId, new StoreEvent.MailboxRenamed(e.getKey().id, e.getKey().name, e.getValue()));
                renameSubscription(tx, source.accountId, e.getKey().name, e.getValue());
            }
            createParents(tx, source.accountId, target, now);
            return mailbox(c, source.id);
        });
    }

    @Override
    public void deleteMailbox(long mailboxId) {
        write("delete mailbox " + mailboxId, tx -> {
            MailboxRow m = requireMailbox(tx.connection(), mailboxId);
            if (m.isInbox()) throw StoreException.invalid("INBOX cannot be deleted (RFC 9051 §6.3.5)");
            deleteMailboxRows(tx, m);
            return null;
        });
    }

    @Override
    public List<Mailbox> listMailboxes(long accountId) {
        return read("list the mailboxes of account " + accountId, c -> {
            requireAccount(c, accountId);
            return Sql.list(c, MAILBOX_SELECT + " WHERE m.account_id = ? ORDER BY m.name", EmbeddedMailStore::mailbox, accountId);
        });
    }

    @Override
    public Optional<Mailbox> getMailbox(long accountId, String name) {
        String normalized;
        try {
            normalized = MailboxNames.normalize(name);
        } catch (StoreException invalidName) {
            return Optional.empty(); // no mailbox can have an invalid name
        }
        return read("look up mailbox " + normalized, c -> Sql.one(c,
                MAILBOX_SELECT + " WHERE m.account_id = ? AND m.name = ?", EmbeddedMailStore::mailbox, accountId, normalized));
    }

    @Override
    public Optional<Mailbox> getMailbox(long mailboxId) {
        return read("look up mailbox " + mailboxId,
                c -> Sql.one(c, MAILBOX_SELECT + " WHERE m.id = ?", EmbeddedMailStore::mailbox, mailboxId));
    }

    @Override
    public void subscribeMailbox(long accountId, String name) {
        String normalized = MailboxNames.normalize(name);
        write("subscribe to " + normalized, tx -> {
            requireAccount(tx.connection(), accountId);
            if (Sql.update(tx.connection(), "INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)",
                    accountId, normalized) > 0) {
                tx.publish(new AccountEvent.SubscriptionChanged(accountId, normalized, true));
            }
            return null;
        });
    }

    @Override
    public void unsubscribeMailbox(long accountId, String name) {
        String normalized = MailboxNames.normalize(name);
        write("unsubscribe from " + normalized, tx -> {
            requireAccount(tx.connection(), accountId);
            if (Sql.update(tx.connection(), "DELETE FROM subscriptions WHERE account_id = ? AND name = ?", accountId,
                    normalized) > 0) {
                tx.publish(new AccountEvent.SubscriptionChanged(accountId, normalized, false));
            }
            return null;
        });
    }

    @Override
    public List<String> listSubscriptions(long accountId) {
        return read("list the subscriptions of account " + accountId, c -> {
            requireAccount(c, accountId);
            return Sql.list(c, "SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name", rs -> rs.getString(1),
                    accountId);
        });
    }

    @Override
    public MailboxStatus status(long mailboxId) {
        return read("read the status of mailbox " + mailboxId, c -> {
            MailboxRow m = requireMailbox(c, mailboxId);
            return Sql.one(c, "SELECT count(*), coalesce(sum(seen = 0), 0), coalesce(sum(size), 0) FROM messages"
                    + " WHERE mailbox_id = ?", rs -> new MailboxStatus(m.id, rs.getLong(1), rs.getLong(2), m.uidNext,
                    m.uidValidity, m.highestModSeq, rs.getLong(3)), mailboxId).orElseThrow();
        });
    }

    // ------------------------------------------------------------------ messages

    private static final String MESSAGE_COLUMNS = "uid, flags, internal_date, size, modseq, blob_hash";

    @Override
    public AppendResult append(long mailboxId, InputStream content, Set<String> flags, Instant internalDate) {
        return deliver(List.of(mailboxId), content, flags, internalDate).get(0);
    }

    @Override
    public List<AppendResult> deliver(List<Long> mailboxIds, InputStream content, Set<String> flags, Instant internalDate) {
        if (mailboxIds.isEmpty()) throw StoreException.invalid("a message must be delivered to at least one mailbox");
        Set<String> normalized = Flags.normalize(flags);
        Instant date = internalDate == null ? now() : internalDate.truncatedTo(ChronoUnit.MILLIS);
        String doing = "store a message in mailbox(es) " + mailboxIds;
        Body blob = body(content, doing);
        List<AppendResult> delivered = writer.execute(doing, blob.inline() == null ? List.of(blob.id()) : List.of(), tx -> {
            Connection c = tx.connection();
            referenceBlob(c, blob, mailboxIds.size()); // before the rows that reference it
            List<AppendResult> results = new ArrayList<>();
            for (long mailboxId : mailboxIds) {
                MailboxRow m = requireMailbox(c, mailboxId);
                if (m.uidNext > MAX_UID) {
                    throw StoreException.invalid("mailbox " + m.name + " has used every UID (RFC 9051 §2.3.1.1);"
                            + " move its messages to a new mailbox");
                }
                chargeQuota(c, m.accountId, blob.size(), 1, true);
                long modSeq = m.highestModSeq + 1;
                Sql.update(c, "INSERT INTO messages (mailbox_id, uid, modseq, flags, seen, internal_date, size, blob_hash,"
                        + " mime_structure) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", mailboxId, m.uidNext, modSeq,
                        String.join(" ", normalized), normalized.contains(Flags.SEEN), date.toEpochMilli(), blob.size(), blob.id(),
                        blob.structure());
                Sql.update(c, "UPDATE mailboxes SET uid_next = ?, highest_modseq = ? WHERE id = ?", m.uidNext + 1, modSeq,
                        mailboxId);
                results.add(new AppendResult(mailboxId, m.uidValidity, m.uidNext, modSeq, blob.size(), blob.id()));
                tx.publish(m.accountId, new StoreEvent.MessageAdded(mailboxId, new TreeSet<>(List.of(m.uidNext)), modSeq,
                        keywords(normalized)));
            }
            return results;
        });
        indexer.wake();
        return delivered;
    }

    @Override
    public List<AppendResult> appendAll(long mailboxId, List<NewMessage> messages) {
        if (messages.isEmpty()) throw StoreException.invalid("appendAll needs at least one message");
        record Prepared(Body body, Set<String> flags, Instant date) {}
        String doing = "store " + messages.size() + " messages in mailbox " + mailboxId;
        List<Prepared> prepared = new ArrayList<>();
        try {
            for (NewMessage m : messages) {
                Set<String> flags = Flags.normalize(m.flags());
                Instant date = m.internalDate() == null ? now() : m.internalDate().truncatedTo(ChronoUnit.MILLIS);
                try (InputStream content = m.content().open()) {
                    prepared.add(new Prepared(body(content, doing), flags, date));
                } catch (IOException e) {
                    throw SqlErrors.map(e, doing);
                }
            }
        } catch (RuntimeException e) {
            for (Prepared p : prepared) if (p.body().inline() == null) blobs.unpin(p.body().id());
            throw e;
        }
        List<String> pinned = prepared.stream().filter(p -> p.body().inline() == null).map(p -> p.body().id()).toList();
        List<AppendResult> stored = writer.execute(doing, pinned, tx -> {
            Connection c = tx.connection();
            MailboxRow m = requireMailbox(c, mailboxId);
            if (m.uidNext + prepared.size() - 1 > MAX_UID) {
                throw StoreException.invalid("mailbox " + m.name + " has too few UIDs left (RFC 9051 §2.3.1.1);"
                        + " move its messages to a new mailbox");
            }
            long bytes = prepared.stream().mapToLong(p -> p.body().size()).sum();
            chargeQuota(c, m.accountId, bytes, prepared.size(), true); // all of them or none
            long modSeq = m.highestModSeq + 1;
            long uid = m.uidNext;
            List<AppendResult> results = new ArrayList<>();
            for (Prepared p : prepared) {
                referenceBlob(c, p.body(), 1);
                Sql.update(c, "INSERT INTO messages (mailbox_id, uid, modseq, flags, seen, internal_date, size, blob_hash,"
                        + " mime_structure) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", mailboxId, uid, modSeq,
                        String.join(" ", p.flags()), p.flags().contains(Flags.SEEN), p.date().toEpochMilli(), p.body().size(),
                        p.body().id(), p.body().structure());
                results.add(new AppendResult(mailboxId, m.uidValidity, uid, modSeq, p.body().size(), p.body().id()));
                uid++;
            }
            Sql.update(c, "UPDATE mailboxes SET uid_next = ?, highest_modseq = ? WHERE id = ?", uid, modSeq, mailboxId);
            TreeSet<Long> added = new TreeSet<>();
            for (AppendResult r : results) added.add(r.uid());
            Set<String> keywords = new HashSet<>();
            for (Prepared p : prepared) keywords.addAll(keywords(p.flags()));
            tx.publish(m.accountId, new StoreEvent.MessageAdded(mailboxId, added, modSeq, keywords));
            return results;
        });
        indexer.wake();
        return stored;
    }

    @Override
    public List<MessageMeta> listMessages(long mailboxId, UidRange range) {
        return read("list messages of mailbox " + mailboxId, c -> {
            List<MessageMeta> found = Sql.list(c, "SELECT " + MESSAGE_COLUMNS + " FROM messages WHERE mailbox_id = ?"
                    + " AND uid BETWEEN ? AND ? ORDER BY uid", EmbeddedMailStore::message, mailboxId, range.first(), range.last());
            // A mailbox's messages go in the transaction that deletes it, and a read sees one snapshot:
            // only an empty answer can come from a mailbox that does not exist.
            if (found.isEmpty()) requireMailbox(c, mailboxId);
            return found;
        });
    }

    @Override
    public InputStream openMessage(long mailboxId, long uid) {
        String blobId = read("open message " + uid + " of mailbox " + mailboxId, c -> {
            Optional<String> hash = Sql.one(c, "SELECT blob_hash FROM messages WHERE mailbox_id = ? AND uid = ?",
                    rs -> rs.getString(1), mailboxId, uid);
            if (hash.isPresent()) return hash.get();
            requireMailbox(c, mailboxId);
            throw StoreException.notFound("mailbox " + mailboxId + " has no message with UID " + uid);
        });
        try {
            return BlobRefs.open(readers, blobs, blobId, "open message " + uid + " of mailbox " + mailboxId);
        } catch (NoSuchFileException e) {
            // Expunged (and its file collected) between the lookup and the open.
            throw StoreException.notFound("message " + uid + " of mailbox " + mailboxId + " was removed");
        } catch (IOException e) {
            throw SqlErrors.map(e, "open message " + uid + " of mailbox " + mailboxId);
        }
    }

    @Override
    public Optional<MessageStructure> structure(long mailboxId, long uid) {
        Optional<byte[]> stored = read("read the structure of message " + uid + " of mailbox " + mailboxId,
                c -> Sql.one(c, "SELECT mime_structure FROM messages WHERE mailbox_id = ? AND uid = ?", rs -> rs.getBytes(1),
                        mailboxId, uid)).filter(b -> b != null);
        return stored.flatMap(MessageStructure::decode);
    }

    /** One read transaction, a statement per message: in process, SQLite's statements cost no round trip. */
    @Override
    public Map<Long, MessageStructure> structures(long mailboxId, SortedSet<Long> uids) {
        Map<Long, MessageStructure> found = new HashMap<>();
        if (uids.isEmpty()) return found;
        read("read the structures of " + uids.size() + " messages of mailbox " + mailboxId, c -> {
            for (long uid : uids) {
                Sql.one(c, "SELECT mime_structure FROM messages WHERE mailbox_id = ? AND uid = ?", rs -> rs.getBytes(1),
                        mailboxId, uid).flatMap(MessageStructure::decode).ifPresent(st -> found.put(uid, st));
            }
            if (found.isEmpty()) requireMailbox(c, mailboxId);
            return null;
        });
        return found;
    }

    @Override
    public TextMatches searchText(long mailboxId, boolean bodyOnly, String needle) {
        String folded = SearchText.fold(needle);
        boolean indexable = folded.codePointCount(0, folded.length()) >= TextMatches.MIN_INDEXED_LENGTH
                && folded.indexOf('\u0000') < 0;
        // FTS5 query syntax: one phrase, its quotes doubled; the trigram tokenizer turns it into
        // consecutive trigrams, which match exactly the substrings equal to it.
        String phrase = "\"" + folded.replace("\"", "\"\"") + "\"";
        String query = bodyOnly ? "body : " + phrase : phrase;
        return read("search the text of mailbox " + mailboxId, c -> {
            requireMailbox(c, mailboxId);
            if (!indexable) {
                return new TextMatches(new TreeSet<>(), new TreeSet<>(Sql.list(c, "SELECT uid FROM messages WHERE mailbox_id = ?",
                        rs -> rs.getLong(1), mailboxId)));
            }
            long mark = Sql.count(c, "SELECT text_indexed_uid FROM mailboxes WHERE id = ?", mailboxId);
            List<Long> unindexed = Sql.list(c, "SELECT uid FROM messages WHERE mailbox_id = ? AND uid > ?",
                    rs -> rs.getLong(1), mailboxId, mark);
            // The mailbox's documents are one rowid range: no join, the cost is the matches'.
            List<Long> matching = Sql.list(c, "SELECT rowid FROM text_index WHERE text_index MATCH ? AND rowid BETWEEN ? AND ?",
                    rs -> rs.getLong(1) & MAX_UID, query, TextIndexer.docId(mailboxId, 0), TextIndexer.docId(mailboxId, mark));
            return new TextMatches(new TreeSet<>(matching), new TreeSet<>(unindexed));
        });
    }

    /**
     * Indexes every message not indexed yet, on the caller's thread, and returns when the index has
     * caught up (tests and benchmarks; the server leaves this to the background indexer).
     */
    public void catchUpTextIndex() {
        indexer.catchUp();
    }

    /** A body for the text indexer: an inline one wrapped, a file mapped (no heap of its size). */
    private Optional<ByteBuffer> bodyBuffer(String hash) {
        Optional<byte[]> inline = read("read body " + hash,
                c -> Sql.one(c, "SELECT data FROM blob_data WHERE hash = ?", rs -> rs.getBytes(1), hash));
        if (inline.isPresent()) return inline.map(ByteBuffer::wrap);
        try {
            return Optional.of(blobs.map(hash));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw SqlErrors.map(e, "read body " + hash);
        }
    }

    @Override
    public FlagUpdate storeFlags(long mailboxId, Collection<Long> uids, FlagOperation operation, Set<String> flags,
            OptionalLong unchangedSince) {
        Set<String> given = Flags.normalize(flags);
        SortedSet<Long> sorted = new TreeSet<>(uids);
        return write("change flags in mailbox " + mailboxId, tx -> {
            Connection c = tx.connection();
            MailboxRow m = requireMailbox(c, mailboxId);
            long modSeq = m.highestModSeq + 1;
            List<FlagUpdate.Changed> changed = new ArrayList<>();
            SortedSet<Long> notModified = new TreeSet<>();
            for (long uid : sorted) {
                Optional<MessageMeta> found = Sql.one(c, "SELECT " + MESSAGE_COLUMNS + " FROM messages"
                        + " WHERE mailbox_id = ? AND uid = ?", EmbeddedMailStore::message, mailboxId, uid);
                if (found.isEmpty()) continue;
                MessageMeta meta = found.get();
                if (unchangedSince.isPresent() && meta.modSeq() > unchangedSince.getAsLong()) {
                    notModified.add(uid); // RFC 7162 §3.1.3
                    continue;
                }
                Optional<TreeSet<String>> changes = MailboxRules.changedFlags(uid, meta.flags(), operation, given);
                if (changes.isEmpty()) continue;
                TreeSet<String> next = changes.get();
                Sql.update(c, "UPDATE messages SET flags = ?, seen = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
                        String.join(" ", next), next.contains(Flags.SEEN), modSeq, mailboxId, uid);
                changed.add(new FlagUpdate.Changed(uid, next, modSeq));
            }
            if (!changed.isEmpty()) {
                Sql.update(c, "UPDATE mailboxes SET highest_modseq = ? WHERE id = ?", modSeq, mailboxId);
                SortedSet<Long> changedUids = new TreeSet<>();
                changed.forEach(ch -> changedUids.add(ch.uid()));
                tx.publish(m.accountId, new StoreEvent.FlagsChanged(mailboxId, changedUids, modSeq));
            }
            return new FlagUpdate(changed, notModified);
        });
    }

    @Override
    public ExpungeResult expunge(long mailboxId, Collection<Long> uids) {
        return expunge(mailboxId, uids, false);
    }

    @Override
    public ExpungeResult expungeDeleted(long mailboxId, Collection<Long> uids) {
        return expunge(mailboxId, uids, true);
    }

    private ExpungeResult expunge(long mailboxId, Collection<Long> uids, boolean onlyDeleted) {
        SortedSet<Long> sorted = new TreeSet<>(uids);
        return write("expunge " + (onlyDeleted ? "deleted " : "") + "messages of mailbox " + mailboxId, tx -> {
            requireMailbox(tx.connection(), mailboxId);
            return expungeMessages(tx, mailboxId, sorted, onlyDeleted);
        });
    }

    @Override
    public SortedSet<Long> expungedSince(long mailboxId, long modSeq) {
        return read("list the UIDs expunged from mailbox " + mailboxId + " since MODSEQ " + modSeq, c -> {
            requireMailbox(c, mailboxId);
            return new TreeSet<>(Sql.list(c, "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
                    rs -> rs.getLong(1), mailboxId, modSeq));
        });
    }

    @Override
    public CopyResult copy(long fromMailboxId, Collection<Long> uids, long toMailboxId) {
        List<Long> sorted = List.copyOf(new TreeSet<>(uids));
        return write("copy messages from mailbox " + fromMailboxId + " to " + toMailboxId,
                tx -> copyMessages(tx, fromMailboxId, sorted, toMailboxId, false));
    }

    @Override
    public CopyResult move(long fromMailboxId, Collection<Long> uids, long toMailboxId) {
        List<Long> sorted = List.copyOf(new TreeSet<>(uids));
        return write("move messages from mailbox " + fromMailboxId + " to " + toMailboxId,
                tx -> copyMessages(tx, fromMailboxId, sorted, toMailboxId, true));
    }

    // ------------------------------------------------------------------ URLAUTH access keys

    private static final java.security.SecureRandom ACCESS_KEYS = new java.security.SecureRandom();

    @Override
    public Optional<byte[]> accessKey(long mailboxId) {
        return read("read the access key of mailbox " + mailboxId, c -> {
            requireMailbox(c, mailboxId);
            return Sql.one(c, "SELECT access_key FROM mailbox_access_keys WHERE mailbox_id = ?", rs -> rs.getBytes(1), mailboxId);
        });
    }

    @Override
    public byte[] ensureAccessKey(long mailboxId) {
        byte[] fresh = new byte[ACCESS_KEY_BYTES];
        ACCESS_KEYS.nextBytes(fresh);
        long now = now().toEpochMilli();
        return write("make sure mailbox " + mailboxId + " has an access key", tx -> {
            Connection c = tx.connection();
            requireMailbox(c, mailboxId);
            Sql.update(c, "INSERT OR IGNORE INTO mailbox_access_keys (mailbox_id, access_key, created_at) VALUES (?, ?, ?)",
                    mailboxId, fresh, now);
            return Sql.one(c, "SELECT access_key FROM mailbox_access_keys WHERE mailbox_id = ?", rs -> rs.getBytes(1), mailboxId)
                    .orElseThrow();
        });
    }

    @Override
    public void resetAccessKey(long mailboxId) {
        write("reset the access key of mailbox " + mailboxId, tx -> {
            requireMailbox(tx.connection(), mailboxId);
            Sql.update(tx.connection(), "DELETE FROM mailbox_access_keys WHERE mailbox_id = ?", mailboxId);
            return null;
        });
    }

    @Override
    public void resetAccessKeys(long accountId) {
        write("reset the access keys of account " + accountId, tx -> {
            requireAccount(tx.connection(), accountId);
            Sql.update(tx.connection(), "DELETE FROM mailbox_access_keys WHERE mailbox_id IN"
                    + " (SELECT id FROM mailboxes WHERE account_id = ?)", accountId);
            return null;
        });
    }

    // ------------------------------------------------------------------ quota and events

    @Override
    public Quota quota(long accountId) {
        return read("read the quota of account " + accountId, c -> Sql.one(c,
                "SELECT quota_bytes, used_bytes, used_messages FROM accounts WHERE id = ?", rs -> {
                    long limit = rs.getLong(1);
                    OptionalLong limitBytes = rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(limit);
                    return new Quota(accountId, limitBytes, rs.getLong(2), rs.getLong(3));
                }, accountId).orElseThrow(() -> noAccount(accountId)));
    }

    @Override
    public long claimRecent(long mailboxId, long upToUid) {
        // Most calls find nothing left to claim (another session was first): a read says so
        // without queueing behind the writer.
        long first = firstRecentUid(mailboxId);
        if (first > upToUid) return first;
        return writer.execute("claim the recent messages of mailbox " + mailboxId, List.of(), tx -> {
            Connection c = tx.connection();
            requireMailbox(c, mailboxId);
            long unclaimed = Sql.count(c, "SELECT first_recent_uid FROM mailboxes WHERE id = ?", mailboxId);
            if (unclaimed <= upToUid) {
                Sql.update(c, "UPDATE mailboxes SET first_recent_uid = ? WHERE id = ?", upToUid + 1, mailboxId);
            }
            return unclaimed;
        });
    }

    @Override
    public long firstRecentUid(long mailboxId) {
        return read("read the first recent UID of mailbox " + mailboxId, c -> {
            requireMailbox(c, mailboxId);
            return Sql.count(c, "SELECT first_recent_uid FROM mailboxes WHERE id = ?", mailboxId);
        });
    }

    @Override
    public long publishedModSeq(long mailboxId) {
        return events.publishedModSeq(mailboxId);
    }

    @Override
    public EventSubscription subscribe(long mailboxId, Consumer<StoreEvent> listener) {
        read("watch mailbox " + mailboxId, c -> requireMailbox(c, mailboxId));
        return events.subscribe(mailboxId, listener);
    }

    @Override
    public EventSubscription subscribeAccount(long accountId, Consumer<AccountEvent> listener) {
        read("watch account " + accountId, c -> {
            requireAccount(c, accountId);
            return null;
        });
        return events.subscribeAccount(accountId, listener);
    }

    @Override
    public void close() {
        if (closed.get()) return;
        indexer.close(); // first: it reads and writes through this store until it has stopped
        if (!closed.compareAndSet(false, true)) return;
        directoryRecheck.shutdownNow();
        try {
            // Its read must end before the read pool closes the connection under it.
            directoryRecheck.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writer.close();
        readers.close();
        try {
            Sql.close(writeConnection);
        } catch (SQLException ignored) {
            // closing; nothing to recover
        }
        events.close();
    }

    // ------------------------------------------------------------------ transaction bodies

    private CopyResult copyMessages(Tx tx, long fromMailboxId, List<Long> uids, long toMailboxId, boolean move)
            throws SQLException {
        Connection c = tx.connection();
        MailboxRow from = requireMailbox(c, fromMailboxId);
        MailboxRow to = requireMailbox(c, toMailboxId);
        record Source(long uid, String flags, int seen, long internalDate, long size, String blob, byte[] mime) {}
        List<Source> sources = new ArrayList<>();
        for (long uid : uids) {
            Sql.one(c, "SELECT uid, flags, seen, internal_date, size, blob_hash, mime_structure FROM messages"
                    + " WHERE mailbox_id = ? AND uid = ?", rs -> new Source(rs.getLong(1), rs.getString(2), rs.getInt(3),
                    rs.getLong(4), rs.getLong(5), rs.getString(6), rs.getBytes(7)), from.id, uid).ifPresent(sources::add);
        }
        SortedMap<Long, Long> mapping = new TreeMap<>();
        if (sources.isEmpty()) return new CopyResult(to.id, to.uidValidity, mapping);
        if (to.uidNext + sources.size() - 1 > MAX_UID) {
            throw StoreException.invalid("mailbox " + to.name + " has too few UIDs left (RFC 9051 §2.3.1.1)");
        }
        long bytes = sources.stream().mapToLong(Source::size).sum();
        // A move within one account adds and removes the same bytes: it must work even at the limit.
        chargeQuota(c, to.accountId, bytes, sources.size(), !(move && from.accountId == to.accountId));
        long modSeq = to.highestModSeq + 1;
        long uid = to.uidNext;
        Map<String, Integer> references = new HashMap<>();
        for (Source s : sources) {
            Sql.update(c, "INSERT INTO messages (mailbox_id, uid, modseq, flags, seen, internal_date, size, blob_hash,"
                    + " mime_structure) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", to.id, uid, modSeq, s.flags, s.seen,
                    s.internalDate, s.size, s.blob, s.mime);
            mapping.put(s.uid, uid);
            references.merge(s.blob, 1, Integer::sum);
            uid++;
        }
        Sql.update(c, "UPDATE mailboxes SET uid_next = ?, highest_modseq = ? WHERE id = ?", uid, modSeq, to.id);
        // The bodies are stored already (the source rows reference them): only count the copies.
        for (Map.Entry<String, Integer> e : references.entrySet()) {
            Sql.update(c, "UPDATE blobs SET refcount = refcount + ? WHERE hash = ?", e.getValue(), e.getKey());
        }
        Set<String> keywords = new HashSet<>();
        for (Source s : sources) keywords.addAll(keywords(storedFlags(s.flags)));
        tx.publish(to.accountId, new StoreEvent.MessageAdded(to.id, new TreeSet<>(mapping.values()), modSeq, keywords));
        if (move) expungeMessages(tx, from.id, new TreeSet<>(mapping.keySet()), false);
        return new CopyResult(to.id, to.uidValidity, mapping);
    }

    /** @param onlyDeleted whether a message must hold {@code \Deleted} (flags are stored space-separated) */
    private ExpungeResult expungeMessages(Tx tx, long mailboxId, SortedSet<Long> uids, boolean onlyDeleted) throws SQLException {
        Connection c = tx.connection();
        MailboxRow m = requireMailbox(c, mailboxId); // re-read: a move within one mailbox just raised its MODSEQ
        record Gone(long uid, long size, String blob) {}
        List<Gone> gone = new ArrayList<>();
        String select = "SELECT uid, size, blob_hash FROM messages WHERE mailbox_id = ? AND uid = ?"
                + (onlyDeleted ? " AND instr(' ' || flags || ' ', ' " + Flags.DELETED + " ') > 0" : "");
        for (long uid : uids) {
            Sql.one(c, select, rs -> new Gone(rs.getLong(1), rs.getLong(2), rs.getString(3)), mailboxId, uid).ifPresent(gone::add);
        }
        if (gone.isEmpty()) return new ExpungeResult(new TreeSet<>(), m.highestModSeq);
        long modSeq = m.highestModSeq + 1;
        SortedSet<Long> removed = new TreeSet<>();
        Map<String, Integer> references = new HashMap<>();
        long bytes = 0;
        long indexed = Sql.count(c, "SELECT text_indexed_uid FROM mailboxes WHERE id = ?", mailboxId);
        for (Gone g : gone) {
            Sql.update(c, "DELETE FROM messages WHERE mailbox_id = ? AND uid = ?", mailboxId, g.uid);
            if (g.uid <= indexed) Sql.update(c, "DELETE FROM text_index WHERE rowid = ?", TextIndexer.docId(mailboxId, g.uid));
            Sql.update(c, "INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)", mailboxId, g.uid, modSeq);
            removed.add(g.uid);
            references.merge(g.blob, 1, Integer::sum);
            bytes += g.size;
        }
        Sql.update(c, "UPDATE mailboxes SET highest_modseq = ? WHERE id = ?", modSeq, mailboxId);
        Sql.update(c, "UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ? WHERE id = ?",
                bytes, (long) gone.size(), m.accountId);
        for (Map.Entry<String, Integer> e : references.entrySet()) releaseBlob(tx, e.getKey(), e.getValue());
        tx.publish(m.accountId, new StoreEvent.MessagesExpunged(mailboxId, removed, modSeq));
        return new ExpungeResult(removed, modSeq);
    }

    private void deleteMailboxRows(Tx tx, MailboxRow m) throws SQLException {
        Connection c = tx.connection();
        record Held(String blob, long count, long bytes) {}
        List<Held> held = Sql.list(c, "SELECT blob_hash, count(*), sum(size) FROM messages WHERE mailbox_id = ?"
                + " GROUP BY blob_hash", rs -> new Held(rs.getString(1), rs.getLong(2), rs.getLong(3)), m.id);
        long bytes = 0;
        long count = 0;
        for (Held h : held) {
            bytes += h.bytes;
            count += h.count;
        }
        Sql.update(c, "DELETE FROM text_index WHERE rowid IN (SELECT rowid FROM text_index WHERE rowid BETWEEN ? AND ?)",
                TextIndexer.docId(m.id, 0), TextIndexer.docId(m.id, MAX_UID));
        Sql.update(c, "DELETE FROM messages WHERE mailbox_id = ?", m.id);
        Sql.update(c, "DELETE FROM expunged WHERE mailbox_id = ?", m.id);
        Sql.update(c, "DELETE FROM mailbox_access_keys WHERE mailbox_id = ?", m.id);
        Sql.update(c, "DELETE FROM mailboxes WHERE id = ?", m.id);
        Sql.update(c, "UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ? WHERE id = ?",
                bytes, count, m.accountId);
        for (Held h : held) releaseBlob(tx, h.blob, (int) h.count);
        tx.publish(m.accountId, new StoreEvent.MailboxDeleted(m.id, m.name));
    }

    /**
     * A message body on its way in: small ones are held in memory and go into the database with
     * the transaction; larger ones are already a durable, pinned file.
     *
     * @param inline the bytes, or null when the body is a file
     */
    private record Body(String id, long size, byte[] inline, byte[] structure) {}

    private Body body(InputStream content, String doing) {
        try {
            BlobRefs.Incoming in = BlobRefs.take(blobs, content);
            // The one parse of the message: its structure is stored with it, so FETCH and SORT
            // never parse it again. Done here, on the caller's thread, not on the writer's.
            if (in.inline() != null) {
                return new Body(in.id(), in.size(), in.inline(), MessageStructure.parse(in.inline()).encode());
            }
            byte[] structure;
            try {
                // Just written, so in the page cache; mapped, so a large body takes no heap of its size.
                structure = MessageStructure.parse(blobs.map(in.id())).encode();
            } catch (IOException | RuntimeException e) {
                blobs.unpin(in.id());
                throw e;
            }
            return new Body(in.id(), in.size(), null, structure);
        } catch (IOException e) {
            throw SqlErrors.map(e, doing);
        }
    }

    private void referenceBlob(Connection c, Body body, int references) throws SQLException {
        BlobRefs.reference(c, blobs, new BlobRefs.Incoming(body.id(), body.size(), body.inline()), references);
    }

    private static void releaseBlob(Tx tx, String blobId, int references) throws SQLException {
        BlobRefs.release(tx, blobId, references);
    }

    /** Checks the quota and counts the new messages against it, in the inserting transaction. */
    private static void chargeQuota(Connection c, long accountId, long bytes, long messages, boolean enforce)
            throws SQLException {
        record Usage(String address, Long limit, long used) {}
        Usage u = Sql.one(c, "SELECT local_part || '@' || domain, quota_bytes, used_bytes FROM accounts WHERE id = ?", rs -> {
            long limit = rs.getLong(2);
            Long l = rs.wasNull() ? null : limit;
            return new Usage(rs.getString(1), l, rs.getLong(3));
        }, accountId).orElseThrow(() -> noAccount(accountId));
        if (enforce && u.limit != null && u.used + bytes > u.limit) {
            throw MailboxRules.overQuota(u.address, u.used, u.limit, bytes);
        }
        Sql.update(c, "UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + ? WHERE id = ?",
                bytes, messages, accountId);
    }

    private static long insertMailbox(Connection c, long accountId, String name, SpecialUse specialUse, Instant now)
            throws SQLException {
        // Unique across all mailboxes ever created, and time-based so a store rebuilt from
        // scratch does not hand a client a UIDVALIDITY it has cached (RFC 9051 §2.3.1.1).
        long last = Sql.count(c, "SELECT value FROM counters WHERE name = 'uid_validity'");
        long uidValidity = Math.max(last + 1, now.getEpochSecond());
        if (uidValidity > MAX_UID_VALIDITY) {
            throw StoreException.invalid("no UIDVALIDITY values are left (RFC 9051 §2.3.1.1)");
        }
        Sql.update(c, "UPDATE counters SET value = ? WHERE name = 'uid_validity'", uidValidity);
        long id = nextId(c, "mailbox_id");
        Sql.update(c, "INSERT INTO mailboxes (id, account_id, name, uid_validity, special_use, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                id, accountId, name, uidValidity, specialUse == null ? null : specialUse.name(), now.toEpochMilli());
        return id;
    }

    /**
     * The next id of a counter that only grows (V22): sessions and caches hold accounts and
     * mailboxes by id, so an id deleted is never given to another one. Inside the write
     * transaction, which SQLite runs one at a time.
     */
    private static long nextId(Connection c, String counter) throws SQLException {
        long id = Sql.count(c, "SELECT value FROM counters WHERE name = ?", counter) + 1;
        Sql.update(c, "UPDATE counters SET value = ? WHERE name = ?", id, counter);
        return id;
    }

    /** A mailbox of an existing account, announced to the account's listeners (RFC 5465 MailboxName). */
    private static long createMailboxRow(Tx tx, long accountId, String name, SpecialUse specialUse, Instant now)
            throws SQLException {
        long id = insertMailbox(tx.connection(), accountId, name, specialUse, now);
        tx.publish(new AccountEvent.MailboxCreated(accountId, id, name));
        return id;
    }

    /** RFC 9051 §6.3.4: creating a/b/c creates a and a/b when missing. */
    private static void createParents(Tx tx, long accountId, String name, Instant now) throws SQLException {
        for (String parent : MailboxNames.parents(name)) {
            if (mailboxId(tx.connection(), accountId, parent).isEmpty()) createMailboxRow(tx, accountId, parent, null, now);
        }
    }

    private static void renameSubscription(Tx tx, long accountId, String from, String to) throws SQLException {
        Connection c = tx.connection();
        if (Sql.update(c, "DELETE FROM subscriptions WHERE account_id = ? AND name = ?", accountId, from) > 0) {
            tx.publish(new AccountEvent.SubscriptionChanged(accountId, from, false));
            if (Sql.update(c, "INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)", accountId, to) > 0) {
                tx.publish(new AccountEvent.SubscriptionChanged(accountId, to, true));
            }
        }
    }

    // ------------------------------------------------------------------ lookups inside transactions

    /** A mailbox row as the write paths need it. */
    private record MailboxRow(long id, long accountId, String name, long uidValidity, long uidNext, long highestModSeq,
            String specialUse) {
        boolean isInbox() {
            return MailboxNames.INBOX.equals(name);
        }
    }

    private static MailboxRow requireMailbox(Connection c, long mailboxId) throws SQLException {
        return Sql.one(c, "SELECT " + MAILBOX_ROW + " FROM mailboxes WHERE id = ?", EmbeddedMailStore::mailboxRow, mailboxId)
                .orElseThrow(() -> StoreException.notFound("mailbox " + mailboxId + " does not exist"));
    }

    private static Optional<Long> mailboxId(Connection c, long accountId, String name) throws SQLException {
        return Sql.one(c, "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", rs -> rs.getLong(1), accountId, name);
    }

    private static Mailbox mailbox(Connection c, long mailboxId) throws SQLException {
        return Sql.one(c, MAILBOX_SELECT + " WHERE m.id = ?", EmbeddedMailStore::mailbox, mailboxId).orElseThrow();
    }

    private static void requireAccount(Connection c, long accountId) throws SQLException {
        if (!Sql.exists(c, "SELECT 1 FROM accounts WHERE id = ?", accountId)) throw noAccount(accountId);
    }

    private static void requireDomain(Connection c, String domain) throws SQLException {
        if (!Sql.exists(c, "SELECT 1 FROM domains WHERE name = ?", domain)) {
            throw DirectoryRules.noDomain(domain);
        }
    }

    private static StoreException noAccount(long accountId) {
        return DirectoryRules.noAccount(accountId);
    }

    // ------------------------------------------------------------------ row mapping

    private static Domain domain(ResultSet rs) throws SQLException {
        return new Domain(rs.getString(1), Instant.ofEpochMilli(rs.getLong(2)));
    }

    private static Account account(ResultSet rs) throws SQLException {
        long quota = rs.getLong(5);
        OptionalLong quotaBytes = rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(quota);
        return new Account(rs.getLong(1), new EmailAddress(rs.getString(2), rs.getString(3)), rs.getString(4), quotaBytes,
                Instant.ofEpochMilli(rs.getLong(6)));
    }

    private static AppPassword appPassword(ResultSet rs) throws SQLException {
        return new AppPassword(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                Set.of(rs.getString(5).split(" ")), Instant.ofEpochMilli(rs.getLong(6)), Optional.ofNullable(rs.getString(7)));
    }

    private static CertificateBinding certificateBinding(ResultSet rs) throws SQLException {
        return new CertificateBinding(rs.getString(1), rs.getLong(2), rs.getString(3), Instant.ofEpochMilli(rs.getLong(4)));
    }

    private static AuthAttempt authAttempt(ResultSet rs) throws SQLException {
        return new AuthAttempt(Instant.ofEpochMilli(rs.getLong(1)), rs.getString(2), rs.getString(3), rs.getString(4),
                rs.getString(5), rs.getString(6), rs.getString(7), Optional.ofNullable(rs.getString(8)),
                Optional.ofNullable(rs.getString(9)), Optional.ofNullable(rs.getString(10)));
    }

    private static MailboxRow mailboxRow(ResultSet rs) throws SQLException {
        return new MailboxRow(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getLong(4), rs.getLong(5), rs.getLong(6),
                rs.getString(7));
    }

    private static Mailbox mailbox(ResultSet rs) throws SQLException {
        String use = rs.getString(5);
        return new Mailbox(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getLong(4),
                use == null ? Optional.empty() : Optional.of(SpecialUse.valueOf(use)), rs.getBoolean(6));
    }

    private static Set<String> storedFlags(String flags) {
        return MailboxRules.storedFlags(flags);
    }

    private static MessageMeta message(ResultSet rs) throws SQLException {
        Set<String> set = storedFlags(rs.getString(2));
        return new MessageMeta(rs.getLong(1), set, Instant.ofEpochMilli(rs.getLong(3)), rs.getLong(4), rs.getLong(5),
                rs.getString(6));
    }

    // ------------------------------------------------------------------ outbound queue (QueueTables)

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
    public List<QueuedMessage> needingNotification(Instant delayCutoff, int limit) {
        return queue.needingNotification(delayCutoff, limit);
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

    // ------------------------------------------------------------------ plumbing

    private <T> T write(String doing, TxWork<T> work) {
        long[] version = new long[1];
        T result = writer.execute(doing, List.of(), tx -> {
            T r = work.run(tx);
            version[0] = directoryVersion(tx.connection());
            return r;
        });
        routes.versionSeen(version[0]); // committed: routes read before this write are retired now
        indexer.wake(); // COPY, MOVE and renaming INBOX add messages to index
        return result;
    }

    private <T> T read(String doing, ReadPool.Read<T> read) {
        if (closed.get()) throw StoreException.unavailable("cannot " + doing + ": the mail store is closed", null);
        return readers.read(doing, read);
    }

    private static Set<String> keywords(Set<String> flags) {
        return MailboxRules.keywords(flags);
    }

    private static Instant now() {
        return Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }
}
