package org.castellan.server.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.security.MessageDigest;
import org.castellan.security.auth.ChannelBinding;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RFC 5929 §4 tls-server-end-point, and no -PLUS mechanism where no binding is available. */
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

    @Test
    void tls13ConnectionsOfferNoPlusMechanism() {
        try (Pop3TestServer pop3 = Pop3TestServer.start(dir); Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: CAPA
                    S: \\+OK .*
                    """);
            assertThat(t.readMultiline()).anyMatch(l -> l.startsWith("SASL ")).noneMatch(l -> l.contains("-PLUS"));
        }
    }
}
