package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * require-certificate-for-password = "same-account" on a real POP3 listener: the password of the
 * device's owner logs in with the device certificate, and neither a password without a
 * certificate nor another account's password with it does.
 */
class TwoFactorLoginTest {

    private static final String BOB = "bob@example.org";

    @TempDir Path tmp;
    LiveServer live;

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    @Test
    void aPasswordNeedsTheOwnersDeviceCertificate() throws Exception {
        live = LiveServer.start(tmp.resolve("data"), String.join("\n", "[[listener]]", "name = \"two-factor\"",
                "protocol = \"pop3\"", "address = \"127.0.0.1\"", "port = 0", "tls = \"implicit\"",
                "client-cert = \"request\"", "require-certificate-for-password = \"same-account\"", ""));
        Cli.Run bob = live.cli.withStdin(Cli.Pop3Password.VALUE + "\n", "user", "add", BOB, "--password-stdin");
        assertThat(bob.code()).as(bob.err()).isZero();
        SSLContext alicesLaptop = live.clientContext(live.issueDevice("laptop").p12());
        SSLContext noCertificate = live.clientContext(null);

        try (var both = new LiveServer.Pop3(alicesLaptop, live.address("two-factor")).login()) {
            assertThat(both.command("QUIT")).startsWith("+OK");
        }
        try (var passwordOnly = new LiveServer.Pop3(noCertificate, live.address("two-factor")).greeted()) {
            assertThat(passwordOnly.command("USER " + LiveServer.ACCOUNT)).startsWith("+OK");
            assertThat(passwordOnly.command("PASS " + Cli.Pop3Password.VALUE)).startsWith("-ERR");
        }
        try (var wrongOwner = new LiveServer.Pop3(alicesLaptop, live.address("two-factor")).greeted()) {
            assertThat(wrongOwner.command("USER " + BOB)).startsWith("+OK");
            assertThat(wrongOwner.command("PASS " + Cli.Pop3Password.VALUE)).startsWith("-ERR");
        }
        // The same account's password alone still works where the listener does not ask for more.
        try (var elsewhere = new LiveServer.Pop3(noCertificate, live.address("optional")).login()) {
            assertThat(elsewhere.command("QUIT")).startsWith("+OK");
        }
    }
}
