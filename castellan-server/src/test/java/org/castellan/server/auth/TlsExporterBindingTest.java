package org.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.auth.AuthServer.ALICE;
import static org.castellan.server.auth.AuthServer.PASSWORD;
import static org.castellan.server.auth.AuthServer.listener;
import static org.castellan.server.auth.SameOutcomeOnEveryProtocolTest.assertOutcome;
import static org.castellan.server.auth.SameOutcomeOnEveryProtocolTest.scramSteps;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.castellan.server.auth.MailClient.Outcome;
import org.castellan.server.auth.MailClient.Proto;
import org.castellan.testkit.ScramClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SCRAM-SHA-256-PLUS on TLS 1.3 with the {@code tls-exporter} binding (RFC 9266), where the
 * server runs the JDK's TLS ({@code tls.provider = "jdk"}), on SMTP, IMAP and POP3 alike.
 */
class TlsExporterBindingTest {

    private static final InetAddress HOME = AuthServer.loopback("127.0.0.1");

    @TempDir static Path dir;
    static AuthServer auth;

    @BeforeAll
    static void start() {
        List<String> listeners = new ArrayList<>();
        for (Proto p : Proto.values()) listeners.add(listener(p.name().toLowerCase(), p.configName, "implicit"));
        auth = AuthServer.startWithTls(dir, "provider = \"jdk\"", "", listeners.toArray(String[]::new));
    }

    @AfterAll
    static void stop() {
        if (auth != null) auth.close();
    }

    @ParameterizedTest
    @EnumSource(Proto.class)
    void scramPlusBindsTls13ByTheExporter(Proto p) throws Throwable {
        try (MailClient c = connect(p)) {
            assertThat(c.tlsVersion()).isEqualTo("TLSv1.3");
            ScramClient bound = new ScramClient(ALICE, PASSWORD, "abc", "p=tls-exporter,,", c.tlsExporter());
            assertOutcome(Outcome.OK, c.authenticate("SCRAM-SHA-256-PLUS", bound.clientFirst(),
                    scramSteps(bound, new byte[1][])));
        }
        try (MailClient c = connect(p)) {
            // A relay between client and server holds two TLS connections: their exporters differ.
            byte[] relayed = c.tlsExporter();
            relayed[0] ^= 1;
            ScramClient client = new ScramClient(ALICE, PASSWORD, "abc", "p=tls-exporter,,", relayed);
            assertOutcome(Outcome.INVALID, c.authenticate("SCRAM-SHA-256-PLUS", client.clientFirst(),
                    scramSteps(client, new byte[1][])));
        }
        try (MailClient c = connect(p)) {
            // TLS 1.3 has this connection's exporter binding only; RFC 5802 §6 refuses a type the server lacks.
            ScramClient client = new ScramClient(ALICE, PASSWORD, "abc", "p=tls-server-end-point,,", c.tlsServerEndPoint());
            assertThat(c.authenticate("SCRAM-SHA-256-PLUS", client.clientFirst(),
                    scramSteps(client, new byte[1][])).outcome()).isNotEqualTo(Outcome.OK);
        }
    }

    private static MailClient connect(Proto p) throws Exception {
        return MailClient.implicit(p, auth.address(p.name().toLowerCase()), HOME, auth.pki().clientContext(), false);
    }
}
