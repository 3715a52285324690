package org.castellan.security.pki;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Private keys as Pem writes them: unencrypted PKCS#8 whose EC keys carry their public key
 * (RFC 5915 §3), the form OpenSSL writes and GnuTLS requires. {@code IssuedKeyInteropTest} in
 * castellan-server loads the issued files with openssl, certtool, pk12util and Java.
 */
class PemTest {

    @TempDir Path temp;

    private static KeyPair p256() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    /** The DER inside the one PEM block of {@code file}. */
    private static byte[] der(Path file, String label) throws Exception {
        String text = Files.readString(file);
        assertThat(text).startsWith("-----BEGIN " + label + "-----\n").endsWith("-----END " + label + "-----\n");
        return Base64.getMimeDecoder().decode(text.replaceAll("-----[A-Z ]+-----", ""));
    }

    @Test
    void anEcKeyIsWrittenAsPkcs8WithItsPublicKeyAndCurve() throws Exception {
        KeyPair pair = p256();
        Path file = temp.resolve("key.pem");
        Pem.writePrivateKey(file, pair.getPrivate());

        PrivateKeyInfo info = PrivateKeyInfo.getInstance(der(file, "PRIVATE KEY"));
        assertThat(info.getPrivateKeyAlgorithm().getAlgorithm()).isEqualTo(X9ObjectIdentifiers.id_ecPublicKey);
        assertThat(info.getPrivateKeyAlgorithm().getParameters()).isEqualTo(X9ObjectIdentifiers.prime256v1);
        ECPrivateKey inner = ECPrivateKey.getInstance(info.parsePrivateKey());
        // The point the JDK's public key holds, uncompressed (SEC 1 §2.3.3), in publicKey [1].
        ECPublicKey expected = (ECPublicKey) pair.getPublic();
        byte[] point = EC5Util.convertPoint(expected.getParams(), expected.getW()).getEncoded(false);
        assertThat(inner.getPublicKey()).isNotNull();
        assertThat(inner.getPublicKey().getOctets()).isEqualTo(point);
        assertThat(inner.getKey()).isEqualTo(((java.security.interfaces.ECPrivateKey) pair.getPrivate()).getS());

        // Read back, it still signs for the same public key.
        PrivateKey read = Pem.readPrivateKey(file);
        Signature signer = Signature.getInstance("SHA256withECDSA");
        signer.initSign(read);
        signer.update(new byte[] {1, 2, 3});
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance("SHA256withECDSA");
        verifier.initVerify(pair.getPublic());
        verifier.update(new byte[] {1, 2, 3});
        assertThat(verifier.verify(signature)).isTrue();
    }

    @Test
    void completeKeepsTheKeyAndAddsThePublicKeyOnlyWhereItIsMissing() throws Exception {
        KeyPair pair = p256();
        PrivateKey complete = Pem.complete(pair.getPrivate());
        assertThat(((java.security.interfaces.ECPrivateKey) complete).getS())
                .isEqualTo(((java.security.interfaces.ECPrivateKey) pair.getPrivate()).getS());
        assertThat(ECPrivateKey.getInstance(PrivateKeyInfo.getInstance(complete.getEncoded()).parsePrivateKey()).getPublicKey())
                .isNotNull();
        assertThat(Pem.complete(complete)).isSameAs(complete);

        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        PrivateKey rsaKey = rsa.generateKeyPair().getPrivate();
        assertThat(Pem.complete(rsaKey)).isSameAs(rsaKey);
    }

    @Test
    void issuedKeysCarryTheirPublicKeyInMemoryAsWellAsInTheFile() throws Exception {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Test");
        IssuedCertificate issued = ca.issueDevice("laptop", org.castellan.protocol.mail.EmailAddress.of("alice@example.org"),
                java.time.Duration.ofDays(1));
        // The PKCS#12 export takes the key object itself: its encoding must be complete too.
        assertThat(ECPrivateKey.getInstance(PrivateKeyInfo.getInstance(issued.privateKey().getEncoded()).parsePrivateKey())
                .getPublicKey()).isNotNull();
        IssuedCertificate.Files files = issued.writeTo(temp.resolve("out"));
        assertThat(ECPrivateKey.getInstance(PrivateKeyInfo.getInstance(der(files.key(), "PRIVATE KEY")).parsePrivateKey())
                .getPublicKey()).isNotNull();
    }
}
