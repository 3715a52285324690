package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.security.pki.Pem;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Key escrow from the command line, end to end: {@code kms escrow init} prints 5 shares, an
 * encryption certificate's key is escrowed at issue, OpenSSL encrypts an S/MIME message to the
 * certificate, {@code kms recover} with 3 shares writes a PKCS#12 whose key OpenSSL decrypts the
 * message with; too few, altered and foreign shares are refused by name; every attempt is in the
 * audit log, which {@code castellan audit} shows and whose editing it reports.
 */
class KeyEscrowCommandTest {

    static final String ACCOUNT = "alice@example.org";
    static final Pattern SHARE = Pattern.compile("(?m)^share (\\d+): (\\S+)$");
    static final String MESSAGE = "Subject: the quarterly figures\r\n\r\nRevenue rose by a tenth.\r\n";

    @TempDir Path tmp;
    Cli cli;
    Path passwordFile;

    @BeforeEach
    void init() throws Exception {
        cli = Cli.init(tmp.resolve("data"), ACCOUNT);
        passwordFile = tmp.resolve("p12-password");
        Files.writeString(passwordFile, "recovered in the strong room\n");
    }

    private List<String> escrowInit(String... extra) {
        List<String> args = new ArrayList<>(List.of("kms", "escrow", "init", "--shares", "5", "--threshold", "3"));
        args.addAll(List.of(extra));
        Cli.Run r = cli.admin(args.toArray(new String[0]));
        assertThat(r.code()).as(r.err()).isZero();
        List<String> shares = new ArrayList<>();
        Matcher m = SHARE.matcher(r.out());
        while (m.find()) shares.add(m.group(2));
        assertThat(shares).hasSize(5);
        return shares;
    }

    private String issueEncryptionCertificate(Path out) {
        Cli.Run r = cli.withStdin("pass phrase 1\n", "cert", "issue", "user", ACCOUNT, "--usage", "encryption",
                "--passphrase-stdin", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("escrowed: ");
        return CertCommandTest.find(CertCommandTest.SERIAL, r.out());
    }

    private Cli.Run recover(String serial, Path out, List<String> shares) {
        return cli.withStdin(String.join("\n", shares) + "\n", "kms", "recover", serial, "--out", out.toString(),
                "--password-file", passwordFile.toString());
    }

    private static String run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command) + "\n" + output).isZero();
        return output;
    }

    @Test
    void threeOfFiveSharesRecoverAKeyThatOpenSslDecryptsWith() throws Exception {
        List<String> shares = escrowInit();
        Path issued = tmp.resolve("for-alice");
        String serial = issueEncryptionCertificate(issued);
        Path escrowed = tmp.resolve("data/pki/escrow/keys/" + serial + ".p7m");
        assertThat(Files.getPosixFilePermissions(escrowed)).isEqualTo(PosixFilePermissions.fromString("rw-------"));

        // A sender encrypts to alice's certificate (RFC 8551 S/MIME, RFC 5753 ECDH).
        Path work = Files.createDirectory(tmp.resolve("work"));
        Files.writeString(work.resolve("leaf.pem"), Pem.encode(Pem.readCertificates(issued.resolve("chain.pem")).get(0)));
        Files.writeString(work.resolve("message.txt"), MESSAGE);
        run(work, "openssl", "cms", "-encrypt", "-aes256", "-in", "message.txt", "-out", "message.p7m", "leaf.pem");
        // Alice loses her key.
        try (var files = Files.list(issued)) {
            for (Path f : files.toList()) Files.delete(f);
        }

        Path p12 = tmp.resolve("recovered.p12");
        // Only the three needed are read: what follows them is never looked at.
        Cli.Run r = recover(serial, p12, List.of(shares.get(4), shares.get(0), shares.get(2), "not read"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("recovered the key of certificate " + serial);
        assertThat(Files.getPosixFilePermissions(p12)).isEqualTo(PosixFilePermissions.fromString("rw-------"));

        run(work, "openssl", "pkcs12", "-in", p12.toString(), "-nodes", "-passin", "file:" + passwordFile, "-out", "recovered.pem");
        run(work, "openssl", "cms", "-decrypt", "-in", "message.p7m", "-recip", "leaf.pem", "-inkey", "recovered.pem",
                "-out", "decrypted.txt");
        assertThat(Files.readString(work.resolve("decrypted.txt")).replace("\r\n", "\n")).isEqualTo(MESSAGE.replace("\r\n", "\n"));
    }

    @Test
    void tooFewAlteredAndForeignSharesFailAndEveryAttemptIsAudited() throws Exception {
        List<String> shares = escrowInit();
        String serial = issueEncryptionCertificate(tmp.resolve("for-alice"));
        Path p12 = tmp.resolve("recovered.p12");

        Cli.Run two = recover(serial, p12, List.of(shares.get(0), shares.get(1)));
        assertThat(two.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(two.err()).containsPattern("3 shares of escrow key [0-9a-f]{16} are needed, 2 given");
        assertThat(p12).doesNotExist();

        String second = shares.get(3);
        int at = second.indexOf(':', "castellan-share-v1:".length() + 17) + 8;
        String typo = second.substring(0, at) + (second.charAt(at) == 'a' ? 'b' : 'a') + second.substring(at + 1);
        Cli.Run tampered = recover(serial, p12, List.of(shares.get(0), typo, shares.get(2)));
        assertThat(tampered.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(tampered.err()).contains("share 2 of those given is damaged");
        assertThat(p12).doesNotExist();

        Cli.Run again = cli.admin("kms", "escrow", "init", "--shares", "5", "--threshold", "3");
        assertThat(again.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(again.err()).contains("an escrow key exists already");
        List<String> newShares = escrowInit("--replace");
        Cli.Run foreign = recover(serial, p12, List.of(shares.get(0), shares.get(1), newShares.get(2)));
        assertThat(foreign.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(foreign.err()).contains("share 3 of those given belongs to escrow key");
        assertThat(p12).doesNotExist();

        // The old key's shares still recover what was escrowed to it.
        Cli.Run ok = recover(serial, p12, List.of(shares.get(1), shares.get(3), shares.get(4)));
        assertThat(ok.code()).as(ok.err()).isZero();

        Cli.Run audit = cli.admin("audit");
        assertThat(audit.code()).as(audit.out()).isZero();
        assertThat(audit.out()).contains("escrow recoveries: 4");
        String user = System.getProperty("user.name");
        assertThat(audit.out()).containsPattern("  " + user + "  certificate " + serial + "  2 shares  refused: 3 shares");
        assertThat(audit.out()).containsPattern("  " + user + "  certificate " + serial + "  3 shares  refused: share 2 of");
        assertThat(audit.out()).containsPattern("  " + user + "  certificate " + serial + "  3 shares  ok: ");

        // Someone hides the failed attempts.
        Path log = tmp.resolve("data/pki/escrow/audit.log");
        List<String> lines = new ArrayList<>(Files.readAllLines(log));
        lines.removeIf(line -> line.contains("\trefused\t") && line.contains("\t2\t"));
        Files.write(log, lines);
        Cli.Run edited = cli.admin("audit");
        assertThat(edited.code()).isEqualTo(Main.FAILURE);
        assertThat(edited.out()).contains("FAIL: the escrow audit log has been tampered with");
    }

    @Test
    void aSigningCertificatesKeyIsNeverEscrowed() {
        escrowInit();
        Cli.Run issued = cli.withStdin("pass phrase 1\n", "cert", "issue", "user", ACCOUNT, "--passphrase-stdin",
                "--out", tmp.resolve("signing").toString());
        assertThat(issued.code()).as(issued.err()).isZero();
        assertThat(issued.out()).doesNotContain("escrowed");
        String serial = CertCommandTest.find(CertCommandTest.SERIAL, issued.out());
        Cli.Run r = recover(serial, tmp.resolve("x.p12"), List.of("a", "b", "c"));
        assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(r.err()).contains("no key is escrowed for certificate " + serial)
                .contains("never signing keys");
        // Refused before any share was asked for, and recorded.
        assertThat(cli.admin("audit").out()).contains("certificate " + serial + "  0 shares  refused: no key is escrowed");
    }

    @Test
    void anEncryptionCertificateWithoutAnEscrowKeyIsRefusedUnlessAskedFor() {
        Cli.Run r = cli.withStdin("pass phrase 1\n", "cert", "issue", "user", ACCOUNT, "--usage", "encryption",
                "--passphrase-stdin", "--out", tmp.resolve("a").toString());
        assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(r.err()).contains("there is no escrow key").contains("--without-escrow");
        Cli.Run without = cli.withStdin("pass phrase 1\n", "cert", "issue", "user", ACCOUNT, "--usage", "encryption",
                "--without-escrow", "--passphrase-stdin", "--out", tmp.resolve("b").toString());
        assertThat(without.code()).as(without.err()).isZero();
        assertThat(without.out()).doesNotContain("escrowed");
    }

    @Test
    void aKeyMadeElsewhereIsSubmittedForEscrowAndRecovered() throws Exception {
        Path out = tmp.resolve("made-without-escrow");
        Cli.Run made = cli.withStdin("pass phrase 1\n", "cert", "issue", "user", ACCOUNT, "--usage", "encryption",
                "--without-escrow", "--passphrase-stdin", "--out", out.toString());
        assertThat(made.code()).as(made.err()).isZero();
        String serial = CertCommandTest.find(CertCommandTest.SERIAL, made.out());
        Path p12 = out.resolve(ACCOUNT + ".p12");
        Path p12Password = tmp.resolve("its-password");
        Files.writeString(p12Password, "pass phrase 1\n");
        List<String> shares = escrowInit();

        Cli.Run imported = cli.admin("kms", "escrow", "import", p12.toString(), "--password-file", p12Password.toString());
        assertThat(imported.code()).as(imported.err()).isZero();
        assertThat(imported.out()).contains("escrowed the key of certificate " + serial);
        Cli.Run twice = cli.admin("kms", "escrow", "import", p12.toString(), "--password-file", p12Password.toString());
        assertThat(twice.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(twice.err()).contains("escrowed under serial " + serial + " already");

        Path signingOut = tmp.resolve("signing");
        cli.withStdin("pass phrase 1\n", "cert", "issue", "user", ACCOUNT, "--passphrase-stdin", "--out", signingOut.toString());
        Cli.Run signing = cli.admin("kms", "escrow", "import", signingOut.resolve(ACCOUNT + ".p12").toString(),
                "--password-file", p12Password.toString());
        assertThat(signing.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(signing.err()).contains("signing keys are never escrowed");

        Path recovered = tmp.resolve("recovered.p12");
        Cli.Run r = recover(serial, recovered, shares.subList(2, 5));
        assertThat(r.code()).as(r.err()).isZero();
        var original = java.security.KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(p12)) {
            original.load(in, "pass phrase 1".toCharArray());
        }
        var back = java.security.KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(recovered)) {
            back.load(in, "recovered in the strong room".toCharArray());
        }
        assertThat(back.getKey(back.aliases().nextElement(), "recovered in the strong room".toCharArray()).getEncoded())
                .isEqualTo(original.getKey(original.aliases().nextElement(), "pass phrase 1".toCharArray()).getEncoded());
        assertThat(cli.admin("audit").out()).contains("escrow recoveries: 1");
    }
}
