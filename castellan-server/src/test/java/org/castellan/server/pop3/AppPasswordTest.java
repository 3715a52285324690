package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.Passwords;
import org.castellan.security.auth.ScramSecret;
import org.castellan.store.Account;
import org.castellan.store.AppPassword;
import org.castellan.store.AuthAttempt;
import org.junit.jupiter.api.Test;

/** App passwords over a real POP3 connection, and the auth log those logins leave in the store. */
class AppPasswordTest extends ServerPerTest {

    private AppPassword add(String password, Set<String> scope) {
        Account alice = pop3.server.store().getAccount(EmailAddress.of(Pop3TestServer.USER)).orElseThrow();
        String secret = ScramSecret.derive(password.toCharArray(), 4096).encode();
        return pop3.server.store().createAppPassword(alice.id(), "phone", secret, scope);
    }

    private void userPass(String password, String reply) {
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: USER %s
                    S: \\+OK.*
                    C: PASS %s
                    S: %s
                    """.formatted(Pop3TestServer.USER, password, reply));
        }
    }

    private static final String OK = "\\+OK Maildrop has 2 messages .*";
    private static final String FAILED = "-ERR \\[AUTH\\] Authentication failed";

    @Test
    void anAppPasswordInScopeLogsInAndIsRefusedOnceRevoked() {
        String password = Passwords.generate();
        AppPassword app = add(password, Set.of("pop3"));
        userPass(password, OK);
        userPass(password, OK);

        Account alice = pop3.server.store().getAccount(EmailAddress.of(Pop3TestServer.USER)).orElseThrow();
        pop3.server.store().revokeAppPassword(alice.id(), app.id());
        userPass(password, FAILED);
        userPass(Pop3TestServer.PASSWORD, OK);
    }

    @Test
    void anAppPasswordWithASelectorIsFoundWithOnePasswordCheck() {
        Account alice = pop3.server.store().getAccount(EmailAddress.of(Pop3TestServer.USER)).orElseThrow();
        for (int i = 0; i < 5; i++) {
            String other = Passwords.generateAppPassword();
            pop3.server.store().createAppPassword(alice.id(), "other " + i, ScramSecret.derive(other.toCharArray(), 4096)
                    .encode(), Passwords.selector(other.toCharArray()), Set.of("pop3"));
        }
        String password = Passwords.generateAppPassword();
        pop3.server.store().createAppPassword(alice.id(), "phone", ScramSecret.derive(password.toCharArray(), 4096).encode(),
                Passwords.selector(password.toCharArray()), Set.of("pop3"));
        long before = pop3.server.auth().stats().passwordHashes();
        userPass(password, OK);
        assertThat(pop3.server.auth().stats().passwordHashes() - before).as("PBKDF2 runs").isEqualTo(1);
        userPass("not the password", FAILED);
        assertThat(pop3.server.auth().stats().passwordHashes() - before).as("PBKDF2 runs").isEqualTo(2);
    }

    @Test
    void anAppPasswordOutOfScopeIsRefused() {
        String password = Passwords.generate();
        add(password, Set.of("imap", "smtp"));
        userPass(password, FAILED);
    }

    @Test
    void everyLoginIsInTheAuthLogWithItsTlsVersionAndNoPassword() {
        String password = Passwords.generate();
        AppPassword app = add(password, Set.of("pop3"));
        userPass(password, OK);
        userPass("not the password", FAILED);

        await().atMost(Duration.ofSeconds(20)).until(
                () -> pop3.server.store().listAuthAttempts(Optional.of(Pop3TestServer.USER), 10).size() == 2);
        List<AuthAttempt> log = pop3.server.store().listAuthAttempts(Optional.of(Pop3TestServer.USER), 10);
        AuthAttempt failed = log.get(0);
        AuthAttempt ok = log.get(1);
        assertThat(ok.result()).isEqualTo("OK");
        assertThat(ok.listener()).isEqualTo("pop3s");
        assertThat(ok.protocol()).isEqualTo("pop3");
        assertThat(ok.mechanism()).isEqualTo("USER app-password=" + app.id());
        assertThat(ok.remote()).isEqualTo("127.0.0.1");
        assertThat(ok.tlsVersion()).hasValueSatisfying(v -> assertThat(v).startsWith("TLSv1."));
        assertThat(failed.result()).isEqualTo("INVALID_CREDENTIALS");
        assertThat(failed.mechanism()).isEqualTo("USER");
        assertThat(log.toString()).doesNotContain(password, "not the password");
    }
}
