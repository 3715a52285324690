package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** RFC 1939 §4 and §6 QUIT. */
class QuitTest extends ServerPerTest {

    @Test
    void quitBeforeLoginJustCloses() {
        try (Transcript t = pop3.connect("pop3")) {
            t.run("""
                    S: \\+OK .*
                    C: QUIT
                    S: \\+OK Castellan POP3 server signing off
                    S: <closed>
                    """);
        }
    }

    @Test
    void quitWithoutDeletionsKeepsEverythingAndReleasesTheLock() {
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: QUIT
                    S: \\+OK .*\\(2 messages left\\)
                    S: <closed>
                    """);
        }
        assertThat(pop3.uids()).containsExactly(firstUid, secondUid);
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: STAT
                    S: \\+OK 2 .*
                    """);
        }
    }

    @Test
    void pipelinedCommandsRunInOrder() {
        try (Transcript t = pop3.loggedIn()) {
            t.sendRaw("DELE 1\r\nSTAT\r\nLIST 2\r\nQUIT\r\n");
            t.run("""
                    S: \\+OK Message 1 deleted
                    S: \\+OK 1 .*
                    S: \\+OK 2 .*
                    S: \\+OK .*\\(1 messages left\\)
                    S: <closed>
                    """);
        }
        assertThat(pop3.uids()).containsExactly(secondUid);
    }
}
