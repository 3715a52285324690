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

    /** docs/roles.md §2 on an edge: TLS 1.3, the node CA pinned, its node certificate's name and dates, the nodes. */
    @Test
    void anEdgeShowsItsLinkSettings() throws Exception {
        Cli cli = Cli.init(tmp.resolve("data"), "alice@example.org");
        Path out = tmp.resolve("edge-1");
        Cli.Run add = cli.admin("node", "add", "edge-1", "--role", "edge", "--out", out.toString());
        assertThat(add.code()).as(add.err()).isZero();
        Files.writeString(cli.data.resolve("castellan.toml"), String.join("\n",
                "[server]", "hostname = \"edge-1.example.org\"", "data-dir = \"" + cli.data + "\"", "role = \"edge\"", "",
                "[node]", "certificate = \"" + out.resolve("chain.pem") + "\"", "key = \"" + out.resolve("key.pem") + "\"", "",
                "[edge]", "nodes = [\"mailbox-1=10.0.0.2:7993\", \"mailbox-2=10.0.0.3:7993\"]", "default-node = \"mailbox-2\"", "",
                "[[listener]]", "name = \"imaps\"", "protocol = \"imap\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"", ""));

        Cli.Run r = cli.admin("audit");

        assertThat(r.code()).as(r.out() + r.err()).isZero();
        String edge = r.out().replaceAll(" +", " ").substring(r.out().replaceAll(" +", " ").indexOf("edge links"));
        assertThat(edge).contains("link TLS: TLSv1.3 only", "node CA: pinned: CN=Castellan Node CA,O=Castellan",
                        "mailbox nodes: mailbox-1 at 10.0.0.2:7993, mailbox-2 at 10.0.0.3:7993 (default)",
                        "placement: the directory's, else mailbox-2", "MX relay queue: none: no smtp listener")
                .containsPattern("node certificate: castellan-node:edge/edge-1, serial [0-9a-f]+, valid \\S+ to \\S+")
                .doesNotContain("FAIL");

        // A mailbox node's certificate is not an edge's.
        Cli.Run mailbox = cli.admin("node", "add", "mbox-9", "--role", "mailbox", "--out", tmp.resolve("mbox-9").toString());
        assertThat(mailbox.code()).as(mailbox.err()).isZero();
        String text = Files.readString(cli.data.resolve("castellan.toml"));
        Files.writeString(cli.data.resolve("castellan.toml"), text.replace(out.toString(), tmp.resolve("mbox-9").toString()));
        Cli.Run wrong = cli.admin("audit");
        assertThat(wrong.out()).contains("FAIL: node.certificate names castellan-node:mailbox/mbox-9; an edge presents");
    }
}
