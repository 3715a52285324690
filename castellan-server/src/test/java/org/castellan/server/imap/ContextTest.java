package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/**
 * RFC 5267 §4 CONTEXT=SEARCH and CONTEXT=SORT: the CONTEXT hint, UPDATE with ADDTO and REMOVEFROM
 * as the mailbox changes (through another session while idling, and through the session's own
 * commands), CANCELUPDATE, NOUPDATE and tag reuse; the RFC's example commands where it gives them.
 */
class ContextTest extends ServerPerTest {

    /** Reads untagged lines up to the tagged OK of {@code tag}. */
    private static void untilTagged(Transcript t, String tag) {
        for (String line; !(line = t.readLine()).startsWith(tag + " OK"); ) assertThat(line).startsWith("* ");
    }

    private static void append(Transcript actor, String tag, String message) {
        actor.sendRaw("%s APPEND INBOX {%d+}\r\n%s\r\n".formatted(tag, message.length(), message));
        untilTagged(actor, tag);
    }

    /** RFC 5267 §4.2: CONTEXT is a hint; the answer is what the other options ask for. */
    @Test
    void contextIsAHint() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: A01 SEARCH RETURN (CONTEXT COUNT) UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A01"\\) COUNT 2
                    S: A01 OK SEARCH completed
                    C: A02 UID SORT RETURN (CONTEXT) (SIZE) UTF-8 ALL
                    S: \\* ESEARCH \\(TAG "A02"\\) UID ALL %d,%d
                    S: A02 OK SORT completed
                    C: A03 CAPABILITY
                    S: \\* CAPABILITY .* ESORT CONTEXT=SEARCH CONTEXT=SORT PARTIAL .*
                    S: A03 OK .*
                    """.formatted(firstUid, secondUid));
        }
    }

    /**
     * RFC 5267 §4.3.3 and §4.3.4 through another session's changes, heard while idling: an ADDTO
     * after the EXISTS that brings the message, a REMOVEFROM after the FETCH of a flag change and
     * before the EXPUNGE; none after CANCELUPDATE (§4.3.5).
     */
    @Test
    void searchUpdatesFollowAnotherSession() {
        try (Transcript watcher = imap.selected(); Transcript actor = imap.selected()) {
            watcher.run("""
                    C: B01 UID SEARCH RETURN (UPDATE) UNSEEN
                    S: \\* ESEARCH \\(TAG "B01"\\) UID
                    S: B01 OK SEARCH completed
                    C: B02 SEARCH RETURN (UPDATE COUNT) KEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "B02"\\) COUNT 0
                    S: B02 OK SEARCH completed
                    C: w1 IDLE
                    S: \\+ idling
                    """);
            long third = uidNext();
            append(actor, "a1", "Subject: three\r\n\r\nx");
            watcher.run("""
                    S: \\* 3 EXISTS
                    S: \\* \\d+ RECENT
                    S: \\* ESEARCH \\(TAG "B01"\\) UID ADDTO \\(0 %d\\)
                    """.formatted(third));
            actor.send("a2 UID STORE %d +FLAGS (\\Seen)".formatted(firstUid));
            untilTagged(actor, "a2");
            watcher.run("""
                    S: \\* 1 FETCH \\(FLAGS \\(\\\\Seen\\) UID %d\\)
                    S: \\* ESEARCH \\(TAG "B01"\\) UID REMOVEFROM \\(0 %d\\)
                    """.formatted(firstUid, firstUid));
            actor.send("a3 STORE 2:3 +FLAGS ($Junk)");
            untilTagged(actor, "a3");
            // $Junk is new to the watcher: FLAGS and PERMANENTFLAGS first (RFC 9051 §7.3.5). Message
            // 3 is \Recent to whichever session heard of it first (RFC 3501 §2.3.2), maybe the watcher.
            watcher.run("""
                    S: \\* FLAGS \\(.*\\$Junk\\)
                    S: \\* OK \\[PERMANENTFLAGS .*
                    S: \\* 2 FETCH \\(FLAGS \\(\\$Junk\\) UID %d\\)
                    S: \\* 3 FETCH \\(FLAGS \\(\\$Junk( \\\\Recent)?\\) UID %d\\)
                    S: \\* ESEARCH \\(TAG "B02"\\) ADDTO \\(0 2:3\\)
                    """.formatted(secondUid, third));
            actor.send("a4 UID STORE %d +FLAGS.SILENT (\\Deleted)".formatted(secondUid));
            untilTagged(actor, "a4");
            watcher.expect("\\* 2 FETCH \\(FLAGS \\(\\$Junk \\\\Deleted\\) UID %d\\)".formatted(secondUid));
            actor.send("a5 EXPUNGE");
            untilTagged(actor, "a5");
            // The REMOVEFROMs number the message as the client knows it: before the EXPUNGE.
            watcher.run("""
                    S: \\* ESEARCH \\(TAG "B01"\\) UID REMOVEFROM \\(0 %d\\)
                    S: \\* ESEARCH \\(TAG "B02"\\) REMOVEFROM \\(0 2\\)
                    S: \\* 2 EXPUNGE
                    C: DONE
                    S: w1 OK IDLE terminated
                    C: B04 CANCELUPDATE "B01"
                    S: B04 OK CANCELUPDATE completed
                    C: w2 IDLE
                    S: \\+ idling
                    """.formatted(secondUid));
            long fourth = uidNext();
            String four = "Subject: four\r\n\r\nx";
            actor.sendRaw("a6 APPEND INBOX ($Junk) {%d+}\r\n%s\r\n".formatted(four.length(), four));
            untilTagged(actor, "a6");
            // No ADDTO for B01 (cancelled), although the message is unseen; B02 hears of it.
            watcher.run("""
                    S: \\* 3 EXISTS
                    S: \\* \\d+ RECENT
                    S: \\* ESEARCH \\(TAG "B02"\\) ADDTO \\(0 3\\)
                    C: DONE
                    S: w2 OK IDLE terminated
                    C: w3 UID FETCH %d FLAGS
                    S: \\* 3 FETCH \\(UID %d FLAGS \\(\\$Junk( \\\\Recent)?\\)\\)
                    S: w3 OK FETCH completed
                    """.formatted(fourth, fourth));
        }
    }

    /**
     * CONTEXT=SORT: positions in the requested order (RFC 5267 §4.3.3: the first result of the set
     * takes the position, later ones shift), REMOVEFROM by position, ESEARCH in sort order.
     */
    @Test
    void sortUpdatesKeepTheRequestedOrder() {
        long third = uidNext();
        try (Transcript watcher = imap.selected(); Transcript actor = imap.selected()) {
            // The second message is the larger one: REVERSE SIZE puts it first.
            watcher.run("""
                    C: C01 UID SORT RETURN (UPDATE ALL) (REVERSE SIZE) UTF-8 UNSEEN
                    S: \\* ESEARCH \\(TAG "C01"\\) UID ALL %d,%d
                    S: C01 OK SORT completed
                    C: C02 SORT RETURN (UPDATE MIN MAX) (SIZE) UTF-8 ALL
                    S: \\* ESEARCH \\(TAG "C02"\\) MIN 1 MAX 2
                    S: C02 OK SORT completed
                    C: w1 IDLE
                    S: \\+ idling
                    """.formatted(secondUid, firstUid));
            // Between the two in size: second in C01's order, second in C02's.
            append(actor, "a1", "Subject: middle\r\n\r\n" + "m".repeat(size(FIRST) + 20));
            watcher.run("""
                    S: \\* 3 EXISTS
                    S: \\* \\d+ RECENT
                    S: \\* ESEARCH \\(TAG "C01"\\) UID ADDTO \\(2 %d\\)
                    S: \\* ESEARCH \\(TAG "C02"\\) ADDTO \\(2 3\\)
                    """.formatted(third));
            // Larger than all: first in C01's order, last in C02's.
            long fourth = uidNext();
            append(actor, "a2", "Subject: large\r\n\r\n" + "l".repeat(size(SECOND) + 100));
            watcher.run("""
                    S: \\* 4 EXISTS
                    S: \\* \\d+ RECENT
                    S: \\* ESEARCH \\(TAG "C01"\\) UID ADDTO \\(1 %d\\)
                    S: \\* ESEARCH \\(TAG "C02"\\) ADDTO \\(4 4\\)
                    """.formatted(fourth));
            // C01 is now fourth, second, third, first: the first message leaves from position 4.
            actor.send("a3 UID STORE %d +FLAGS (\\Seen)".formatted(firstUid));
            untilTagged(actor, "a3");
            watcher.run("""
                    S: \\* 1 FETCH \\(FLAGS \\(\\\\Seen\\) UID %d\\)
                    S: \\* ESEARCH \\(TAG "C01"\\) UID REMOVEFROM \\(4 %d\\)
                    """.formatted(firstUid, firstUid));
            // Message 3 leaves C01 (4, 2, 3) from position 3 and C02 (1, 3, 2, 4) from 2, before its EXPUNGE.
            actor.send("a4 UID STORE %d +FLAGS.SILENT (\\Deleted)".formatted(third));
            untilTagged(actor, "a4");
            // Recent to the watcher or to the actor, whichever heard of it first.
            watcher.expect("\\* 3 FETCH \\(FLAGS \\(\\\\Deleted( \\\\Recent)?\\) UID %d\\)".formatted(third));
            actor.send("a5 EXPUNGE");
            untilTagged(actor, "a5");
            // RFC 5267 §4.3.4 puts each REMOVEFROM before the EXPUNGE, and says nothing of the order
            // between contexts: the watcher matches its contexts again for the \Deleted after it told
            // the FETCH, and the actor's EXPUNGE may commit before or after that, so C02's REMOVEFROM
            // can come from that matching, ahead of C01's, which the expunge brings.
            assertThat(List.of(watcher.readLine(), watcher.readLine())).containsExactlyInAnyOrder(
                    "* ESEARCH (TAG \"C01\") UID REMOVEFROM (3 %d)".formatted(third),
                    "* ESEARCH (TAG \"C02\") REMOVEFROM (2 3)");
            watcher.run("""
                    S: \\* 3 EXPUNGE
                    C: DONE
                    S: w1 OK IDLE terminated
                    C: C03 UID SORT RETURN (ALL) (REVERSE SIZE) UTF-8 UNSEEN
                    S: \\* ESEARCH \\(TAG "C03"\\) UID ALL %d,%d
                    S: C03 OK SORT completed
                    """.formatted(fourth, secondUid));
        }
    }

    /**
     * The session's own changes update its contexts too: its EXPUNGE says REMOVEFROM before its
     * EXPUNGE responses; its flag changes are told when it next hears of changes (NOOP).
     */
    @Test
    void ownChangesUpdateTheContexts() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: D01 SEARCH RETURN (UPDATE ALL) UNDELETED
                    S: \\* ESEARCH \\(TAG "D01"\\) ALL 1:2
                    S: D01 OK SEARCH completed
                    C: D02 STORE 1 +FLAGS (\\Deleted)
                    S: \\* 1 FETCH \\(FLAGS \\(\\\\Deleted\\) UID %d\\)
                    S: \\* ESEARCH \\(TAG "D01"\\) REMOVEFROM \\(0 1\\)
                    S: D02 OK STORE completed
                    C: n NOOP
                    S: n OK NOOP completed
                    """.formatted(firstUid));
            t.run("""
                    C: D03 SEARCH RETURN (UPDATE) DELETED
                    S: \\* ESEARCH \\(TAG "D03"\\)
                    S: D03 OK SEARCH completed
                    C: D04 EXPUNGE
                    S: \\* ESEARCH \\(TAG "D03"\\) REMOVEFROM \\(0 1\\)
                    S: \\* 1 EXPUNGE
                    S: D04 OK EXPUNGE completed
                    """);
        }
    }

    /**
     * RFC 5267 §4.3: UPDATE under a tag still in use is BAD; §4.3.1: past the session's contexts an
     * untagged NO [NOUPDATE] and the other options still answered; §4.3.5: CANCELUPDATE of a tag
     * with no context is NO; updates cease when the mailbox is no longer selected.
     */
    @Test
    void refusalsAndEnds() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: B01 SEARCH RETURN (UPDATE) ALL
                    S: \\* ESEARCH \\(TAG "B01"\\)
                    S: B01 OK SEARCH completed
                    C: B01 UID SEARCH RETURN (UPDATE COUNT) ALL
                    S: B01 BAD .*
                    C: B02 CANCELUPDATE "nosuch"
                    S: B02 NO \\[NONEXISTENT\\] .*
                    C: B03 SEARCH RETURN (FROB) ALL
                    S: B03 BAD Unsupported RETURN option FROB
                    """);
            for (int i = 2; i <= SearchContexts.MAX_CONTEXTS; i++) {
                t.run("C: X%1$d SEARCH RETURN (UPDATE) ALL\nS: \\* ESEARCH \\(TAG \"X%1$d\"\\)\nS: X%1$d OK .*".formatted(i));
            }
            t.run("""
                    C: B02 UID SORT RETURN (UPDATE COUNT) (ARRIVAL) UTF-8 ALL
                    S: \\* NO \\[NOUPDATE "B02"\\] .*
                    S: \\* ESEARCH \\(TAG "B02"\\) UID COUNT 2
                    S: B02 OK SORT completed
                    C: B04 CANCELUPDATE "B01" "X2"
                    S: B04 OK CANCELUPDATE completed
                    C: B05 SEARCH RETURN (UPDATE) ALL
                    S: \\* ESEARCH \\(TAG "B05"\\)
                    S: B05 OK SEARCH completed
                    C: B06 EXAMINE INBOX
                    S: \\* OK \\[CLOSED\\] .*
                    """);
            untilTagged(t, "B06");
            t.run("""
                    C: B07 CANCELUPDATE "B05"
                    S: B07 NO \\[NONEXISTENT\\] .*
                    C: B08 UNSELECT
                    S: B08 OK .*
                    C: B09 CANCELUPDATE "B05"
                    S: B09 BAD Command not valid in this state
                    """);
        }
    }
}
