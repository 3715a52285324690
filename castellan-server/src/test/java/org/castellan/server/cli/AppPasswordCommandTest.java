package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.Passwords;
import org.castellan.security.auth.ScramSecret;
import org.castellan.store.AppPassword;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan user app-password add|list|revoke} on a real data directory. */
class AppPasswordCommandTest {

    private static final String ACCOUNT = "alice@example.org";

    @TempDir Path tmp;

    private List<AppPassword> stored(Cli cli) {
        try (var store = EmbeddedMailStore.open(cli.data.resolve("mail"))) {
            long id = store.getAccount(EmailAddress.of(ACCOUNT)).orElseThrow().id();
            return store.listAppPasswords(id);
        }
    }

    @Test
    void addShowsThePasswordOnceListShowsItWithoutItAndRevokeRemovesIt() {
        Cli cli = Cli.init(tmp.resolve("data"), ACCOUNT);
        Cli.Run add = cli.admin("user", "app-password", "add", ACCOUNT, "--label", "phone", "--scope", "imap,POP3");
        assertThat(add.code()).as(add.err()).isZero();
        Matcher m = Pattern.compile("app password (\\d+) \\(phone\\) added to alice@example.org for imap,pop3\\n"
                + "password: (\\S{" + Passwords.APP_PASSWORD_LENGTH + "}) ").matcher(add.out());
        assertThat(m.find()).as(add.out()).isTrue();
        String id = m.group(1);
        String password = m.group(2);

        List<AppPassword> stored = stored(cli);
        assertThat(stored).hasSize(1);
        assertThat(stored.getFirst().scope()).containsExactlyInAnyOrder("imap", "pop3");
        assertThat(stored.getFirst().credential()).doesNotContain(password);
        assertThat(ScramSecret.parse(stored.getFirst().credential()).verifyPassword(password.toCharArray())).isTrue();
        assertThat(stored.getFirst().selector()).as("the start of the password, by which logins find it")
                .contains(password.substring(0, Passwords.SELECTOR_LENGTH));

        Cli.Run list = cli.admin("user", "app-password", "list", ACCOUNT);
        assertThat(list.code()).as(list.err()).isZero();
        assertThat(list.out()).contains(id, "imap,pop3", "phone").doesNotContain(password);

        Cli.Run revoke = cli.admin("user", "app-password", "revoke", ACCOUNT, id);
        assertThat(revoke.code()).as(revoke.err()).isZero();
        assertThat(revoke.out()).contains("app password " + id + " of alice@example.org revoked");
        assertThat(stored(cli)).isEmpty();
        assertThat(cli.admin("user", "app-password", "list", ACCOUNT).out()).doesNotContain("phone");
    }

    @Test
    void badInputIsRefusedInOneLine() {
        Cli cli = Cli.init(tmp.resolve("data"), ACCOUNT);
        Cli.Run unknownProtocol = cli.admin("user", "app-password", "add", ACCOUNT, "--label", "x", "--scope", "imap,jmap");
        assertThat(unknownProtocol.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(unknownProtocol.err()).contains("unknown protocol 'jmap'").doesNotContain("Exception");

        Cli.Run noAccount = cli.admin("user", "app-password", "add", "bob@example.org", "--label", "x", "--scope", "imap");
        assertThat(noAccount.code()).isNotZero();
        assertThat(noAccount.err()).contains("no account bob@example.org");

        Cli.Run noSuchId = cli.admin("user", "app-password", "revoke", ACCOUNT, "42");
        assertThat(noSuchId.code()).isNotZero();
        assertThat(noSuchId.err()).contains("no app password 42");
        assertThat(stored(cli)).isEmpty();
    }
}
