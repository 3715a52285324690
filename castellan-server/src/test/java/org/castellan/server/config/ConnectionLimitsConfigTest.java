package org.castellan.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@code server.max-connections} and the listeners' caps on one client's connections and SMTP
 * deadlines: their defaults, their values, and the errors that name the key and line.
 */
class ConnectionLimitsConfigTest {

    private static final Path FILE = Path.of("/etc/castellan/castellan.toml");

    private static final String SERVER = """
            [server]
            hostname = "mail.example.org"
            data-dir = "/var/lib/castellan"
            """;

    private static CastellanConfig parse(String text) throws ConfigException {
        return CastellanConfig.parse(text, FILE);
    }

    @Test
    void everyListenerHasCapsAndSmtpDeadlinesByDefault() throws ConfigException {
        CastellanConfig config = parse(SERVER + """
                [[listener]]
                name = "mx"
                protocol = "smtp"
                port = 25
                """);
        assertThat(config.server().maxConnections()).isEqualTo(Server.DEFAULT_MAX_CONNECTIONS);
        assertThat(config.listeners().getFirst().limits()).isEqualTo(ConnectionLimits.DEFAULTS);
        // RFC 5321 §4.5.3.2: five minutes per command is the least a server may allow.
        assertThat(ConnectionLimits.DEFAULTS.commandDeadline()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void theValuesWrittenAreTheValuesKept() throws ConfigException {
        CastellanConfig config = parse("""
                [server]
                hostname = "mail.example.org"
                data-dir = "/var/lib/castellan"
                max-connections = 2000
                [[listener]]
                name = "mx"
                protocol = "smtp"
                port = 25
                max-connections-per-address = 20
                max-connections-per-network = 0
                command-deadline = "30s"
                min-data-rate = 0
                """);
        assertThat(config.server().maxConnections()).isEqualTo(2000);
        assertThat(config.listeners().getFirst().limits()).isEqualTo(new ConnectionLimits(20, 0, Duration.ofSeconds(30), 0));
    }

    @Test
    void smtpDeadlinesOnAnImapListenerAreAnError() {
        assertProblem(SERVER + """
                [[listener]]
                name = "imap"
                protocol = "imap"
                port = 143
                min-data-rate = 1000
                """, 8, "listener[1].min-data-rate", "applies to protocol \"smtp\" and \"submission\" only");
    }

    @Test
    void aNetworkCapBelowTheAddressCapIsAnError() {
        assertProblem(SERVER + """
                [[listener]]
                name = "pop3"
                protocol = "pop3"
                port = 110
                max-connections-per-address = 50
                max-connections-per-network = 10
                """, 9, "listener[1].max-connections-per-network",
                "max-connections-per-network (10) is below max-connections-per-address (50)");
    }

    @Test
    void theServerCeilingCannotBeSwitchedOff() {
        assertProblem("""
                [server]
                hostname = "mail.example.org"
                data-dir = "/var/lib/castellan"
                max-connections = 0
                """, 4, "server.max-connections", "expected an integer from 1 to 1000000, got 0");
    }

    private static void assertProblem(String text, int line, String key, String fragment) {
        assertThatThrownBy(() -> parse(text)).isInstanceOfSatisfying(ConfigException.class, e -> {
            assertThat(e.problems()).as(e.getMessage()).hasSize(1);
            assertThat(e.line()).isEqualTo(line);
            assertThat(e.key()).isEqualTo(key);
            assertThat(e.getMessage()).contains(fragment);
        });
    }
}
