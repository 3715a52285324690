package org.castellan.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.UUID;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.LogFormat;
import org.castellan.server.testing.LogCapture;
import org.castellan.server.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probe found three temporary files of about 200 KB that a server killed with kill -9 left
 * behind (a message spooled while it arrived, a body being written to the store) and that nothing
 * ever removed. Such files are planted here as a killed server leaves them; at the next start they
 * are gone, the log says how many, and only they are: the mail, files of a live process and files
 * named otherwise stay.
 */
class TempSweepTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir Path dir;

    @Test
    void filesAKilledServerLeftAreRemovedAtStartAndTheMailIsIntact() throws Exception {
        TestServer first = TestServer.start(dir, TestServer.listener("mx", "smtp", "none", false),
                TestServer.listener("imap", "imap", "none", true));
        String message = "From: carol@example.net\r\nSubject: kept\r\n\r\nstill here\r\n";
        try (RawClient c = RawClient.connect(first.server().addresses().get("mx").getPort())) {
            c.line();
            c.send("HELO client.example\r\nMAIL FROM:<carol@example.net>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
            for (int i = 0; i < 4; i++) c.line();
            c.send(message + ".\r\n");
            assertThat(c.line()).startsWith("250 ");
        }
        first.server().close();

        // What kill -9 in the middle of two large messages and a store write leaves behind.
        long dead = endedProcess();
        long alive = ProcessHandle.current().parent().orElseThrow().pid();
        Path spool = dir.resolve("spool");
        Path blobTemp = dir.resolve("mail/blobs/tmp");
        Path spooled1 = write(spool.resolve("castellan-" + dead + "-4404719347823911203.eml"));
        Path spooled2 = write(spool.resolve("castellan-" + dead + "-98765.eml"));
        Path body = write(blobTemp.resolve(dead + "-" + UUID.randomUUID() + ".tmp"));
        Path liveSpool = write(spool.resolve("castellan-" + alive + "-1.eml"));
        Path liveBody = write(blobTemp.resolve(alive + "-" + UUID.randomUUID() + ".tmp"));
        Path foreign = write(spool.resolve("notes.eml"));

        Castellan second;
        try (LogCapture log = new LogCapture(LogFormat.TEXT)) {
            second = Castellan.start(CastellanConfig.load(dir.resolve("castellan.toml")));
            await().atMost(LIMIT).until(() -> log.text().contains("removed 2 temporary message file(s)")
                    && log.text().contains("removed 1 temporary file(s)"));
        }
        try {
            assertThat(spooled1).doesNotExist();
            assertThat(spooled2).doesNotExist();
            assertThat(body).doesNotExist();
            assertThat(liveSpool).exists();
            assertThat(liveBody).exists();
            assertThat(foreign).exists();
            assertThat(TestServer.messages(second.store(), first.otherInbox())).singleElement()
                    .satisfies(m -> assertThat(new String(m, StandardCharsets.UTF_8)).endsWith(message));
        } finally {
            second.close();
        }
    }

    /** The pid of a process that has ended. */
    private static long endedProcess() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    /** About 200 KB of a half-received message at {@code file}. */
    private static Path write(Path file) throws Exception {
        byte[] content = new byte[200 * 1024];
        new Random(file.hashCode()).nextBytes(content);
        Files.createDirectories(file.getParent());
        return Files.write(file, content);
    }
}
