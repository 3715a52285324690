package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan audit} on a mailbox node: the link's section names what guards it. */
class LinkAuditTest {

    @TempDir Path tmp;

    @Test
    void theLinkSectionShowsTls13TheNodeCaPinAndTheEdges() throws Exception {
        Cli cli = Cli.init(tmp.resolve("data"), "alice@example.org");
        Files.writeString(cli.data.resolve("castellan.toml"), String.join("\n",
                "[server]", "hostname = \"mbox-1.example.org\"", "data-dir = \"" + cli.data + "\"", "role = \"mailbox\"", "",
                "[[listener]]", "name = \"link\"", "protocol = \"link\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"", "client-cert = \"require\"", "edges = [\"192.0.2.10/32\", \"192.0.2.11/32\"]", ""));

        Cli.Run r = cli.admin("audit");

        assertThat(r.code()).as(r.out() + r.err()).isZero();
        String link = r.out().replaceAll(" +", " ").substring(r.out().replaceAll(" +", " ").indexOf("listener link"));
        assertThat(link).contains("protocol: link", "link TLS: TLSv1.3 only",
                "node certificate: require, pinned to CN=Castellan Node CA,O=Castellan (1 CRL)",
                "edges: 192.0.2.10/32, 192.0.2.11/32; every other address is refused before TLS",
                "logins: none: the peers are nodes")
                .doesNotContain("Device CA", "minimum TLSv1.2", "FAIL");
    }
}
