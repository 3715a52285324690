package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import org.castellan.security.auth.AuthSettings;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan blocks list|clear} against a running server whose limiter has blocked a real client. */
class BlocksCommandTest {

    @TempDir Path tmp;
    LiveServer live;

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    @Test
    void withoutARunningServerItSaysSoInOneLine() {
        Cli cli = Cli.init(tmp.resolve("data"), LiveServer.ACCOUNT);
        Cli.Run r = cli.admin("blocks", "list");
        assertThat(r.code()).isEqualTo(Main.FAILURE);
        assertThat(r.err().strip()).contains("no Castellan server is running").doesNotContain("\n", "Exception");
    }

    @Test
    void failedLoginsBlockTheAddressListShowsItAndClearLiftsIt() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        SSLContext tls = live.clientContext(null);
        assertThat(live.cli.admin("blocks", "list").out().strip().split("\n")).hasSize(1);

        LiveServer.wrongPasswords(tls, live.address("optional"), AuthSettings.DEFAULT_BLOCK_AFTER + 1);

        Cli.Run list = live.cli.admin("blocks", "list");
        assertThat(list.code()).as(list.err()).isZero();
        assertThat(list.out()).contains("127.0.0.1/32");

        try (var blocked = new LiveServer.Pop3(tls, live.address("optional")).greeted()) {
            assertThat(blocked.command("USER " + LiveServer.ACCOUNT)).startsWith("+OK");
            assertThat(blocked.command("PASS " + Cli.Pop3Password.VALUE)).startsWith("-ERR [SYS/TEMP]");
        }

        Cli.Run clear = live.cli.admin("blocks", "clear", "127.0.0.1");
        assertThat(clear.code()).as(clear.err()).isZero();
        assertThat(clear.out()).matches("(?s)lifted [1-9]\\d* block\\(s\\) for 127.0.0.1\\s*");
        assertThat(live.cli.admin("blocks", "list").out()).doesNotContain("127.0.0.1");

        try (var again = new LiveServer.Pop3(tls, live.address("optional")).login()) {
            assertThat(again.command("QUIT")).startsWith("+OK");
        }
        assertThat(live.cli.admin("blocks", "clear").out()).contains("lifted 0 block(s)");
    }

    /** docs/security.md, "Blocks across nodes": the store keeps the blocks, so a restart does not lift them. */
    @Test
    void aBlockOutlivesARestartOfTheServer() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        SSLContext tls = live.clientContext(null);
        LiveServer.wrongPasswords(tls, live.address("optional"), AuthSettings.DEFAULT_BLOCK_AFTER + 1);
        live.close();
        live = null;

        Path config = tmp.resolve("data").resolve("castellan.toml");
        try (Castellan again = Castellan.start(CastellanConfig.load(config))) {
            Cli cli = Cli.on(tmp.resolve("data"));
            assertThat(cli.admin("blocks", "list").out()).contains("127.0.0.1/32");
            try (var blocked = new LiveServer.Pop3(tls, again.addresses().get("optional")).greeted()) {
                assertThat(blocked.command("USER " + LiveServer.ACCOUNT)).startsWith("+OK");
                assertThat(blocked.command("PASS " + Cli.Pop3Password.VALUE)).startsWith("-ERR [SYS/TEMP]");
            }
            assertThat(cli.admin("blocks", "clear", "127.0.0.1").code()).isZero();
        }
        try (Castellan third = Castellan.start(CastellanConfig.load(config))) {
            assertThat(Cli.on(tmp.resolve("data")).admin("blocks", "list").out()).as("cleared for good")
                    .doesNotContain("127.0.0.1");
        }
    }

    @Test
    void badAddressesAreRefusedInOneLine() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        for (String bad : new String[] {"mail.example.com", "999.1.1.1", "1.2.3"}) {
            Cli.Run r = live.cli.admin("blocks", "clear", bad);
            assertThat(r.code()).as(bad + " -> " + r.err()).isNotZero();
            assertThat(r.err()).contains("not an IPv4 or IPv6 address").doesNotContain("Exception");
        }
        // The server's own reading: an octet of 256 would send the address to a name lookup; 255 is an octet.
        for (String bad : new String[] {"256.1.1.1", "1.2.3.256", "1:2:3:4:5:6:7:8:9"}) {
            Cli.Run r = live.cli.admin("blocks", "clear", bad);
            assertThat(r.code()).as(bad + " -> " + r.err()).isNotZero();
            assertThat(r.err()).contains("not an IPv4 or IPv6 address").doesNotContain("Exception");
        }
        for (String good : new String[] {"255.255.255.255", "0.0.0.0", "::1", "2001:DB8::1", "::ffff:192.0.2.1"}) {
            Cli.Run r = live.cli.admin("blocks", "clear", good);
            assertThat(r.code()).as(good + " -> " + r.err()).isZero();
            assertThat(r.out()).contains("lifted 0 block(s) for " + good);
        }
    }
}
