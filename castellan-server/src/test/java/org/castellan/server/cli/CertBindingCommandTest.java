package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Locale;
import javax.net.ssl.SSLContext;
import org.castellan.security.auth.CertificateFingerprint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code castellan user cert bind|unbind|list} on a running server: a device certificate names no
 * account, so {@code cert issue device --owner} binds it to the owner at once; EXTERNAL with it
 * works until an operator unbinds it, and again once it is bound anew.
 */
class CertBindingCommandTest {

    private static final String BOB = "bob@example.org";

    @TempDir Path tmp;
    LiveServer live;

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    @Test
    void anIssuedDeviceCertificateIsBoundToItsOwnerAndLogsInWithExternalUntilItIsUnbound() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        LiveServer.Issued laptop = live.issueDevice("laptop");
        Path chain = laptop.p12().resolveSibling("chain.pem");
        String fingerprint = CertificateFingerprint.sha256(UserCertCommand.read(chain));
        assertThat(laptop.output()).contains("bound:    sha256:" + fingerprint + " to " + LiveServer.ACCOUNT);
        SSLContext device = live.clientContext(laptop.p12());

        assertThat(external(device)).as("issued with --owner: bound at once").startsWith("+OK");
        Cli.Run list = live.cli.admin("user", "cert", "list");
        assertThat(list.code()).isZero();
        assertThat(list.out()).contains("sha256:" + fingerprint, LiveServer.ACCOUNT, "CN=laptop");
        assertThat(live.cli.admin("user", "cert", "list", LiveServer.ACCOUNT).out()).contains(fingerprint);

        Cli.Run unbound = live.cli.admin("user", "cert", "unbind", "--fingerprint", "sha256:" + fingerprint);
        assertThat(unbound.code()).as(unbound.err()).isZero();
        assertThat(external(device)).as("a device certificate names no account itself").startsWith("-ERR");
        assertThat(live.cli.admin("user", "cert", "list").out()).doesNotContain(fingerprint);

        Cli.Run bound = live.cli.admin("user", "cert", "bind", LiveServer.ACCOUNT, "--certificate", chain.toString());
        assertThat(bound.code()).as(bound.err()).isZero();
        assertThat(bound.out()).contains("sha256:" + fingerprint, "bound to " + LiveServer.ACCOUNT, "CN=laptop");
        assertThat(external(device)).startsWith("+OK");
    }

    @Test
    void oneCertificateBelongsToOneAccountAndBadInputIsExplained() throws Exception {
        Cli cli = Cli.init(tmp.resolve("data"), LiveServer.ACCOUNT);
        assertThat(cli.withStdin("another password\n", "user", "add", BOB, "--password-stdin").code()).isZero();
        String fingerprint = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        // As openssl prints it: upper case, colon-separated pairs.
        String openssl = HexFormat.ofDelimiter(":").withUpperCase().formatHex(HexFormat.of().parseHex(fingerprint));

        Cli.Run card = cli.admin("user", "cert", "bind", LiveServer.ACCOUNT, "--fingerprint", openssl, "--label", "smart card");
        assertThat(card.code()).as(card.err()).isZero();
        assertThat(cli.admin("user", "cert", "list", LiveServer.ACCOUNT).out()).contains(fingerprint, "smart card");

        Cli.Run again = cli.admin("user", "cert", "bind", BOB, "--fingerprint", fingerprint, "--label", "stolen");
        assertThat(again.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(again.err()).contains("already bound", "unbind it first");
        assertThat(cli.admin("user", "cert", "list", BOB).out()).doesNotContain(fingerprint);

        Cli.Run noLabel = cli.admin("user", "cert", "bind", BOB, "--fingerprint", fingerprint.replace('9', '8'));
        assertThat(noLabel.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(noLabel.err()).contains("--label");

        Cli.Run malformed = cli.admin("user", "cert", "bind", BOB, "--fingerprint", "ab:cd", "--label", "x");
        assertThat(malformed.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(malformed.err()).contains("64 hex digits");

        Cli.Run nobody = cli.admin("user", "cert", "bind", "carol@example.org", "--fingerprint", fingerprint.replace('9', '7'),
                "--label", "x");
        assertThat(nobody.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(nobody.err()).contains("carol@example.org");

        Cli.Run notAFile = cli.admin("user", "cert", "bind", BOB, "--certificate", tmp.resolve("missing.pem").toString());
        assertThat(notAFile.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(notAFile.err()).contains("missing.pem");

        Cli.Run both = cli.admin("user", "cert", "unbind", "--fingerprint", fingerprint, "--certificate", "x.pem");
        assertThat(both.code()).isEqualTo(Main.BAD_INPUT);

        assertThat(cli.admin("user", "cert", "unbind", "--fingerprint", fingerprint).code()).isZero();
        Cli.Run twice = cli.admin("user", "cert", "unbind", "--fingerprint", fingerprint);
        assertThat(twice.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(twice.err().toLowerCase(Locale.ROOT)).contains("not bound");
    }

    /** POP3 AUTH EXTERNAL with an empty initial response (RFC 5034 §4) on the client-cert "require" listener. */
    private String external(SSLContext context) throws Exception {
        try (var pop3 = new LiveServer.Pop3(context, live.address("device")).greeted()) {
            return pop3.command("AUTH EXTERNAL =");
        }
    }
}
