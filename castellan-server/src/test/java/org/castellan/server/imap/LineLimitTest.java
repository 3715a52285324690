package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.castellan.protocol.imap.ImapParser;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Command lines of legitimate size are taken (RFC 2971 §3.3's largest ID, long UID sets; RFC
 * 7162 §4 asks for at least 8192 octets, the server takes {@link ImapParser#MAX_LINE}); a longer
 * one is a tagged BAD and the session goes on, and octets a refused command carried are never run
 * as commands. Limits that end a session are logged by name.
 */
class LineLimitTest extends ServerPerTest {

    @Test
    void theLargestIdRfc2971AllowsIsAnswered() {
        // RFC 2971 §3.3: at most 30 pairs, fields of at most 30 octets, values of at most 1024.
        StringBuilder id = new StringBuilder("i1 ID (");
        for (int i = 0; i < 30; i++) {
            String field = ("field-" + i + "-" + "x".repeat(30)).substring(0, 30);
            id.append(i == 0 ? "" : " ").append('"').append(field).append("\" \"").append("v".repeat(1024)).append('"');
        }
        id.append(')');
        assertThat(id.length()).isGreaterThan(8192);
        try (Transcript t = imap.connect("imap")) {
            t.expect("\\* OK .*");
            t.send(id.toString());
            t.run("""
                    S: \\* ID \\("name" "Castellan"\\)
                    S: i1 OK ID completed
                    """);
        }
    }

    @Test
    void aLongUidSetIsTaken() {
        StringBuilder set = new StringBuilder();
        for (long uid = 1; set.length() < 40_000; uid += 2) set.append(uid).append(',');
        set.append(secondUid);
        try (Transcript t = imap.selected()) {
            t.send("f1 UID FETCH " + set + " (FLAGS)");
            while (!t.readLine().startsWith("f1 ")) {
                // FETCH responses
            }
            t.run("""
                    C: f2 UID SEARCH UID %s
                    S: \\* SEARCH .*
                    S: f2 OK SEARCH completed
                    """.formatted(set));
        }
    }

    @Test
    void aTooLongLineIsBadAndWhatItCarriedIsNeverRun() {
        String injected = "x1 DELETE Trash\r\n";
        try (Transcript t = imap.loggedIn()) {
            t.sendRaw("a1 SEARCH TEXT " + "y".repeat(ImapParser.MAX_LINE) + " {" + injected.length() + "+}\r\n" + injected + "\r\n");
            t.run("""
                    S: a1 BAD \\[TOOBIG\\] Line too long
                    C: a2 LIST "" Trash
                    S: \\* LIST .* Trash
                    S: a2 OK LIST completed
                    """);
        }
    }

    @Test
    void aDisconnectAtALimitIsLoggedWithItsName() {
        Logger logger = (Logger) LoggerFactory.getLogger(ImapSession.class);
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.start();
        logger.addAppender(events);
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 LOGIN {100000+}
                    S: \\* BYE \\[TOOBIG\\] Literal too large
                    S: <closed>
                    """);
        } finally {
            logger.detachAppender(events);
        }
        assertThat(events.list).anySatisfy(e -> {
            assertThat(e.getLevel().toString()).isEqualTo("INFO");
            assertThat(e.getFormattedMessage()).contains("limit MAX_LITERAL_BEFORE_LOGIN");
        });
    }
}
