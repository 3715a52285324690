package org.castellan.store.embedded;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.castellan.store.AppendResult;

/**
 * The process {@link CrashTest} kills: appends from several threads and prints
 * {@code ACK <thread> <index> <uid>} on stdout once each append has returned.
 *
 * <p>Arguments: data directory, mailbox id, thread count.
 */
public final class CrashChild {

    /** Bounds the run if the parent never kills us (it stops reading well before this). */
    static final int MAX_PER_THREAD = 5_000;

    private CrashChild() {}

    /** The body of message {@code index} of {@code thread}; every tenth is shared, to exercise dedup. */
    static byte[] body(int thread, int index) {
        if (index % 10 == 0) return ("Subject: shared\r\n\r\nthe same body for many messages\r\n").getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder("Subject: thread ").append(thread).append(" message ").append(index).append("\r\n\r\n");
        // Every seventh body is too large for the database and goes to a file: both paths are killed mid-write.
        int length = index % 7 == 3 ? EmbeddedMailStore.INLINE_MAX + index : (index * 37) % 3000;
        for (int i = 0; i < length; i++) sb.append((char) ('a' + (i + thread) % 26));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        Path directory = Path.of(args[0]);
        long mailboxId = Long.parseLong(args[1]);
        int threads = Integer.parseInt(args[2]);
        PrintStream out = System.out;
        EmbeddedMailStore store = EmbeddedMailStore.open(directory);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            workers.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < MAX_PER_THREAD; i++) {
                    AppendResult r = store.append(mailboxId, body(thread, i), Set.of(), null);
                    synchronized (out) {
                        out.println("ACK " + thread + " " + i + " " + r.uid());
                        out.flush();
                    }
                }
            }));
        }
        for (Thread w : workers) w.join();
        store.close();
    }
}
