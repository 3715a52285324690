package org.castellan.security.escrow;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The escrow's append-only record ({@value #FILE}): one line per event (an escrow key made, a key
 * escrowed, every recovery attempt, successful or not), each ending with the SHA-256 of the line
 * before it, so that an edited or deleted line breaks the chain from there on. Cutting lines off
 * the end leaves a valid chain; that only a copy kept elsewhere (the system log, a backup) shows.
 *
 * <p>Line: {@code TIME TAB USER TAB EVENT TAB SERIAL TAB SHARES TAB OUTCOME TAB DETAIL TAB prev=HEX}.
 *
 * <p>Failure: {@link #append} throws {@link EscrowException} when the file cannot be written;
 * callers do not recover a key without its record.
 */
public final class EscrowAuditLog {

    public static final String FILE = "audit.log";
    /** The "previous line" of the first line. */
    static final String GENESIS = "castellan escrow audit log";

    private final Path file;

    public EscrowAuditLog(Path escrowDirectory) {
        this.file = escrowDirectory.resolve(FILE);
    }

    public Path file() {
        return file;
    }

    /**
     * One line of the log.
     *
     * @param serial the certificate serial in hex, or "-"
     * @param shares how many share lines were given, 0 where none are involved
     */
    public record Entry(Instant time, String user, String event, String serial, int shares, String outcome, String detail) {}

    /**
     * What {@link #read} found: every line it could read, and each place where the chain or the
     * form of a line is broken.
     */
    public record Reading(List<Entry> entries, List<String> findings) {}

    /**
     * Appends {@code entry} after the current last line, synced to disk before returning. The file
     * is locked meanwhile: the server (EST) and a command may append at once, and two lines chained
     * to the same predecessor would read as a broken chain.
     */
    public synchronized void append(Entry entry) {
        try (FileChannel channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.APPEND), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
             FileLock lock = channel.lock()) {
            String previous = lastLine().orElse(GENESIS);
            String line = String.join("\t", entry.time().truncatedTo(ChronoUnit.SECONDS).toString(), clean(entry.user()),
                    clean(entry.event()), clean(entry.serial()), Integer.toString(entry.shares()), clean(entry.outcome()),
                    clean(entry.detail()), "prev=" + hash(previous)) + "\n";
            ByteBuffer buffer = ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
            while (buffer.hasRemaining()) channel.write(buffer);
            channel.force(true);
        } catch (IOException e) {
            throw new EscrowException("cannot append to the escrow audit log " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads the log and checks its chain; an absent log is empty. */
    public Reading read() {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return new Reading(List.of(), List.of());
        } catch (IOException e) {
            throw new EscrowException("cannot read the escrow audit log " + file + ": " + e.getMessage(), e);
        }
        List<Entry> entries = new ArrayList<>();
        List<String> findings = new ArrayList<>();
        String previous = GENESIS;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String[] f = line.split("\t", -1);
            int number = i + 1;
            if (f.length != 8 || !f[7].startsWith("prev=")) {
                findings.add(file + " line " + number + " is not an audit line (the file was edited)");
            } else {
                if (!f[7].equals("prev=" + hash(previous))) {
                    findings.add(file + " line " + number + " does not follow the line before it: a line at or before "
                            + number + " was edited, inserted or removed");
                }
                try {
                    entries.add(new Entry(Instant.parse(f[0]), f[1], f[2], f[3], Integer.parseInt(f[4]), f[5], f[6]));
                } catch (java.time.format.DateTimeParseException | NumberFormatException e) {
                    findings.add(file + " line " + number + " has a malformed time or count (the file was edited)");
                }
            }
            previous = line;
        }
        return new Reading(List.copyOf(entries), List.copyOf(findings));
    }

    private Optional<String> lastLine() throws IOException {
        if (!Files.exists(file)) return Optional.empty();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        return lines.isEmpty() ? Optional.empty() : Optional.of(lines.get(lines.size() - 1));
    }

    private static String hash(String line) {
        return HexFormat.of().formatHex(EscrowShare.sha256(line.getBytes(StandardCharsets.UTF_8)));
    }

    /** A field never holds the separators: a detail with a tab or newline could forge a line. */
    private static String clean(String field) {
        return field == null || field.isEmpty() ? "-" : field.replaceAll("[\\t\\r\\n\\p{Cntrl}]", " ");
    }
}
