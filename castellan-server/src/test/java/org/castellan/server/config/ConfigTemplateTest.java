package org.castellan.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.security.tls.TlsPolicy.Preset;
import org.castellan.server.config.ConfigTemplate.ListenerSpec;
import org.castellan.server.config.ConfigTemplate.Params;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigTemplateTest {

    private static final List<ListenerSpec> LISTENERS = List.of(
            new ListenerSpec("smtp", Protocol.SMTP, "0.0.0.0", 25, TlsMode.STARTTLS, ClientCertMode.NONE),
            new ListenerSpec("submissions", Protocol.SUBMISSION, "127.0.0.1", 465, TlsMode.IMPLICIT, ClientCertMode.REQUEST),
            new ListenerSpec("imaps", Protocol.IMAP, "::", 993, TlsMode.IMPLICIT, ClientCertMode.REQUIRE),
            new ListenerSpec("pop3s", Protocol.POP3, "0.0.0.0", 0, TlsMode.IMPLICIT, ClientCertMode.NONE));

    @TempDir
    Path dir;

    @Test
    void renderedFileLoadsBackToTheSameValuesAndDefaults() throws IOException, ConfigException {
        String text = ConfigTemplate.render(new Params("mail.example.org", Path.of("."), LISTENERS));
        Path file = Files.writeString(dir.resolve("castellan.toml"), text);
        Files.createDirectories(dir.resolve("tls"));
        Files.writeString(dir.resolve("tls/chain.pem"), "certificate");
        Files.writeString(dir.resolve("tls/key.pem"), "key");

        CastellanConfig config = CastellanConfig.load(file);

        Path data = dir.toAbsolutePath();
        assertThat(config.server()).isEqualTo(new Server("mail.example.org", data, Role.ALL, Duration.ofSeconds(30),
                data.resolve("admin.sock")));
        assertThat(config.store()).isEqualTo(new Store(StoreKind.EMBEDDED, data.resolve("mail")));
        assertThat(config.tls()).isEqualTo(new Tls(Preset.INTERMEDIATE, data.resolve("tls/chain.pem"),
                data.resolve("tls/key.pem"), data.resolve("pki"), List.of()));
        assertThat(config.auth()).isEqualTo(new Auth(Auth.DEFAULT_SCRAM_ITERATIONS));
        assertThat(config.listeners()).hasSize(LISTENERS.size());
        for (int i = 0; i < LISTENERS.size(); i++) {
            ListenerSpec spec = LISTENERS.get(i);
            assertThat(config.listeners().get(i)).isEqualTo(new Listener(spec.name(), spec.protocol(), spec.address(),
                    spec.port(), spec.tls(), spec.clientCert(), false, List.of()));
        }
        assertThat(config.rules()).isEmpty();
    }

    @Test
    void everyKeyIsDocumentedInTheFile() {
        String text = ConfigTemplate.render(new Params("mail.example.org", Path.of("."), LISTENERS));
        for (ConfigKeys.Key key : ConfigKeys.all()) {
            assertThat(text).as(key.path()).containsPattern("(?m)^(# )?" + key.name() + " = ");
            String firstWords = key.description().substring(0, key.description().indexOf(' ', 20));
            assertThat(text).as(key.path()).contains(firstWords);
        }
        assertThat(text.lines()).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(100));
        // Optional keys stay commented at their default so that later default changes reach this file.
        assertThat(text).contains("# role = \"all\"").contains("# scram-iterations = 65536").contains("# login-timeout = \"60s\"");
    }

    @Test
    void withoutListenersTheFileLoadsWithoutTlsFiles() throws IOException, ConfigException {
        Path data = dir.resolve("state dir \"quoted\"");
        String text = ConfigTemplate.render(new Params("mx.example.net", data, List.of()));
        Path file = Files.writeString(dir.resolve("castellan.toml"), text);
        CastellanConfig config = CastellanConfig.load(file);
        assertThat(config.server().dataDir()).isEqualTo(data.toAbsolutePath());
        assertThat(config.listeners()).isEmpty();
    }

    @Test
    void invalidParametersAreRefusedWithTheReason() {
        assertThatThrownBy(() -> ConfigTemplate.render(new Params("not a host", Path.of("."), LISTENERS)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("server.hostname: expected a host name");
        List<ListenerSpec> twice = List.of(LISTENERS.get(0), LISTENERS.get(0));
        assertThatThrownBy(() -> ConfigTemplate.render(new Params("mail.example.org", Path.of("."), twice)))
                .hasMessageContaining("listener[2].name: duplicate listener name \"smtp\"");
    }
}
