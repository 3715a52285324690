package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.server.Castellan;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many IMAP sessions on one mailbox at once, each doing random APPEND, STORE, EXPUNGE, COPY, MOVE,
 * FETCH, SEARCH, NOOP and IDLE over a real connection. Every few seconds all sessions stop
 * (a checkpoint): once the last command has ended, each sends NOOP and its view, as told on the
 * wire, must equal the store (RFC 9051 §5.2): the message count, the UID at every sequence number
 * it knows, the flags it was told, every keyword announced in FLAGS (§7.3.5); then FETCH 1:* (UID
 * FLAGS) fills in what it was not told and must agree too. Throughout, every response is checked
 * against what the session was told before: no EXPUNGE while FETCH, STORE or SEARCH by sequence
 * number runs (§7.5.1), no EXISTS that shrinks the mailbox, sequence numbers within the mailbox,
 * one UID per sequence number, tagged replies OK (or NO [EXPUNGEISSUED] for a FETCH naming a
 * message expunged elsewhere, RFC 2180 §4.1.2), and no message reported \Recent to two sessions
 * (RFC 3501 §2.3.2).
 *
 * <p>Over several nodes (docs/store.md, "What the nodes share"), the sessions are spread round-robin
 * over {@value #NODES} servers on one PostgreSQL database: the same invariants hold, and a
 * checkpoint waits, before its NOOP, until every node has heard of the mailbox's last change
 * (another node's change reaches a session through PostgreSQL's notifications, not at once).
 *
 * <p>Runs {@value #DEFAULT_SECONDS} s in the normal test run. Longer, with more sessions or a
 * given seed (printed at the start, so a failure can be replayed as far as thread scheduling
 * allows): {@code -Dcastellan.stress.seconds=600 -Dcastellan.stress.sessions=50
 * -Dcastellan.stress.seed=N} (docs/testing.md).
 */
class SharedMailboxStressTest {

    static final int DEFAULT_SECONDS = 20;
    static final int DEFAULT_SESSIONS = 24;
    /** Nodes of the multi-node run: enough that sessions on one node see two others' changes. */
    static final int NODES = 3;
    /** A safety net for a node to hear the others' changes at a checkpoint; never the thing asserted. */
    static final Duration HEARD_WITHIN = Duration.ofSeconds(30);
    /** Between checkpoints: long enough for some thousand commands, short enough to pin a divergence down. */
    static final Duration CHECKPOINT_EVERY = Duration.ofSeconds(4);
    /** The mailbox is kept between these sizes, so every kind of command has something to act on. */
    static final int FEW = 10;
    static final int MANY = 60;
    /** What a session reports beyond this is only counted. */
    static final int MAX_REPORTED = 30;

    @TempDir Path dir;

    private final AtomicLong operations = new AtomicLong();
    private final AtomicLong mismatches = new AtomicLong();
    private final AtomicLong violations = new AtomicLong();
    private final List<String> reports = Collections.synchronizedList(new ArrayList<>());
    /** UID to the session that reported it \Recent. */
    private final Map<Long, Integer> recentTo = new ConcurrentHashMap<>();
    private volatile List<MessageMeta> snapshot;

    @Test
    void sessionsAgreeWithTheStoreAtEveryCheckpoint() throws Exception {
        try (ImapTestServer imap = ImapTestServer.start(dir)) {
            stress(imap, List.of(imap.server));
        }
    }

    @Test
    void sessionsSpreadOverThreeNodesAgreeWithTheStoreAtEveryCheckpoint() throws Exception {
        List<Castellan> others = new ArrayList<>();
        try (ImapTestServer imap = ImapTestServer.startOnPostgres(dir)) {
            for (int i = 1; i < NODES; i++) others.add(imap.startNode(dir.resolve("node-" + i)));
            List<Castellan> nodes = new ArrayList<>(List.of(imap.server));
            nodes.addAll(others);
            stress(imap, nodes);
        } finally {
            for (Castellan other : others) other.close();
        }
    }

    /** The sessions, spread round-robin over {@code nodes} (the first is {@code imap}'s), and their checkpoints. */
    private void stress(ImapTestServer imap, List<Castellan> nodes) throws Exception {
        long seconds = Long.getLong("castellan.stress.seconds", DEFAULT_SECONDS);
        int sessions = Integer.getInteger("castellan.stress.sessions", DEFAULT_SESSIONS);
        long seed = Long.getLong("castellan.stress.seed", new Random().nextLong());
        System.out.printf("shared-mailbox stress: seed=%d sessions=%d seconds=%d nodes=%d%n", seed, sessions, seconds,
                nodes.size());
        String[] seeds = new String[30];
        for (int i = 0; i < seeds.length; i++) seeds[i] = "Subject: seed " + i + "\r\n\r\nbody " + i + "\r\n";
        imap.seed(seeds);
        int rounds = (int) Math.max(1, seconds / CHECKPOINT_EVERY.toSeconds());
        long roundNanos = seconds * 1_000_000_000L / rounds;
        CyclicBarrier quiet = new CyclicBarrier(sessions, () -> {
            heardEverywhere(nodes, imap.inbox);
            snapshot = imap.store().listMessages(imap.inbox, UidRange.all());
        });
        CyclicBarrier checked = new CyclicBarrier(sessions);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < sessions; i++) {
            Session s = new Session(i, nodes.get(i % nodes.size()).addresses().get("imap").getPort(), new Random(seed + i));
            threads.add(Thread.ofPlatform().name("stress-" + i).start(() -> {
                try (s) {
                    s.open();
                    for (int r = 0; r < rounds; r++) {
                        long end = System.nanoTime() + roundNanos;
                        while (System.nanoTime() < end) s.randomCommand();
                        quiet.await();
                        s.checkpoint(snapshot);
                        checked.await();
                    }
                } catch (Throwable t) {
                    failures.add(t);
                    quiet.reset();
                    checked.reset();
                }
            }));
        }
        for (Thread t : threads) t.join();
        System.out.printf("shared-mailbox stress: seed=%d operations=%d checkpoints=%d mismatches=%d violations=%d%n",
                seed, operations.get(), rounds, mismatches.get(), violations.get());
        reports.forEach(System.out::println);
        assertThat(failures).as("seed %d", seed).isEmpty();
        assertThat(reports).as("seed %d", seed).isEmpty();
        assertThat(mismatches.get() + violations.get()).isZero();
    }

    /**
     * Waits until every node has handed the mailbox's last committed change to its sessions: from
     * then on a NOOP on any node tells all of it (RFC 9051 §5.2). One node alone has at once.
     */
    private static void heardEverywhere(List<Castellan> nodes, long mailbox) {
        long last = nodes.getFirst().store().status(mailbox).highestModSeq();
        for (Castellan node : nodes) {
            await().atMost(HEARD_WITHIN).until(() -> node.store().publishedModSeq(mailbox) >= last);
        }
    }

    private void report(AtomicLong counter, int session, String what) {
        counter.incrementAndGet();
        if (reports.size() < MAX_REPORTED) reports.add("session " + session + ": " + what);
    }

    /** One IMAP connection and what its client has been told: the UIDs and flags by sequence number. */
    private final class Session implements AutoCloseable {

        private static final Pattern TAGGED = Pattern.compile("^(t\\d+) (OK|NO|BAD)(?: \\[([^\\]]*)\\])?.*");
        private static final Pattern NUMBERED = Pattern.compile("^\\* (\\d+) (EXISTS|EXPUNGE|RECENT|FETCH)(.*)");
        private static final Pattern UID = Pattern.compile("[ (]UID (\\d+)");
        private static final Pattern FLAGS = Pattern.compile("[ (]FLAGS \\(([^)]*)\\)");
        private static final Pattern LITERAL = Pattern.compile("\\{(\\d+)\\}$");
        private static final String[] FLAG_CHOICES = {"\\Seen", "\\Flagged", "\\Deleted", "\\Answered", "$Label1", "$Label2"};

        final int id;
        final int port;
        final Random random;
        Socket socket;
        InputStream in;
        OutputStream out;
        int tags;
        /** By sequence number - 1: the UID, 0 while the client has not been told it. */
        final List<Long> uids = new ArrayList<>();
        /** By sequence number - 1: the flags the client was told (\Recent apart), null while not told. */
        final List<Set<String>> flags = new ArrayList<>();
        final Set<String> announced = new HashSet<>();
        /** UIDs whose flags the reply to the command in progress told: newer than what the command set. */
        final Set<Long> flagsToldNow = new HashSet<>();
        /** Whether the command in progress forbids EXPUNGE (RFC 9051 §7.5.1). */
        boolean holdsExpunges;
        String command;

        Session(int id, int port, Random random) {
            this.id = id;
            this.port = port;
            this.random = random;
        }

        void open() throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(30_000);
            in = new BufferedInputStream(socket.getInputStream());
            out = socket.getOutputStream();
            readLine(); // greeting
            run("LOGIN " + ImapTestServer.USER + " \"" + ImapTestServer.PASSWORD + "\"");
            run("SELECT INBOX");
        }

        // ---- the commands

        void randomCommand() throws IOException {
            int n = uids.size();
            int roll = random.nextInt(100);
            if (n < FEW) roll = 0;
            if (n > MANY && roll < 15) roll = 30;
            if (roll < 15) {
                append();
            } else if (n == 0) {
                run("NOOP");
            } else if (roll < 35) {
                store(n);
            } else if (roll < 42) {
                run(random.nextBoolean() ? "EXPUNGE" : "UID EXPUNGE 1:*");
            } else if (roll < 50) {
                moveOrCopy(n);
            } else if (roll < 72) {
                fetch(n);
            } else if (roll < 90) {
                search();
            } else if (roll < 95) {
                idle();
            } else {
                run(random.nextBoolean() ? "NOOP" : "CHECK");
            }
        }

        void append() throws IOException {
            String message = "Subject: from " + id + " at " + System.nanoTime() + "\r\n\r\nhello\r\n";
            String flagList = random.nextInt(4) == 0 ? "(" + randomFlag() + ") " : "";
            run("APPEND INBOX " + flagList + "{" + message.length() + "+}\r\n" + message);
        }

        void store(int n) throws IOException {
            boolean byUid = random.nextBoolean();
            String op = switch (random.nextInt(3)) {
                case 0 -> "+FLAGS";
                case 1 -> "-FLAGS";
                default -> "FLAGS";
            };
            String silent = random.nextInt(3) == 0 ? ".SILENT" : "";
            String flag = random.nextInt(10) == 0 ? "$kw" + random.nextInt(20) : randomFlag();
            String set = range(n, byUid);
            run((byUid ? "UID STORE " : "STORE ") + set + " " + op + silent + " (" + flag + ")");
            if (!silent.isEmpty()) storedSilently(set, byUid, op, flag);
        }

        /**
         * RFC 9051 §6.4.6: .SILENT returns no new value, so the client applies what it asked for to
         * what it knows; a message whose UID it does not know may or may not have been named. A
         * FETCH the same reply carried is newer: the server tells changes made by others meanwhile.
         */
        void storedSilently(String set, boolean byUid, String op, String flag) {
            String[] ends = set.split(":");
            long lo = Long.parseLong(ends[0]);
            long hi = Long.parseLong(ends[ends.length - 1]);
            for (int i = 0; i < uids.size(); i++) {
                boolean named = byUid ? uids.get(i) >= lo && uids.get(i) <= hi : i + 1 >= lo && i + 1 <= hi;
                if (byUid && uids.get(i) == 0) {
                    flags.set(i, null);
                } else if (named && flags.get(i) != null && !flagsToldNow.contains(uids.get(i))) {
                    Set<String> f = new TreeSet<>(flags.get(i));
                    switch (op) {
                        case "+FLAGS" -> f.add(flag);
                        case "-FLAGS" -> f.remove(flag);
                        default -> {
                            f.clear();
                            f.add(flag);
                        }
                    }
                    flags.set(i, f);
                }
            }
        }

        void moveOrCopy(int n) throws IOException {
            boolean byUid = random.nextBoolean();
            String set = range(n, byUid);
            String what = switch (random.nextInt(3)) {
                case 0 -> "MOVE " + set + " Archive";
                case 1 -> "MOVE " + set + " INBOX";
                default -> "COPY " + set + " INBOX";
            };
            run((byUid ? "UID " : "") + what);
        }

        void fetch(int n) throws IOException {
            boolean byUid = random.nextBoolean();
            String items = switch (random.nextInt(4)) {
                case 0 -> "(UID FLAGS)";
                case 1 -> "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])";
                case 2 -> "(UID BODY[TEXT])"; // sets \Seen
                default -> "(UID RFC822.SIZE)";
            };
            run((byUid ? "UID FETCH " : "FETCH ") + range(n, byUid) + " " + items);
        }

        void search() throws IOException {
            String key = switch (random.nextInt(4)) {
                case 0 -> "ALL";
                case 1 -> "UNSEEN";
                case 2 -> "FLAGGED NOT DELETED";
                default -> "RECENT";
            };
            run((random.nextBoolean() ? "UID SEARCH " : "SEARCH ") + key);
        }

        void idle() throws IOException {
            String tag = "t" + (++tags);
            command = "IDLE";
            holdsExpunges = false;
            send(tag + " IDLE\r\n");
            String line = readLine();
            if (!line.startsWith("+")) {
                report(violations, id, "IDLE answered " + line);
                return;
            }
            send("DONE\r\n");
            untilTagged(tag);
        }

        /** A random sequence set: by number within what the client knows, by UID near the ones it knows. */
        String range(int n, boolean byUid) {
            int a = 1 + random.nextInt(n);
            int b = Math.min(n, a + random.nextInt(3));
            if (!byUid) return a == b ? Integer.toString(a) : a + ":" + b;
            long ua = uids.get(a - 1) == 0 ? 1 : uids.get(a - 1);
            long ub = uids.get(b - 1) == 0 ? ua : uids.get(b - 1);
            return ua == ub ? Long.toString(ua) : Math.min(ua, ub) + ":" + Math.max(ua, ub);
        }

        String randomFlag() {
            return FLAG_CHOICES[random.nextInt(FLAG_CHOICES.length)];
        }

        // ---- the checkpoint

        void checkpoint(List<MessageMeta> store) throws IOException {
            run("NOOP");
            compare(store, "after NOOP");
            Set<String> keywords = new TreeSet<>();
            for (MessageMeta m : store) for (String f : m.flags()) if (!f.startsWith("\\")) keywords.add(f);
            keywords.removeAll(announced);
            if (!keywords.isEmpty()) report(mismatches, id, "keywords in use never announced in FLAGS: " + keywords);
            if (!uids.isEmpty()) run("FETCH 1:* (UID FLAGS)");
            compare(store, "after FETCH 1:*");
        }

        private void compare(List<MessageMeta> store, String when) {
            if (store.size() != uids.size()) {
                report(mismatches, id, when + ": " + uids.size() + " messages, the store has " + store.size());
                return;
            }
            for (int i = 0; i < store.size(); i++) {
                MessageMeta m = store.get(i);
                if (uids.get(i) != 0 && uids.get(i) != m.uid()) {
                    report(mismatches, id, when + ": message " + (i + 1) + " has UID " + uids.get(i) + ", in the store " + m.uid());
                } else if (flags.get(i) != null && !flags.get(i).equals(m.flags())) {
                    report(mismatches, id, when + ": message " + (i + 1) + " (UID " + m.uid() + ") has " + flags.get(i)
                            + ", in the store " + m.flags());
                }
            }
        }

        // ---- the wire

        void run(String text) throws IOException {
            String tag = "t" + (++tags);
            command = text;
            String verb = text.split(" ")[0];
            holdsExpunges = verb.equals("FETCH") || verb.equals("STORE") || verb.equals("SEARCH");
            flagsToldNow.clear();
            send(tag + " " + text + "\r\n");
            untilTagged(tag);
        }

        private void send(String text) throws IOException {
            operations.incrementAndGet();
            out.write(text.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        private void untilTagged(String tag) throws IOException {
            while (true) {
                String line = readLine();
                if (line.startsWith("* ")) {
                    untagged(line);
                    continue;
                }
                if (line.startsWith("+")) continue; // a literal's go-ahead (LITERAL+ sends none)
                Matcher t = TAGGED.matcher(line);
                if (!t.matches() || !t.group(1).equals(tag)) {
                    report(violations, id, "expected the reply to " + tag + " " + command + ", got " + line);
                    continue;
                }
                boolean expected = t.group(2).equals("OK")
                        || (t.group(2).equals("NO") && "EXPUNGEISSUED".equals(t.group(3)) && command.contains("FETCH"));
                if (!expected) report(violations, id, command + " answered " + line);
                return;
            }
        }

        private void untagged(String line) {
            Matcher m = NUMBERED.matcher(line);
            if (m.matches()) {
                numbered(Long.parseLong(m.group(1)), m.group(2), m.group(3), line);
            } else if (line.startsWith("* FLAGS (")) {
                announced.addAll(Arrays.asList(line.substring(9, line.length() - 1).split(" ")));
            } else if (line.startsWith("* SEARCH")) {
                if (!command.startsWith("UID")) {
                    for (String n : line.substring(8).trim().split(" ")) {
                        if (!n.isEmpty() && (Long.parseLong(n) < 1 || Long.parseLong(n) > uids.size())) {
                            report(violations, id, command + ": SEARCH result " + n + " beyond " + uids.size());
                        }
                    }
                }
            }
        }

        private void numbered(long n, String what, String rest, String line) {
            int count = uids.size();
            switch (what) {
                case "EXISTS" -> {
                    // RFC 9051 §5.2: only EXPUNGE makes the mailbox smaller.
                    if (n < count) report(violations, id, command + ": " + line + " after " + count + " messages");
                    while (uids.size() < n) {
                        uids.add(0L);
                        flags.add(null);
                    }
                }
                case "EXPUNGE" -> {
                    if (holdsExpunges) report(violations, id, line + " during " + command + " (RFC 9051 §7.5.1)");
                    if (n < 1 || n > count) {
                        report(violations, id, command + ": " + line + " with " + count + " messages");
                    } else {
                        uids.remove((int) n - 1);
                        flags.remove((int) n - 1);
                    }
                }
                case "RECENT" -> {
                    if (n > count) report(violations, id, command + ": " + line + " with " + count + " messages");
                }
                default -> fetched(n, rest, line);
            }
        }

        private void fetched(long n, String rest, String line) {
            if (n < 1 || n > uids.size()) {
                report(violations, id, command + ": " + line + " with " + uids.size() + " messages");
                return;
            }
            int i = (int) n - 1;
            Matcher uid = UID.matcher(rest);
            if (uid.find()) {
                long u = Long.parseLong(uid.group(1));
                if (uids.get(i) != 0 && uids.get(i) != u) {
                    report(violations, id, command + ": " + line + " but message " + n + " was UID " + uids.get(i));
                }
                uids.set(i, u);
            }
            Matcher f = FLAGS.matcher(rest);
            if (f.find()) {
                Set<String> told = new TreeSet<>(Arrays.asList(f.group(1).split(" ")));
                told.remove("");
                if (told.remove("\\Recent") && uids.get(i) != 0) {
                    Integer other = recentTo.putIfAbsent(uids.get(i), id);
                    if (other != null && other != id) {
                        report(violations, id, "UID " + uids.get(i) + " \\Recent here and in session " + other);
                    }
                }
                flags.set(i, told);
                if (uids.get(i) != 0) flagsToldNow.add(uids.get(i));
            }
        }

        /** One response line, literals inlined as {@code <n octets>}. */
        private String readLine() throws IOException {
            StringBuilder line = new StringBuilder();
            while (true) {
                String part = rawLine();
                line.append(part);
                Matcher lit = LITERAL.matcher(part);
                if (!lit.find()) return line.toString();
                int size = Integer.parseInt(lit.group(1));
                byte[] skipped = in.readNBytes(size);
                if (skipped.length < size) throw new IOException("connection closed inside a literal");
                line.append('<').append(size).append(" octets>");
            }
        }

        private String rawLine() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) != -1) {
                if (c == '\n') break;
                if (c != '\r') b.write(c);
            }
            if (c == -1) throw new UncheckedIOException(new IOException("session " + id + ": connection closed after " + command));
            return b.toString(StandardCharsets.UTF_8);
        }

        @Override
        public void close() throws IOException {
            if (socket != null) socket.close();
        }
    }
}
