package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan audit} on real data directories: the summary, and the exit code on cleartext credentials. */
class AuditCommandTest {

    @TempDir Path tmp;
    Cli cli;
    Path config;

    @BeforeEach
    void init() {
        cli = Cli.init(tmp.resolve("data"), "alice@example.org");
        config = cli.data.resolve("castellan.toml");
    }

    /** The audit's output with runs of spaces folded, so that assertions do not depend on column widths. */
    Cli.Run audit() {
        Cli.Run r = cli.admin("audit");
        return new Cli.Run(r.code(), r.out().replaceAll(" +", " "), r.err());
    }

    void append(String... lines) throws Exception {
        Files.writeString(config, Files.readString(config) + "\n" + String.join("\n", lines) + "\n");
    }

    @Test
    void theDefaultConfigurationPassesAndSaysWhatEachListenerOffers() {
        Cli.Run r = audit();
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("listener ", "minimum TLSv1.2", "SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN",
                "nothing: TLS from the first byte", "no credentials accepted", "cleartext credentials: no",
                "EXTERNAL with a verified client certificate",
                "result: no listener lets a credential cross the network in cleartext");
        // The default provider (BoringSSL) binds TLS 1.3 with tls-exporter, so -PLUS is offered there too.
        assertThat(r.out()).contains("after TLS 1.3: SCRAM-SHA-256-PLUS SCRAM-SHA-256");
        assertThat(r.out()).doesNotContain("FAIL");
        // The certificate directory: who may search, and where it lives.
        String ldaps = r.out().substring(r.out().indexOf("listener ldaps"));
        assertThat(ldaps).contains("simple bind inside TLS through AuthService (protocol ldap)",
                "[directory] anonymous = \"exact\"", "base DN dc=localhost, at most 100 entries per search");
    }

    @Test
    void theAuditNamesAccountsWhosePasswordSecretScramClientsRefuse() throws Exception {
        assertThat(audit().out()).contains("password secrets: 1 accounts, scram-iterations = 65536")
                .doesNotContain("SCRAM clients refuse");
        // A secret made under the old default of 600,000 iterations, which Cyrus SASL refuses.
        try (var store = EmbeddedMailStore.open(cli.data.resolve("mail"))) {
            long id = store.getAccount(EmailAddress.of("alice@example.org")).orElseThrow().id();
            store.setCredential(id, ScramSecret.derive("old password".toCharArray(), 600_000).encode());
        }
        Cli.Run r = audit();
        assertThat(r.code()).as("a secret's count is no leak").isZero();
        assertThat(r.out()).contains("SCRAM clients refuse: 1 accounts' secrets: more than 65536 iterations",
                "castellan user passwd", "alice@example.org (600000)");
    }

    /** A secret that is no SCRAM secret this server can read is named for the operator to set again; the audit goes on. */
    @Test
    void anUnreadableSecretIsNamedAndTheAuditGoesOn() throws Exception {
        try (var store = EmbeddedMailStore.open(cli.data.resolve("mail"))) {
            long id = store.getAccount(EmailAddress.of("alice@example.org")).orElseThrow().id();
            store.setCredential(id, "{SSHA}bm90IGEgc2NyYW0gc2VjcmV0");
        }
        Cli.Run r = audit();
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("alice@example.org (unreadable: set it again)");
        assertThat(r.err()).doesNotContain("Exception");
    }

    @Test
    void cleartextCredentialsFailTheAuditUnlessTheRiskIsAccepted() throws Exception {
        append("[[listener]]", "name = \"legacy\"", "protocol = \"pop3\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"starttls\"", "cleartext-auth = true",
                "[[rule]]", "cidr = \"192.0.2.0/24\"", "listeners = [\"legacy\"]", "action = \"request-cert\"");
        Cli.Run failing = audit();
        assertThat(failing.code()).isEqualTo(Main.FAILURE);
        assertThat(failing.out()).contains("FAIL: listener legacy accepts credentials in cleartext",
                "192.0.2.0/24 -> request-cert", "(raised by rules for some addresses)");
        String legacy = failing.out().substring(failing.out().indexOf("listener legacy"));
        assertThat(legacy).contains("before TLS: SCRAM-SHA-256 PLAIN LOGIN", "cleartext credentials: YES");

        Files.writeString(config, Files.readString(config).replace("name = \"legacy\"",
                "name = \"legacy\"\naccept-cleartext-risk = true"));
        Cli.Run accepted = audit();
        assertThat(accepted.code()).as(accepted.out()).isZero();
        assertThat(accepted.out()).contains("YES, risk accepted").doesNotContain("FAIL");
    }

    @Test
    void aBadConfigurationIsAConfigurationError() throws Exception {
        append("[[listener]]", "name = \"x\"", "protocol = \"pop3\"", "port = 0", "accept-cleartext-risk = \"yes\"");
        Cli.Run r = audit();
        assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(r.err()).contains("accept-cleartext-risk");
    }

    @Test
    void theAuditSaysWhatAPasswordLoginNeedsPerListener() throws Exception {
        append("[[listener]]", "name = \"two-factor\"", "protocol = \"imap\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"", "client-cert = \"request\"", "require-certificate-for-password = \"same-account\"",
                "[[listener]]", "name = \"any-device\"", "protocol = \"pop3\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"", "client-cert = \"require\"", "require-certificate-for-password = \"any\"");
        Cli.Run r = audit();
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        String twoFactor = r.out().substring(r.out().indexOf("listener two-factor"), r.out().indexOf("listener any-device"));
        assertThat(twoFactor).contains("password needs: a verified client certificate of the same account",
                "castellan user cert bind", "require-certificate-for-password = \"same-account\"");
        assertThat(r.out().substring(r.out().indexOf("listener any-device")))
                .contains("password needs: a verified client certificate too, of any account");
        assertThat(r.out().substring(0, r.out().indexOf("listener two-factor")))
                .contains("password needs: nothing more: a password alone logs in");
    }

    @Test
    void aPlainHttpListenerPassesAndSaysItTakesNoLogins() throws Exception {
        append("[[listener]]", "name = \"pki\"", "protocol = \"http\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"none\"");
        Cli.Run r = audit();
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        String pki = r.out().substring(r.out().indexOf("listener pki"));
        assertThat(pki).contains("tls: none", "logins: none: only the built-in CA's public OCSP responder",
                "cleartext credentials: no").doesNotContain("slow senders").doesNotContain("mail exchange");
        assertThat(r.out()).doesNotContain("FAIL");
    }
}
