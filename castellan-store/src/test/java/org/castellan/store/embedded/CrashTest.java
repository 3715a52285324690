package org.castellan.store.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Account;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every acknowledged message survives kill -9 (docs/design.md §5 invariant 7): a child JVM appends
 * from several threads, acknowledging each append on stdout once it returned; it is killed with
 * SIGKILL in the middle of its work, and every acknowledged message must be there, byte for byte.
 */
class CrashTest {

    /** Enough acknowledgements that many group commits were under way when the kill came. */
    private static final int ACKS_BEFORE_KILL = 200;
    private static final int THREADS = 6;

    @TempDir
    Path data;

    @TempDir
    Path logs;

    record Ack(int thread, int index, long uid) {}

    @Test
    void everyAcknowledgedMessageSurvivesSigkill() throws Exception {
        long mailboxId;
        try (EmbeddedMailStore store = EmbeddedMailStore.open(data)) {
            store.createDomain("example.org");
            Account alice = store.createAccount(EmailAddress.of("alice@example.org"), "secret", OptionalLong.empty());
            mailboxId = store.getMailbox(alice.id(), "INBOX").orElseThrow().id();
        }

        String java = ProcessHandle.current().info().command().orElseThrow();
        Path stderr = logs.resolve("child.err");
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), CrashChild.class.getName(),
                data.toString(), Long.toString(mailboxId), Integer.toString(THREADS))
                .redirectError(stderr.toFile())
                .start();
        List<Ack> acks = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; acks.size() < ACKS_BEFORE_KILL && (line = out.readLine()) != null; ) {
                acks.add(parse(line));
            }
            assertThat(acks).as("acknowledgements before the child ended; its stderr: %s", Files.readString(stderr))
                    .hasSize(ACKS_BEFORE_KILL);

            child.destroyForcibly(); // SIGKILL: no shutdown hooks, no close()
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }

        try (EmbeddedMailStore store = EmbeddedMailStore.open(data)) {
            List<Long> stored = store.listMessages(mailboxId, UidRange.all()).stream().map(MessageMeta::uid).toList();
            assertThat(stored).containsAll(acks.stream().map(Ack::uid).toList());
            for (Ack ack : acks) {
                try (InputStream in = store.openMessage(mailboxId, ack.uid())) {
                    assertThat(in.readAllBytes()).as("message %s", ack).isEqualTo(CrashChild.body(ack.thread(), ack.index()));
                }
            }
            // The store still works after the crash, and UIDs go on increasing.
            long next = store.append(mailboxId, new byte[] {1}, Set.of(), null).uid();
            assertThat(next).isGreaterThan(stored.get(stored.size() - 1));
        }
    }

    private static Ack parse(String line) {
        String[] parts = line.split(" ");
        assertThat(parts).as("child output line '%s'", line).hasSize(4).startsWith("ACK");
        return new Ack(Integer.parseInt(parts[1]), Integer.parseInt(parts[2]), Long.parseLong(parts[3]));
    }
}
