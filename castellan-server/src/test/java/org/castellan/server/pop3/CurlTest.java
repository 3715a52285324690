package org.castellan.server.pop3;

import org.castellan.server.testing.ExternalClient;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** curl pop3s:// with the test CA: list, then retrieve. */
class CurlTest extends ServerPerTest {

    @BeforeAll
    static void curl() {
        ExternalClient.require("curl", "curl");
    }

    private String curl(String path) throws Exception {
        int port = pop3.port("pop3s");
        List<String> command = new ArrayList<>(List.of("curl", "--silent", "--show-error", "--max-time", "60",
                "--cacert", pop3.pki.trustFile().toString(), "--resolve", "localhost:" + port + ":127.0.0.1",
                "--user", Pop3TestServer.USER + ":" + Pop3TestServer.PASSWORD,
                "pop3s://localhost:" + port + "/" + path));
        return ExternalClient.runOk(command, Map.of()).output();
    }

    @Test
    void listsAndRetrieves() throws Exception {
        assertThat(curl("").lines().toList()).containsExactly("1 " + wireSize(FIRST), "2 " + wireSize(SECOND));
        assertThat(curl("2")).isEqualTo(SECOND.replace("\n", "\r\n"));
        assertThat(curl("1")).isEqualTo(FIRST);
        assertThat(pop3.uids()).containsExactly(firstUid, secondUid);
    }
}
