package org.castellan.store.postgres;

import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.InputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.store.Flags;
import org.castellan.store.StoreException;
import org.castellan.store.migrate.MailboxRecord;
import org.castellan.store.migrate.MessageRecord;
import org.castellan.store.migrate.MigrationSource;
import org.castellan.store.migrate.MigrationTarget;
import org.castellan.store.migrate.Table;
import org.castellan.store.postgres.internal.BodyStore;
import org.castellan.store.postgres.internal.Pg;

/**
 * The PostgreSQL store's side of a migration: rows written as the store's own writes would have
 * left them (bodies inline or in the object store by the same {@link BodyStore}, with their search
 * text and reference counts), but with the UIDs, MODSEQs and counters the source gives. No server
 * may use the database meanwhile: nothing here publishes events or locks against other writers.
 *
 * <p>Resuming: {@link #copyRows} records its step in {@code migration_progress} in its own
 * transaction; a mailbox is made once ({@code ON CONFLICT DO NOTHING}); a message whose UID the
 * mailbox holds is skipped, so a batch repeated after a kill adds nothing twice.
 */
final class PgImport implements MigrationTarget {

    private static final String MAILBOX_BY_NAME = "(SELECT m.id FROM mailboxes m JOIN accounts a ON a.id = m.account_id"
            + " WHERE a.address_key = ? AND m.name = ?)";

    private final HikariDataSource pool;
    private final BodyStore bodies;
    private final PgMailboxes mailboxes;

    PgImport(HikariDataSource pool, BodyStore bodies, PgMailboxes mailboxes) {
        this.pool = pool;
        this.bodies = bodies;
        this.mailboxes = mailboxes;
    }

    @Override
    public List<Object[]> rows(Table table) {
        StringBuilder sql = new StringBuilder("SELECT ");
        for (int i = 0; i < table.columns().size(); i++) sql.append(i == 0 ? "" : ", ").append(table.columns().get(i).name());
        sql.append(" FROM ").append(table.name()).append(" ORDER BY ").append(table.key());
        return Pg.read(pool, "read the table " + table.name(), c -> Pg.list(c, sql.toString(), rs -> {
            Object[] row = new Object[table.columns().size()];
            for (int i = 0; i < row.length; i++) row[i] = value(rs, i + 1, table.columns().get(i).kind());
            return row;
        }));
    }

    private static Object value(ResultSet rs, int column, Table.Kind kind) throws SQLException {
        if (rs.getObject(column) == null) return null;
        return switch (kind) {
            case ID, REF, LONG -> rs.getLong(column);
            case TIME -> rs.getObject(column, OffsetDateTime.class).toInstant();
            case BOOLEAN -> rs.getBoolean(column);
            case DATE -> rs.getObject(column, LocalDate.class);
            case BYTES -> rs.getBytes(column);
            case TEXT, BODY -> rs.getString(column);
        };
    }

    @Override
    public boolean done(String step) {
        return Pg.read(pool, "read the migration's progress",
                c -> Pg.exists(c, "SELECT 1 FROM migration_progress WHERE step = ?", step));
    }

    @Override
    public void copyRows(String step, List<Table> tables, MigrationSource source) {
        Pg.transaction(pool, "copy " + step, c -> {
            Map<String, Map<Long, Long>> ids = new HashMap<>();
            for (Table t : tables) copyTable(c, t, source, ids);
            Pg.update(c, "INSERT INTO migration_progress (step, done_at) VALUES (?, ?)", step, Instant.now());
            return null;
        }, Connection::commit);
    }

    /**
     * Inserts the table's rows without their ids (the target numbers them), translating references
     * through the ids the tables before it were given, and referencing their bodies.
     */
    private void copyTable(Connection c, Table t, MigrationSource source, Map<String, Map<Long, Long>> ids) throws SQLException {
        List<String> names = new ArrayList<>();
        String idColumn = null;
        for (Table.Column col : t.columns()) {
            if (col.kind() == Table.Kind.ID) idColumn = col.name();
            else names.add(col.name());
        }
        String sql = "INSERT INTO " + t.name() + " (" + String.join(", ", names) + ") VALUES ("
                + String.join(", ", Collections.nCopies(names.size(), "?")) + ")"
                + (idColumn == null ? "" : " RETURNING " + idColumn);
        Map<Long, Long> mine = ids.computeIfAbsent(t.name(), k -> new HashMap<>());
        for (Object[] row : source.rows(t)) {
            List<Object> args = new ArrayList<>();
            Long sourceId = null;
            for (int i = 0; i < row.length; i++) {
                Table.Column col = t.columns().get(i);
                switch (col.kind()) {
                    case ID -> sourceId = (Long) row[i];
                    case REF -> {
                        Long mapped = ids.getOrDefault(col.references(), Map.of()).get((Long) row[i]);
                        if (mapped == null) {
                            // Named by its key only: other columns may be secrets (an app password's credential).
                            throw StoreException.invalid(t.name() + " " + row[t.index(t.key())] + " refers to "
                                    + col.references() + " " + row[i] + ", which the source lacks; the source store is damaged");
                        }
                        args.add(mapped);
                    }
                    case BODY -> {
                        referenceCopy(c, (String) row[i], source);
                        args.add(row[i]);
                    }
                    default -> args.add(row[i]);
                }
            }
            if (idColumn == null) {
                Pg.update(c, sql, args.toArray());
            } else {
                mine.put(sourceId, Pg.one(c, sql, rs -> rs.getLong(1), args.toArray()).orElseThrow());
            }
        }
    }

    /**
     * Adds a reference to a body: to its row if the target has it, else a new row with the body
     * read from the source and stored as the store stores it. Returns the bytes copied (0 for a
     * body the target had), and the body's MIME structure when it was read.
     */
    private Copied referenceCopy(Connection c, String hash, MigrationSource source) throws SQLException {
        if (Pg.update(c, "UPDATE blobs SET refcount = refcount + 1 WHERE hash = ?", hash) > 0) return new Copied(0, null);
        PgMailboxes.Body body;
        try (InputStream in = source.openBody(hash)) {
            body = PgMailboxes.body(in, "copy body " + hash);
        } catch (IOException e) {
            throw StoreException.unavailable("cannot read body " + hash + " of the source: " + e.getMessage(), e);
        }
        if (!body.hash().equals(hash)) {
            throw StoreException.invalid("the source's body " + hash + " reads as " + body.hash() + "; the source store is damaged");
        }
        mailboxes.referenceBody(c, body, 1);
        return new Copied(body.size(), body.structure());
    }

    private record Copied(long bytes, byte[] structure) {}

    @Override
    public void reserveUidValidity(long last) {
        Pg.transaction(pool, "reserve UIDVALIDITY values", c -> Pg.update(c,
                "UPDATE counters SET value = GREATEST(value, ?) WHERE name = 'uid_validity'", last), Connection::commit);
    }

    @Override
    public Optional<MailboxRecord> mailbox(String account, String name) {
        return Pg.read(pool, "look up mailbox " + account + "/" + name, c -> Pg.one(c,
                "SELECT m.uid_validity, m.uid_next, m.highest_modseq, m.first_recent_uid, m.special_use, m.created_at,"
                        + " (SELECT count(*) FROM messages WHERE mailbox_id = m.id), k.access_key, k.created_at FROM mailboxes m"
                        + " LEFT JOIN mailbox_access_keys k ON k.mailbox_id = m.id WHERE m.id = " + MAILBOX_BY_NAME,
                rs -> new MailboxRecord(account, name, rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                        Optional.ofNullable(rs.getString(5)), rs.getObject(6, OffsetDateTime.class).toInstant(), rs.getLong(7),
                        rs.getBytes(8) == null ? Optional.empty() : Optional.of(new MailboxRecord.AccessKey(rs.getBytes(8),
                                rs.getObject(9, OffsetDateTime.class).toInstant()))),
                account, name));
    }

    @Override
    public void createMailbox(MailboxRecord m, List<MailboxRecord.Expunged> expunged) {
        Pg.transaction(pool, "create mailbox " + m.label(), c -> {
            long account = Pg.one(c, "SELECT id FROM accounts WHERE address_key = ?", rs -> rs.getLong(1), m.account())
                    .orElseThrow(() -> StoreException.invalid("mailbox " + m.label() + " belongs to an account the target lacks"));
            Optional<Long> id = Pg.one(c, "INSERT INTO mailboxes (account_id, name, uid_validity, special_use, created_at,"
                    + " uid_next, highest_modseq, first_recent_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    + " ON CONFLICT (account_id, name) DO NOTHING RETURNING id", rs -> rs.getLong(1), account, m.name(),
                    m.uidValidity(), m.specialUse().orElse(null), m.createdAt(), m.uidNext(), m.highestModSeq(), m.firstRecentUid());
            if (id.isEmpty()) return null; // made by an earlier run, with all of the below
            if (m.accessKey().isPresent()) {
                Pg.update(c, "INSERT INTO mailbox_access_keys (mailbox_id, access_key, created_at) VALUES (?, ?, ?)", id.get(),
                        m.accessKey().get().key(), m.accessKey().get().createdAt());
            }
            try (PreparedStatement st = c.prepareStatement("INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)")) {
                for (MailboxRecord.Expunged e : expunged) {
                    st.setLong(1, id.get());
                    st.setLong(2, e.uid());
                    st.setLong(3, e.modSeq());
                    st.addBatch(); // one round trip for a mailbox's whole history, however long
                }
                st.executeBatch();
            }
            return null;
        }, Connection::commit);
    }

    @Override
    public List<MailboxRecord.Expunged> expunged(MailboxRecord m) {
        return Pg.read(pool, "read the expunged UIDs of " + m.label(), c -> Pg.list(c, "SELECT uid, modseq FROM expunged"
                + " WHERE mailbox_id = " + MAILBOX_BY_NAME + " ORDER BY uid", rs -> new MailboxRecord.Expunged(rs.getLong(1),
                rs.getLong(2)), m.account(), m.name()));
    }

    @Override
    public long lastUid(MailboxRecord m) {
        return Pg.read(pool, "read the last UID of " + m.label(), c -> Pg.count(c,
                "SELECT coalesce(max(uid), 0) FROM messages WHERE mailbox_id = " + MAILBOX_BY_NAME, m.account(), m.name()));
    }

    @Override
    public long copyMessages(MailboxRecord m, List<MessageRecord> messages, MigrationSource source) {
        return Pg.transaction(pool, "copy messages into " + m.label(), c -> {
            long mailboxId = Pg.one(c, "SELECT id FROM mailboxes WHERE id = " + MAILBOX_BY_NAME + " FOR UPDATE",
                    rs -> rs.getLong(1), m.account(), m.name())
                    .orElseThrow(() -> StoreException.notFound("mailbox " + m.label() + " is not in the target"));
            // UIDs an earlier run committed, in one query: a repeated batch adds nothing twice.
            Set<Long> present = new HashSet<>(Pg.list(c, "SELECT uid FROM messages WHERE mailbox_id = ?"
                    + " AND uid BETWEEN ? AND ?", rs -> rs.getLong(1), mailboxId, messages.getFirst().uid(), messages.getLast().uid()));
            long bytes = 0;
            for (MessageRecord r : messages) {
                if (present.contains(r.uid())) continue;
                Copied copied = referenceCopy(c, r.blobHash(), source);
                bytes += copied.bytes();
                byte[] structure = r.structure() != null ? r.structure()
                        : copied.structure() != null ? copied.structure() : parse(source, r.blobHash());
                boolean seen = Arrays.asList(r.flags().split(" ")).contains(Flags.SEEN);
                Pg.update(c, "INSERT INTO messages (mailbox_id, uid, modseq, flags, seen, internal_date, size, blob_hash,"
                        + " mime_structure) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", mailboxId, r.uid(), r.modSeq(), r.flags(), seen,
                        r.internalDate(), r.size(), r.blobHash(), structure);
            }
            return bytes;
        }, Connection::commit);
    }

    /** The MIME structure of a body the source has not parsed and the target already held. */
    private static byte[] parse(MigrationSource source, String hash) {
        try (InputStream in = source.openBody(hash)) {
            return MessageStructure.parse(in.readAllBytes()).encode();
        } catch (IOException e) {
            throw StoreException.unavailable("cannot read body " + hash + " of the source: " + e.getMessage(), e);
        }
    }

    @Override
    public Stream<MessageRecord> messages(MailboxRecord m, long afterUid) {
        return MessageRecord.pages(afterUid, after -> Pg.read(pool, "read the messages of " + m.label(), c -> Pg.list(c,
                "SELECT uid, modseq, flags, internal_date, size, blob_hash FROM messages WHERE mailbox_id = " + MAILBOX_BY_NAME
                        + " AND uid > ? ORDER BY uid LIMIT " + MessageRecord.PAGE,
                rs -> new MessageRecord(rs.getLong(1), rs.getLong(2), rs.getString(3),
                        rs.getObject(4, OffsetDateTime.class).toInstant(), rs.getLong(5), rs.getString(6), null),
                m.account(), m.name(), after)));
    }

    @Override
    public Optional<String> rehash(String hash) {
        return Pg.read(pool, "read back body " + hash, c -> {
            Optional<InputStream> stored = bodies.open(c, hash);
            if (stored.isEmpty()) return Optional.empty();
            MessageDigest sha = sha256();
            try (InputStream in = new DigestInputStream(stored.get(), sha)) {
                in.transferTo(java.io.OutputStream.nullOutputStream());
            } catch (IOException e) {
                throw StoreException.unavailable("cannot read back body " + hash + ": " + e.getMessage(), e);
            }
            return Optional.of(HexFormat.of().formatHex(sha.digest()));
        });
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** Nothing of its own: the {@link PostgresStore} it came from holds the connections and closes them. */
    @Override
    public void close() {}
}
