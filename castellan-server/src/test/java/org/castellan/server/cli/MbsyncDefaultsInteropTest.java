package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.server.config.Auth;
import org.castellan.server.testing.ExternalClient;
import org.castellan.store.MailStore;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mbsync (isync, Cyrus SASL) with its default settings against a data directory exactly as
 * {@code castellan init} and {@code castellan user add} make it: no {@code AuthMechs}, so Cyrus
 * picks SCRAM-SHA-256 and must accept the iteration count the server names. Then the same with a
 * 1 MB message each way, and an account whose secret was made under the old default of 600,000
 * iterations (which Cyrus refuses): the stalled session is closed by the login timeout, and the
 * account's next password login re-derives the secret so that SCRAM works from then on.
 */
class MbsyncDefaultsInteropTest {

    private static final String ACCOUNT = LiveServer.ACCOUNT;
    private static final String PASSWORD = Cli.Pop3Password.VALUE;
    /** A message larger than any literal a line-based client would buffer in one piece. */
    private static final int ONE_MEGABYTE = 1024 * 1024;

    @TempDir Path dir;
    LiveServer live;
    MailStore store;
    long inbox;

    @BeforeAll
    static void mbsync() {
        ExternalClient.require("mbsync", "isync");
    }

    @BeforeEach
    void start() throws Exception {
        // The generated configuration as it is, but for a login timeout short enough to wait for
        // here and long enough for a TLS handshake and a SCRAM exchange on a busy machine: the
        // timeout runs from the connection's accept (docs/security.md).
        live = LiveServer.start(dir.resolve("data"), "", text -> text.replace("# login-timeout = \"60s\"", "login-timeout = \"8s\""));
        store = live.server.store();
        inbox = store.getMailbox(store.getAccount(EmailAddress.of(ACCOUNT)).orElseThrow().id(), "INBOX").orElseThrow().id();
    }

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    @Test
    void mbsyncWithItsDefaultSettingsLogsInWithScramSha256() throws Exception {
        assertThat(storedSecret().iterations()).as("castellan user add with the default configuration")
                .isEqualTo(Auth.DEFAULT_SCRAM_ITERATIONS);
        store.append(inbox, message("from the server", "written on the server\r\n").getBytes(StandardCharsets.UTF_8), Set.of(), Instant.parse("2026-03-01T10:00:00Z"));

        var run = mbsync("Sync Pull");
        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(run.output()).contains("Authenticating with SASL mechanism SCRAM-SHA-256");
        assertThat(localMessages()).singleElement().asString().contains("Subject: from the server");
        awaitLogin("SCRAM-SHA-256", "OK");
    }

    @Test
    void mbsyncWithItsDefaultSettingsDownloadsAOneMegabyteMessage() throws Exception {
        String fromServer = message("large from the server", largeBody('x'));
        store.append(inbox, fromServer.getBytes(StandardCharsets.UTF_8), Set.of(), Instant.parse("2026-03-01T10:00:00Z"));

        var run = mbsync("Sync Pull");
        assertThat(run.exitCode()).as(run.output()).isZero();
        // A Maildir keeps lines with LF, and mbsync adds its X-TUID tracking header; otherwise the
        // content is the server's, byte for byte.
        assertThat(localMessages()).singleElement().satisfies(m -> assertSame(m.replaceFirst("(?m)^X-TUID: .*\n", ""),
                fromServer.replace("\r\n", "\n")));
    }

    @Test
    void mbsyncWithItsDefaultSettingsUploadsAOneMegabyteMessage() throws Exception {
        String fromLaptop = message("large from the laptop", largeBody('y'));
        for (String sub : List.of("cur", "new", "tmp")) Files.createDirectories(maildir().resolve("INBOX").resolve(sub));
        // As a Maildir keeps it: lines end in LF; mbsync sends them with CRLF (RFC 9051 §4.3).
        Files.writeString(maildir().resolve("INBOX/cur/1700000000.1.laptop:2,S"), fromLaptop.replace("\r\n", "\n"));

        var run = mbsync("Sync Push");
        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(store.listMessages(inbox, UidRange.all())).singleElement()
                .satisfies(m -> assertSame(text(m.uid()).replaceFirst("(?m)^X-TUID: .*\r\n", ""), fromLaptop));
    }

    @Test
    void aSecretUnderTheOldDefaultIsClosedInTimeAndHealsAtTheNextPasswordLogin() throws Exception {
        long account = store.getAccount(EmailAddress.of(ACCOUNT)).orElseThrow().id();
        store.setCredential(account, ScramSecret.derive(PASSWORD.toCharArray(), 600_000).encode());

        // Cyrus refuses to compute 600,000 iterations and sends nothing more; the server's login
        // timeout ends the session, and mbsync with it, instead of leaving both waiting.
        var refused = mbsync("Sync Pull");
        assertThat(refused.exitCode()).as(refused.output()).isNotZero();
        assertThat(refused.output()).contains("iteration-count is too big");

        var plain = mbsync("Sync Pull", "AuthMechs PLAIN");
        assertThat(plain.exitCode()).as(plain.output()).isZero();
        assertThat(storedSecret().iterations()).isEqualTo(Auth.DEFAULT_SCRAM_ITERATIONS);
        assertThat(storedSecret().verifyPassword(PASSWORD.toCharArray())).isTrue();

        var healed = mbsync("Sync Pull");
        assertThat(healed.exitCode()).as(healed.output()).isZero();
        awaitLogin("SCRAM-SHA-256", "OK");
    }

    // --- helpers --------------------------------------------------------------------------------

    private static String message(String subject, String body) {
        return "From: carol@example.net\r\nTo: " + ACCOUNT + "\r\nSubject: " + subject + "\r\nMessage-ID: <"
                + subject.replace(' ', '.') + "@example.net>\r\n\r\n" + body;
    }

    /** Compares two large messages without printing a megabyte when they differ. */
    private static void assertSame(String actual, String expected) {
        assertThat(actual.length()).as("size").isEqualTo(expected.length());
        assertThat(actual.equals(expected)).as("the same content").isTrue();
    }

    /** About a megabyte of 78-character lines: a mail with an attachment, as MIME would encode it. */
    private static String largeBody(char c) {
        String line = String.valueOf(c).repeat(76) + "\r\n";
        return line.repeat(ONE_MEGABYTE / line.length() + 1);
    }

    private ScramSecret storedSecret() {
        return ScramSecret.parse(store.getAccount(EmailAddress.of(ACCOUNT)).orElseThrow().credential());
    }

    private Path maildir() {
        return dir.resolve("mail");
    }

    /**
     * One mbsync run of INBOX with mbsync's defaults: only what it cannot guess is set (where the
     * server is, the account, and the CA to trust); {@code extra} lines are added to the account.
     */
    private ExternalClient.Result mbsync(String sync, String... extra) throws Exception {
        Files.createDirectories(maildir());
        Path rc = dir.resolve("mbsyncrc");
        Files.writeString(rc, String.join("\n",
                "IMAPAccount castellan",
                "Host localhost",
                "Port " + live.address("imaps").getPort(),
                "User " + ACCOUNT,
                "Pass \"" + PASSWORD + "\"",
                "SSLType IMAPS",
                "CertificateFile " + live.rootCertificate(),
                String.join("\n", extra),
                "",
                "IMAPStore server",
                "Account castellan",
                "",
                "MaildirStore laptop",
                "Path " + maildir() + "/",
                "Inbox " + maildir().resolve("INBOX"),
                "",
                "Channel inbox",
                "Far :server:",
                "Near :laptop:",
                "Patterns INBOX",
                "Create Both",
                sync,
                ""));
        return ExternalClient.run(List.of("mbsync", "-V", "-c", rc.toString(), "inbox"), Map.of("HOME", dir.toString()));
    }

    private List<String> localMessages() throws IOException {
        List<String> messages = new java.util.ArrayList<>();
        for (String sub : List.of("cur", "new")) {
            Path d = maildir().resolve("INBOX").resolve(sub);
            if (!Files.isDirectory(d)) continue;
            try (Stream<Path> files = Files.list(d)) {
                for (Path f : files.toList()) messages.add(Files.readString(f));
            }
        }
        return messages;
    }

    private String text(long uid) {
        try (InputStream in = store.openMessage(inbox, uid)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void awaitLogin(String mechanism, String result) {
        await().atMost(Duration.ofSeconds(20)).until(() -> store.listAuthAttempts(Optional.of(ACCOUNT), 200).stream()
                .anyMatch(a -> a.mechanism().equals(mechanism) && a.result().equals(result)));
    }
}
