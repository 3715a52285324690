package org.castellan.store.migrate;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.castellan.store.StoreException;

/**
 * Copies an embedded store into the PostgreSQL store and checks the copy (docs/administration.md,
 * "Moving an embedded store to PostgreSQL"). Order: the directory (one transaction), each mailbox with its
 * counters and then its messages in UID order (transactions of {@link #BATCH_MESSAGES} messages or
 * {@link #BATCH_BYTES} of bodies), the outbound queue with the TLS-RPT counts (one transaction),
 * the auth log if asked (one transaction). A run that was interrupted (even by kill -9) is
 * continued by the next: committed steps are recorded in the target, and a mailbox continues after
 * the highest UID it holds, so every message ends up there once.
 *
 * <p>Refusal: {@link #check} refuses a target that holds another store's directory, before anything
 * is written. Failure: whatever the stores throw ({@code StoreException}); what was committed stays
 * and the next run continues from it.
 */
public final class Migration {

    /** Messages per transaction: long enough to amortise a commit, short enough that a kill loses little. */
    static final int BATCH_MESSAGES = 200;
    /** Bodies per transaction, in bytes: a transaction of large bodies commits sooner. */
    static final long BATCH_BYTES = 64L * 1024 * 1024;
    /** How often a progress line is printed. */
    static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);
    /** Step names recorded in the target. */
    static final String DIRECTORY_STEP = "directory";
    static final String QUEUE_STEP = "queue";
    static final String AUTH_LOG_STEP = "auth-log";

    private final MigrationSource source;
    private final MigrationTarget target;
    private final boolean withAuthLog;
    private final Consumer<String> progress;

    /**
     * @param withAuthLog whether the auth log travels too (it is a record of the past, not needed to
     *     serve mail; without it the target's log starts empty)
     * @param progress where progress lines go
     */
    public Migration(MigrationSource source, MigrationTarget target, boolean withAuthLog, Consumer<String> progress) {
        this.source = source;
        this.target = target;
        this.withAuthLog = withAuthLog;
        this.progress = progress;
    }

    /** What a copy did. {@code messages} and {@code bytes}: copied by this run. */
    public record Summary(int accounts, int mailboxes, long messages, long bytes, Duration took) {}

    /**
     * Refuses a target that holds data this store did not give it: a domain, account or alias the
     * source lacks, the same address with another secret or creation time (another store's
     * account), a mailbox with another UIDVALIDITY, or a directory written by something else than
     * an earlier run of this copy.
     *
     * @throws StoreException {@code INVALID} naming the first such thing
     */
    public void check() {
        Map<String, Object[]> accounts = byKey(source.rows(Tables.ACCOUNTS), Tables.ACCOUNTS);
        List<Object[]> targetAccounts = target.rows(Tables.ACCOUNTS);
        List<Object[]> targetDomains = target.rows(Tables.DOMAINS);
        if (!target.done(DIRECTORY_STEP) && !(targetAccounts.isEmpty() && targetDomains.isEmpty())) {
            throw StoreException.invalid("the target database already holds domains or accounts that castellan store"
                    + " migrate did not write; migrate into a new, empty database");
        }
        Map<String, Object[]> domains = byKey(source.rows(Tables.DOMAINS), Tables.DOMAINS);
        for (Object[] d : targetDomains) {
            if (!domains.containsKey(key(d, Tables.DOMAINS))) throw foreign("domain " + key(d, Tables.DOMAINS), "this store lacks it");
        }
        int credential = Tables.ACCOUNTS.index("credential");
        int created = Tables.ACCOUNTS.index("created_at");
        for (Object[] a : targetAccounts) {
            String address = key(a, Tables.ACCOUNTS);
            Object[] mine = accounts.get(address);
            if (mine == null) throw foreign("account " + address, "this store lacks it");
            if (!Objects.equals(mine[credential], a[credential]) || !Objects.equals(mine[created], a[created])) {
                throw foreign("account " + address, "with another secret or creation time than this store's");
            }
        }
        Map<String, Object[]> aliases = byKey(source.rows(Tables.ALIASES), Tables.ALIASES);
        int aliasTarget = Tables.ALIASES.index("target");
        for (Object[] a : target.rows(Tables.ALIASES)) {
            Object[] mine = aliases.get(key(a, Tables.ALIASES));
            if (mine == null || !Objects.equals(mine[aliasTarget], a[aliasTarget])) {
                throw foreign("alias " + key(a, Tables.ALIASES), "this store has no such alias");
            }
        }
        if (!target.done(DIRECTORY_STEP)) return;
        for (MailboxRecord m : source.mailboxes()) {
            Optional<MailboxRecord> there = target.mailbox(m.account(), m.name());
            if (there.isPresent() && there.get().uidValidity() != m.uidValidity()) {
                throw foreign("mailbox " + m.label(), "with UIDVALIDITY " + there.get().uidValidity() + " where this store's is "
                        + m.uidValidity());
            }
        }
    }

    private static StoreException foreign(String what, String how) {
        return StoreException.invalid("the target database holds " + what + ", " + how + ": it holds another store's data;"
                + " migrate into a new, empty database");
    }

    /** Copies what is not in the target yet. */
    public Summary copy() {
        long started = System.nanoTime();
        if (!target.done(DIRECTORY_STEP)) {
            target.copyRows(DIRECTORY_STEP, Tables.DIRECTORY, source);
            progress.accept("directory copied");
        }
        target.reserveUidValidity(source.lastUidValidity());
        List<MailboxRecord> mailboxes = source.mailboxes();
        long total = mailboxes.stream().mapToLong(MailboxRecord::messages).sum();
        Progress p = new Progress(total, started);
        for (MailboxRecord m : mailboxes) {
            if (target.mailbox(m.account(), m.name()).isEmpty()) target.createMailbox(m, source.expunged(m));
            copyMessages(m, p);
        }
        if (!target.done(QUEUE_STEP)) target.copyRows(QUEUE_STEP, Tables.QUEUE, source);
        if (withAuthLog && !target.done(AUTH_LOG_STEP)) target.copyRows(AUTH_LOG_STEP, List.of(Tables.AUTH_LOG), source);
        int accounts = source.rows(Tables.ACCOUNTS).size();
        return new Summary(accounts, mailboxes.size(), p.messages, p.bytes, Duration.ofNanos(System.nanoTime() - started));
    }

    /** Counts what was copied and says so every {@link #PROGRESS_EVERY}. */
    private final class Progress {
        final long total;
        final long started;
        long messages;
        long bytes;
        long lastSaid;

        Progress(long total, long started) {
            this.total = total;
            this.started = started;
            this.lastSaid = started;
        }

        void copied(MailboxRecord m, int count, long size) {
            messages += count;
            bytes += size;
            long now = System.nanoTime();
            if (now - lastSaid < PROGRESS_EVERY.toNanos()) return;
            lastSaid = now;
            progress.accept("copied " + messages + " message(s) of " + total + " (" + bytes / (1024 * 1024) + " MiB) in "
                    + Duration.ofNanos(now - started).toSeconds() + " s; now " + m.label());
        }
    }

    private void copyMessages(MailboxRecord m, Progress p) {
        long after = target.lastUid(m);
        List<MessageRecord> batch = new ArrayList<>();
        long batchBytes = 0;
        try (Stream<MessageRecord> messages = source.messages(m, after)) {
            for (Iterator<MessageRecord> it = messages.iterator(); it.hasNext(); ) {
                MessageRecord r = it.next();
                batch.add(r);
                batchBytes += r.size();
                if (batch.size() >= BATCH_MESSAGES || batchBytes >= BATCH_BYTES) {
                    p.copied(m, batch.size(), target.copyMessages(m, batch, source));
                    batch.clear();
                    batchBytes = 0;
                }
            }
        }
        if (!batch.isEmpty()) p.copied(m, batch.size(), target.copyMessages(m, batch, source));
    }

    /** One difference between the stores, for the operator. */
    public record Mismatch(String where, String what) {
        @Override
        public String toString() {
            return where + ": " + what;
        }
    }

    /** What a verification found; empty {@link #mismatches} when the copy is whole. */
    public record Verification(int mailboxes, long messages, long bodies, List<Mismatch> mismatches) {
        public boolean ok() {
            return mismatches.isEmpty();
        }
    }

    /**
     * Compares the stores: every copied table's rows (ids aside); per mailbox its UIDVALIDITY,
     * UIDNEXT, HIGHESTMODSEQ, message count and a SHA-256 over every message's UID, MODSEQ, flags,
     * internal date, size and body hash, naming the first UID that differs; and every body the
     * target's messages name, read back from the target (inline or object store) and hashed.
     */
    public Verification verify() {
        List<Mismatch> found = new ArrayList<>();
        List<Table> tables = new ArrayList<>(Tables.DIRECTORY);
        tables.addAll(Tables.QUEUE);
        if (withAuthLog || target.done(AUTH_LOG_STEP)) tables.add(Tables.AUTH_LOG);
        for (Table t : tables) compareRows(t, found);
        Set<String> rehashed = new HashSet<>();
        long messages = 0;
        List<MailboxRecord> mailboxes = source.mailboxes();
        for (MailboxRecord m : mailboxes) messages += compareMailbox(m, rehashed, found);
        return new Verification(mailboxes.size(), messages, rehashed.size(), List.copyOf(found));
    }

    private void compareRows(Table t, List<Mismatch> found) {
        List<String> mine = rowTexts(source.rows(t), t);
        List<String> theirs = rowTexts(target.rows(t), t);
        if (mine.size() != theirs.size()) {
            found.add(new Mismatch("table " + t.name(), mine.size() + " row(s) here, " + theirs.size() + " in the target"));
            return;
        }
        mine.sort(null);
        theirs.sort(null);
        for (int i = 0; i < mine.size(); i++) {
            if (!mine.get(i).equals(theirs.get(i))) {
                found.add(new Mismatch("table " + t.name(), "the row " + mine.get(i) + " differs in the target"));
                return;
            }
        }
    }

    /** A row as text without its ids, which differ between the stores by design. */
    private static List<String> rowTexts(List<Object[]> rows, Table t) {
        List<String> out = new ArrayList<>(rows.size());
        for (Object[] row : rows) {
            StringBuilder b = new StringBuilder(t.key()).append('=').append(text(row[t.index(t.key())]));
            for (int i = 0; i < row.length; i++) {
                Table.Kind kind = t.columns().get(i).kind();
                if (kind == Table.Kind.ID || kind == Table.Kind.REF) continue;
                b.append(' ').append(t.columns().get(i).name()).append('=').append(text(row[i]));
            }
            out.add(b.toString());
        }
        return out;
    }

    private long compareMailbox(MailboxRecord m, Set<String> rehashed, List<Mismatch> found) {
        Optional<MailboxRecord> copy = target.mailbox(m.account(), m.name());
        String where = "mailbox " + m.label();
        if (copy.isEmpty()) {
            found.add(new Mismatch(where, "missing in the target"));
            return 0;
        }
        MailboxRecord t = copy.get();
        if (t.uidValidity() != m.uidValidity() || t.uidNext() != m.uidNext() || t.highestModSeq() != m.highestModSeq()) {
            found.add(new Mismatch(where, "UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ " + m.uidValidity() + "/" + m.uidNext() + "/"
                    + m.highestModSeq() + " here, " + t.uidValidity() + "/" + t.uidNext() + "/" + t.highestModSeq() + " in the target"));
        }
        if (!m.accessKey().map(k -> HexFormat.of().formatHex(k.key())).equals(t.accessKey().map(k -> HexFormat.of().formatHex(k.key())))) {
            found.add(new Mismatch(where, "its URLAUTH access key differs in the target"));
        }
        List<MailboxRecord.Expunged> expunged = source.expunged(m);
        List<MailboxRecord.Expunged> expungedThere = target.expunged(t);
        if (!expunged.equals(expungedThere)) {
            found.add(new Mismatch(where, "the expunged UIDs QRESYNC reports differ: " + expunged.size() + " here, "
                    + expungedThere.size() + " in the target"));
        }
        MessageDigest mine = sha256();
        MessageDigest theirs = sha256();
        long count = 0;
        Mismatch first = null;
        try (Stream<MessageRecord> a = source.messages(m, 0); Stream<MessageRecord> b = target.messages(t, 0)) {
            Iterator<MessageRecord> here = a.iterator();
            Iterator<MessageRecord> there = b.iterator();
            while (here.hasNext() || there.hasNext()) {
                MessageRecord x = here.hasNext() ? here.next() : null;
                MessageRecord y = there.hasNext() ? there.next() : null;
                if (x != null) {
                    mine.update((x.line() + "\n").getBytes(StandardCharsets.UTF_8));
                    count++;
                }
                if (y != null) {
                    theirs.update((y.line() + "\n").getBytes(StandardCharsets.UTF_8));
                    if (first == null && rehashed.add(y.blobHash())) first = rehash(where, y);
                }
                if (first == null && (x == null || y == null || !x.line().equals(y.line()))) {
                    first = difference(where, x, y);
                }
            }
        }
        if (first != null) found.add(first);
        else if (!MessageDigest.isEqual(mine.digest(), theirs.digest())) found.add(new Mismatch(where, "the checksums differ"));
        return count;
    }

    private Mismatch rehash(String where, MessageRecord y) {
        Optional<String> read = target.rehash(y.blobHash());
        if (read.isEmpty()) return new Mismatch(where, "UID " + y.uid() + ": its body " + y.blobHash() + " is missing in the target");
        if (!read.get().equals(y.blobHash())) {
            return new Mismatch(where, "UID " + y.uid() + ": its body " + y.blobHash() + " reads back from the target as " + read.get());
        }
        return null;
    }

    private static Mismatch difference(String where, MessageRecord x, MessageRecord y) {
        if (y == null || (x != null && x.uid() < y.uid())) return new Mismatch(where, "UID " + x.uid() + " is missing in the target");
        if (x == null || y.uid() < x.uid()) return new Mismatch(where, "UID " + y.uid() + " is in the target only");
        return new Mismatch(where, "UID " + x.uid() + " differs: " + x.line() + " here, " + y.line() + " in the target");
    }

    private static Map<String, Object[]> byKey(List<Object[]> rows, Table t) {
        Map<String, Object[]> out = new HashMap<>();
        for (Object[] r : rows) out.put(key(r, t), r);
        return out;
    }

    private static String key(Object[] row, Table t) {
        return text(row[t.index(t.key())]);
    }

    private static String text(Object value) {
        return switch (value) {
            case null -> "null";
            case byte[] bytes -> HexFormat.of().formatHex(bytes);
            case Instant t -> Long.toString(t.toEpochMilli());
            default -> value.toString();
        };
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
