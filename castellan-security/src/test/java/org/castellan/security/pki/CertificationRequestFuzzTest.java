package org.castellan.security.pki;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Base64;

/**
 * Jazzer fuzz target for {@link CertificationRequest}, which reads what any enrollment client
 * sends: the fuzzed octets go in as the DER inside the base64 body (the parser a client reaches)
 * and as the body itself. Never an exception; a request it accepts has a key and names it can
 * list. {@code ./mvnw verify} runs it in regression mode over {@code CertificationRequestFuzzTestInputs}
 * (requests made by openssl); {@code JAZZER_FUZZ=1} fuzzes for real (docs/testing.md).
 */
class CertificationRequestFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void requests(FuzzedDataProvider data) {
        byte[] octets = data.consumeRemainingAsBytes();
        for (byte[] body : new byte[][] {Base64.getMimeEncoder().encode(octets), octets}) {
            var serverKey = CertificationRequest.readForServerKey(body);
            assertThat(serverKey).isNotNull();
            if (serverKey instanceof CertificationRequest.Accepted accepted) {
                // RFC 7030 §4.4.1.2: whatever the key-encryption attributes hold, an answer and never an exception.
                assertThat(accepted.request().keyDelivery()).isNotNull();
            }
            var result = CertificationRequest.read(body);
            if (result instanceof CertificationRequest.Accepted accepted) {
                assertThat(accepted.request().publicKey()).isNotNull();
                assertThat(accepted.request().alternativeNames()).isNotNull();
                accepted.request().commonName();
                accepted.request().emailAttribute();
            } else {
                assertThat(((CertificationRequest.Refused) result).reason()).isNotBlank().doesNotContain("\n");
            }
        }
    }
}
