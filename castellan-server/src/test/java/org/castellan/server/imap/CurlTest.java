package org.castellan.server.imap;

import org.castellan.server.testing.ExternalClient;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** curl imaps:// with the test CA: list mailboxes, fetch a message. */
class CurlTest extends ServerPerTest {

    @BeforeAll
    static void curl() {
        ExternalClient.require("curl", "curl");
    }

    private String curl(String path) throws Exception {
        int port = imap.port("imaps");
        List<String> command = new ArrayList<>(List.of("curl", "--silent", "--show-error", "--max-time", "60",
                "--cacert", imap.pki.trustFile().toString(), "--resolve", "localhost:" + port + ":127.0.0.1",
                "--user", ImapTestServer.USER + ":" + ImapTestServer.PASSWORD,
                "imaps://localhost:" + port + "/" + path));
        return ExternalClient.runOk(command, Map.of()).output();
    }

    @Test
    void listsAndFetches() throws Exception {
        assertThat(curl("")).contains("* LIST (\\HasNoChildren) \"/\" INBOX").contains("\\Sent) \"/\" Sent");
        assertThat(curl("INBOX;UID=" + firstUid)).isEqualTo(FIRST);
        assertThat(curl("INBOX;UID=" + secondUid + "/;SECTION=1")).isEqualTo("part one");
    }
}
