package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan cert}: issue (PEM and PKCS#12), list, show, revoke, and bad input. */
class CertCommandTest {

    static final String ACCOUNT = "alice@example.org";
    static final Pattern SERIAL = Pattern.compile("certificate ([0-9a-f]+)");
    static final Pattern PASSPHRASE = Pattern.compile("passphrase: (\\S+)");

    @TempDir Path tmp;
    Cli cli;

    @BeforeEach
    void init() {
        cli = Cli.init(tmp.resolve("data"), ACCOUNT);
    }

    static String find(Pattern pattern, String text) {
        Matcher m = pattern.matcher(text);
        assertThat(m.find()).as(text).isTrue();
        return m.group(1);
    }

    @Test
    void issuesADeviceCertificateAsPemAndPkcs12ThatOpenSslReads() throws Exception {
        Path dir = tmp.resolve("for-the-laptop");
        Cli.Run r = cli.withStdin("pass phrase 1\n", "cert", "issue", "device", "laptop", "--owner", ACCOUNT,
                "--days", "30", "--passphrase-stdin", "--out", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).doesNotContain("pass phrase 1");
        String serial = find(SERIAL, r.out());
        for (String f : new String[] {"key.pem", "laptop.p12"}) {
            assertThat(Files.getPosixFilePermissions(dir.resolve(f))).as(f)
                    .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        }
        assertThat(Files.readString(dir.resolve("chain.pem"))).contains("BEGIN CERTIFICATE");

        KeyStore p12 = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(dir.resolve("laptop.p12"))) {
            p12.load(in, "pass phrase 1".toCharArray());
        }
        String alias = p12.aliases().nextElement();
        X509Certificate leaf = (X509Certificate) p12.getCertificate(alias);
        assertThat(leaf.getSerialNumber().toString(16)).isEqualTo(serial);
        assertThat(leaf.getSubjectX500Principal().getName()).contains("CN=laptop");
        assertThat(p12.getCertificateChain(alias)).hasSize(2);
        assertThat(p12.getKey(alias, "pass phrase 1".toCharArray())).isNotNull();

        Process openssl = new ProcessBuilder("openssl", "pkcs12", "-info", "-noout", "-in",
                dir.resolve("laptop.p12").toString(), "-passin", "pass:pass phrase 1")
                .redirectErrorStream(true).start();
        String output = new String(openssl.getInputStream().readAllBytes());
        assertThat(openssl.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(openssl.exitValue()).as(output).isZero();
    }

    @Test
    void userCertificateWithGeneratedPassphraseThenListShowAndRevoke() throws Exception {
        Path out = tmp.resolve("out");
        Cli.Run r = cli.admin("cert", "issue", "user", ACCOUNT, "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        String serial = find(SERIAL, r.out());
        String passphrase = find(PASSPHRASE, r.out());
        KeyStore p12 = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(out.resolve("alice@example.org.p12"))) {
            p12.load(in, passphrase.toCharArray());
        }
        assertThat(Files.exists(out.resolve("key.pem"))).isTrue();

        assertThat(cli.admin("cert", "list").out()).contains(serial, "user", "valid");
        Cli.Run show = cli.admin("cert", "show", serial.toUpperCase());
        assertThat(show.code()).isZero();
        assertThat(show.out()).contains("owner:      " + ACCOUNT, "status:     valid");

        Cli.Run revoke = cli.admin("cert", "revoke", serial, "--reason", "key-compromise");
        assertThat(revoke.code()).as(revoke.err()).isZero();
        assertThat(cli.admin("cert", "show", serial).out()).contains("status:     revoked", "(key-compromise)");
        assertThat(cli.admin("cert", "list").out()).contains("revoked");

        Cli.Run again = cli.admin("cert", "revoke", serial);
        assertThat(again.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(again.err()).contains("already revoked");
    }

    @Test
    void theServerKeepsTheCertificateButNoPrivateKey() throws Exception {
        Path out = tmp.resolve("handed-over");
        Cli.Run r = cli.admin("cert", "issue", "device", "phone", "--owner", ACCOUNT, "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        String serial = find(SERIAL, r.out());
        assertThat(r.out()).contains("the server keeps no copy of the private key");
        assertThat(out.resolve("key.pem")).exists();
        assertThat(out.resolve("phone.p12")).exists();

        Path kept = cli.data.resolve("issued").resolve(serial);
        try (var files = Files.list(kept)) {
            assertThat(files.map(f -> f.getFileName().toString()).toList()).containsExactly("chain.pem");
        }
        assertThat(Files.readString(kept.resolve("chain.pem"))).contains("BEGIN CERTIFICATE").doesNotContain("PRIVATE KEY");
        try (var all = Files.walk(cli.data)) {
            assertThat(all.filter(f -> f.toString().endsWith(".p12") || f.startsWith(cli.data.resolve("issued"))
                    && Files.isRegularFile(f) && readable(f).contains("PRIVATE KEY")).toList()).isEmpty();
        }
        assertThat(cli.admin("cert", "show", serial).out()).contains("owner:      " + ACCOUNT);

        Cli.Run withoutOut = cli.admin("cert", "issue", "device", "tablet", "--owner", ACCOUNT);
        assertThat(withoutOut.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(withoutOut.err()).contains("--out");
    }

    private static String readable(Path f) {
        try {
            return Files.readString(f);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    @Test
    void badInputIsOneLineAndExitCodeTwo() {
        String[][] bad = {
                {"cert", "show", "not-hex"},
                {"cert", "show", "abc123"},
                {"cert", "revoke", "abc123"},
                {"cert", "revoke", "abc123", "--reason", "boredom"},
                {"cert", "issue", "device", "bad name!", "--owner", ACCOUNT},
                {"cert", "issue", "device", "laptop"},
                {"cert", "issue", "device", "laptop", "--owner", "nobody@example.org"},
                {"cert", "issue", "device", "laptop", "--owner", ACCOUNT, "--days", "0"},
                {"cert", "issue", "user", "not-an-address"},
                {"cert", "issue", "user", ACCOUNT, "--days", "99999"},
        };
        for (String[] args : bad) {
            Cli.Run r = cli.admin(args);
            assertThat(r.code()).as(String.join(" ", args) + " -> " + r.err()).isEqualTo(Main.BAD_INPUT);
            assertThat(r.err()).as(String.join(" ", args)).doesNotContain("Exception", "\tat ");
            assertThat(r.err().strip()).isNotEmpty();
        }
    }
}
