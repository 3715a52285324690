package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** RFC 9051 §6.1.1 CAPABILITY per state and connection. */
class CapabilityTest extends ServerPerTest {

    @Test
    void beforeLoginOnTheCleartextListener() {
        try (Transcript t = imap.connect("imap")) {
            String greeting = t.expect("\\* OK \\[CAPABILITY IMAP4rev1 IMAP4rev2 .*\\] Castellan IMAP server ready");
            assertThat(greeting).contains("STARTTLS").contains("AUTH=PLAIN").contains("SASL-IR").doesNotContain("LOGINDISABLED");
            t.run("""
                    C: a1 CAPABILITY
                    S: \\* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL\\+ SASL-IR ID STARTTLS AUTH=SCRAM-SHA-256 AUTH=PLAIN AUTH=LOGIN
                    S: a1 OK CAPABILITY completed
                    """);
        }
    }

    @Test
    void strictListenerDisablesLoginUntilTls() {
        try (Transcript t = imap.connect("strict")) {
            t.run("""
                    S: \\* OK \\[CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL\\+ SASL-IR ID STARTTLS LOGINDISABLED\\] .*
                    C: a1 STARTTLS
                    S: a1 OK Begin TLS negotiation now
                    """);
            t.upgradeToTls();
            String caps = t.run("C: a2 CAPABILITY").expect("\\* CAPABILITY .*");
            assertThat(caps).doesNotContain("LOGINDISABLED").doesNotContain("STARTTLS").contains("AUTH=SCRAM-SHA-256")
                    .contains("AUTH=PLAIN");
            t.expect("a2 OK CAPABILITY completed");
        }
    }

    @Test
    void afterLoginListsTheExtensions() {
        try (Transcript t = imap.loggedIn()) {
            String caps = t.run("C: a1 CAPABILITY").expect("\\* CAPABILITY .*");
            assertThat(caps).contains("IDLE", "MOVE", "UIDPLUS", "SPECIAL-USE", "CONDSTORE", "APPENDLIMIT=")
                    .doesNotContain(" AUTH=").doesNotContain("STARTTLS");
            t.expect("a1 OK CAPABILITY completed");
        }
    }
}
