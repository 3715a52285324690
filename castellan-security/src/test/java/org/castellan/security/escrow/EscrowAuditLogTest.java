package org.castellan.security.escrow;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hash chain of the escrow audit log: appended lines read back; an edit or a removed line is found. */
class EscrowAuditLogTest {

    @TempDir Path tmp;

    private EscrowAuditLog logWithThreeLines() {
        EscrowAuditLog log = new EscrowAuditLog(tmp);
        log.append(new EscrowAuditLog.Entry(Instant.parse("2026-12-01T10:00:00Z"), "root", "init", "-", 0, "ok", "key 1"));
        log.append(new EscrowAuditLog.Entry(Instant.parse("2026-12-01T10:05:00Z"), "root", "recover", "ab12", 2, "refused",
                "3 shares are needed\tforged\nline"));
        log.append(new EscrowAuditLog.Entry(Instant.parse("2026-12-01T10:06:00Z"), "root", "recover", "ab12", 3, "ok", "-"));
        return log;
    }

    @Test
    void linesReadBackWithAnUnbrokenChain() {
        EscrowAuditLog.Reading reading = logWithThreeLines().read();
        assertThat(reading.findings()).isEmpty();
        assertThat(reading.entries()).extracting(EscrowAuditLog.Entry::outcome).containsExactly("ok", "refused", "ok");
        // A detail cannot start a line of its own.
        assertThat(reading.entries().get(1).detail()).isEqualTo("3 shares are needed forged line");
    }

    @Test
    void anEditedLineBreaksTheChainAfterIt() throws Exception {
        EscrowAuditLog log = logWithThreeLines();
        String text = Files.readString(log.file()).replace("\trefused\t", "\tok\t");
        Files.writeString(log.file(), text);
        assertThat(log.read().findings()).singleElement().asString().contains("line 3 does not follow the line before it");
    }

    @Test
    void aRemovedLineIsFound() throws Exception {
        EscrowAuditLog log = logWithThreeLines();
        List<String> lines = new ArrayList<>(Files.readAllLines(log.file()));
        lines.remove(1);
        Files.write(log.file(), lines, StandardCharsets.UTF_8);
        assertThat(log.read().findings()).singleElement().asString().contains("line 2 does not follow");
    }
}
