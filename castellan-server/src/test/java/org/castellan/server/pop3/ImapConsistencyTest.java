package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * POP3 and IMAP on one INBOX: messages a POP3 session deletes (DELE, then QUIT) appear expunged
 * to an IMAP session that has the INBOX selected, and nothing else changes for it.
 */
class ImapConsistencyTest {

    @TempDir Path dir;

    @Test
    void whatPop3DeletesAnImapSessionSeesExpunged() {
        try (Pop3TestServer server = Pop3TestServer.start(dir)) {
            long[] uids = server.seed("Subject: one\r\n\r\nfirst\r\n", "Subject: two\r\n\r\nsecond\r\n");
            long first = uids[0];
            long second = uids[1];
            try (Transcript imap = server.connect("imap")) {
                imap.run("""
                        S: \\* OK .*
                        C: a LOGIN %s "%s"
                        S: a OK .*
                        """.formatted(Pop3TestServer.USER, Pop3TestServer.PASSWORD));
                imap.send("s SELECT INBOX");
                assertThat(untilTagged(imap, "s")).contains("* 2 EXISTS");

                try (Transcript pop3 = server.loggedIn()) {
                    pop3.run("""
                            C: DELE 1
                            S: \\+OK .*
                            C: QUIT
                            S: \\+OK .*
                            """);
                }

                List<String> heard = new ArrayList<>();
                await().atMost(Duration.ofSeconds(10)).until(() -> {
                    imap.send("n NOOP");
                    heard.addAll(untilTagged(imap, "n"));
                    return heard.contains("* 1 EXPUNGE");
                });
                imap.send("f UID FETCH 1:* (UID)");
                assertThat(untilTagged(imap, "f")).contains("* 1 FETCH (UID " + second + ")")
                        .noneMatch(l -> l.contains("UID " + first + ")"));
            }
            assertThat(server.uids()).containsExactly(second);
        }
    }

    /** The untagged lines up to the tagged OK of {@code tag}. */
    private static List<String> untilTagged(Transcript t, String tag) {
        List<String> lines = new ArrayList<>();
        for (String line; !(line = t.readLine()).startsWith(tag + " "); ) lines.add(line);
        return lines;
    }
}
