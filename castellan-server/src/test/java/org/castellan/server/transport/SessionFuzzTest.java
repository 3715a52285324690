package org.castellan.server.transport;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.store.Mailbox;
import org.castellan.store.MailStore;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Jazzer fuzz targets that drive whole IMAP, POP3 and SMTP sessions, before and after login,
 * against a real server and store ({@link FuzzedServer}): each input is a sequence of client
 * lines, each a command from a dictionary of real ones (with fuzzer-chosen mailboxes, message
 * sets, flags, messages) or the fuzzer's own bytes. After every line the session must answer or
 * close within {@link FuzzedServer#QUIET_LIMIT}; every reply must be well formed for its protocol
 * and name no Java exception ({@link ImapReplies}, {@link Pop3Replies}, {@link SmtpReplies});
 * nothing may reach the log at WARN or above or as a pipeline exception ({@link LogCapture});
 * and afterwards the store must agree with itself and with what the session said (IMAP: the
 * selected mailbox's message count after NOOP; POP3: STAT, and deletions only after QUIT; SMTP:
 * a delivery for every "250 ... delivered" and none without). {@code ./mvnw verify} runs them in
 * regression mode over {@code SessionFuzzTestInputs}; {@code JAZZER_FUZZ=1} fuzzes (docs/testing.md).
 */
class SessionFuzzTest {

    /** Lines per session: enough to log in, select, change and look again; few enough for many sessions a second. */
    private static final int MAX_LINES = 16;
    /** The longest line of the fuzzer's own bytes. */
    private static final int MAX_RAW = 300;

    private static final String USER = FuzzedServer.USER;
    private static final String PASSWORD = FuzzedServer.PASSWORD;
    private static final LogCapture logs = new LogCapture();

    static {
        // Jazzer's sanitizer hooks go into every class it loads; the libraries under the server
        // are not what these targets test, and hooking them costs seconds before the first session.
        // Nor is the client side here: hooked, its reading of replies (regular expressions) and
        // its look at the store's data version (SQL parsed again by the SQL injection hook)
        // cost a third of the client thread's time on every session.
        System.setProperty("jazzer.custom_hook_excludes", "org.bouncycastle.**:org.flywaydb.**:org.sqlite.**:io.netty.**"
                + ":org.castellan.server.transport.SessionFuzzTest**:org.castellan.server.transport.FuzzedServer**"
                + ":org.castellan.server.transport.ImapReplies**:org.castellan.server.transport.Pop3Replies**"
                + ":org.castellan.server.transport.SmtpReplies**:org.castellan.server.transport.LogCapture**");
    }

    @BeforeAll
    static void captureLogs() {
        logs.install();
    }

    @AfterAll
    static void releaseLogs() {
        logs.uninstall();
    }

    // ---- IMAP

    @FuzzTest(maxDuration = "10m")
    void imap(FuzzedDataProvider data) {
        withTranscript(data, SessionFuzzTest::imapSession);
    }

    private static void imapSession(FuzzedServer server, FuzzedDataProvider data, FuzzedServer.Session[] session) {
        FuzzedServer.Session s = session[0] = server.connect(FuzzedServer.Kind.IMAP);
        ImapView view = new ImapView();
        try {
            view.read(s);
            int start = data.consumeInt(0, 2);
            if (start >= 1) {
                view.send(s, "l1", Kind.OTHER, null, "l1 LOGIN " + USER + " \"" + PASSWORD + "\"\r\n");
                assertThat(view.status("l1")).as("LOGIN with the right password").isEqualTo("OK");
            }
            if (start == 2) view.send(s, "s1", Kind.SELECT, "INBOX", "s1 SELECT INBOX\r\n");
            for (int i = data.consumeInt(1, MAX_LINES); i > 0 && !s.closed(); i--) {
                if (data.consumeInt(0, 7) == 0) {
                    view.sendRaw(s, raw(data));
                } else {
                    String tag = "d" + i;
                    imapCommand(data, view, s, tag);
                }
            }
            view.checkCountAgainstStatus(s);
        } finally {
            s.close();
        }
        s.awaitEnd();
        view.read(s);
        assertThat(view.replies.complete(s.received())).as("the last response is complete").isTrue();
    }

    private enum Kind { SELECT, DESELECT, RENAME_OR_DELETE, OTHER }

    /** Picks one IMAP command, its arguments from the fuzzer, and sends it. */
    private static void imapCommand(FuzzedDataProvider d, ImapView view, FuzzedServer.Session s, String tag) {
        String t = tag + " ";
        switch (d.consumeInt(0, 59)) {
            case 0 -> view.send(s, tag, Kind.OTHER, null, t + "CAPABILITY\r\n");
            case 1 -> view.send(s, tag, Kind.OTHER, null, t + "NOOP\r\n");
            case 2 -> view.send(s, tag, Kind.OTHER, null, t + "LOGOUT\r\n");
            case 3 -> view.send(s, tag, Kind.OTHER, null, t + "STARTTLS\r\n");
            case 4 -> view.send(s, tag, Kind.OTHER, null, t + "COMPRESS DEFLATE\r\n");
            case 5 -> view.send(s, tag, Kind.OTHER, null, t + "ID (\"name\" \"fuzz\" \"version\" NIL)\r\n");
            case 6 -> view.send(s, tag, Kind.OTHER, null, t + "NAMESPACE\r\n");
            case 7 -> view.send(s, tag, Kind.OTHER, null, t + "ENABLE "
                    + pick(d, "CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4rev2", "X-UNKNOWN", "CONDSTORE QRESYNC") + "\r\n");
            case 8 -> view.send(s, tag, Kind.OTHER, null, t + "LOGIN " + USER + " \"" + PASSWORD + "\"\r\n");
            case 9 -> view.send(s, tag, Kind.OTHER, null, t + "LOGIN " + pick(d, USER, "nobody@example.org", "\"\"") + " wrong\r\n");
            case 10 -> view.send(s, tag, Kind.OTHER, null, t + "AUTHENTICATE PLAIN " + plain(d) + "\r\n");
            case 11 -> view.send(s, tag, Kind.OTHER, null, t + "AUTHENTICATE "
                    + pick(d, "PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "EXTERNAL", "X-NONE") + "\r\n");
            case 12 -> {
                String box = mailbox(d);
                view.send(s, tag, Kind.SELECT, box, t + "SELECT " + box + "\r\n");
            }
            case 13 -> {
                String box = mailbox(d);
                view.send(s, tag, Kind.SELECT, box, t + "EXAMINE " + box + "\r\n");
            }
            case 14 -> {
                String box = mailbox(d);
                view.send(s, tag, Kind.SELECT, box, t + "SELECT " + box + " (CONDSTORE)\r\n");
            }
            case 15 -> {
                String box = mailbox(d);
                view.send(s, tag, Kind.SELECT, box, t + "SELECT " + box + " (QRESYNC (" + number(d) + " " + number(d)
                        + switch (d.consumeInt(0, 2)) {
                            case 0 -> "";
                            case 1 -> " 1:" + number(d);
                            default -> " 1:5 (1,3 1,3)";
                        } + "))\r\n");
            }
            case 16 -> view.send(s, tag, Kind.OTHER, null, t + "CREATE " + mailbox(d)
                    + pick(d, "", " (USE (\\Trash))", " (USE (\\Junk \\Archive))") + "\r\n");
            case 17 -> view.send(s, tag, Kind.RENAME_OR_DELETE, null, t + "DELETE " + mailbox(d) + "\r\n");
            case 18 -> view.send(s, tag, Kind.RENAME_OR_DELETE, null, t + "RENAME " + mailbox(d) + " " + mailbox(d) + "\r\n");
            case 19 -> view.send(s, tag, Kind.OTHER, null, t + "SUBSCRIBE " + mailbox(d) + "\r\n");
            case 20 -> view.send(s, tag, Kind.OTHER, null, t + "UNSUBSCRIBE " + mailbox(d) + "\r\n");
            case 21 -> view.send(s, tag, Kind.OTHER, null, t + "LIST \"\" " + pick(d, "*", "%", "Fuzz/%", "INBOX", "\"\"", "*/*") + "\r\n");
            case 22 -> view.send(s, tag, Kind.OTHER, null, t + "LIST " + pick(d, "(SUBSCRIBED RECURSIVEMATCH)", "(SPECIAL-USE)", "()")
                    + " \"\" * RETURN (" + pick(d, "CHILDREN", "SUBSCRIBED", "STATUS (MESSAGES UNSEEN SIZE)", "SPECIAL-USE") + ")\r\n");
            case 23 -> view.send(s, tag, Kind.OTHER, null, t + "LSUB \"\" *\r\n");
            case 24 -> view.send(s, tag, Kind.OTHER, null, t + "STATUS " + mailbox(d)
                    + " (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE DELETED)\r\n");
            case 25 -> append(d, view, s, tag);
            case 26 -> view.send(s, tag, Kind.OTHER, null, t + "CHECK\r\n");
            case 27 -> view.send(s, tag, Kind.DESELECT, null, t + "CLOSE\r\n");
            case 28 -> view.send(s, tag, Kind.DESELECT, null, t + "UNSELECT\r\n");
            case 29 -> view.send(s, tag, Kind.OTHER, null, t + "EXPUNGE\r\n");
            case 30 -> view.send(s, tag, Kind.OTHER, null, t + "UID EXPUNGE " + set(d) + "\r\n");
            case 31 -> view.send(s, tag, Kind.OTHER, null, t + "SEARCH " + search(d) + "\r\n");
            case 32 -> view.send(s, tag, Kind.OTHER, null, t + pick(d, "", "UID ") + "SEARCH RETURN ("
                    + pick(d, "MIN MAX COUNT", "ALL", "SAVE", "PARTIAL 1:10", "") + ") " + search(d) + "\r\n");
            case 33 -> view.send(s, tag, Kind.OTHER, null, t + "FETCH " + set(d) + " " + fetch(d) + "\r\n");
            case 34 -> view.send(s, tag, Kind.OTHER, null, t + "UID FETCH " + set(d) + " " + fetch(d)
                    + pick(d, "", " (CHANGEDSINCE 1)", " (CHANGEDSINCE 1 VANISHED)") + "\r\n");
            case 35 -> view.send(s, tag, Kind.OTHER, null, t + pick(d, "", "UID ") + "STORE " + set(d) + " "
                    + pick(d, "+FLAGS", "-FLAGS", "FLAGS", "+FLAGS.SILENT", "FLAGS.SILENT") + " " + flags(d) + "\r\n");
            case 36 -> view.send(s, tag, Kind.OTHER, null, t + "UID STORE " + set(d) + " (UNCHANGEDSINCE " + number(d)
                    + ") +FLAGS " + flags(d) + "\r\n");
            case 37 -> view.send(s, tag, Kind.OTHER, null, t + pick(d, "", "UID ") + "COPY " + set(d) + " " + mailbox(d) + "\r\n");
            case 38 -> view.send(s, tag, Kind.OTHER, null, t + pick(d, "", "UID ") + "MOVE " + set(d) + " " + mailbox(d) + "\r\n");
            case 39 -> view.send(s, tag, Kind.OTHER, null, t + pick(d, "", "UID ") + "SORT ("
                    + pick(d, "DATE", "REVERSE ARRIVAL", "SUBJECT FROM", "SIZE CC TO", "DISPLAYFROM DISPLAYTO")
                    + ") UTF-8 " + search(d) + "\r\n");
            case 40 -> view.send(s, tag, Kind.OTHER, null, t + pick(d, "", "UID ") + "THREAD "
                    + pick(d, "REFERENCES", "ORDEREDSUBJECT") + " UTF-8 " + search(d) + "\r\n");
            case 41 -> view.send(s, tag, Kind.OTHER, null, t + "IDLE\r\n");
            case 42 -> view.sendRaw(s, "DONE\r\n".getBytes(StandardCharsets.US_ASCII));
            case 43 -> view.send(s, tag, Kind.OTHER, null, t + "GETQUOTAROOT " + mailbox(d) + "\r\n");
            case 44 -> view.send(s, tag, Kind.OTHER, null, t + "GETQUOTA \"" + pick(d, "", "fuzz@example.org", "x") + "\"\r\n");
            case 45 -> view.send(s, tag, Kind.OTHER, null, t + "SETQUOTA \"\" (STORAGE " + number(d) + ")\r\n");
            case 46 -> view.send(s, tag, Kind.OTHER, null, t + "NOTIFY SET " + pick(d,
                    "(SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (PERSONAL (MailboxName SubscriptionChange))",
                    "(INBOXES (MessageNew MessageExpunge))", "STATUS (SELECTED-DELAYED (MessageNew MessageExpunge))",
                    "(MAILBOXES (Fuzz Trash) (MessageNew))") + "\r\n");
            case 47 -> view.send(s, tag, Kind.OTHER, null, t + "NOTIFY NONE\r\n");
            case 48 -> view.send(s, tag, Kind.OTHER, null, t + "GENURLAUTH \"imap://fuzz@localhost/INBOX/;uid=" + number(d)
                    + pick(d, "", "/;section=1", "/;section=HEADER") + ";urlauth="
                    + pick(d, "anonymous", "user+fuzz@example.org", "submit+fuzz@example.org", "authuser") + "\" INTERNAL\r\n");
            case 49 -> view.send(s, tag, Kind.OTHER, null, t + "RESETKEY" + pick(d, "", " INBOX", " INBOX INTERNAL", " Nonexistent") + "\r\n");
            case 50 -> view.send(s, tag, Kind.OTHER, null, t + "URLFETCH \"imap://fuzz@localhost/INBOX/;uid=" + number(d)
                    + ";urlauth=anonymous:internal:" + "0".repeat(32) + "\"\r\n");
            case 51 -> view.sendRaw(s, "*\r\n".getBytes(StandardCharsets.US_ASCII));
            case 52 -> view.sendRaw(s, (plain(d) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            case 53 -> view.send(s, tag, Kind.OTHER, null, t + "UNAUTHENTICATE\r\n");
            case 54 -> view.send(s, tag, Kind.OTHER, null, t + "CANCELUPDATE \"" + tag + "\"\r\n");
            case 55 -> view.send(s, tag, Kind.OTHER, null, t + "ESEARCH IN (" + pick(d, "PERSONAL", "SELECTED", "INBOXES", "SUBTREE Fuzz")
                    + ") RETURN (COUNT) " + search(d) + "\r\n");
            case 56 -> view.send(s, tag, Kind.OTHER, null, t + "SEARCH CHARSET " + pick(d, "UTF-8", "US-ASCII", "KOI8-R")
                    + " SUBJECT \"" + pick(d, "one", "é", "") + "\"\r\n");
            case 57 -> view.send(s, tag, Kind.OTHER, null, t + "STORE " + set(d) + " +FLAGS ("
                    + (d.consumeBoolean() ? pick(d, "$Fuzz", "\\Seen $Junk") : "keyword" + number(d)) + ")\r\n");
            case 58 -> view.send(s, tag, Kind.OTHER, null, t + "FETCH " + set(d) + " (" + pick(d, "UID", "FLAGS", "MODSEQ")
                    + " BODY.PEEK[" + pick(d, "", "1", "2", "3", "1.MIME", "HEADER", "TEXT", "2.1") + "]<" + number(d) + "."
                    + number(d) + ">)\r\n");
            default -> view.send(s, tag, Kind.OTHER, null, t + "CHECK\r\n");
        }
    }

    /** APPEND of one or two messages (RFC 3502), synchronizing or not (RFC 7888), or CATENATE (RFC 4469). */
    private static void append(FuzzedDataProvider d, ImapView view, FuzzedServer.Session s, String tag) {
        String box = mailbox(d);
        StringBuilder line = new StringBuilder(tag).append(" APPEND ").append(box);
        String plus = d.consumeBoolean() ? "+" : "";
        int messages = d.consumeInt(0, 3);
        if (messages == 0) {
            line.append(" CATENATE (URL \"/INBOX/;uid=").append(number(d)).append(pick(d, "", "/;section=1", "/;section=TEXT"))
                    .append("\" TEXT {");
            byte[] text = message(d);
            view.send(s, tag, Kind.OTHER, null, line.append(text.length).append(plus).append("}\r\n").toString(), text, ")\r\n");
            return;
        }
        byte[] first = message(d);
        line.append(pick(d, "", " (\\Seen)", " (\\Flagged $Fuzz)", " ()")).append(pick(d, "", " \"01-Feb-2024 10:00:00 +0000\""))
                .append(" {").append(first.length).append(plus).append("}\r\n");
        if (messages == 1) {
            view.send(s, tag, Kind.OTHER, null, line.toString(), first, "\r\n");
        } else {
            byte[] second = message(d);
            view.send(s, tag, Kind.OTHER, null, line.toString(), first, " {" + second.length + plus + "}\r\n", second, "\r\n");
        }
    }

    /**
     * What the client has been told: the responses so far, the tags it sent and how they were
     * answered, the selected mailbox and its message count (RFC 9051 §7.4.1, §7.5.1, RFC 7162 §3.2.10).
     */
    private static final class ImapView {
        private static final Pattern COUNT = Pattern.compile("\\* ([0-9]+) (EXISTS|EXPUNGE)");
        private static final Pattern VANISHED = Pattern.compile("\\* VANISHED ([0-9:,]+)");
        private static final Pattern STATUS_MESSAGES = Pattern.compile("\\* STATUS .*\\(.*MESSAGES ([0-9]+).*\\)");

        final ImapReplies replies = new ImapReplies();
        private final Map<String, Kind> kinds = new HashMap<>();
        private final Map<String, String> boxes = new HashMap<>();
        private final Map<String, String> answers = new HashMap<>();
        private String selected;
        private long count;
        /** Whether every tagged response so far answered a command of ours, once: the view can be trusted. */
        private boolean tracked = true;
        private Long statusMessages;

        void send(FuzzedServer.Session s, String tag, Kind kind, String mailbox, Object... parts) {
            kinds.put(tag, kind);
            if (mailbox != null) boxes.put(tag, mailbox);
            java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
            for (Object p : parts) line.writeBytes(p instanceof byte[] b ? b : ((String) p).getBytes(StandardCharsets.UTF_8));
            s.send(line.toByteArray());
            read(s);
        }

        void sendRaw(FuzzedServer.Session s, byte[] bytes) {
            s.send(bytes);
            read(s);
        }

        String status(String tag) {
            return answers.get(tag);
        }

        /** Reads what arrived; once the session has started TLS or DEFLATE, the rest after the go-ahead is not IMAP. */
        void read(FuzzedServer.Session s) {
            for (ImapReplies.Response r : replies.next(s.received())) {
                seen(r);
                if (s.layered() && r.status() != null && r.status().equals("OK")) {
                    replies.stop();
                    tracked = false;
                }
            }
        }

        private void seen(ImapReplies.Response r) {
            String text = r.text();
            Matcher m = COUNT.matcher(text);
            if (m.matches()) {
                count = m.group(2).equals("EXISTS") ? Long.parseLong(m.group(1)) : count - 1;
                return;
            }
            Matcher v = VANISHED.matcher(text);
            if (v.matches()) {
                count -= size(v.group(1));
                return;
            }
            Matcher st = STATUS_MESSAGES.matcher(text);
            if (st.matches()) statusMessages = Long.parseLong(st.group(1));
            String status = r.status();
            if (status == null) return;
            String tag = text.substring(0, text.indexOf(' '));
            if (!kinds.containsKey(tag) || answers.put(tag, status) != null) {
                tracked = false;
                return;
            }
            switch (kinds.get(tag)) {
                case SELECT -> {
                    // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
                    if (status.equals("OK")) selected = boxes.get(tag);
                    else if (status.equals("NO")) selected = null;
                }
                case DESELECT -> {
                    if (status.equals("OK")) selected = null;
                }
                case RENAME_OR_DELETE -> {
                    if (status.equals("OK")) tracked = false; // the selected mailbox may have another name now
                }
                case OTHER -> { }
            }
        }

        /**
         * After NOOP the client has heard of every change (RFC 9051 §6.1.2): the count it was
         * told must be what STATUS says the selected mailbox holds.
         */
        void checkCountAgainstStatus(FuzzedServer.Session s) {
            if (!tracked || selected == null || s.closed()) return;
            statusMessages = null;
            send(s, "zz", Kind.OTHER, null, "zz NOOP\r\n");
            send(s, "zy", Kind.OTHER, null, "zy STATUS " + selected + " (MESSAGES)\r\n");
            if (!tracked || !"OK".equals(answers.get("zz")) || !"OK".equals(answers.get("zy")) || statusMessages == null) return;
            assertThat(count).as("messages the session announced in " + selected + ", against STATUS").isEqualTo(statusMessages);
        }

        private static long size(String set) {
            long n = 0;
            for (String range : set.split(",")) {
                String[] ends = range.split(":");
                n += ends.length == 1 ? 1 : Math.abs(Long.parseLong(ends[1]) - Long.parseLong(ends[0])) + 1;
            }
            return n;
        }
    }

    // ---- POP3

    @FuzzTest(maxDuration = "10m")
    void pop3(FuzzedDataProvider data) {
        withTranscript(data, SessionFuzzTest::pop3Session);
    }

    private static void pop3Session(FuzzedServer server, FuzzedDataProvider data, FuzzedServer.Session[] session) {
        long inbox = server.inbox();
        FuzzedServer.Session s = session[0] = server.connect(FuzzedServer.Kind.POP3);
        Pop3Replies replies = new Pop3Replies(FuzzedServer.MESSAGES.size());
        try {
            if (data.consumeBoolean()) {
                s.send("USER " + USER + "\r\nPASS " + PASSWORD + "\r\n");
                replies.next(s.sent(), s.received(), s.closed());
                assertThat(replies.loggedIn()).as("USER and PASS with the right password").isTrue();
            }
            for (int i = data.consumeInt(1, MAX_LINES); i > 0 && !s.closed(); i--) {
                s.send(data.consumeInt(0, 7) == 0 ? raw(data) : (pop3Command(data) + "\r\n").getBytes(StandardCharsets.UTF_8));
                replies.next(s.sent(), s.received(), s.closed());
            }
        } finally {
            s.close();
        }
        s.awaitEnd();
        replies.next(s.sent(), s.received(), true);
        long expected = FuzzedServer.MESSAGES.size() - (replies.committed() ? replies.marked() : 0);
        // RFC 1939 §6: messages are deleted in the UPDATE state only, after QUIT.
        assertThat(server.store().status(inbox).messages()).as("messages left in INBOX").isEqualTo(expected);
    }

    private static String pop3Command(FuzzedDataProvider d) {
        return switch (d.consumeInt(0, 27)) {
            case 0 -> "USER " + pick(d, USER, "nobody@example.org", "FUZZ@EXAMPLE.ORG");
            case 1 -> "PASS " + PASSWORD;
            case 2 -> "PASS wrong";
            case 3 -> "STAT";
            case 4 -> "LIST";
            case 5 -> "LIST " + message(d, true);
            case 6 -> "UIDL";
            case 7 -> "UIDL " + message(d, true);
            case 8 -> "RETR " + message(d, true);
            case 9 -> "TOP " + message(d, true) + " " + pick(d, "0", "1", "2", "100", "99999999");
            case 10 -> "DELE " + message(d, true);
            case 11 -> "RSET";
            case 12 -> "NOOP";
            case 13 -> "QUIT";
            case 14 -> "CAPA";
            case 15 -> "STLS";
            case 16 -> "AUTH";
            case 17 -> "AUTH PLAIN " + plain(d);
            case 18 -> "AUTH " + pick(d, "PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "EXTERNAL", "CRAM-MD5");
            case 19 -> plain(d);
            case 20 -> "*";
            case 21 -> Base64.getEncoder().encodeToString(USER.getBytes(StandardCharsets.UTF_8));
            case 22 -> Base64.getEncoder().encodeToString(PASSWORD.getBytes(StandardCharsets.UTF_8));
            case 23 -> Base64.getEncoder().encodeToString(("n,,n=" + USER + ",r=fuzznonce").getBytes(StandardCharsets.UTF_8));
            case 24 -> "APOP " + USER + " c4c9334bac560ecc979e58001b3e22fb";
            case 25 -> "LIST " + message(d, false);
            case 26 -> "TOP " + message(d, true);
            default -> "";
        };
    }

    // ---- SMTP

    @FuzzTest(maxDuration = "10m")
    void smtp(FuzzedDataProvider data) {
        withTranscript(data, SessionFuzzTest::smtpSession);
    }

    private static void smtpSession(FuzzedServer server, FuzzedDataProvider data, FuzzedServer.Session[] session) {
        long inbox = server.inbox();
        boolean submission = data.consumeBoolean();
        FuzzedServer.Session s = session[0] = server.connect(submission ? FuzzedServer.Kind.SUBMISSION : FuzzedServer.Kind.SMTP);
        SmtpReplies replies = new SmtpReplies();
        try {
            replies.next(s.received());
            if (submission && data.consumeBoolean()) {
                s.send("EHLO client.example\r\nAUTH PLAIN " + b64("\0" + USER + "\0" + PASSWORD) + "\r\n");
                replies.next(s.received());
                assertThat(new String(s.received(), StandardCharsets.UTF_8)).as("AUTH PLAIN with the right password")
                        .contains("\r\n235 ");
            }
            for (int i = data.consumeInt(1, MAX_LINES); i > 0 && !s.closed(); i--) {
                s.send(data.consumeInt(0, 7) == 0 ? raw(data) : smtpCommand(data));
                replies.next(s.received());
            }
        } finally {
            s.close();
        }
        s.awaitEnd();
        replies.next(s.received());
        assertThat(replies.complete(s.received())).as("the last reply is complete").isTrue();
        // RFC 5321 §4.1.1.4: a 250 after the data means the message is delivered; nothing else delivers.
        long added = server.store().status(inbox).messages() - FuzzedServer.MESSAGES.size();
        if (replies.delivered() == 0) assertThat(added).as("messages delivered without a 250").isZero();
        else assertThat(added).as("messages delivered").isGreaterThanOrEqualTo(replies.delivered());
    }

    private static byte[] smtpCommand(FuzzedDataProvider d) {
        String line = switch (d.consumeInt(0, 27)) {
            case 0 -> "EHLO " + pick(d, "client.example", "[192.0.2.1]", "[IPv6:2001:db8::1]", "_bad_.example.");
            case 1 -> "HELO client.example";
            case 2 -> "MAIL FROM:<" + USER + ">" + pick(d, "", " SIZE=2000", " BODY=8BITMIME", " SMTPUTF8", " AUTH=<>",
                    " SIZE=99999999999", " BODY=BINARYMIME");
            case 3 -> "MAIL FROM:<" + pick(d, "", "someone@elsewhere.example", "FUZZ@example.org", "jösé@example.org") + ">"
                    + pick(d, "", " SMTPUTF8");
            case 4 -> "RCPT TO:<" + pick(d, USER, "FUZZ@Example.ORG", "nobody@example.org", "someone@elsewhere.example",
                    "\"fuzz\"@example.org", "fuzz@[127.0.0.1]", "ünïcode@example.org") + ">";
            case 5 -> "DATA";
            case 6 -> {
                byte[] m = message(d);
                yield new String(m, StandardCharsets.ISO_8859_1) + "\r\n.";
            }
            case 7 -> {
                byte[] m = message(d);
                yield "BDAT " + m.length + pick(d, " LAST", "") + "\r\n" + new String(m, StandardCharsets.ISO_8859_1);
            }
            case 8 -> "RSET";
            case 9 -> "NOOP";
            case 10 -> "HELP";
            case 11 -> "VRFY fuzz";
            case 12 -> "QUIT";
            case 13 -> "STARTTLS";
            case 14 -> "AUTH PLAIN " + plain(d);
            case 15 -> "AUTH " + pick(d, "PLAIN", "LOGIN", "SCRAM-SHA-256", "EXTERNAL", "CRAM-MD5");
            case 16 -> plain(d);
            case 17 -> "*";
            case 18 -> b64(USER);
            case 19 -> b64(PASSWORD);
            case 20 -> "AUTH SCRAM-SHA-256 " + b64("n,,n=" + USER + ",r=fuzznonce");
            case 21 -> "MAIL FROM:<" + USER + "> SIZE=" + number(d);
            case 22 -> "BDAT 0 LAST";
            case 23 -> "EXPN fuzz";
            case 24 -> "RCPT TO:<" + USER + "> NOTIFY=NEVER";
            case 25 -> "AUTH LOGIN " + b64(USER);
            case 26 -> "DATA\r\n" + new String(message(d), StandardCharsets.ISO_8859_1) + "\r\n.";
            default -> "";
        };
        return (line + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    // ---- shared

    /**
     * The store agrees with itself after the session: every mailbox of the account counts the
     * messages it lists, and its next UID is above every UID in it (RFC 9051 §2.3.1.1).
     */
    private static void checkStore(FuzzedServer server) {
        MailStore store = server.store();
        for (Mailbox m : store.listMailboxes(server.accountId())) {
            var listed = store.listMessages(m.id(), UidRange.all());
            var status = store.status(m.id());
            assertThat(status.messages()).as("messages in " + m.name()).isEqualTo(listed.size());
            for (var meta : listed) assertThat(meta.uid()).as("UID in " + m.name()).isLessThan(status.uidNext());
        }
    }

    private interface Target {
        void run(FuzzedServer server, FuzzedDataProvider data, FuzzedServer.Session[] session);
    }

    /**
     * Runs one session on a fresh account (or the account as the last reset left it, when no
     * session since has committed anything), then checks the store and the log. A finding's report
     * ends with what the client sent and received, and so does every session's output with
     * {@code -Dcastellan.fuzz.transcript=true}.
     */
    private static void withTranscript(FuzzedDataProvider data, Target target) {
        FuzzedServer.Session[] session = new FuzzedServer.Session[1];
        try {
            FuzzedServer server = FuzzedServer.get();
            server.reset();
            logs.drain();
            target.run(server, data, session);
            // A store nothing was committed to since the reset holds the fresh account, which agrees with itself.
            if (!server.untouched()) checkStore(server);
            assertThat(logs.drain()).as("log lines").isEmpty();
            if (Boolean.getBoolean("castellan.fuzz.transcript")) System.out.println(transcript(session[0]));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + transcript(session[0]), e);
        }
    }

    /** What the client sent and received, for the report of a finding. */
    private static String transcript(FuzzedServer.Session s) {
        if (s == null) return "";
        return "\n--- sent:\n" + escaped(s.sent()) + "\n--- received:\n" + escaped(s.received());
    }

    private static String escaped(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < Math.min(bytes.length, 6000); i++) {
            int b = bytes[i] & 0xff;
            if (b == '\n') out.append("\\n\n");
            else if (b == '\r') out.append("\\r");
            else if (b < 0x20 || b >= 0x7f) out.append(String.format("\\x%02x", b));
            else out.append((char) b);
        }
        return bytes.length > 6000 ? out + "... (" + bytes.length + " octets)" : out.toString();
    }

    /** The fuzzer's own bytes, a line or part of one. */
    private static byte[] raw(FuzzedDataProvider d) {
        byte[] bytes = d.consumeBytes(d.consumeInt(1, MAX_RAW));
        if (!d.consumeBoolean()) return bytes;
        byte[] line = java.util.Arrays.copyOf(bytes, bytes.length + 2);
        line[bytes.length] = '\r';
        line[bytes.length + 1] = '\n';
        return line;
    }

    /** A message: one of the store's, one with the account's From (submission checks it), a hostile one, or the fuzzer's bytes. */
    private static byte[] message(FuzzedDataProvider d) {
        return switch (d.consumeInt(0, 4)) {
            case 0, 1 -> FuzzedServer.MESSAGES.get(d.consumeInt(0, FuzzedServer.MESSAGES.size() - 1)).getBytes(StandardCharsets.UTF_8);
            case 2 -> ("From: " + USER + "\r\nTo: " + USER + "\r\nSubject: from myself\r\nMessage-ID: <self@example.org>\r\n\r\n"
                    + "body\r\n").getBytes(StandardCharsets.UTF_8);
            case 3 -> ("From: " + USER + "\r\nSubject: smuggling\r\n\r\nline\n.\nMAIL FROM:<x@y.example>\r\n..dot\r\n"
                    + "x".repeat(1200) + "\r\n").getBytes(StandardCharsets.UTF_8);
            default -> d.consumeBytes(d.consumeInt(0, 400));
        };
    }

    private static String message(FuzzedDataProvider d, boolean valid) {
        if (!valid) return pick(d, "0", "-1", "x", "1 2", "99999999999");
        int n = d.consumeInt(1, 5);
        return String.valueOf(n < 5 ? n : d.consumeInt(1, 50));
    }

    private static String mailbox(FuzzedDataProvider d) {
        return pick(d, "INBOX", "inbox", "Trash", "Fuzz", "Fuzz/Child", "Archive", "\"Sent\"", "Nonexistent", "\"&AOk-t&AOk-\"",
                "\"\"", "\"Fuzz/\"", "{4+}\r\nFuzz", "Fuzz/*", "\"INBOX/Sub\"");
    }

    private static String set(FuzzedDataProvider d) {
        String[] sets = {"1", "2", "3", "1:*", "*", "2:4", "1,3", "4:*", "$", "3:1"};
        int i = d.consumeInt(0, sets.length + 1);
        if (i == sets.length) return String.valueOf(number(d));
        return i > sets.length ? "1:" + number(d) : sets[i];
    }

    private static String search(FuzzedDataProvider d) {
        return pick(d, "ALL", "UNSEEN", "FLAGGED", "SUBJECT one", "FROM carol", "TEXT hello", "BODY \"part one\"",
                "HEADER Message-ID <1@example.net>", "SINCE 1-Feb-2024", "BEFORE 1-Jan-2000", "LARGER 100", "OR SEEN NEW",
                "NOT DELETED", "UID 1:2", "MODSEQ 1", "KEYWORD $Fuzz", "$", "1:* SMALLER 500", "SENTSINCE 1-Feb-2024",
                "OLDER 1000", "TO \"fuzz@example.org\"", "CC x", "(DELETED OR ANSWERED DRAFT)");
    }

    private static String fetch(FuzzedDataProvider d) {
        return pick(d, "FLAGS", "(UID FLAGS INTERNALDATE RFC822.SIZE)", "ENVELOPE", "BODYSTRUCTURE", "BODY", "BODY.PEEK[]",
                "BODY[HEADER.FIELDS (SUBJECT FROM)]", "BODY[1]", "BODY[2.MIME]", "BODY[TEXT]<0.10>", "BINARY[2]",
                "BINARY.SIZE[1]", "RFC822", "FAST", "FULL", "(MODSEQ)", "BODY[1.1]", "RFC822.HEADER", "(BINARY.PEEK[1]<2.3>)",
                "BODY[HEADER.FIELDS.NOT (SUBJECT)]", "(EMAILID THREADID)", "PREVIEW");
    }

    private static String flags(FuzzedDataProvider d) {
        return pick(d, "(\\Seen)", "(\\Deleted)", "(\\Flagged \\Answered)", "($Fuzz)", "()", "(\\Draft $Junk)", "(\\Recent)",
                "\\Deleted", "(\\Seen \\Deleted $Fuzz)");
    }

    /** An AUTHENTICATE PLAIN message (RFC 4616): right, wrong, for someone else, or not one. */
    private static String plain(FuzzedDataProvider d) {
        return switch (d.consumeInt(0, 5)) {
            case 0, 1 -> b64("\0" + USER + "\0" + PASSWORD);
            case 2 -> b64("\0" + USER + "\0wrong");
            case 3 -> b64("other@example.org\0" + USER + "\0" + PASSWORD);
            case 4 -> "=";
            default -> pick(d, "!!!", "AAAA", b64("no nul at all"), b64("\0\0"));
        };
    }

    private static long number(FuzzedDataProvider d) {
        return d.consumeInt(0, 3) == 0 ? d.consumeLong(0, 5_000_000_000L) : d.consumeInt(0, 20);
    }

    private static String pick(FuzzedDataProvider d, String... options) {
        return options[d.consumeInt(0, options.length - 1)];
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
