package org.castellan.server.imap;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fresh server for each test, with two messages in alice's INBOX that an earlier session has
 * seen already, so no session gets them as \Recent (RFC 3501 §2.3.2) unless the test says
 * {@link #recentMessages}. The INBOX has expunged gaps before, between and after them
 * ({@link org.castellan.server.testing.TestServer#seed}): {@link #firstUid} and {@link #secondUid}
 * are neither 1 and 2 nor consecutive, and UIDNEXT is above {@code secondUid + 1}.
 */
abstract class ServerPerTest {

    static final String FIRST = "Date: Thu, 1 Feb 2024 09:00:00 +0100\r\nFrom: Carol <carol@example.net>\r\n"
            + "To: alice@example.org\r\nSubject: one\r\nMessage-ID: <1@example.net>\r\n\r\nHello there\r\n";
    static final String SECOND = "From: dave@example.net\r\nTo: alice@example.org\r\nSubject: two\r\n"
            + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            + "preamble\r\n--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\npart one\r\n"
            + "--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b1--\r\n";

    @TempDir Path dir;
    ImapTestServer imap;
    long firstUid;
    long secondUid;

    @BeforeEach
    void startServer() {
        imap = ImapTestServer.start(dir);
        long[] uids = imap.seed(FIRST, SECOND);
        firstUid = uids[0];
        secondUid = uids[1];
        if (!recentMessages()) imap.store().claimRecent(imap.inbox, secondUid);
    }

    /** Whether the two messages are still \Recent for the first session to select INBOX. */
    boolean recentMessages() {
        return false;
    }

    @AfterEach
    void stopServer() {
        if (!stopped) imap.close();
    }

    boolean stopped;

    /** The INBOX's UIDNEXT, which the fixtures' gaps put above the last UID + 1. */
    long uidNext() {
        return imap.store().status(imap.inbox).uidNext();
    }

    /** The UIDNEXT of alice's mailbox {@code name}: above 1 even while it is empty. */
    long uidNext(String name) {
        return imap.store().status(mailboxId(name)).uidNext();
    }

    /** The id of alice's mailbox {@code name}. */
    long mailboxId(String name) {
        long account = imap.store().getMailbox(imap.inbox).orElseThrow().accountId();
        return imap.store().getMailbox(account, name).orElseThrow().id();
    }

    static int size(String message) {
        return message.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }
}
