package org.castellan.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoadTest {

    private static final String SERVER = """
            [server]
            hostname = "mail.example.org"
            data-dir = "."
            """;

    private static final String IMAPS = """
            [[listener]]
            name = "imaps"
            protocol = "imap"
            port = 993
            tls = "implicit"
            """;

    @TempDir
    Path dir;

    @Test
    void missingFileIsNamed() {
        Path file = dir.resolve("etc/castellan.toml");
        assertThatThrownBy(() -> CastellanConfig.load(file))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e).hasMessage(file + ": configuration file not found");
                    assertThat(e.file()).isEqualTo(file.toString());
                    assertThat(e.line()).isZero();
                    assertThat(e.key()).isEmpty();
                });
    }

    @Test
    void directoryIsNotAFile() {
        assertThatThrownBy(() -> CastellanConfig.load(dir)).hasMessage(dir + ": is a directory; name the configuration file itself");
    }

    @Test
    void invalidUtf8IsRefused() throws IOException {
        Path file = Files.write(dir.resolve("castellan.toml"), new byte[] {'[', 's', ']', '\n', (byte) 0xC3, 0x28});
        assertThatThrownBy(() -> CastellanConfig.load(file)).hasMessage(file + ": is not valid UTF-8 text");
    }

    @Test
    void loadsAndResolvesPathsAgainstTheFilesDirectory() throws IOException, ConfigException {
        Path file = write(SERVER + IMAPS);
        Files.createDirectories(dir.resolve("tls"));
        Files.writeString(dir.resolve("tls/chain.pem"), "certificate");
        Files.writeString(dir.resolve("tls/key.pem"), "key");
        CastellanConfig config = CastellanConfig.load(file);
        assertThat(config.file()).isEqualTo(file.toAbsolutePath());
        assertThat(config.server().dataDir()).isEqualTo(dir.toAbsolutePath());
        assertThat(config.tls().certificate()).isEqualTo(dir.resolve("tls/chain.pem").toAbsolutePath());
        assertThat(config.store().directory()).isEqualTo(dir.resolve("mail").toAbsolutePath());
    }

    @Test
    void defaultCertificateAndKeyMustExistWhenAListenerUsesTls() throws IOException {
        Path file = write(SERVER + IMAPS + "[tls]\npreset = \"modern\"\n");
        assertThatThrownBy(() -> CastellanConfig.load(file))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.line()).isEqualTo(9);
                    assertThat(e.key()).isEqualTo("tls.certificate");
                    assertThat(e.problems()).containsExactly(
                            file + ":9: tls.certificate: file " + dir.resolve("tls/chain.pem")
                                    + " does not exist (the default; put the file there, or set certificate in [tls])",
                            file + ":9: tls.key: file " + dir.resolve("tls/key.pem")
                                    + " does not exist (the default; put the file there, or set key in [tls])");
                });
    }

    @Test
    void writtenCertificateIsCheckedOnItsLineEvenWithoutTlsListeners() throws IOException {
        Path file = write(SERVER + "[tls]\ncertificate = \"/nonexistent/x/y.pem\"\n");
        assertThatThrownBy(() -> CastellanConfig.load(file))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
                        file + ":5: tls.certificate: file /nonexistent/x/y.pem does not exist"));
    }

    @Test
    void certificateMustBeARegularFile() throws IOException {
        Files.createDirectories(dir.resolve("certs"));
        Path file = write(SERVER + "[tls]\ncertificate = \"certs\"\n");
        assertThatThrownBy(() -> CastellanConfig.load(file))
                .hasMessage(file + ":5: tls.certificate: " + dir.resolve("certs") + " is not a regular file");
    }

    @Test
    void everyClientCaFileMustExist() throws IOException {
        Files.writeString(dir.resolve("present.pem"), "ca");
        Path file = write(SERVER + "[tls]\nclient-ca-files = [\"present.pem\", \"absent.pem\"]\n");
        assertThatThrownBy(() -> CastellanConfig.load(file))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
                        file + ":5: tls.client-ca-files: file " + dir.resolve("absent.pem") + " does not exist"));
    }

    @Test
    void aWrittenTrustAnchorMustExist() throws IOException {
        Path file = write(SERVER + "[dns]\ntrust-anchor = \"root.ds\"\n");
        assertThatThrownBy(() -> CastellanConfig.load(file))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
                        file + ":5: dns.trust-anchor: file " + dir.resolve("root.ds") + " does not exist"));
    }

    @Test
    void withoutTlsListenersTheDefaultCertificateIsNotNeeded() throws IOException, ConfigException {
        Path file = write(SERVER + IMAPS.replace("\"implicit\"", "\"none\""));
        assertThat(CastellanConfig.load(file).listeners()).hasSize(1);
    }

    @Test
    void validationErrorsCarryTheFileNameAsGiven() throws IOException {
        Path file = write(SERVER + IMAPS.replace("993", "\"abc\""));
        assertThatThrownBy(() -> CastellanConfig.load(file))
                .hasMessage(file + ":7: listener[1].port: expected an integer from 0 to 65535, got \"abc\"");
    }

    @Test
    void relativeDataDirIsRelativeToTheConfigurationFile() throws IOException, ConfigException {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Path file = Files.writeString(etc.resolve("castellan.toml"),
                SERVER.replace("\".\"", "\"../var/castellan\"") + "[tls]\nclient-ca-files = [\"ca/devices.pem\"]\n");
        Files.createDirectories(dir.resolve("var/castellan/ca"));
        Files.writeString(dir.resolve("var/castellan/ca/devices.pem"), "ca");
        CastellanConfig config = CastellanConfig.load(file);
        assertThat(config.server().dataDir()).isEqualTo(dir.resolve("var/castellan").toAbsolutePath());
        assertThat(config.tls().clientCaFiles()).isEqualTo(List.of(dir.resolve("var/castellan/ca/devices.pem")));
    }

    private Path write(String text) throws IOException {
        return Files.writeString(dir.resolve("castellan.toml"), text);
    }
}
