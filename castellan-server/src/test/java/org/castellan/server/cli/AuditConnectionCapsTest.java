package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.castellan.server.StartChecks;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code castellan audit} on connection floods and slow clients: the server's ceiling against
 * the file-descriptor limit, each listener's caps and deadlines, and a warning for a cap that is
 * off or can never bind. Warnings inform; they do not change the exit code, which stays for
 * credentials in cleartext.
 */
class AuditConnectionCapsTest {

    @TempDir Path tmp;
    Cli cli;
    Path config;

    @BeforeEach
    void init() {
        cli = Cli.init(tmp.resolve("data"), "alice@example.org");
        config = cli.data.resolve("castellan.toml");
    }

    private Cli.Run audit() {
        Cli.Run r = cli.admin("audit");
        return new Cli.Run(r.code(), r.out().replaceAll(" +", " "), r.err());
    }

    private void append(String... lines) throws Exception {
        Files.writeString(config, Files.readString(config) + "\n" + String.join("\n", lines) + "\n");
    }

    @Test
    void theDefaultsAreShownPerListenerWithoutWarnings() {
        Cli.Run r = audit();
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("Connections: at most ", "server.max-connections = 10000",
                "connections: at most 100 from one address (IPv4, IPv6 /64), at most 400 from one network (IPv4 /24, IPv6 /48)",
                "login within: 60s of accept, TLS handshake included",
                "slow senders: a command line within 5m of its first byte; DATA and BDAT content at least 500 octets/s"
                        + " once 5m have passed");
        assertThat(r.out()).doesNotContain("WARN");
    }

    @Test
    void aListenerWithoutACapIsReported() throws Exception {
        append("[[listener]]", "name = \"open\"", "protocol = \"smtp\"", "address = \"127.0.0.1\"", "port = 0",
                "max-connections-per-address = 0", "max-connections-per-network = 0");
        Cli.Run r = audit();
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("connections: no cap from one address (IPv4, IPv6 /64), no cap from one network",
                "WARN: listener open has no cap on connections from one address (max-connections-per-address = 0)",
                "WARN: listener open has no cap on connections from one network (max-connections-per-network = 0)");
    }

    @Test
    void capsAndACeilingAboveWhatTheDescriptorsAllowAreReported() throws Exception {
        long descriptors = StartChecks.descriptorLimit().orElse(Long.MAX_VALUE);
        assumeTrue(descriptors < 1_000_000, "a file-descriptor limit below a million");
        Files.writeString(config, Files.readString(config).replace("[server]\n", "[server]\nmax-connections = 1000000\n"));
        append("[[listener]]", "name = \"wide\"", "protocol = \"imap\"", "address = \"127.0.0.1\"", "port = 0",
                "max-connections-per-address = 1000000", "max-connections-per-network = 1000000");
        Cli.Run r = audit();
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        long ceiling = descriptors / 2;
        assertThat(r.out()).contains("Connections: at most " + ceiling + " at once (server.max-connections = 1000000",
                "WARN: server.max-connections = 1000000 is more than half the file-descriptor limit (" + descriptors + ")",
                "WARN: listener wide: max-connections-per-address = 1000000 is not below the server's ceiling of "
                        + ceiling + " connections");
    }
}
