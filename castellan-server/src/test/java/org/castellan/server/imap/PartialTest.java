package org.castellan.server.imap;

import java.util.Set;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RFC 9394 PARTIAL: pages of SEARCH, UID SEARCH, SORT and UID SORT results, counted from the
 * first result or (negative) from the last; the UID FETCH modifier; with SAVE as §3.2 says. The
 * RFC's example commands on a mailbox whose UIDs are not its sequence numbers.
 */
class PartialTest extends ServerPerTest {

    /** UIDs of the messages, by sequence number (index 0 is message 1). */
    final long[] uid = new long[8];

    /**
     * Eight messages, each larger than the one before: the fixture's two, then eight appended and
     * two of those expunged. The UIDs of messages 1, 2, 3 and 4 and of 5 and 6 have holes between
     * them, those of 4 and 5, 6 and 7, 7 and 8 are neighbours; message 4 is $Junk, message 7
     * \Deleted. UNDELETED UNKEYWORD $Junk
     * matches messages 1 2 3 5 6 8.
     */
    @BeforeEach
    void mailbox() {
        long[] all = new long[10];
        all[0] = firstUid;
        all[1] = secondUid;
        for (int i = 2; i < 10; i++) {
            Set<String> flags = i == 4 ? Set.of("$Junk") : i == 8 ? Set.of("\\Deleted") : Set.of();
            all[i] = imap.append(imap.inbox, "Subject: " + i + "\r\n\r\n" + "x".repeat(300 + 10 * i) + "\r\n", flags);
        }
        imap.store().expunge(imap.inbox, java.util.List.of(all[3], all[6]));
        int n = 0;
        for (int i = 0; i < 10; i++) if (i != 3 && i != 6) uid[n++] = all[i];
    }

    @Test
    void searchPages() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    # RFC 9394 §3.1: the last results first; the set in mailbox order.
                    C: A01 UID SEARCH RETURN (PARTIAL -1:-3) UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A01"\\) UID PARTIAL \\(-1:-3 %5$d,%6$d,%8$d\\)
                    S: A01 OK SEARCH completed
                    C: A02 UID SEARCH RETURN (PARTIAL 2:4) UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A02"\\) UID PARTIAL \\(2:4 %2$d,%3$d,%5$d\\)
                    S: A02 OK SEARCH completed
                    # A range reaching past the results gives what there is; one past them all NIL.
                    C: A03 SEARCH RETURN (PARTIAL 5:100) UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A03"\\) PARTIAL \\(5:100 6,8\\)
                    S: A03 OK SEARCH completed
                    C: A04 SEARCH RETURN (PARTIAL 7:9) UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A04"\\) PARTIAL \\(7:9 NIL\\)
                    S: A04 OK SEARCH completed
                    # The range as asked: 4:2 is 2:4.
                    C: A05 SEARCH RETURN (PARTIAL 4:2) UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A05"\\) PARTIAL \\(4:2 2:3,5\\)
                    S: A05 OK SEARCH completed
                    C: A06 SEARCH RETURN (PARTIAL -4:-100) UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A06"\\) PARTIAL \\(-4:-100 1:3\\)
                    S: A06 OK SEARCH completed
                    # The other return options are answered alongside, from all results.
                    C: A07 UID SEARCH RETURN (COUNT PARTIAL 1:2 MIN MAX) UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A07"\\) UID MIN %1$d MAX %8$d COUNT 6 PARTIAL \\(1:2 %1$d,%2$d\\)
                    S: A07 OK SEARCH completed
                    C: A08 SEARCH RETURN (PARTIAL 1:5 ALL) ALL
                    S: A08 BAD .*
                    """.formatted(uid[0], uid[1], uid[2], uid[3], uid[4], uid[5], uid[6], uid[7]));
        }
    }

    /** RFC 9394 §3.2: what "$" holds when SAVE comes with PARTIAL. */
    @Test
    void saveWithPartial() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    # PARTIAL alone: its results.
                    C: B01 SEARCH RETURN (SAVE PARTIAL -1:-2) UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "B01"\\) PARTIAL \\(-1:-2 6,8\\)
                    S: B01 OK SEARCH completed
                    C: B02 FETCH $ UID
                    S: \\* 6 FETCH \\(UID %6$d\\)
                    S: \\* 8 FETCH \\(UID %8$d\\)
                    S: B02 OK FETCH completed
                    # With MIN: its results and the MIN message.
                    C: B03 SEARCH RETURN (SAVE MIN PARTIAL 3:3) UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "B03"\\) MIN 1 PARTIAL \\(3:3 3\\)
                    S: B03 OK SEARCH completed
                    C: B04 FETCH $ UID
                    S: \\* 1 FETCH \\(UID %1$d\\)
                    S: \\* 3 FETCH \\(UID %3$d\\)
                    S: B04 OK FETCH completed
                    # With COUNT: everything found.
                    C: B05 SEARCH RETURN (SAVE COUNT PARTIAL 1:1) UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "B05"\\) COUNT 7 PARTIAL \\(1:1 1\\)
                    S: B05 OK SEARCH completed
                    C: B06 SEARCH $
                    S: \\* SEARCH 1 2 3 5 6 7 8
                    S: B06 OK SEARCH completed
                    """.formatted(uid[0], uid[1], uid[2], uid[3], uid[4], uid[5], uid[6], uid[7]));
        }
    }

    /** PARTIAL in SORT and UID SORT: positions in the requested order (RFC 5267 §4.4, RFC 9394 §3.1). */
    @Test
    void sortPages() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: C01 UID SORT RETURN (PARTIAL 1:2) (REVERSE SIZE) UTF-8 UNDELETED
                    S: \\* ESEARCH \\(TAG "C01"\\) UID PARTIAL \\(1:2 %8$d,%6$d\\)
                    S: C01 OK SORT completed
                    C: C02 SORT RETURN (PARTIAL -1:-3 COUNT) (REVERSE SIZE) UTF-8 UNDELETED
                    S: \\* ESEARCH \\(TAG "C02"\\) COUNT 7 PARTIAL \\(-1:-3 3,2,1\\)
                    S: C02 OK SORT completed
                    C: C03 SORT RETURN (PARTIAL 7:8) (SIZE) UTF-8 ALL
                    S: \\* ESEARCH \\(TAG "C03"\\) PARTIAL \\(7:8 7:8\\)
                    S: C03 OK SORT completed
                    C: C04 UID SORT RETURN (PARTIAL 9:10) (SIZE) UTF-8 ALL
                    S: \\* ESEARCH \\(TAG "C04"\\) UID PARTIAL \\(9:10 NIL\\)
                    S: C04 OK SORT completed
                    """.formatted(uid[0], uid[1], uid[2], uid[3], uid[4], uid[5], uid[6], uid[7]));
        }
    }

    /** RFC 9394 §3.3: the UID FETCH modifier; its example, and CHANGEDSINCE with it (§3.4). */
    @Test
    void uidFetchPages() {
        long highest = imap.store().status(imap.inbox).highestModSeq();
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: 10 UID FETCH %3$d:* (UID FLAGS) (PARTIAL -1:-3)
                    S: \\* 6 FETCH \\(UID %6$d FLAGS \\(\\\\Recent\\)\\)
                    S: \\* 7 FETCH \\(UID %7$d FLAGS \\(\\\\Deleted \\\\Recent\\)\\)
                    S: \\* 8 FETCH \\(UID %8$d FLAGS \\(\\\\Recent\\)\\)
                    S: 10 OK FETCH completed
                    C: 11 UID FETCH 1:* (UID) (PARTIAL 2:3)
                    S: \\* 2 FETCH \\(UID %2$d\\)
                    S: \\* 3 FETCH \\(UID %3$d\\)
                    S: 11 OK FETCH completed
                    C: 12 UID STORE %5$d,%1$d +FLAGS (\\Seen)
                    S: \\* 1 FETCH .*
                    S: \\* 5 FETCH .*
                    S: 12 OK STORE completed
                    C: 13 UID FETCH 1:* (FLAGS) (PARTIAL -1:-1 CHANGEDSINCE %9$d)
                    S: \\* 5 FETCH \\(UID %5$d FLAGS \\(\\\\Recent \\\\Seen\\) MODSEQ \\(\\d+\\)\\)
                    S: \\* OK \\[HIGHESTMODSEQ \\d+\\] .*
                    S: 13 OK FETCH completed
                    C: 14 FETCH 1:* (UID) (PARTIAL 1:2)
                    S: 14 BAD .*
                    """.formatted(uid[0], uid[1], uid[2], uid[3], uid[4], uid[5], uid[6], uid[7], highest));
        }
    }
}
