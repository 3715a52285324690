package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import org.castellan.store.UidRange;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.3.12 APPEND, RFC 4315 APPENDUID, RFC 7889 APPENDLIMIT, TRYCREATE. */
class AppendTest extends ServerPerTest {

    @Test
    void appendWithFlagsAndDate() {
        long validity = imap.store().status(imap.inbox).uidValidity();
        long next = uidNext();
        String msg = "Subject: appended\r\n\r\nbody\r\n";
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 APPEND INBOX (\\Seen $Work) "07-Feb-1994 21:52:25 -0800" {%d}
                    S: \\+ Ready for literal data
                    C: Subject: appended
                    C:
                    C: body
                    C:
                    S: a1 OK \\[APPENDUID %d %d\\] APPEND completed
                    C: a2 APPEND nosuch {1+}
                    C: x
                    S: a2 NO \\[TRYCREATE\\] .*
                    C: a3 APPEND INBOX {99999999999}
                    S: a3 BAD .*
                    C: a4 APPEND INBOX {40000000}
                    S: a4 BAD \\[TOOBIG\\] Literal too large
                    C: a5 NOOP
                    S: a5 OK NOOP completed
                    """.formatted(size(msg), validity, next));
        }
        var meta = imap.store().listMessages(imap.inbox, UidRange.of(next)).get(0);
        assertThat(meta.flags()).containsExactlyInAnyOrder("\\Seen", "$Work");
        assertThat(meta.internalDate()).hasToString("1994-02-08T05:52:25Z");
    }

    @Test
    void selectedSessionSeesItsOwnAppend() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 APPEND INBOX {3+}
                    C: a
                    C:
                    S: (\\* 3 EXISTS|a1 OK .*)
                    """);
        }
    }

    @Test
    void overQuotaAppendAndCopyAreRefused() {
        long account = imap.store().getMailbox(imap.inbox).orElseThrow().accountId();
        imap.store().setQuota(account, java.util.OptionalLong.of(10));
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 APPEND INBOX {3+}
                    C: a
                    C:
                    S: a1 NO \\[OVERQUOTA\\] Quota exceeded
                    C: a2 COPY 1 Trash
                    S: a2 NO \\[OVERQUOTA\\] Quota exceeded
                    """);
        }
    }
}
