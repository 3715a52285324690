package org.castellan.server.imap;

import java.util.List;
import java.util.Set;
import org.castellan.server.testing.TestServer;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RFC 5267 §3 ESORT: SORT and UID SORT with RETURN answer ESEARCH, in the requested order; MIN and
 * MAX are the first and last in that order; ALL keeps the order, with ranges only for rising runs.
 */
class EsortTest extends ServerPerTest {

    long third;
    long fourth;
    long fifth;

    /** Five messages, each larger than the one before; the fourth is $Junk, the fifth \Deleted. */
    @BeforeEach
    void mailbox() {
        record Flagged(String message, Set<String> flags) {}
        long[] uids = TestServer.seed(imap.store(), imap.inbox, List.of(
                new Flagged("Subject: c\r\n\r\n" + "x".repeat(400) + "\r\n", Set.of()),
                new Flagged("Subject: d\r\n\r\n" + "x".repeat(500) + "\r\n", Set.of("$Junk")),
                new Flagged("Subject: e\r\n\r\n" + "x".repeat(600) + "\r\n", Set.of("\\Deleted"))),
                m -> imap.append(imap.inbox, m.message(), m.flags()));
        third = uids[0];
        fourth = uids[1];
        fifth = uids[2];
    }

    @Test
    void sortReturnsEsearchInTheRequestedOrder() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    # RFC 5267 §3.3: RETURN () is ALL; 3,2,1 is not the range 3:1 (§3.2).
                    C: E01 UID SORT RETURN () (REVERSE SIZE) UTF-8 UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "E01"\\) UID ALL %3$d,%2$d,%1$d
                    S: E01 OK SORT completed
                    # §3.1: MIN the first in sort order, MAX the last.
                    C: E02 SORT RETURN (MIN MAX COUNT) (REVERSE SIZE) UTF-8 UNDELETED
                    S: \\* ESEARCH \\(TAG "E02"\\) MIN 4 MAX 1 COUNT 4
                    S: E02 OK SORT completed
                    C: E03 SORT RETURN (ALL) (SIZE) UTF-8 ALL
                    S: \\* ESEARCH \\(TAG "E03"\\) ALL 1:5
                    S: E03 OK SORT completed
                    C: E04 SORT RETURN (ALL) (SUBJECT) UTF-8 OR SUBJECT e OR SUBJECT c SUBJECT one
                    S: \\* ESEARCH \\(TAG "E04"\\) ALL 3,5,1
                    S: E04 OK SORT completed
                    # RFC 4731 §3.1: MIN, MAX and ALL only when something matched; COUNT 0.
                    C: E05 SORT RETURN (MIN MAX ALL COUNT) (SIZE) UTF-8 SUBJECT nowhere
                    S: \\* ESEARCH \\(TAG "E05"\\) COUNT 0
                    S: E05 OK SORT completed
                    # SAVE as in SEARCH (RFC 5182): no ESEARCH for SAVE alone.
                    C: E06 UID SORT RETURN (SAVE) (REVERSE SIZE) UTF-8 KEYWORD $Junk
                    S: E06 OK SORT completed
                    C: E07 FETCH $ UID
                    S: \\* 4 FETCH \\(UID %4$d\\)
                    S: E07 OK FETCH completed
                    # Without RETURN, RFC 5256's SORT response.
                    C: E08 SORT (REVERSE SIZE) UTF-8 ALL
                    S: \\* SORT 5 4 3 2 1
                    S: E08 OK SORT completed
                    C: E09 SORT RETURN (FROB) (SIZE) UTF-8 ALL
                    S: E09 BAD Unsupported RETURN option FROB
                    """.formatted(firstUid, secondUid, third, fourth, fifth));
        }
    }
}
