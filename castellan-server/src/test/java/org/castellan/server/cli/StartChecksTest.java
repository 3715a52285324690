package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Configurations that cannot run fail in {@code castellan audit} exactly as in {@code castellan
 * serve}, naming file, line and key; and a listener binds exactly the address written.
 */
class StartChecksTest {

    @TempDir Path tmp;
    Cli cli;
    Path config;

    @BeforeEach
    void init() {
        cli = Cli.init(tmp.resolve("data"), "alice@example.org");
        config = cli.data.resolve("castellan.toml");
    }

    void append(String... lines) throws Exception {
        Files.writeString(config, Files.readString(config) + "\n" + String.join("\n", lines) + "\n");
    }

    /** Both commands refuse, with exit code 2 and the same located message. */
    void refusedByAuditAndServe(String located) {
        for (String command : new String[] {"audit", "serve"}) {
            Cli.Run r = cli.admin(command);
            assertThat(r.code()).as(command + ": " + r.out() + r.err()).isEqualTo(Main.BAD_INPUT);
            assertThat(r.err()).as(command).containsPattern(located).doesNotContain("\tat ");
        }
    }

    @Test
    void aCertificateFileThatIsNotACertificate() throws Exception {
        Files.writeString(cli.data.resolve("tls/chain.pem"), "this is not PEM\n");
        refusedByAuditAndServe("castellan\\.toml:\\d+: tls\\.certificate: .*chain\\.pem");
    }

    @Test
    void theSamePortOnAnAddressAndTheWildcard() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        append("[[listener]]", "name = \"one\"", "protocol = \"pop3\"", "address = \"127.0.0.1\"", "port = " + port,
                "[[listener]]", "name = \"all\"", "protocol = \"pop3\"", "address = \"0.0.0.0\"", "port = " + port);
        refusedByAuditAndServe("castellan\\.toml:\\d+: listener\\[\\d+\\]\\.port: address 0\\.0\\.0\\.0 port " + port + " overlaps");
    }

    @Test
    void aLogFileWhereNoFileCanBe() throws Exception {
        // Under a regular file: nothing can create the directory, whoever runs the server.
        Files.writeString(config, Files.readString(config).replace("[log]\n", "[log]\nfile = \"castellan.toml/castellan.log\"\n"));
        refusedByAuditAndServe("castellan\\.toml:\\d+: log\\.file: .*castellan\\.toml/castellan\\.log: cannot be created or"
                + " rotated: the server's user cannot write in .*castellan\\.toml");
    }

    @Test
    void aLogFileThatIsADirectory() throws Exception {
        Files.writeString(config, Files.readString(config).replace("[log]\n", "[log]\nformat = \"json\"\nfile = \"pki\"\n"));
        refusedByAuditAndServe("castellan\\.toml:\\d+: log\\.file: .*pki: is a directory; name a file in it");
    }

    @Test
    void anEdgeWithoutItsNodes() throws Exception {
        Files.writeString(config, Files.readString(config).replace("\n[server]\n", "\n[server]\nrole = \"edge\"\n"));
        refusedByAuditAndServe("castellan\\.toml:\\d+: node\\.certificate: an edge presents its node certificate");
    }

    @Test
    void aPortSomeoneElseHoldsNamesTheListenersLine() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            append("[[listener]]", "name = \"busy\"", "protocol = \"pop3\"", "address = \"127.0.0.1\"",
                    "port = " + taken.getLocalPort());
            Cli.Run r = cli.admin("serve");
            assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
            assertThat(r.err()).containsPattern("castellan\\.toml:\\d+: listener\\[\\d+\\]\\.port: listener busy: cannot listen");
        }
    }

    /**
     * A start that fails after its listeners are bound, here at the administration socket, stops
     * what it had started (Castellan.start's contract): the listener's port is free again and the
     * same configuration, once corrected, starts in the same process.
     */
    @Test
    void aStartThatFailsAfterBindingReleasesItsListeners() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Path notADirectory = Files.writeString(tmp.resolve("not-a-directory"), "");
        String text = Files.readString(config).replaceFirst("\\[server\\]\n",
                "[server]\nadmin-socket = \"" + notADirectory.resolve("admin.sock") + "\"\n");
        Files.writeString(config, text.substring(0, text.indexOf("\n[[listener]]") + 1) + String.join("\n", "[[listener]]",
                "name = \"fixed\"", "protocol = \"pop3\"", "address = \"127.0.0.1\"", "port = " + port, ""));
        assertThatThrownBy(() -> Castellan.start(CastellanConfig.load(config)))
                .hasMessageContaining("cannot open the admin socket");
        try (ServerSocket again = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertThat(again.getLocalPort()).isEqualTo(port);
        }
        Files.writeString(config, Files.readString(config).replace(notADirectory.resolve("admin.sock").toString(),
                tmp.resolve("admin.sock").toString()));
        try (Castellan server = Castellan.start(CastellanConfig.load(config))) {
            assertThat(server.addresses().get("fixed").getPort()).isEqualTo(port);
        }
    }

    @Test
    void theIpv4WildcardBindsIpv4Only() throws Exception {
        String text = Files.readString(config);
        Files.writeString(config, text.substring(0, text.indexOf("\n[[listener]]") + 1) + String.join("\n", "[[listener]]",
                "name = \"v4\"", "protocol = \"pop3\"", "address = \"0.0.0.0\"", "port = 0", ""));
        try (Castellan server = Castellan.start(CastellanConfig.load(config))) {
            int port = server.addresses().get("v4").getPort();
            try (Socket v4 = new Socket(InetAddress.getByName("127.0.0.1"), port)) {
                assertThat(v4.isConnected()).isTrue();
            }
            assertThatThrownBy(() -> new Socket().connect(new InetSocketAddress(InetAddress.getByName("::1"), port), 5000))
                    .isInstanceOf(ConnectException.class);
        }
        assertThat(cli.admin("audit").out()).contains("0.0.0.0:0 (every IPv4 address, no IPv6)");
    }
}
