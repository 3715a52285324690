package org.castellan.server.imap;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.castellan.server.testing.TestServer;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RFC 5256 SORT and UID SORT, RFC 5957 DISPLAYFROM/DISPLAYTO; the RFC's §4 example commands. */
class SortTest {

    @TempDir Path dir;
    ImapTestServer imap;
    long[] uids;

    private record Dated(String message, String internalDate) {}

    @BeforeEach
    void start() {
        imap = ImapTestServer.start(dir);
        uids = TestServer.seed(imap.store(), imap.inbox, List.of(
                new Dated("Date: Mon, 5 Feb 2024 10:00:00 +0000\r\nFrom: \"Aaron\" <zed@x.org>\r\nTo: bob@x.org\r\n"
                        + "Cc: carl@x.org\r\nSubject: Re: Banana\r\n\r\nshort\r\n", "2024-02-06T00:00:00Z"),
                // 4 Feb 04:00 UTC: after message 3's internal date, which stands in for its missing Date:.
                new Dated("Date: Sat, 3 Feb 2024 23:00:00 -0500\r\nFrom: amy@x.org\r\nTo: \"Bob\" <zz@x.org>\r\n"
                        + "Subject: apple\r\n\r\n" + "medium ".repeat(20) + "\r\n", "2024-02-01T00:00:00Z"),
                new Dated("From: \"Mike\" <mike@x.org>\r\nSubject: [list] Cherry\r\n\r\n" + "long ".repeat(100) + "\r\n",
                        "2024-02-04T00:00:00Z")),
                m -> imap.store().append(imap.inbox, m.message().getBytes(StandardCharsets.UTF_8), Set.of(),
                        Instant.parse(m.internalDate())).uid());
    }

    @AfterEach
    void stop() {
        imap.close();
    }

    @Test
    void everyKey() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994
                    S: \\* SORT 2 1 3
                    S: a1 OK SORT completed
                    C: a2 SORT (DATE) UTF-8 ALL
                    S: \\* SORT 3 2 1
                    S: a2 OK SORT completed
                    C: a3 SORT (REVERSE DATE) US-ASCII ALL
                    S: \\* SORT 1 2 3
                    S: a3 OK SORT completed
                    C: a4 SORT (ARRIVAL) UTF-8 ALL
                    S: \\* SORT 2 3 1
                    S: a4 OK SORT completed
                    C: a5 SORT (FROM) UTF-8 ALL
                    S: \\* SORT 2 3 1
                    S: a5 OK SORT completed
                    C: a6 SORT (DISPLAYFROM) UTF-8 ALL
                    S: \\* SORT 1 2 3
                    S: a6 OK SORT completed
                    C: a7 SORT (TO) UTF-8 ALL
                    S: \\* SORT 3 1 2
                    S: a7 OK SORT completed
                    C: a8 SORT (DISPLAYTO) UTF-8 ALL
                    S: \\* SORT 3 2 1
                    S: a8 OK SORT completed
                    C: a9 SORT (CC SUBJECT) UTF-8 ALL
                    S: \\* SORT 2 3 1
                    S: a9 OK SORT completed
                    C: b1 SORT (REVERSE SIZE) UTF-8 ALL
                    S: \\* SORT 3 2 1
                    S: b1 OK SORT completed
                    C: b2 SORT (SUBJECT REVERSE DATE) UTF-8 ALL
                    S: \\* SORT 2 1 3
                    S: b2 OK SORT completed
                    C: b3 SORT (SUBJECT) US-ASCII TEXT "not in mailbox"
                    S: \\* SORT
                    S: b3 OK SORT completed
                    C: b4 SORT (SIZE) UTF-8 OR FROM mike BODY medium
                    S: \\* SORT 2 3
                    S: b4 OK SORT completed
                    C: b5 UID SORT (REVERSE ARRIVAL) UTF-8 2:3
                    S: \\* SORT %d %d
                    S: b5 OK SORT completed
                    """.formatted(uids[2], uids[1]));
        }
    }

    @Test
    void errors() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 SORT (SENDER) UTF-8 ALL
                    S: a1 BAD Unknown sort key SENDER
                    C: a2 SORT (DATE) KOI8-R ALL
                    S: a2 NO \\[BADCHARSET \\(US-ASCII UTF-8\\)\\] .*
                    C: a3 SORT DATE UTF-8 ALL
                    S: a3 BAD .*
                    C: a4 SORT (DATE)
                    S: a4 BAD .*
                    C: a5 CAPABILITY
                    S: \\* CAPABILITY .* SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES .*
                    S: a5 OK .*
                    """);
        }
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 SORT (DATE) UTF-8 ALL
                    S: a1 BAD Command not valid in this state
                    """);
        }
    }
}
