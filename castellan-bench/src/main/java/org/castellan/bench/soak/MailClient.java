package org.castellan.bench.soak;

import java.net.InetAddress;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.bench.imap.ImapClient;
import org.castellan.bench.imap.Latencies;
import org.castellan.bench.imap.MessageSizes;
import org.castellan.bench.imap.MixedWorkloadBench;

/**
 * One well-behaved IMAP client of the soak, from a source address of its own: sessions back to
 * back, each LOGIN, LIST, STATUS, SELECT, FETCH the flags of all, then a few rounds of FETCH
 * ENVELOPEs, FETCH a whole message, SEARCH, STORE, APPEND, UID STORE and UID EXPUNGE of the
 * message it appended (RFC 4315), and IDLE for a while, then LOGOUT. Two clients may share an
 * account: each hears the other's APPENDs and EXPUNGEs, and each expunges only what it appended,
 * so every mailbox keeps its size over the run. One command at a time; a command's latency is
 * from sending it to its tagged reply (for IDLE, from DONE).
 */
final class MailClient implements ImapClient.Handler {

    /** A session does this many rounds, at random, before it logs out and connects again. */
    private static final int MIN_ROUNDS = 3;
    private static final int MAX_ROUNDS = 12;
    /** After an error or a refusal: not a hot loop against a server that is failing. */
    private static final long RETRY_MILLIS = 1000;
    /** Errors (and NO replies) printed as they happen; the rest are only counted. */
    private static final int ERRORS_SHOWN = 10;
    private static final AtomicLong SHOWN = new AtomicLong();
    private static final AtomicLong SHOWN_NO = new AtomicLong();

    /** SEARCH criteria the rounds take in turn: flags, header, body (the index), date, size. */
    private static final String[] SEARCHES = {
        "UNSEEN", "FLAGGED", "SUBJECT \"bench 4\"", "BODY \"line 12 \"", "SINCE 1-Feb-2024 NOT DELETED", "LARGER 100000",
    };
    private static final Pattern APPENDUID = Pattern.compile("\\[APPENDUID \\d+ (\\d+)\\]");

    private enum Step { LOGIN, LIST, STATUS, SELECT, FETCH_FLAGS, FETCH_ENVELOPE, FETCH_BODY, SEARCH, STORE, APPEND,
        MARK_DELETED, UID_EXPUNGE, IDLE, LOGOUT }

    /** What all the well-behaved clients share: the server, the run's state and the figures. */
    record Shared(ImapClient client, int port, MessageSizes sizes, long idleMillis, BooleanSupplier running,
                  Latencies commands, Latencies logins, LongAdder sessions, LongAdder no, LongAdder errors) {}

    private final Shared shared;
    private final InetAddress source;
    private final String user;
    private Step step;
    private int rounds;
    private int exists;
    private int searches;
    private long appendedUid;
    /** This client hung up because of an error, already counted. */
    private boolean failed;

    MailClient(Shared shared, InetAddress source, String user) {
        this.shared = shared;
        this.source = source;
        this.user = user;
    }

    void connect() {
        if (!shared.running().getAsBoolean()) return;
        step = null;
        failed = false;
        exists = 0;
        rounds = ThreadLocalRandom.current().nextInt(MIN_ROUNDS, MAX_ROUNDS + 1);
        shared.client().connect(source, shared.port(), this).addListener(f -> {
            if (!f.isSuccess()) {
                error("connect: " + f.cause());
                shared.client().schedule(this::connect, RETRY_MILLIS);
            }
        });
    }

    @Override
    public void greeted(ImapClient.Connection c, String greeting) {
        if (!greeting.startsWith("* OK")) {
            fail(c, "greeting: " + greeting);
            return;
        }
        send(c, Step.LOGIN);
    }

    @Override
    public void untagged(ImapClient.Connection c, String line) {
        if (line.startsWith("+") && step == Step.IDLE) {
            long idle = Math.round(shared.idleMillis() * ThreadLocalRandom.current().nextDouble(0.5, 1.5));
            c.later(() -> c.send("DONE\r\n"), idle); // RFC 2177 §3: DONE ends the IDLE
        } else if (line.endsWith(" EXISTS")) {
            exists = Integer.parseInt(line.substring(2, line.length() - 7));
        } else if (line.endsWith(" EXPUNGE")) {
            exists--;
        }
    }

    @Override
    public void tagged(ImapClient.Connection c, String tag, String status, String line) {
        long took = System.nanoTime() - c.sentNanos;
        if (status.equals("BAD") || status.equals("NO") && (step == Step.LOGIN || step == Step.SELECT)) {
            fail(c, step + ": " + line);
            return;
        }
        if (status.equals("NO")) {
            shared.no().increment();
            if (SHOWN_NO.incrementAndGet() <= ERRORS_SHOWN) System.out.println("client NO (counted, not an error): " + step + ": " + line);
        }
        shared.commands().add(took);
        switch (step) {
            case LOGIN -> {
                shared.logins().add(took);
                shared.sessions().increment();
                send(c, Step.LIST);
            }
            case LIST -> send(c, Step.STATUS);
            case STATUS -> send(c, Step.SELECT);
            case SELECT -> send(c, Step.FETCH_FLAGS);
            case FETCH_FLAGS -> send(c, Step.FETCH_ENVELOPE);
            case FETCH_ENVELOPE -> send(c, Step.FETCH_BODY);
            case FETCH_BODY -> send(c, Step.SEARCH);
            case SEARCH -> send(c, Step.STORE);
            case STORE -> send(c, Step.APPEND);
            case APPEND -> {
                Matcher m = APPENDUID.matcher(line);
                if (m.find()) {
                    appendedUid = Long.parseLong(m.group(1));
                    send(c, Step.MARK_DELETED);
                } else {
                    error("APPEND without APPENDUID: " + line);
                    send(c, Step.IDLE);
                }
            }
            case MARK_DELETED -> send(c, Step.UID_EXPUNGE);
            case UID_EXPUNGE -> send(c, Step.IDLE);
            case IDLE -> send(c, --rounds > 0 ? Step.FETCH_ENVELOPE : Step.LOGOUT);
            case LOGOUT -> c.close();
        }
    }

    @Override
    public void closed(ImapClient.Connection c, Throwable cause) {
        if (step == Step.LOGOUT && !failed) {
            connect();
            return;
        }
        if (!shared.running().getAsBoolean()) return;
        if (!failed) error("closed during " + step + (cause == null ? "" : ": " + cause));
        shared.client().schedule(this::connect, RETRY_MILLIS);
    }

    private void fail(ImapClient.Connection c, String what) {
        failed = true;
        error(what);
        c.close();
    }

    private void send(ImapClient.Connection c, Step next) {
        step = next;
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int msg = 1 + r.nextInt(Math.max(1, exists));
        String tag = "c" + next.ordinal() + " ";
        switch (next) {
            case LOGIN -> c.send(tag + "LOGIN " + user + " \"" + MixedWorkloadBench.PASSWORD + "\"\r\n");
            case LIST -> c.send(tag + "LIST \"\" \"*\"\r\n");
            case STATUS -> c.send(tag + "STATUS INBOX (MESSAGES UNSEEN UIDNEXT)\r\n");
            case SELECT -> c.send(tag + "SELECT INBOX\r\n");
            case FETCH_FLAGS -> c.send(tag + "FETCH 1:* (FLAGS)\r\n");
            case FETCH_ENVELOPE -> c.send(tag + "FETCH " + Math.max(1, msg - 9) + ":" + msg + " (ENVELOPE FLAGS)\r\n");
            case FETCH_BODY -> c.send(tag + "FETCH " + msg + " (BODY.PEEK[])\r\n");
            case SEARCH -> c.send(tag + "SEARCH " + SEARCHES[searches++ % SEARCHES.length] + "\r\n");
            case STORE -> c.send(tag + "STORE " + msg + (r.nextBoolean() ? " +" : " -") + "FLAGS (\\Seen)\r\n");
            case APPEND -> c.send(MixedWorkloadBench.append(tag + "APPEND INBOX", MixedWorkloadBench.message(user, shared.sizes().next())));
            case MARK_DELETED -> c.send(tag + "UID STORE " + appendedUid + " +FLAGS.SILENT (\\Deleted)\r\n");
            case UID_EXPUNGE -> c.send(tag + "UID EXPUNGE " + appendedUid + "\r\n");
            case IDLE -> c.send(tag + "IDLE\r\n");
            case LOGOUT -> c.send(tag + "LOGOUT\r\n");
        }
    }

    private void error(String what) {
        shared.errors().increment();
        if (SHOWN.incrementAndGet() <= ERRORS_SHOWN) System.out.println("client error: " + user + " from " + source.getHostAddress() + ": " + what);
    }
}
