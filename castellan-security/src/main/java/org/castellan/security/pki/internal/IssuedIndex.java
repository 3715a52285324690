package org.castellan.security.pki.internal;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.castellan.security.internal.SecureFiles;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.IssuedEntry;
import org.castellan.security.pki.PkiException;
import org.castellan.security.pki.RevocationReason;

/**
 * The CA's list of issued certificates as a tab-separated text file, one certificate a line:
 * {@code serial kind not-before not-after revoked-at reason owner subject}, with {@code -} for
 * "not revoked". Plain text so that an operator can read it with {@code column -t} and back it up
 * with the keys; rewritten whole and atomically on every change.
 */
public final class IssuedIndex {

    private static final String HEADER =
            "# serial\tkind\tnot-before\tnot-after\trevoked-at\treason\towner\tsubject";
    private static final int FIELDS = 8;
    private static final String NONE = "-";

    private IssuedIndex() {}

    /** The entries in {@code file}, or none if it does not exist yet. */
    public static List<IssuedEntry> read(Path file) {
        if (!Files.exists(file)) return List.of();
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new PkiException("cannot read " + file + ": " + e.getMessage(), e);
        }
        List<IssuedEntry> entries = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || line.startsWith("#")) continue;
            entries.add(parse(line, file, i + 1));
        }
        return entries;
    }

    /** Replaces {@code file} with {@code entries}. */
    public static void write(Path file, List<IssuedEntry> entries) {
        StringBuilder text = new StringBuilder(HEADER).append('\n');
        for (IssuedEntry e : entries) {
            text.append(e.serialHex()).append('\t')
                    .append(e.kind().caName()).append('\t')
                    .append(e.notBefore()).append('\t')
                    .append(e.notAfter()).append('\t')
                    .append(e.revocation().map(r -> r.time().toString()).orElse(NONE)).append('\t')
                    .append(e.revocation().map(r -> r.reason().label()).orElse(NONE)).append('\t')
                    .append(field(e.owner())).append('\t')
                    .append(field(e.subject())).append('\n');
        }
        try {
            SecureFiles.write(file, text.toString().getBytes(StandardCharsets.UTF_8), SecureFiles.PUBLIC);
        } catch (IOException e) {
            throw new PkiException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static String field(String value) {
        // Names are checked before issuing; this guards the file format against anything missed.
        if (value.indexOf('\t') >= 0 || value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
            throw new PkiException("'" + value.replaceAll("[\\t\\r\\n]", "?")
                    + "' contains a tab or line break, which the certificate index cannot hold");
        }
        return value;
    }

    private static IssuedEntry parse(String line, Path file, int number) {
        String[] f = line.split("\t", -1);
        String where = file + " line " + number;
        if (f.length != FIELDS) {
            throw new PkiException(where + ": expected " + FIELDS + " tab-separated fields, found " + f.length
                    + "; repair the line or restore the file from a backup");
        }
        try {
            Optional<IssuedEntry.Revocation> revocation = f[4].equals(NONE)
                    ? Optional.empty()
                    : Optional.of(new IssuedEntry.Revocation(Instant.parse(f[4]), RevocationReason.fromLabel(f[5])));
            return new IssuedEntry(new BigInteger(f[0], 16), CertificateKind.fromCaName(f[1]), f[7], f[6],
                    Instant.parse(f[2]), Instant.parse(f[3]), revocation);
        } catch (NumberFormatException | DateTimeParseException | PkiException e) {
            throw new PkiException(where + ": " + e.getMessage()
                    + "; repair the line or restore the file from a backup", e);
        }
    }
}
