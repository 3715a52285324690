package org.castellan.server.imap;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RFC 5256 THREAD and UID THREAD, ORDEREDSUBJECT and REFERENCES; the RFC's §4 example commands. */
class ThreadTest {

    @TempDir Path dir;
    ImapTestServer imap;
    long[] uids;

    @BeforeEach
    void start() {
        imap = ImapTestServer.start(dir);
        String[][] messages = {
            {"<a@x>", "", "Alpha"}, {"<b@x>", "", "Beta"}, {"<c@x>", "<b@x>", "Re: Beta"},
            {"<d@x>", "<b@x> <c@x>", "Re: Beta"}, {"<e@x>", "<b@x>\r\n <c@x>", "RE: [list] beta"}};
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < messages.length; i++) {
            texts.add("Date: " + (i + 1) + " Feb 2024 10:00:00 +0000\r\nMessage-ID: " + messages[i][0] + "\r\n"
                    + (messages[i][1].isEmpty() ? "" : "References: " + messages[i][1] + "\r\n")
                    + "Subject: " + messages[i][2] + "\r\n\r\nbody " + i + "\r\n");
        }
        uids = imap.seed(texts.toArray(String[]::new));
    }

    @AfterEach
    void stop() {
        imap.close();
    }

    @Test
    void bothAlgorithms() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 THREAD REFERENCES UTF-8 ALL
                    S: \\* THREAD \\(1\\)\\(2 3 \\(4\\)\\(5\\)\\)
                    S: a1 OK THREAD completed
                    C: a2 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000
                    S: \\* THREAD \\(1\\)\\(2 \\(3\\)\\(4\\)\\(5\\)\\)
                    S: a2 OK THREAD completed
                    C: a3 THREAD ORDEREDSUBJECT US-ASCII TEXT "gewp"
                    S: \\* THREAD
                    S: a3 OK THREAD completed
                    C: a4 THREAD REFERENCES UTF-8 NOT SUBJECT alpha NOT 3
                    S: \\* THREAD \\(2 \\(4\\)\\(5\\)\\)
                    S: a4 OK THREAD completed
                    C: a5 UID THREAD REFERENCES UTF-8 1:2
                    S: \\* THREAD \\(%d\\)\\(%d\\)
                    S: a5 OK THREAD completed
                    C: a6 THREAD FOO UTF-8 ALL
                    S: a6 BAD Unknown threading algorithm FOO
                    C: a7 THREAD REFERENCES ISO-2022-JP ALL
                    S: a7 NO \\[BADCHARSET \\(US-ASCII UTF-8\\)\\] .*
                    """.formatted(uids[0], uids[1]));
        }
    }

    /**
     * RFC 5256 §3 REFERENCES (1B): a message that already has a parent loses that link before the
     * new one is made, and the new one is not made when it would be a loop. Message 7
     * (References: 6's id, 8's id) makes 6 the parent of a placeholder for 8, and the placeholder
     * 7's parent; message 8 then names 7, by then its child, as its parent.
     */
    @Test
    void aReferencesLoopIsBrokenNotFollowed() {
        String[][] messages = {{"<l1@x>", "", "2"}, {"<l2@x>", "<l1@x> <l3@x>", "3"}, {"<l3@x>", "<l2@x>", "1"}};
        for (String[] m : messages) {
            String text = "Date: " + m[2] + " Jan 2024 10:00:00 +0000\r\nMessage-ID: " + m[0] + "\r\n"
                    + (m[1].isEmpty() ? "" : "References: " + m[1] + "\r\n") + "Subject: loop " + m[0] + "\r\n\r\nx\r\n";
            imap.store().append(imap.inbox, text.getBytes(StandardCharsets.UTF_8), Set.of(), Instant.parse("2024-03-01T00:00:00Z"));
        }
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 THREAD REFERENCES UTF-8 6:8
                    S: \\* THREAD \\(8 7\\)\\(6\\)
                    S: a1 OK THREAD completed
                    """);
        }
    }
}
