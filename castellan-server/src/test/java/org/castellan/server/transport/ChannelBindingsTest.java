package org.castellan.server.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.security.MessageDigest;
import org.castellan.security.auth.ChannelBinding;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RFC 5929 §4 tls-server-end-point. */
class ChannelBindingsTest {

    @TempDir Path dir;

    @Test
    void serverEndPointIsTheSha256OfTheCertificate() throws Exception {
        TestPki pki = TestPki.create(dir);
        var cert = pki.server().certificate();
        ChannelBinding binding = ChannelBindings.serverEndPoint(cert).orElseThrow();
        assertThat(binding.type()).isEqualTo(ChannelBinding.TLS_SERVER_END_POINT);
        assertThat(binding.data()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
    }
}
