package org.castellan.server.pop3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.castellan.server.testing.TestStores;
import org.castellan.server.testing.Transcript;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.junit.jupiter.api.Test;

/**
 * A maildrop holding a message whose body the store cannot read: POP3 counts every message's size
 * when the maildrop opens (RFC 1939 §5, STAT and LIST give exact octet counts), so the login is
 * refused as a permanent system failure (RFC 3206 §4, SYS/PERM) rather than the message being
 * listed with the size read up to the failure. Nothing is deleted.
 */
class UnreadableBodyTest extends ServerPerTest {

    @Test
    void aBodyThatCannotBeReadRefusesTheLoginAndListsNoWrongSize() throws IOException {
        assumeTrue(TestStores.embedded(), "replaces a body file of the embedded store behind the server's back");
        // Above the store's inline limit, so the body is a file of its own.
        long uid = pop3.append("Subject: large\r\n\r\n" + "x".repeat(200 * 1024) + "\r\n");
        EmbeddedMailStore store = (EmbeddedMailStore) pop3.server.store();
        MessageMeta large = store.listMessages(pop3.inbox, UidRange.of(uid)).getFirst();
        Path body = store.directory().resolve("blobs").resolve(large.blobId().substring(0, 2)).resolve(large.blobId());
        assertThat(body).isRegularFile();
        // Opening still succeeds; every read fails ("Is a directory"), as a failing disk's would.
        Files.delete(body);
        Files.createDirectory(body);

        try (Transcript t = pop3.connect("pop3")) {
            t.run("""
                    S: \\+OK .*
                    C: USER %s
                    S: \\+OK.*
                    C: PASS %s
                    S: -ERR \\[SYS/PERM\\] .*
                    """.formatted(Pop3TestServer.USER, Pop3TestServer.PASSWORD));
        }
        assertThat(pop3.uids()).containsExactly(firstUid, secondUid, uid);
    }
}
