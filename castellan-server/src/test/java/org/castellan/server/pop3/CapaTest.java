package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RFC 2449 §5 CAPA: per state and per connection (what AuthService allows here). */
class CapaTest {

    @TempDir static Path dir;
    static Pop3TestServer pop3;

    @BeforeAll
    static void start() { pop3 = Pop3TestServer.start(dir); }

    @AfterAll
    static void stop() { pop3.close(); }

    @Test
    void strictListenerOffersNoPasswordBeforeTlsAndEverythingAfter() {
        try (Transcript t = pop3.connect("strict")) {
            t.run("""
                    S: \\+OK .*
                    C: CAPA
                    S: \\+OK Capability list follows
                    """);
            var before = t.readMultiline();
            assertThat(before).contains("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS")
                    .doesNotContain("USER").noneMatch(l -> l.startsWith("SASL") && l.contains("PLAIN"));
            t.run("""
                    C: STLS
                    S: \\+OK Begin TLS negotiation
                    """);
            t.upgradeToTls();
            t.run("""
                    C: CAPA
                    S: \\+OK Capability list follows
                    """);
            var after = t.readMultiline();
            assertThat(after).contains("USER").doesNotContain("STLS")
                    .anyMatch(l -> l.startsWith("SASL ") && l.contains("PLAIN") && l.contains("SCRAM-SHA-256"));
        }
    }

    @Test
    void cleartextListenerOffersUserAndStls() {
        try (Transcript t = pop3.connect("pop3")) {
            t.run("""
                    S: \\+OK .*
                    C: CAPA
                    S: \\+OK Capability list follows
                    """);
            assertThat(t.readMultiline()).contains("USER", "STLS", "IMPLEMENTATION Castellan");
        }
    }

    @Test
    void implicitTlsOffersUserButNoStls() {
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: capa
                    S: \\+OK Capability list follows
                    """);
            assertThat(t.readMultiline()).contains("USER").doesNotContain("STLS");
        }
    }

    @Test
    void transactionStateListsNoLoginCapabilities() {
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: CAPA
                    S: \\+OK Capability list follows
                    """);
            assertThat(t.readMultiline()).contains("TOP", "UIDL", "PIPELINING")
                    .doesNotContain("USER", "STLS").noneMatch(l -> l.startsWith("SASL"));
        }
    }

    /** TLS 1.3 binds with tls-exporter (RFC 9266) on the default provider too, so -PLUS is offered. */
    @Test
    void tls13ConnectionsOfferThePlusMechanism() {
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: CAPA
                    S: \\+OK .*
                    """);
            assertThat(t.readMultiline()).anyMatch(l -> l.startsWith("SASL ") && l.contains(" SCRAM-SHA-256-PLUS"));
        }
    }
}
