package org.castellan.security.pki;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;

/**
 * {@link CertificationRequest}, pure: what it accepts (RFC 7030 §4.2.1 base64 with line breaks or
 * PEM armour; RSA 2048+, P-256, P-384, Ed25519) and what it refuses with a reason (not base64, not
 * DER, a forged signature, short RSA, DSA, P-521), never by throwing.
 */
class CertificationRequestTest {

    private static KeyPair keys(String algorithm, Object parameter) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
        if (parameter instanceof Integer bits) g.initialize(bits);
        if (parameter instanceof String curve) g.initialize(new ECGenParameterSpec(curve));
        return g.generateKeyPair();
    }

    private static byte[] der(KeyPair keys, String signature, String subject, String... addresses) throws Exception {
        var builder = new JcaPKCS10CertificationRequestBuilder(new X500Name(subject), keys.getPublic());
        if (addresses.length > 0) {
            ExtensionsGenerator extensions = new ExtensionsGenerator();
            GeneralName[] names = new GeneralName[addresses.length];
            for (int i = 0; i < addresses.length; i++) names[i] = new GeneralName(GeneralName.rfc822Name, addresses[i]);
            extensions.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
            builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
        }
        return builder.build(new JcaContentSignerBuilder(signature).build(keys.getPrivate())).getEncoded();
    }

    private static byte[] base64(byte[] der) {
        return Base64.getMimeEncoder().encode(der);
    }

    @Test
    void acceptedKeysAndWhatTheRequestAsksFor() throws Exception {
        record Case(KeyPair keys, String signature) {}
        for (Case c : List.of(new Case(keys("EC", "secp256r1"), "SHA256withECDSA"), new Case(keys("EC", "secp384r1"), "SHA384withECDSA"),
                new Case(keys("RSA", 2048), "SHA256withRSA"), new Case(keys("Ed25519", null), "Ed25519"))) {
            var result = CertificationRequest.read(base64(der(c.keys(), c.signature(), "CN=laptop,O=Home", "alice@example.org")));
            assertThat(result).as(c.signature()).isInstanceOf(CertificationRequest.Accepted.class);
            CertificationRequest request = ((CertificationRequest.Accepted) result).request();
            assertThat(request.publicKey()).isEqualTo(c.keys().getPublic());
            assertThat(request.commonName()).contains("laptop");
            assertThat(request.alternativeNames()).containsExactly(new CertificationRequest.Name(GeneralName.rfc822Name, "alice@example.org"));
        }
    }

    @Test
    void pemArmourAndBase64WithoutBreaksAreRead() throws Exception {
        byte[] der = der(keys("EC", "secp256r1"), "SHA256withECDSA", "CN=phone");
        String pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + new String(base64(der), StandardCharsets.US_ASCII)
                + "\n-----END CERTIFICATE REQUEST-----\n";
        assertThat(CertificationRequest.read(pem.getBytes(StandardCharsets.US_ASCII))).isInstanceOf(CertificationRequest.Accepted.class);
        assertThat(CertificationRequest.read(Base64.getEncoder().encode(der))).isInstanceOf(CertificationRequest.Accepted.class);
    }

    @Test
    void refusalsSayWhy() throws Exception {
        byte[] good = der(keys("EC", "secp256r1"), "SHA256withECDSA", "CN=laptop");
        byte[] forged = good.clone();
        forged[forged.length - 3] ^= 0x01;
        record Case(byte[] body, String reason) {}
        for (Case c : List.of(
                new Case(new byte[0], "empty"),
                new Case("\u00ff\u00fe".getBytes(StandardCharsets.ISO_8859_1), "empty"),
                new Case(base64("not a request".getBytes(StandardCharsets.US_ASCII)), "PKCS#10"),
                new Case(base64(java.util.Arrays.copyOf(good, good.length / 2)), "PKCS#10"),
                new Case(base64(forged), "signature"),
                new Case(base64(der(keys("RSA", 1024), "SHA256withRSA", "CN=old")), "1024 bits is too short"),
                new Case(base64(der(keys("DSA", 2048), "SHA256withDSA", "CN=old")), "not accepted"),
                new Case(base64(der(keys("EC", "secp521r1"), "SHA512withECDSA", "CN=odd")), "P-256 or P-384"))) {
            var result = CertificationRequest.read(c.body());
            assertThat(result).as(c.reason()).isInstanceOf(CertificationRequest.Refused.class);
            assertThat(((CertificationRequest.Refused) result).reason()).contains(c.reason());
        }
    }

    @Test
    void forServerKeyGenerationOnlyTheFormAndNamesCount() throws Exception {
        byte[] weak = der(keys("RSA", 1024), "SHA256withRSA", "CN=tv", "alice@example.org");
        var result = CertificationRequest.readForServerKey(base64(weak));
        assertThat(result).isInstanceOf(CertificationRequest.Accepted.class);
        CertificationRequest request = ((CertificationRequest.Accepted) result).request();
        assertThat(request.publicKey()).as("ignored, RFC 7030 §4.4.1").isNull();
        assertThat(request.commonName()).contains("tv");
        assertThat(request.alternativeNames()).hasSize(1);
        assertThat(CertificationRequest.readForServerKey(base64("garbage".getBytes(StandardCharsets.US_ASCII))))
                .isInstanceOf(CertificationRequest.Refused.class);
    }

    @Test
    void everyPrefixOfARequestIsRefusedWithoutAnException() throws Exception {
        byte[] der = der(keys("EC", "secp256r1"), "SHA256withECDSA", "CN=laptop", "alice@example.org");
        for (int n = 0; n < der.length; n++) {
            var result = CertificationRequest.read(base64(java.util.Arrays.copyOf(der, n)));
            assertThat(result).as("%d of %d octets", n, der.length).isInstanceOf(CertificationRequest.Refused.class);
        }
    }
}
