package org.castellan.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.castellan.security.auth.CertificateForPassword;
import org.junit.jupiter.api.Test;

/** The listener key require-certificate-for-password. */
class CertificateForPasswordConfigTest {

    private static final Path FILE = Path.of("/etc/castellan/castellan.toml");

    private static String config(String listenerLines) {
        return """
                [server]
                hostname = "mail.example.org"
                data-dir = "/var/lib/castellan"
                [[listener]]
                name = "imaps"
                protocol = "imap"
                port = 993
                tls = "implicit"
                """ + listenerLines;
    }

    @Test
    void defaultsToNoAndReadsEveryValue() throws ConfigException {
        assertThat(CastellanConfig.parse(config(""), FILE).listeners().getFirst().certificateForPassword())
                .isEqualTo(CertificateForPassword.NO);
        assertThat(CastellanConfig.parse(config("client-cert = \"request\"\nrequire-certificate-for-password = \"any\"\n"),
                FILE).listeners().getFirst().certificateForPassword()).isEqualTo(CertificateForPassword.ANY);
        assertThat(CastellanConfig.parse(config("client-cert = \"require\"\nrequire-certificate-for-password = \"same-account\"\n"),
                FILE).listeners().getFirst().certificateForPassword()).isEqualTo(CertificateForPassword.SAME_ACCOUNT);
    }

    @Test
    void needsAListenerThatAsksForCertificates() {
        assertThatThrownBy(() -> CastellanConfig.parse(config("require-certificate-for-password = \"any\"\n"), FILE))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.key()).isEqualTo("listener[1].require-certificate-for-password");
                    assertThat(e.getMessage()).contains("needs client-cert = \"request\" or \"require\"");
                });
    }

    @Test
    void unknownValuesAreRefused() {
        assertThatThrownBy(() -> CastellanConfig.parse(config("client-cert = \"request\"\nrequire-certificate-for-password = \"yes\"\n"), FILE))
                .isInstanceOfSatisfying(ConfigException.class, e ->
                        assertThat(e.getMessage()).contains("expected one of \"no\", \"any\", \"same-account\""));
    }
}
