package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalLong;
import org.castellan.server.testing.Transcript;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.Test;

/** RFC 3502 MULTIAPPEND: several messages in one APPEND, all or none; RFC 4315 APPENDUID with a UID set. */
class MultiappendTest extends ServerPerTest {

    static final String ONE = "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nSubject: afternoon meeting\r\n\r\nHello Joe\r\n";
    static final String TWO = "Date: Mon, 7 Feb 1994 22:43:04 -0800\r\nSubject: afternoon meeting 2\r\n\r\nsecond\r\n";

    @Test
    void capabilityAdvertisesMultiappend() {
        try (Transcript t = imap.loggedIn()) {
            assertThat(t.run("C: a1 CAPABILITY").expect("\\* CAPABILITY .*").split(" ")).contains("MULTIAPPEND");
            t.expect("a1 OK CAPABILITY completed");
        }
    }

    @Test
    void twoMessagesInOneAppendGetConsecutiveUidsAndOneAppenduid() {
        long validity = imap.store().status(imap.inbox).uidValidity();
        long next = uidNext();
        try (Transcript other = imap.selected(); Transcript t = imap.loggedIn()) {
            // RFC 3502 §6.3.11's example, each message with its own flags and date.
            t.send("A003 APPEND INBOX (\\Seen) {" + size(ONE) + "}");
            t.expect("\\+ Ready for literal data");
            t.sendRaw(ONE);
            t.send(" (\\Flagged) \" 7-Feb-1994 22:43:04 -0800\" {" + size(TWO) + "}");
            t.expect("\\+ Ready for literal data");
            t.sendRaw(TWO);
            t.send("");
            t.expect("A003 OK \\[APPENDUID " + validity + " " + next + ":" + (next + 1) + "\\] APPEND completed");
            other.run("""
                    C: n1 NOOP
                    S: \\* 4 EXISTS
                    S: \\* \\d+ RECENT
                    S: n1 OK NOOP completed
                    """);
        }
        var metas = imap.store().listMessages(imap.inbox, new UidRange(next, next + 1));
        assertThat(metas).extracting(MessageMeta::size).containsExactly((long) size(ONE), (long) size(TWO));
        assertThat(metas.get(0).flags()).containsExactly("\\Seen");
        assertThat(metas.get(1).flags()).containsExactly("\\Flagged");
        assertThat(metas.get(1).internalDate()).hasToString("1994-02-08T06:43:04Z");
    }

    /**
     * RFC 9051 §2.3.1.1: UIDNEXT is the UID the next new message gets, so after a MULTIAPPEND it
     * lies past the last message added, and the next APPEND gets it (RFC 4315 §3 APPENDUID).
     */
    @Test
    void uidNextMovesPastEveryMessageOfAMultiappend() {
        long validity = imap.store().status(imap.inbox).uidValidity();
        long next = uidNext();
        try (Transcript t = imap.loggedIn()) {
            t.sendRaw("a1 APPEND INBOX {" + size(ONE) + "+}\r\n" + ONE + " {" + size(TWO) + "+}\r\n" + TWO + "\r\n");
            t.expect("a1 OK \\[APPENDUID " + validity + " " + next + ":" + (next + 1) + "\\] APPEND completed");
            t.run("""
                    C: a2 STATUS INBOX (MESSAGES UIDNEXT)
                    S: \\* STATUS INBOX \\(MESSAGES 4 UIDNEXT %d\\)
                    S: a2 OK STATUS completed
                    """.formatted(next + 2));
            t.sendRaw("a3 APPEND INBOX {" + size(ONE) + "+}\r\n" + ONE + "\r\n");
            t.expect("a3 OK \\[APPENDUID " + validity + " " + (next + 2) + "\\] APPEND completed");
        }
    }

    @Test
    void whenOneMessageDoesNotFitNoneIsAdded() {
        long account = imap.store().getMailbox(imap.inbox).orElseThrow().accountId();
        long used = imap.store().quota(account).usedBytes();
        imap.store().setQuota(account, OptionalLong.of(used + size(ONE) + 10));
        try (Transcript t = imap.loggedIn()) {
            t.sendRaw("a1 APPEND INBOX {" + size(ONE) + "+}\r\n" + ONE + " {" + size(TWO) + "+}\r\n" + TWO + "\r\n");
            t.expect("a1 NO \\[OVERQUOTA\\] Quota exceeded");
            t.sendRaw("a2 APPEND nosuch {" + size(ONE) + "+}\r\n" + ONE + " {" + size(TWO) + "+}\r\n" + TWO + "\r\n");
            t.expect("a2 NO \\[TRYCREATE\\] .*");
            // RFC 3502 §6.3.11: a bad message anywhere refuses the whole command.
            t.sendRaw("a3 APPEND INBOX {" + size(ONE) + "+}\r\n" + ONE + " (\\Bogus) {" + size(TWO) + "+}\r\n" + TWO + "\r\n");
            t.expect("a3 (BAD|NO) .*");
            t.run("""
                    C: a4 NOOP
                    S: a4 OK NOOP completed
                    """);
        }
        assertThat(imap.store().listMessages(imap.inbox, UidRange.all())).hasSize(2);
    }
}
