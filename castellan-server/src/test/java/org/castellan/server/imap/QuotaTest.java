package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalLong;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/**
 * RFC 9208 QUOTA: GETQUOTAROOT, GETQUOTA and SETQUOTA (refused: limits are the administrator's),
 * STATUS DELETED-STORAGE, and NO [OVERQUOTA] for APPEND and COPY that would exceed the limit.
 */
class QuotaTest extends ServerPerTest {

    private long account() {
        return imap.store().getAccount(EmailAddress.of(ImapTestServer.USER)).orElseThrow().id();
    }

    @Test
    void getQuotaRootAndGetQuota() {
        try (Transcript t = imap.loggedIn()) {
            // Without a limit the account has no quota root (RFC 9208 §4.2.2).
            t.run("""
                    C: a1 GETQUOTAROOT INBOX
                    S: \\* QUOTAROOT INBOX
                    S: a1 OK GETQUOTAROOT completed
                    C: a2 GETQUOTA ""
                    S: a2 NO \\[NONEXISTENT\\] This account has no quota
                    """);
            imap.store().setQuota(account(), OptionalLong.of(10 * 1024 + 1000));
            // RFC 9208 §4.1.2's example, in KiB: usage rounded up, the limit down.
            t.run("""
                    C: a3 GETQUOTAROOT INBOX
                    S: \\* QUOTAROOT INBOX ""
                    S: \\* QUOTA "" \\(STORAGE 1 10\\)
                    S: a3 OK GETQUOTAROOT completed
                    C: a4 GETQUOTA ""
                    S: \\* QUOTA "" \\(STORAGE 1 10\\)
                    S: a4 OK GETQUOTA completed
                    C: a5 GETQUOTAROOT Trash
                    S: \\* QUOTAROOT Trash ""
                    S: \\* QUOTA "" \\(STORAGE 1 10\\)
                    S: a5 OK GETQUOTAROOT completed
                    C: a6 GETQUOTA "User quota"
                    S: a6 NO \\[NONEXISTENT\\] .*
                    C: a7 GETQUOTAROOT Nowhere
                    S: a7 NO \\[NONEXISTENT\\] .*
                    C: a8 GETQUOTAROOT
                    S: a8 BAD Missing argument
                    """);
        }
    }

    @Test
    void quotaCommandsNeedLogin() {
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 GETQUOTAROOT INBOX
                    S: a1 BAD Command not valid in this state
                    C: a2 SETQUOTA "" (STORAGE 1)
                    S: a2 BAD Command not valid in this state
                    """);
        }
    }

    @Test
    void setQuotaIsRefusedToUsers() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 SETQUOTA "" (STORAGE 512)
                    S: a1 NO \\[NOPERM\\] Quota limits are set by the server administrator
                    C: a2 SETQUOTA "" (STORAGE)
                    S: a2 BAD Expected a space
                    """);
        }
        assertThat(imap.store().quota(account()).limitBytes()).isEmpty();
    }

    @Test
    void appendAndCopyOverQuotaAreRefusedMoveWithinTheAccountIsNot() {
        long used = imap.store().quota(account()).usedBytes();
        imap.store().setQuota(account(), OptionalLong.of(used + 10));
        try (Transcript t = imap.selected()) {
            t.sendRaw("a1 APPEND INBOX {20+}\r\nSubject: x\r\n\r\n123456\r\n");
            t.run("""
                    S: a1 NO \\[OVERQUOTA\\] Quota exceeded
                    C: a2 COPY 1:2 Trash
                    S: a2 NO \\[OVERQUOTA\\] Quota exceeded
                    C: a3 STORE 2 +FLAGS.SILENT (\\Deleted)
                    S: a3 OK .*
                    C: a4 STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)
                    S: \\* STATUS INBOX \\(MESSAGES 2 DELETED 1 DELETED-STORAGE 1\\)
                    S: a4 OK STATUS completed
                    C: a5 MOVE 1 Archive
                    S: \\* OK \\[COPYUID \\d+ %d %d\\] Moved
                    S: \\* 1 EXPUNGE
                    S: a5 OK MOVE completed
                    """.formatted(firstUid, uidNext("Archive")));
        }
        assertThat(imap.store().quota(account()).usedBytes()).isEqualTo(used);
    }
}
