package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.stream.Stream;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/**
 * RFC 7889 APPENDLIMIT: a message up to the advertised limit is taken, whether sent as a
 * synchronizing literal or as a LITERAL+ one (RFC 7888), and stored byte for byte; it streams
 * through a temporary file that is gone once the command is over or the client has left. Other
 * commands' literals stay small.
 */
class LargeLiteralTest extends ServerPerTest {

    /** A message of {@code size} octets whose every line carries {@code marker}. */
    static byte[] message(String marker, int size) {
        StringBuilder b = new StringBuilder("From: carol@example.net\r\nSubject: large " + marker + "\r\n\r\n");
        String line = marker + " 0123456789abcdefghijklmnopqrstuvwxyz\r\n";
        while (b.length() + line.length() <= size) b.append(line);
        while (b.length() < size) b.append('.');
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static void write(Transcript t, byte[] bytes) {
        try {
            OutputStream out = t.socket().getOutputStream();
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private byte[] stored(long uid) throws IOException {
        try (InputStream in = imap.store().openMessage(imap.inbox, uid)) {
            return in.readAllBytes();
        }
    }

    @Test
    void aSynchronizingLiteralAboveTheOldCommandLimitIsStored() throws IOException {
        byte[] msg = message("sync", 262_122);
        long next = uidNext();
        try (Transcript t = imap.loggedIn()) {
            t.send("a1 APPEND INBOX {" + msg.length + "}");
            t.expect("\\+ Ready for literal data");
            write(t, msg);
            t.send("");
            t.expect("a1 OK \\[APPENDUID \\d+ " + next + "\\] APPEND completed");
        }
        assertThat(stored(next)).isEqualTo(msg);
    }

    @Test
    void nonSynchronizingLiteralsOfSeveralMegabytesAreStoredInOrder() throws IOException {
        byte[] first = message("plus-1", 3 * 1024 * 1024 + 17);
        byte[] second = message("plus-2", 300_000);
        long next = uidNext();
        try (Transcript t = imap.loggedIn()) {
            t.sendRaw("a1 APPEND INBOX (\\Seen) {" + first.length + "+}\r\n");
            write(t, first);
            t.sendRaw("\r\na2 APPEND INBOX {" + second.length + "+}\r\n");
            write(t, second);
            t.sendRaw("\r\na3 NOOP\r\n");
            t.run("""
                    S: a1 OK \\[APPENDUID \\d+ %d\\] APPEND completed
                    S: a2 OK \\[APPENDUID \\d+ %d\\] APPEND completed
                    S: a3 OK NOOP completed
                    """.formatted(next, next + 1));
        }
        assertThat(stored(next)).isEqualTo(first);
        assertThat(stored(next + 1)).isEqualTo(second);
    }

    @Test
    void otherCommandsLiteralsStayBounded() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 SEARCH TEXT {300000}
                    S: a1 BAD \\[TOOBIG\\] Command too large
                    C: a2 NOOP
                    S: a2 OK NOOP completed
                    """);
        }
    }

    @Test
    void theSpoolFileGoesWithTheCommandAndWithTheClient() throws IOException {
        String marker = UUID.randomUUID().toString();
        byte[] msg = message(marker, 2 * 1024 * 1024);
        try (Transcript t = imap.loggedIn()) {
            t.sendRaw("a1 APPEND INBOX {" + msg.length + "+}\r\n");
            write(t, java.util.Arrays.copyOf(msg, msg.length - 1000));
            await().atMost(Duration.ofSeconds(20)).until(() -> spooled(marker) > 0);
        } // the client goes away in the middle of the literal
        await().atMost(Duration.ofSeconds(20)).until(() -> spooled(marker) == 0);
        try (Transcript t = imap.loggedIn()) {
            t.sendRaw("a1 APPEND INBOX {" + msg.length + "+}\r\n");
            write(t, msg);
            t.send("");
            t.expect("a1 OK \\[APPENDUID .*");
            assertThat(spooled(marker)).isZero();
        }
    }

    /** Temporary files holding octets of the message marked {@code marker}, in the server's spool directory. */
    private long spooled(String marker) throws IOException {
        byte[] needle = marker.getBytes(StandardCharsets.US_ASCII);
        try (Stream<Path> files = Files.list(dir.resolve("spool"))) {
            return files.filter(f -> f.getFileName().toString().startsWith("castellan-") && f.toString().endsWith(".eml"))
                    .filter(f -> contains(f, needle)).count();
        }
    }

    private static boolean contains(Path file, byte[] needle) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(64 * 1024);
            outer:
            for (int i = 0; i + needle.length <= head.length; i++) {
                for (int k = 0; k < needle.length; k++) if (head[i + k] != needle[k]) continue outer;
                return true;
            }
            return false;
        } catch (IOException e) {
            return false; // deleted meanwhile
        }
    }
}
