package org.castellan.security.tls.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The key-log line handling and the derivation; {@code TlsExporterTest} checks them against a real client. */
class ExporterKeyLogTest {

    private static final HexFormat HEX = HexFormat.of();
    private final Random random = new Random(9266);

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static byte[] line(String label, byte[] clientRandom, byte[] secret) {
        return (label + " " + HEX.formatHex(clientRandom) + " " + HEX.formatHex(secret)).getBytes(StandardCharsets.US_ASCII);
    }

    @ParameterizedTest
    @ValueSource(strings = {"SHA-256", "SHA-384"})
    void hmacIsRfc2104AsTheJdkComputesIt(String algorithm) throws Exception {
        Mac mac = Mac.getInstance("Hmac" + algorithm.replace("-", ""));
        for (int keyLength : new int[] {0, 1, 32, 48, 64}) {
            byte[] key = bytes(keyLength);
            byte[] message = bytes(100);
            if (keyLength > 0) {
                mac.init(new SecretKeySpec(key, mac.getAlgorithm()));
                assertThat(ExporterKeyLog.hmac(MessageDigest.getInstance(algorithm), key, message)).isEqualTo(mac.doFinal(message));
            }
        }
    }

    @Test
    void theExporterSecretOfThisConnectionGivesItsBinding() {
        byte[] clientRandom = bytes(32);
        byte[] secret = bytes(48);
        byte[] expected = ExporterKeyLog.tlsExporter("SHA-384", secret.clone(), ExporterKeyLog.CHANNEL_BINDING_LABEL, 32);
        ExporterKeyLog.Exporter exporter = new ExporterKeyLog.Exporter(1);
        exporter.derive(line("EXPORTER_SECRET", clientRandom, secret), clientRandom);
        assertThat(exporter.channelBinding("TLS_AES_256_GCM_SHA384")).contains(expected);
        // The hash is the cipher suite's: a suite of another hash gets nothing.
        assertThat(exporter.channelBinding("TLS_AES_128_GCM_SHA256")).isEmpty();
        exporter.handshakeDone(false);
        assertThat(exporter.channelBinding("TLS_AES_256_GCM_SHA384")).as("a failed handshake forgets it").isEmpty();
    }

    @Test
    void aLineOfAnotherConnectionOrMalformedGivesNoBinding() {
        byte[] clientRandom = bytes(32);
        byte[] secret = bytes(32);
        byte[] other = clientRandom.clone();
        other[31] ^= 1;
        for (byte[] line : new byte[][] {
                line("EXPORTER_SECRET", other, secret),
                line("EXPORTER_SECRET", clientRandom, bytes(20)),
                ("EXPORTER_SECRET " + HEX.formatHex(clientRandom) + " zz").getBytes(StandardCharsets.US_ASCII),
                ("EXPORTER_SECRET " + HEX.formatHex(clientRandom)).getBytes(StandardCharsets.US_ASCII)}) {
            ExporterKeyLog.Exporter exporter = new ExporterKeyLog.Exporter(1);
            exporter.derive(line, clientRandom);
            assertThat(exporter.channelBinding("TLS_AES_128_GCM_SHA256")).as(new String(line, StandardCharsets.US_ASCII)).isEmpty();
        }
    }

    @Test
    void everyLineIsZeroedWhetherUsedOrNot() {
        // A connection no engine registered (pointer 0): nothing is derived, and no secret stays behind.
        for (String label : new String[] {"EXPORTER_SECRET", "CLIENT_TRAFFIC_SECRET_0", "CLIENT_RANDOM"}) {
            byte[] line = line(label, bytes(32), bytes(32));
            ExporterKeyLog.INSTANCE.handle(0, line);
            assertThat(line).as(label).containsOnly(0);
        }
    }
}
