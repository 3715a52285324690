package org.castellan.bench.imap;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Fills each account's INBOX over IMAP before a run, the same way for every server: LOGIN, then
 * all the APPENDs pipelined with non-synchronizing literals (RFC 7888 LITERAL+), then LOGOUT.
 */
public final class Fill {

    /** Filling is setup, not measurement; this is only the point at which it counts as stuck. */
    private static final long LIMIT_SECONDS = 600;

    /** How long to wait before logging in again after a temporary refusal (also MixedWorkloadBench's). */
    static final long RETRY_MILLIS = 100;

    private Fill() {}

    /** Sends LOGIN, tagged {@code l}, for {@code user} with the benchmarks' password. */
    static void login(ImapClient.Connection c, String user) {
        c.send("l LOGIN " + user + " \"" + MixedWorkloadBench.PASSWORD + "\"\r\n");
    }

    public static void run(ImapClient client, int port, List<String> users, int messages, MessageSizes sizes) throws InterruptedException {
        run(client, port, users, messages, sizes, user -> { });
    }

    /**
     * The same, calling {@code appended} with each account on the client's event loop as soon as
     * the OK of its last APPEND is read, before its LOGOUT: the moment a delivery is committed
     * as far as the client can tell.
     */
    public static void run(ImapClient client, int port, List<String> users, int messages, MessageSizes sizes,
                           Consumer<String> appended) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(users.size());
        AtomicReference<String> error = new AtomicReference<>();
        for (String user : users) {
            client.connect(port, new ImapClient.Handler() {
                int count;

                @Override
                public void greeted(ImapClient.Connection c, String greeting) {
                    login(c, user);
                }

                @Override
                public void untagged(ImapClient.Connection c, String line) { }

                @Override
                public void tagged(ImapClient.Connection c, String tag, String status, String line) {
                    if (tag.equals("l") && line.contains("[UNAVAILABLE]")) {
                        // RFC 5530 §3: a temporary refusal, such as a busy login limiter; try again.
                        c.later(() -> greeted(c, null), RETRY_MILLIS);
                    } else if (!status.equals("OK")) {
                        error.compareAndSet(null, user + ": " + line);
                        c.close();
                    } else if (tag.equals("l")) {
                        var out = new java.io.ByteArrayOutputStream();
                        for (int i = 0; i < messages; i++) {
                            byte[] m = MixedWorkloadBench.message(user, sizes.next());
                            out.writeBytes(("p" + i + " APPEND INBOX {" + m.length + "+}\r\n").getBytes(StandardCharsets.US_ASCII));
                            out.writeBytes(m);
                            out.writeBytes(new byte[] {'\r', '\n'});
                        }
                        if (messages == 0) c.send("q LOGOUT\r\n");
                        else c.send(out.toByteArray());
                    } else if (tag.startsWith("p") && ++count == messages) {
                        appended.accept(user);
                        c.send("q LOGOUT\r\n");
                    } else if (tag.equals("q")) {
                        c.close();
                    }
                }

                @Override
                public void closed(ImapClient.Connection c, Throwable cause) {
                    if (cause != null) error.compareAndSet(null, user + ": " + cause);
                    done.countDown();
                }
            }).addListener(f -> {
                if (!f.isSuccess()) {
                    error.compareAndSet(null, user + ": " + f.cause());
                    done.countDown();
                }
            });
        }
        if (!done.await(LIMIT_SECONDS, TimeUnit.SECONDS)) throw new IllegalStateException("filling the mailboxes is stuck");
        if (error.get() != null) throw new IllegalStateException("filling the mailboxes failed: " + error.get());
    }
}
