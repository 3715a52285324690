package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.server.cli.Cli.Run;
import org.castellan.security.auth.ScramSecret;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The administration commands on a real data directory: what they print, what they change in
 * the store, and the exit codes (0 ok, 2 bad input) with one-line errors.
 */
class CliTest {

    @TempDir Path tmp;
    Path data;

    /** Main.run with the standard streams captured, as {@link Cli#raw} does for every CLI test. */
    Run run(String stdin, String... args) {
        return Cli.raw(stdin, args);
    }

    Run admin(String... args) {
        return run(null, withData(args));
    }

    String[] withData(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--data";
        all[args.length + 1] = data.toString();
        return all;
    }

    @BeforeEach
    void init() {
        data = tmp.resolve("data");
        Run r = run(null, "init", "--data", data.toString(), "--hostname", "mail.example.com", "--port-base", "0");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("castellan.toml");
    }

    @Test
    void initCreatesAPrivateDataDirectoryAndIsIdempotent() throws Exception {
        assertThat(Files.getPosixFilePermissions(data.resolve("pki")))
                .isEqualTo(PosixFilePermissions.fromString("rwx------"));
        for (String key : new String[] {"pki/root.key", "tls/key.pem"}) {
            assertThat(Files.getPosixFilePermissions(data.resolve(key))).as(key)
                    .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        }
        String config = Files.readString(data.resolve("castellan.toml"));
        byte[] root = Files.readAllBytes(data.resolve("pki/root.crt"));
        Run again = run(null, "init", "--data", data.toString(), "--hostname", "other.example.com");
        assertThat(again.code()).isZero();
        assertThat(again.out()).contains("kept existing");
        assertThat(Files.readString(data.resolve("castellan.toml"))).isEqualTo(config);
        assertThat(Files.readAllBytes(data.resolve("pki/root.crt"))).isEqualTo(root);
    }

    @Test
    void domainsUsersAndAliasesRoundTrip() {
        assertThat(admin("domain", "add", "Example.com").code()).isZero();
        assertThat(admin("domain", "list").out()).contains("example.com");

        Run add = run("correct horse battery staple\n", withData("user", "add", "alice@example.com", "--password-stdin", "--quota", "10M"));
        assertThat(add.code()).as(add.err()).isZero();
        assertThat(add.out()).contains("alice@example.com").doesNotContain("correct horse");

        Run generated = admin("user", "add", "bob@example.com");
        assertThat(generated.code()).isZero();
        assertThat(generated.out()).containsPattern("password: \\S{16,}");

        assertThat(admin("user", "list", "--domain", "example.com").out()).contains("alice@example.com", "bob@example.com");
        Run show = admin("user", "show", "ALICE@example.com");
        assertThat(show.code()).isZero();
        assertThat(show.out()).contains("quota:     10.0 MiB", "INBOX", "Sent", "Trash");
        assertThat(show.out()).contains("node:      the edges' default node");
        // docs/roles.md §4: the node that holds the account's mail, for edges to relay its sessions to.
        Run place = admin("user", "place", "alice@example.com", "mailbox-2");
        assertThat(place.out()).as(place.err()).contains("placed on node mailbox-2");
        assertThat(admin("user", "show", "alice@example.com").out()).contains("node:      mailbox-2");
        assertThat(admin("user", "place", "alice@example.com").code()).isZero();
        assertThat(admin("user", "show", "alice@example.com").out()).contains("node:      the edges' default node");

        assertThat(admin("alias", "add", "postmaster@example.com", "alice@example.com").code()).isZero();
        assertThat(admin("alias", "list").out()).contains("postmaster@example.com\t-> alice@example.com");

        try (var store = EmbeddedMailStore.open(data.resolve("mail"))) {
            var alice = store.resolveRecipient(EmailAddress.of("postmaster@example.com")).orElseThrow();
            assertThat(alice.address().toString()).isEqualTo("alice@example.com");
            assertThat(ScramSecret.parse(alice.credential()).verifyPassword("correct horse battery staple".toCharArray())).isTrue();
        }

        Run passwd = run("new secret words\n", withData("user", "passwd", "alice@example.com", "--password-stdin"));
        assertThat(passwd.code()).as(passwd.err()).isZero();
        try (var store = EmbeddedMailStore.open(data.resolve("mail"))) {
            var alice = store.getAccount(EmailAddress.of("alice@example.com")).orElseThrow();
            assertThat(ScramSecret.parse(alice.credential()).verifyPassword("new secret words".toCharArray())).isTrue();
            assertThat(ScramSecret.parse(alice.credential()).verifyPassword("correct horse battery staple".toCharArray())).isFalse();
        }

        assertThat(admin("domain", "remove", "example.com").code()).isEqualTo(Main.BAD_INPUT);
        assertThat(admin("alias", "remove", "postmaster@example.com").code()).isZero();
        assertThat(admin("user", "remove", "alice@example.com").code()).isZero();
        assertThat(admin("user", "remove", "bob@example.com").code()).isZero();
        assertThat(admin("domain", "remove", "example.com").code()).isZero();
        assertThat(admin("domain", "list").out()).doesNotContain("example.com");
    }

    @Test
    void badInputIsOneLineAndExitCodeTwo() {
        admin("domain", "add", "example.com");
        admin("user", "add", "carol@example.com");
        String[][] bad = {
                {"domain", "add", "not a domain"},
                {"domain", "add", "example.com"},
                {"user", "add", "not-an-address"},
                {"user", "add", "dave@unknown.example"},
                {"user", "add", "carol@example.com"},
                {"user", "show", "nobody@example.com"},
                {"user", "place", "nobody@example.com", "mailbox-1"},
                {"user", "place", "carol@example.com", "not a node"},
                {"user", "add", "erin@example.com", "--quota", "lots"},
                {"alias", "add", "carol@example.com", "x@example.com"},
                {"domain", "frobnicate"},
        };
        for (String[] args : bad) {
            Run r = admin(args);
            assertThat(r.code()).as(String.join(" ", args) + " -> " + r.err()).isEqualTo(Main.BAD_INPUT);
            assertThat(r.err()).as(String.join(" ", args)).doesNotContain("Exception", "\tat ");
            assertThat(r.err().strip()).isNotEmpty();
        }
        assertThat(admin("user", "add", "dave@unknown.example").err()).contains("unknown domain unknown.example");
    }

    /**
     * Each option and argument outside what it takes is refused before anything is done, with the
     * reason (exit 2, one line, no stack trace): ranges of days and hours, a limit, a queue id,
     * a scope, a size, an alias leaving the local domains, a fingerprint without a label, a domain
     * for the DNS records, a backup inside what it backs up, a restore over a data directory, and
     * init's host name and port base.
     */
    @Test
    void eachValueOutsideWhatItTakesIsRefusedWithTheReason() {
        admin("domain", "add", "example.com");
        admin("user", "add", "carol@example.com");
        String out = tmp.resolve("out").toString();
        String[][] bad = {
                {"cert", "issue", "device", "laptop", "--owner", "carol@example.com", "--days", "0", "--out", out},
                {"--days must be from 1 to"},
                {"enroll", "token", "--owner", "carol@example.com", "--device", "phone", "--hours", "0"},
                {"--hours must be from 1 to"},
                {"enroll", "token", "--owner", "carol@example.com", "--device", "phone", "--kind", "server"},
                {"--kind is device or user, not server"},
                {"enroll", "deny", "1", "--reason", "one\ntwo"}, {"--reason is one line of at most"},
                {"node", "add", "mailbox-2", "--role", "mailbox", "--hours", "0"}, {"--hours must be from 1 to"},
                {"node", "add", "mailbox-2", "--role", "mailbox", "--days", "0"}, {"--days must be from 1 to"},
                {"queue", "list", "--limit", "0"}, {"--limit must be at least 1"},
                {"queue", "show", "0"}, {"'0' is not a queue message id"},
                {"queue", "hold", "x7"}, {"'x7' is not a queue message id"},
                {"user", "app-password", "add", "carol@example.com", "--label", "phone", "--scope", "imap,ftp"},
                {"unknown protocol 'ftp' in --scope"},
                {"user", "add", "erin@example.com", "--quota", "1.5G"}, {"invalid size '1.5G'"},
                {"alias", "add", "c@example.com", "carol@elsewhere.example"}, {"is outside the local domains"},
                {"user", "cert", "bind", "carol@example.com", "--fingerprint", "ab".repeat(32)},
                {"--label is needed with --fingerprint"},
                {"dns", "--domain", "not a domain"}, {"invalid domain name 'not a domain'"},
                {"backup", "--to", data.resolve("backup.zip").toString()}, {"is inside the data directory"},
                {"restore", "--from", data.resolve("castellan.toml").toString()},
                {"is not empty; restore into a new directory"},
        };
        for (int i = 0; i < bad.length; i += 2) {
            Run r = admin(bad[i]);
            String args = String.join(" ", bad[i]);
            assertThat(r.code()).as(args + " -> " + r.err()).isEqualTo(Main.BAD_INPUT);
            assertThat(r.err()).as(args).contains(bad[i + 1][0]).doesNotContain("Exception", "\tat ");
            assertThat(r.err().strip()).as(args).doesNotContain("\n");
        }
        assertThat(Files.exists(tmp.resolve("out"))).isFalse();
        Path fresh = tmp.resolve("fresh");
        Run host = run(null, "init", "--data", fresh.toString(), "--hostname", "mail_1.example.com");
        assertThat(host.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(host.err()).contains("invalid host name 'mail_1.example.com'");
        Run ports = run(null, "init", "--data", fresh.toString(), "--hostname", "mail.example.com", "--port-base", "65000");
        assertThat(ports.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(ports.err()).contains("--port-base 65000 puts ports out of range");
        assertThat(Files.exists(fresh.resolve("castellan.toml"))).isFalse();
    }

    @Test
    void commandsWithoutADataDirectorySayHowToMakeOne() {
        Run r = run(null, "user", "list", "--data", tmp.resolve("nowhere").toString());
        assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(r.err()).contains("castellan init");
    }

    @Test
    void configurationErrorsNameFileLineAndKey() throws Exception {
        Path config = data.resolve("castellan.toml");
        Files.writeString(config, Files.readString(config).replaceFirst("\\[server]", "[server]\nhostnme = \"x\""));
        Run r = run(null, "serve", "--config", config.toString());
        assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(r.err()).contains("castellan.toml:", "hostnme");

        Run missing = run(null, "serve", "--config", tmp.resolve("absent.toml").toString());
        assertThat(missing.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(missing.err()).contains("absent.toml");
    }

    @Test
    void versionAndHelp() {
        assertThat(run(null, "--version").out()).startsWith("castellan ");
        Run help = run(null, "user", "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("add", "passwd", "list", "show", "remove");
        assertThat(run(null).code()).isEqualTo(Main.BAD_INPUT);
    }
}
