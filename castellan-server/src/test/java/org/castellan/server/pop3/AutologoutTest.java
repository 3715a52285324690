package org.castellan.server.pop3;

import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.ScramSecret;
import org.castellan.security.rules.ConnectionRules;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.server.StoreCredentials;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.TlsMode;
import org.castellan.server.transport.SessionRegistry;
import org.castellan.server.transport.Transport;
import org.castellan.store.UidRange;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RFC 1939 §3 autologout: an idle session is closed without a response and without entering
 * UPDATE. The timer is shortened through the service's constructor; nothing here measures time.
 */
class AutologoutTest {

    @TempDir Path dir;

    @Test
    void idleSessionIsClosedSilentlyAndDeletesNothing() throws Exception {
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
        TlsPolicy tls = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, pki.server().chainFile(), pki.server().keyFile()).build();
        try (EmbeddedMailStore store = EmbeddedMailStore.open(dir.resolve("mail"));
             AuthService auth = new AuthService(new StoreCredentials(store), AuthSettings.defaults(), Clock.systemUTC());
             ExecutorService blocking = Executors.newVirtualThreadPerTaskExecutor()) {
            store.createDomain("example.org");
            var account = store.createAccount(EmailAddress.of(Pop3TestServer.USER),
                    ScramSecret.derive(Pop3TestServer.PASSWORD.toCharArray(), 4096).encode(), OptionalLong.empty());
            long inbox = store.getMailbox(account.id(), "INBOX").orElseThrow().id();
            store.append(inbox, "Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII), Set.of(), Instant.now());

            Transport transport = new Transport(new SessionRegistry(), new ConnectionRules(List.of()), tls, Clock.systemUTC());
            try {
                var listener = new Listener("pop3", Protocol.POP3, "127.0.0.1", 0, TlsMode.NONE, ClientCertMode.NONE, true, List.of());
                var at = transport.bind(listener, new Pop3Service(store, auth, blocking, Duration.ofMillis(300)));
                try (Transcript t = new Transcript(new java.net.Socket(at.getAddress(), at.getPort()), pki)) {
                    t.run("""
                            S: \\+OK .*
                            C: USER %s
                            S: \\+OK.*
                            C: PASS %s
                            S: \\+OK .*
                            C: DELE 1
                            S: \\+OK .*
                            S: <closed>
                            """.formatted(Pop3TestServer.USER, Pop3TestServer.PASSWORD));
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> transport.registry().size() == 0);
                assertThat(store.listMessages(inbox, UidRange.all())).hasSize(1);
            } finally {
                transport.close();
            }
        }
    }
}
