package org.castellan.store.embedded;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.castellan.store.StoreException;
import org.castellan.store.embedded.internal.Sql;
import org.castellan.store.embedded.internal.SqlErrors;
import org.castellan.store.migrate.MailboxRecord;
import org.castellan.store.migrate.MessageRecord;
import org.castellan.store.migrate.MigrationSource;
import org.castellan.store.migrate.Table;
import org.sqlite.SQLiteConfig;

/**
 * An embedded store read for a migration ({@code castellan store migrate}): its database opened
 * read-only on one connection, its body files read where they lie. Nothing is written, so a
 * source left as it was can always be started again. The store's schema must be current (open it
 * once with {@link EmbeddedMailStore#open} first).
 *
 * <p>Failure: every method throws {@link StoreException} {@code UNAVAILABLE} naming the database or
 * file that could not be read, {@code NOT_FOUND} for a body that is missing.
 */
public final class StoreExport implements MigrationSource {

    private final Path directory;
    private final Connection c;

    private StoreExport(Path directory, Connection c) {
        this.directory = directory;
        this.c = c;
    }

    /** Whether {@code directory} holds an embedded store's database. */
    public static boolean exists(Path directory) {
        return Files.isRegularFile(directory.resolve(EmbeddedMailStore.DATABASE_FILE));
    }

    /** Opens the store in {@code directory} (which must hold one) for reading. */
    public static StoreExport open(Path directory) {
        Path database = directory.resolve(EmbeddedMailStore.DATABASE_FILE);
        if (!Files.isRegularFile(database)) throw StoreException.notFound("no mail store database at " + database);
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        config.setBusyTimeout((int) EmbeddedMailStore.Options.DEFAULT_BUSY_TIMEOUT.toMillis());
        try {
            return new StoreExport(directory, config.createConnection("jdbc:sqlite:" + database.toAbsolutePath()));
        } catch (SQLException e) {
            throw SqlErrors.map(e, "open the mail store database " + database);
        }
    }

    @Override
    public List<Object[]> rows(Table table) {
        StringBuilder sql = new StringBuilder("SELECT ");
        for (int i = 0; i < table.columns().size(); i++) sql.append(i == 0 ? "" : ", ").append(table.columns().get(i).name());
        sql.append(" FROM ").append(table.name()).append(" ORDER BY ").append(table.order());
        return read("read the table " + table.name(), () -> Sql.list(c, sql.toString(), rs -> {
            Object[] row = new Object[table.columns().size()];
            for (int i = 0; i < row.length; i++) row[i] = value(rs, i + 1, table.columns().get(i).kind());
            return row;
        }));
    }

    /** A column's value in the form {@link Table.Kind} names: the embedded schema keeps times in ms, booleans as 0/1, days as text. */
    private static Object value(ResultSet rs, int column, Table.Kind kind) throws SQLException {
        Object raw = rs.getObject(column);
        if (raw == null) return null;
        return switch (kind) {
            case ID, REF, LONG -> rs.getLong(column);
            case TIME -> Instant.ofEpochMilli(rs.getLong(column));
            case BOOLEAN -> rs.getLong(column) != 0;
            case DATE -> LocalDate.parse(rs.getString(column));
            case BYTES -> rs.getBytes(column);
            case TEXT, BODY -> rs.getString(column);
        };
    }

    @Override
    public long lastUidValidity() {
        return read("read the UIDVALIDITY counter", () -> Sql.count(c, "SELECT value FROM counters WHERE name = 'uid_validity'"));
    }

    @Override
    public List<MailboxRecord> mailboxes() {
        return read("list the mailboxes", () -> Sql.list(c, "SELECT m.id, a.address_key, m.name, m.uid_validity, m.uid_next, m.highest_modseq,"
                    + " m.first_recent_uid, m.special_use, m.created_at, (SELECT count(*) FROM messages WHERE mailbox_id = m.id),"
                    + " k.access_key, k.created_at FROM mailboxes m JOIN accounts a ON a.id = m.account_id"
                    + " LEFT JOIN mailbox_access_keys k ON k.mailbox_id = m.id ORDER BY a.address_key, m.name", rs -> {
                        byte[] key = rs.getBytes(11);
                        Optional<MailboxRecord.AccessKey> access = key == null ? Optional.empty()
                                : Optional.of(new MailboxRecord.AccessKey(key, Instant.ofEpochMilli(rs.getLong(12))));
                        return new MailboxRecord(rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5), rs.getLong(6),
                                rs.getLong(7), Optional.ofNullable(rs.getString(8)), Instant.ofEpochMilli(rs.getLong(9)),
                                rs.getLong(10), access);
                    }));
    }

    /** The mailbox's id, by its account's address key and its name. */
    private static final String MAILBOX_BY_NAME = "(SELECT m.id FROM mailboxes m JOIN accounts a ON a.id = m.account_id"
            + " WHERE a.address_key = ? AND m.name = ?)";

    @Override
    public List<MailboxRecord.Expunged> expunged(MailboxRecord mailbox) {
        return read("read the expunged UIDs of " + mailbox.label(), () -> Sql.list(c, "SELECT uid, modseq FROM expunged"
                + " WHERE mailbox_id = " + MAILBOX_BY_NAME + " ORDER BY uid",
                rs -> new MailboxRecord.Expunged(rs.getLong(1), rs.getLong(2)), mailbox.account(), mailbox.name()));
    }

    @Override
    public Stream<MessageRecord> messages(MailboxRecord mailbox, long afterUid) {
        return MessageRecord.pages(afterUid, after -> read("read the messages of " + mailbox.label(), () -> Sql.list(c,
                "SELECT uid, modseq, flags, internal_date, size, blob_hash, mime_structure FROM messages WHERE mailbox_id = "
                        + MAILBOX_BY_NAME + " AND uid > ? ORDER BY uid LIMIT " + MessageRecord.PAGE,
                rs -> new MessageRecord(rs.getLong(1), rs.getLong(2), rs.getString(3), Instant.ofEpochMilli(rs.getLong(4)),
                        rs.getLong(5), rs.getString(6), rs.getBytes(7)),
                mailbox.account(), mailbox.name(), after)));
    }

    @Override
    public InputStream openBody(String hash) {
        Optional<byte[]> inline = read("read body " + hash,
                () -> Sql.one(c, "SELECT data FROM blob_data WHERE hash = ?", rs -> rs.getBytes(1), hash));
        if (inline.isPresent()) return new ByteArrayInputStream(inline.get());
        if (!hash.matches("[0-9a-f]{64}")) throw StoreException.invalid("not a body hash: " + hash);
        Path file = directory.resolve(EmbeddedMailStore.BLOB_DIRECTORY).resolve(hash.substring(0, 2)).resolve(hash);
        try {
            return Files.newInputStream(file);
        } catch (NoSuchFileException e) {
            throw StoreException.notFound("the body file " + file + " is missing; the store is damaged (restore it from a backup)");
        } catch (IOException e) {
            throw SqlErrors.map(e, "read the body file " + file);
        }
    }

    @FunctionalInterface
    private interface Read<T> {
        T run() throws SQLException;
    }

    private <T> T read(String doing, Read<T> work) {
        try {
            return work.run();
        } catch (SQLException e) {
            throw SqlErrors.map(e, doing);
        }
    }

    @Override
    public void close() {
        try {
            Sql.close(c);
        } catch (SQLException e) {
            throw SqlErrors.map(e, "close the mail store database in " + directory);
        }
    }
}
