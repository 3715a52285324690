package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.castellan.server.transport.Connection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Invariant 3 (docs/design.md §5): a device certificate revoked with {@code castellan cert revoke} is
 * refused at the next handshake, and its live sessions are closed within one second.
 */
class RevocationTest {

    /** The invariant's bound: sessions of a revoked certificate close within one second. */
    static final Duration REVOCATION_BOUND = Duration.ofSeconds(1);

    @TempDir Path tmp;
    LiveServer live;

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    @Test
    void revocationClosesLiveSessionsAndRefusesTheNextHandshake() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        LiveServer.Issued laptop = live.issueDevice("laptop");
        LiveServer.Issued phone = live.issueDevice("phone");
        SSLContext revokedClient = live.clientContext(laptop.p12());
        SSLContext otherClient = live.clientContext(phone.p12());

        try (var required = new LiveServer.Pop3(revokedClient, live.address("device")).login();
             // One POP3 session per maildrop: the others stay unauthenticated.
             var requested = new LiveServer.Pop3(revokedClient, live.address("optional")).greeted();
             var other = new LiveServer.Pop3(otherClient, live.address("device")).greeted()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> sessionsOf(laptop.serial()) == 2);

            Cli.Run revoke = live.cli.admin("cert", "revoke", laptop.serial(), "--reason", "key-compromise");
            assertThat(revoke.code()).as(revoke.err()).isZero();

            await().atMost(REVOCATION_BOUND).until(() -> sessionsOf(laptop.serial()) == 0);
            assertThat(required.closedByServer()).isTrue();
            assertThat(requested.closedByServer()).isTrue();
            assertThat(other.command("CAPA")).as("another device's session goes on").startsWith("+OK");
        }

        assertThatThrownBy(() -> {
            try (var again = new LiveServer.Pop3(revokedClient, live.address("device"))) {
                // TLS 1.3: the client may finish first and learn of the refusal on its first read.
                String line = again.line();
                if (line == null) throw new IOException("closed without a greeting");
                throw new AssertionError("the server greeted a revoked certificate: " + line);
            }
        }).isInstanceOf(IOException.class);

        try (var optional = new LiveServer.Pop3(revokedClient, live.address("optional"))) {
            assertThat(optional.line()).startsWith("+OK");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(live.server.sessions().list())
                    .filteredOn(c -> c.listener().name().equals("optional"))
                    .singleElement()
                    .satisfies(c -> {
                        assertThat(c.tls()).isPresent();
                        assertThat(c.tls().get().peer()).as("no verified peer with a revoked certificate").isEmpty();
                    }));
        }
    }

    @Test
    void curlReadsTheIssuedPkcs12AndIsRefusedOnceItIsRevoked() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        LiveServer.Issued laptop = live.issueDevice("laptop");
        assertThat(curl(laptop)).as("before revocation").isZero();
        assertThat(live.cli.admin("cert", "revoke", laptop.serial()).code()).isZero();
        await().atMost(Duration.ofSeconds(10)).until(() -> curl(laptop) != 0);
    }

    private int curl(LiveServer.Issued issued) throws Exception {
        Process p = new ProcessBuilder("curl", "-sS", "--cert-type", "P12",
                "--cert", issued.p12() + ":" + LiveServer.P12_PASSPHRASE, "--cacert", live.rootCertificate().toString(),
                "-u", LiveServer.ACCOUNT + ":" + Cli.Pop3Password.VALUE,
                "pop3s://localhost:" + live.address("device").getPort() + "/")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }

    private long sessionsOf(String serialHex) {
        BigInteger serial = new BigInteger(serialHex, 16);
        return live.server.sessions().list().stream()
                .map(Connection::tls)
                .filter(t -> t.flatMap(Connection.TlsInfo::peer).map(p -> p.getSerialNumber().equals(serial)).orElse(false))
                .count();
    }
}
