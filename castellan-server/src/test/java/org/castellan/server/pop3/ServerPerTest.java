package org.castellan.server.pop3;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fresh server and maildrop for each test, with two messages in the INBOX, whose UIDs have
 * expunged gaps before, between and after them
 * ({@link org.castellan.server.testing.TestServer#seed}).
 */
abstract class ServerPerTest {

    /** 6 header octets + blank line + two body lines, CRLF throughout: 52 octets. */
    static final String FIRST = "Subject: one\r\nFrom: carol@example.net\r\n\r\nHello\r\n.dotted\r\n";
    /** Stored with bare LFs: 5 more octets on the wire than in the store. */
    static final String SECOND = "Subject: two\nFrom: dave@example.net\n\nline 1\nline 2\nline 3\n";

    @TempDir Path dir;
    Pop3TestServer pop3;
    long firstUid;
    long secondUid;

    @BeforeEach
    void startServer() {
        pop3 = Pop3TestServer.start(dir);
        long[] uids = pop3.seed(FIRST, SECOND);
        firstUid = uids[0];
        secondUid = uids[1];
    }

    @AfterEach
    void stopServer() {
        if (!stopped) pop3.close();
    }

    /** For tests that stop the server themselves. */
    boolean stopped;

    static long wireSize(String message) {
        return message.replace("\r\n", "\n").replace("\n", "\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }

    long totalSize() {
        return wireSize(FIRST) + wireSize(SECOND);
    }
}
