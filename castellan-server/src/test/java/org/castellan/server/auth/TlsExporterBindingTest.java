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
import java.util.stream.Stream;
import org.castellan.server.auth.MailClient.Outcome;
import org.castellan.server.auth.MailClient.Proto;
import org.castellan.testkit.ScramClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SCRAM-SHA-256-PLUS on TLS 1.3 with the {@code tls-exporter} binding (RFC 9266) on SMTP
 * submission, IMAP and POP3, implicit TLS and STARTTLS alike: with BoringSSL (the default provider,
 * whose value comes from the key log) and with the JDK's TLS. The client's value is the JDK
 * client's own exporter, computed by a TLS implementation that shares no code with BoringSSL.
 */
class TlsExporterBindingTest {

    private static final InetAddress HOME = AuthServer.loopback("127.0.0.1");

    @TempDir static Path boringDir;
    @TempDir static Path jdkDir;
    static AuthServer boring;
    static AuthServer jdk;

    @BeforeAll
    static void start() {
        List<String> listeners = new ArrayList<>();
        for (Proto p : Proto.values()) {
            listeners.add(listener(name(p, false), p.configName, "implicit"));
            listeners.add(listener(name(p, true), p.configName, "starttls"));
        }
        boring = AuthServer.start(boringDir, AuthServer.NO_DELAYS, listeners.toArray(String[]::new));
        jdk = AuthServer.startWithTls(jdkDir, "provider = \"jdk\"", AuthServer.NO_DELAYS, listeners.toArray(String[]::new));
    }

    @AfterAll
    static void stop() {
        if (boring != null) boring.close();
        if (jdk != null) jdk.close();
    }

    static Stream<Arguments> listeners() {
        List<Arguments> all = new ArrayList<>();
        for (String provider : List.of("boringssl", "jdk")) {
            for (Proto p : Proto.values()) {
                for (boolean startTls : new boolean[] {false, true}) all.add(Arguments.of(provider, p, startTls));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1} starttls={2}")
    @MethodSource("listeners")
    void scramPlusBindsTls13ByTheExporter(String provider, Proto p, boolean startTls) throws Throwable {
        AuthServer server = provider.equals("jdk") ? jdk : boring;
        try (MailClient c = connect(server, p, startTls)) {
            assertThat(c.tlsVersion()).isEqualTo("TLSv1.3");
            ScramClient bound = new ScramClient(ALICE, PASSWORD, "abc", "p=tls-exporter,,", c.tlsExporter());
            assertOutcome(Outcome.OK, c.authenticate("SCRAM-SHA-256-PLUS", bound.clientFirst(),
                    scramSteps(bound, new byte[1][])));
        }
        try (MailClient c = connect(server, p, startTls)) {
            byte[] tampered = c.tlsExporter();
            tampered[0] ^= 1;
            ScramClient client = new ScramClient(ALICE, PASSWORD, "abc", "p=tls-exporter,,", tampered);
            assertOutcome(Outcome.INVALID, c.authenticate("SCRAM-SHA-256-PLUS", client.clientFirst(),
                    scramSteps(client, new byte[1][])));
        }
        try (MailClient c = connect(server, p, startTls)) {
            // TLS 1.3 has this connection's exporter binding only; RFC 5802 §6 refuses a type the server lacks.
            ScramClient client = new ScramClient(ALICE, PASSWORD, "abc", "p=tls-server-end-point,,", c.tlsServerEndPoint());
            assertThat(c.authenticate("SCRAM-SHA-256-PLUS", client.clientFirst(),
                    scramSteps(client, new byte[1][])).outcome()).isNotEqualTo(Outcome.OK);
        }
    }

    @ParameterizedTest
    @EnumSource(Proto.class)
    void aRelayThatTerminatesTlsBreaksTheBindingButNothingElse(Proto p) throws Throwable {
        try (TlsRelay relay = new TlsRelay(boring.pki(), boring.address(name(p, false)))) {
            try (MailClient c = MailClient.implicit(p, relay.address(), HOME, boring.pki().clientContext(), false)) {
                // The relay passes every byte: SCRAM without a binding logs in through it.
                ScramClient unbound = ScramClient.plain(ALICE, PASSWORD, "fyko+d2lbbFgONRv9qkxdawL");
                assertOutcome(Outcome.OK, c.authenticate("SCRAM-SHA-256", unbound.clientFirst(),
                        scramSteps(unbound, new byte[1][])));
            }
            try (MailClient c = MailClient.implicit(p, relay.address(), HOME, boring.pki().clientContext(), false)) {
                // The client binds its connection to the relay; the server has its own to the relay.
                assertThat(c.tlsVersion()).isEqualTo("TLSv1.3");
                ScramClient bound = new ScramClient(ALICE, PASSWORD, "abc", "p=tls-exporter,,", c.tlsExporter());
                assertOutcome(Outcome.INVALID, c.authenticate("SCRAM-SHA-256-PLUS", bound.clientFirst(),
                        scramSteps(bound, new byte[1][])));
            }
        }
    }

    private static String name(Proto p, boolean startTls) {
        return p.name().toLowerCase() + (startTls ? "-starttls" : "-implicit");
    }

    private static MailClient connect(AuthServer server, Proto p, boolean startTls) throws Exception {
        if (!startTls) return MailClient.implicit(p, server.address(name(p, false)), HOME, server.pki().clientContext(), false);
        return MailClient.plain(p, server.address(name(p, true)), HOME).startTls(server.pki().clientContext());
    }
}
