package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.imap.SharedMailboxTest.reply;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.IntPredicate;
import java.util.stream.Collectors;
import org.castellan.server.testing.Transcript;
import org.castellan.store.AppendResult;
import org.castellan.store.NewMessage;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.4.4 SEARCH, UID SEARCH, RFC 4731 ESEARCH, RFC 5182 SEARCHRES. */
class SearchTest extends ServerPerTest {

    @Test
    void keys() {
        imap.append(imap.inbox, "Subject: three\r\nFrom: eve@example.com\r\n\r\nSomething long " + "x".repeat(500) + "\r\n",
                Set.of("\\Flagged"));
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 SEARCH ALL
                    S: \\* SEARCH 1 2 3
                    S: a1 OK SEARCH completed
                    C: a2 SEARCH FLAGGED
                    S: \\* SEARCH 3
                    S: a2 OK SEARCH completed
                    C: a3 SEARCH OR FROM carol SUBJECT TWO
                    S: \\* SEARCH 1 2
                    S: a3 OK SEARCH completed
                    C: a4 SEARCH NOT BODY "hello" LARGER 200
                    S: \\* SEARCH 2 3
                    S: a4 OK SEARCH completed
                    C: a5 SEARCH TEXT "part one" 2:*
                    S: \\* SEARCH 2
                    S: a5 OK SEARCH completed
                    C: a6 SEARCH SENTON 1-Feb-2024 SINCE 1-Feb-2024 BEFORE 2-Feb-2024
                    S: \\* SEARCH 1
                    S: a6 OK SEARCH completed
                    C: a7 UID SEARCH HEADER Message-ID "<1@example.net>"
                    S: \\* SEARCH %d
                    S: a7 OK SEARCH completed
                    C: a8 SEARCH UNSEEN UNFLAGGED UID 1:* SMALLER 1000 NEW
                    S: \\* SEARCH
                    S: a8 OK SEARCH completed
                    C: a9 SEARCH RETURN (MIN MAX COUNT ALL) UNFLAGGED
                    S: \\* ESEARCH \\(TAG "a9"\\) MIN 1 MAX 2 COUNT 2 ALL 1:2
                    S: a9 OK SEARCH completed
                    C: b1 SEARCH CHARSET KOI8-R ALL
                    S: b1 NO \\[BADCHARSET \\(US-ASCII UTF-8\\)\\] .*
                    C: b2 SEARCH FROB
                    S: b2 BAD Unknown search key FROB
                    C: b3 UID SEARCH RETURN (COUNT) CHARSET UTF-8 TEXT {5+}
                    C: there
                    S: \\* ESEARCH \\(TAG "b3"\\) UID COUNT 1
                    S: b3 OK SEARCH completed
                    """.formatted(firstUid));
        }
    }

    @Test
    void savedResult() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH $ UID
                    S: a1 OK FETCH completed
                    C: a2 SEARCH RETURN (SAVE) SUBJECT two
                    S: a2 OK SEARCH completed
                    C: a3 FETCH $ (UID)
                    S: \\* 2 FETCH \\(UID %1$d\\)
                    S: a3 OK FETCH completed
                    C: a4 UID SEARCH OR $ 1
                    S: \\* SEARCH %2$d %1$d
                    S: a4 OK SEARCH completed
                    C: a5 SEARCH RETURN (SAVE MIN COUNT) ALL
                    S: \\* ESEARCH \\(TAG "a5"\\) MIN 1 COUNT 2
                    S: a5 OK SEARCH completed
                    # RFC 5182 §2.1: with COUNT (or ALL) "$" holds every message found, MIN or not.
                    C: a6 UID STORE $ +FLAGS (\\Seen)
                    S: \\* 1 FETCH \\(FLAGS \\(\\\\Seen\\) UID %2$d\\)
                    S: \\* 2 FETCH \\(FLAGS \\(\\\\Seen\\) UID %1$d\\)
                    S: a6 OK STORE completed
                    # With MIN alone, only the MIN message.
                    C: a7 SEARCH RETURN (SAVE MIN) UNSEEN
                    S: \\* ESEARCH \\(TAG "a7"\\)
                    S: a7 OK SEARCH completed
                    C: a8 SEARCH RETURN (SAVE MIN) SEEN
                    S: \\* ESEARCH \\(TAG "a8"\\) MIN 1
                    S: a8 OK SEARCH completed
                    C: a9 FETCH $ UID
                    S: \\* 1 FETCH \\(UID %2$d\\)
                    S: a9 OK FETCH completed
                    """.formatted(secondUid, firstUid));
        }
    }

    @Test
    void textKeysCompareDecodedText() {
        long uid = imap.append("Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n"
                + java.util.Base64.getMimeEncoder().encodeToString("Ein Leuchtturm in Köln".getBytes(java.nio.charset.StandardCharsets.UTF_8))
                + "\r\n");
        // Once indexed and before: the same answers.
        if (imap.store() instanceof org.castellan.store.embedded.EmbeddedMailStore embedded) embedded.catchUpTextIndex();
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 UID SEARCH CHARSET UTF-8 BODY {10+}
                    C: LEUCHTTURM
                    S: \\* SEARCH %1$d
                    S: a1 OK SEARCH completed
                    C: a2 UID SEARCH CHARSET UTF-8 SUBJECT {7+}
                    C: grüße
                    S: \\* SEARCH %1$d
                    S: a2 OK SEARCH completed
                    C: a3 UID SEARCH CHARSET UTF-8 TEXT {5+}
                    C: kÖln
                    S: \\* SEARCH %1$d
                    S: a3 OK SEARCH completed
                    C: a4 SEARCH BODY RWlu
                    S: \\* SEARCH
                    S: a4 OK SEARCH completed
                    C: a5 SEARCH TEXT o
                    S: \\* SEARCH 1 2 3
                    S: a5 OK SEARCH completed
                    C: a6 SEARCH NOT BODY turm OR BODY "part one" BODY hello
                    S: \\* SEARCH 1 2
                    S: a6 OK SEARCH completed
                    """.formatted(uid));
        }
    }

    /**
     * RFC 9051 §6.4.4: BODY looks in the message's body only, TEXT in its header and its body;
     * alike for a needle the text index answers and for one too short for it, which is scanned.
     */
    @Test
    void bodyLeavesTheHeaderOutWhereTextTakesItIn() {
        long uid = imap.append("Subject: zebra zq crossing\r\n\r\nNo stripes down here.\r\n");
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 UID SEARCH BODY zebra
                    S: \\* SEARCH
                    S: a1 OK SEARCH completed
                    C: a2 UID SEARCH TEXT zebra
                    S: \\* SEARCH %1$d
                    S: a2 OK SEARCH completed
                    C: a3 UID SEARCH BODY stripes
                    S: \\* SEARCH %1$d
                    S: a3 OK SEARCH completed
                    C: a4 UID SEARCH BODY zq
                    S: \\* SEARCH
                    S: a4 OK SEARCH completed
                    C: a5 UID SEARCH TEXT zq
                    S: \\* SEARCH %1$d
                    S: a5 OK SEARCH completed
                    C: a6 UID SEARCH BODY st
                    S: \\* SEARCH %1$d
                    S: a6 OK SEARCH completed
                    """.formatted(uid));
        }
    }

    /**
     * RFC 9051 §6.4.4 header keys over more messages than one read of structures holds
     * ({@link Search#STRUCTURE_BATCH}), with expunged gaps, alone and with flags, UID sets, OR,
     * NOT and MODSEQ (RFC 7162 §3.1.5): every answer is computed from the messages themselves.
     */
    @Test
    void headerKeysOverMoreThanABatchOfMessages() {
        int n = 2 * Search.STRUCTURE_BATCH + 37;
        int badDate = Search.STRUCTURE_BATCH + 500;
        List<NewMessage> messages = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String date = i == badDate ? "garbage" : (i % 28 + 1) + " Feb 2024 12:00:00 +0000";
            byte[] content = ("Date: " + date + "\r\nFrom: s" + i % 7 + "@example.net\r\nSubject: batch " + i + "\r\n\r\nbody\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            Set<String> flags = i % 5 == 0 ? Set.of("\\Flagged") : Set.of();
            messages.add(new NewMessage(() -> new ByteArrayInputStream(content), flags, Instant.parse("2024-03-01T10:00:00Z")));
        }
        List<Long> appended = imap.store().appendAll(imap.inbox, messages).stream().map(AppendResult::uid).toList();
        List<Long> holes = new ArrayList<>();
        Map<Integer, Long> uid = new TreeMap<>(); // message i's UID, for the messages left
        for (int i = 0; i < n; i++) {
            if (i % 10 == 4) holes.add(appended.get(i));
            else uid.put(i, appended.get(i));
        }
        imap.store().expunge(imap.inbox, holes);
        IntPredicate sent3Feb = i -> i != badDate && i % 28 + 1 == 3;
        IntPredicate sentBefore2Feb = i -> i != badDate && i % 28 + 1 == 1;
        long from = uid.get(500);
        long to = uid.get(1500);

        try (Transcript t = imap.selected()) {
            t.send("a1 UID SEARCH SUBJECT \"batch 1999\"");
            assertThat(reply(t, "a1")).containsExactly("* SEARCH " + uid.get(1999), "a1 OK SEARCH completed");
            t.send("a2 UID SEARCH FROM s3 FLAGGED");
            assertThat(reply(t, "a2")).containsExactly(found(uid, List.of(), i -> i % 7 == 3 && i % 5 == 0), "a2 OK SEARCH completed");
            // Both seeded messages have another Subject; SECOND has no Date, and a Date that does not parse is never on a day.
            t.send("a3 UID SEARCH OR SENTON 3-Feb-2024 NOT SUBJECT batch");
            assertThat(reply(t, "a3")).containsExactly(found(uid, List.of(firstUid, secondUid), sent3Feb), "a3 OK SEARCH completed");
            t.send("a4 UID SEARCH UID %d:%d SUBJECT \"batch 10\"".formatted(from, to));
            assertThat(reply(t, "a4")).containsExactly(found(uid, List.of(),
                    i -> uid.get(i) >= from && uid.get(i) <= to && ("batch " + i).contains("batch 10")), "a4 OK SEARCH completed");
            t.send("a5 UID SEARCH SENTBEFORE 2-Feb-2024");
            assertThat(reply(t, "a5")).containsExactly(found(uid, List.of(firstUid), sentBefore2Feb), "a5 OK SEARCH completed");
            // Without a Date that parses a message is sent on no day: no SENT* key matches it, and so NOT does.
            t.send("a6 UID SEARCH NOT SENTSINCE 1-Jan-2000");
            assertThat(reply(t, "a6")).containsExactly("* SEARCH %d %d".formatted(secondUid, uid.get(badDate)), "a6 OK SEARCH completed");

            long modSeq = imap.store().status(imap.inbox).highestModSeq() + 1;
            t.send("a7 UID STORE %d,%d +FLAGS.SILENT (\\Seen)".formatted(uid.get(7), uid.get(n - 1)));
            assertThat(reply(t, "a7")).containsExactly("a7 OK STORE completed");
            t.send("a8 UID SEARCH MODSEQ %d SUBJECT batch".formatted(modSeq));
            // The MODSEQ key enables CONDSTORE, whose HIGHESTMODSEQ comes with the answer (RFC 7162 §3.1).
            assertThat(reply(t, "a8")).containsExactly("* SEARCH %d %d (MODSEQ %d)".formatted(uid.get(7), uid.get(n - 1), modSeq),
                    "* OK [HIGHESTMODSEQ %d] Highest".formatted(modSeq), "a8 OK SEARCH completed");
        }
    }

    /** The {@code * SEARCH} line of {@code first} and the UIDs of the messages {@code i} that {@code matches}, ascending. */
    private static String found(Map<Integer, Long> uid, List<Long> first, IntPredicate matches) {
        List<Long> uids = new ArrayList<>(first);
        uid.forEach((i, u) -> {
            if (matches.test(i)) uids.add(u);
        });
        return uids.stream().sorted().map(String::valueOf).collect(Collectors.joining(" ", "* SEARCH ", "")).strip();
    }

    /** RFC 9051 §6.4.4: once IMAP4rev2 is enabled, SEARCH always answers ESEARCH (no RETURN means ALL). */
    @Test
    void rev2SearchAnswersEsearch() {
        long junk = imap.append(imap.inbox, "Subject: junk\r\n\r\nbuy\r\n", Set.of("$Junk"));
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a0 ENABLE IMAP4rev2
                    S: \\* ENABLED IMAP4rev2
                    S: a0 OK ENABLE completed
                    C: a1 SELECT INBOX
                    """);
            for (String line; !(line = t.readLine()).startsWith("a1 OK"); ) {
                org.assertj.core.api.Assertions.assertThat(line).startsWith("* ");
            }
            t.run("""
                    C: A283 SEARCH RETURN () UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A283"\\) ALL 1:2
                    S: A283 OK SEARCH completed
                    C: A284 SEARCH TEXT "string not in mailbox"
                    S: \\* ESEARCH \\(TAG "A284"\\)
                    S: A284 OK SEARCH completed
                    C: A285 UID SEARCH KEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A285"\\) UID ALL %d
                    S: A285 OK SEARCH completed
                    """.formatted(junk));
        }
    }
}
