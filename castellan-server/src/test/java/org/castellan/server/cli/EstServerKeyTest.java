package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.cms.SignedData;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.RawHttps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code serverkeygen} with the key returned encrypted (RFC 7030 §4.4.1.2, §4.4.2) to the TLS client
 * certificate, which OpenSSL decrypts; and {@code user-encryption/serverkeygen}, whose key is
 * escrowed before it is answered and recovered with {@code castellan kms recover}.
 */
class EstServerKeyTest {

    private static final String BASE = "/.well-known/est/";
    private static final String PASSWORD = Cli.Pop3Password.VALUE;
    private static final Pattern SHARE = Pattern.compile("(?m)^share (\\d+): (\\S+)$");

    @TempDir Path tmp;
    LiveServer live;

    @BeforeEach
    void start() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
    }

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    /** A server-key request for {@code cn}, optionally asking for the key encrypted to {@code keyId}. */
    private static String request(String cn, byte[] keyId) throws Exception {
        KeyPair ignored = EstEnrollmentTest.ecKeys();
        var builder = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + cn), ignored.getPublic());
        if (keyId != null) {
            builder.addAttribute(org.castellan.security.pki.CertificationRequest.ASYMMETRIC_DECRYPT_KEY_ID,
                    new DEROctetString(keyId));
        }
        PKCS10CertificationRequest csr = builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(ignored.getPrivate()));
        return EstEnrollmentTest.base64(csr.getEncoded());
    }

    private static List<String> parts(RawHttps.Response r) {
        String type = r.header("Content-Type");
        String boundary = type.substring(type.indexOf('=') + 1);
        List<String> parts = new ArrayList<>(List.of(r.text().split("--" + boundary)));
        return parts.subList(1, 3);
    }

    private static byte[] body(String part) {
        return Base64.getMimeDecoder().decode(part.substring(part.indexOf("\r\n\r\n") + 4).strip());
    }

    private static X509Certificate certificate(byte[] certsOnly) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificates(new java.io.ByteArrayInputStream(certsOnly)).iterator().next();
    }

    private static void assertKeyOf(java.security.PrivateKey key, PublicKey certified) throws Exception {
        Signature signature = Signature.getInstance("SHA256withECDSA");
        signature.initSign(key);
        signature.update(new byte[] {7});
        byte[] signed = signature.sign();
        signature.initVerify(certified);
        signature.update(new byte[] {7});
        assertThat(signature.verify(signed)).as("the key is the certificate's").isTrue();
    }

    @Test
    void aKeyAskedForEncryptedComesAsEnvelopedDataThatOpenSslDecryptsWithTheClientsKey() throws Exception {
        ExternalClient.require("openssl", "openssl");
        LiveServer.Issued laptop = live.issueDevice("laptop");
        Path handed = laptop.p12().getParent();
        X509Certificate current = EstEnrollmentTest.certificate(handed.resolve("chain.pem"));
        byte[] ski = SubjectKeyIdentifier.getInstance(org.bouncycastle.asn1.ASN1OctetString.getInstance(
                current.getExtensionValue(Extension.subjectKeyIdentifier.getId())).getOctets()).getKeyIdentifier();
        String auth = EstEnrollmentTest.basic(LiveServer.ACCOUNT, PASSWORD);

        try (RawHttps http = new RawHttps(live.clientContext(laptop.p12()), live.address("https"))) {
            RawHttps.Response r = http.exchange(EstEnrollmentTest.post(BASE + "serverkeygen", request("tv", ski), auth));
            assertThat(r.status()).as(r.text()).isEqualTo(200);
            List<String> parts = parts(r);
            assertThat(parts.get(0)).contains("Content-Type: application/pkcs7-mime; smime-type=server-generated-key\r\n");
            X509Certificate issued = certificate(body(parts.get(1)));

            Path work = Files.createDirectory(tmp.resolve("work"));
            Files.write(work.resolve("key.p7m"), body(parts.get(0)));
            Files.writeString(work.resolve("leaf.pem"), org.castellan.security.pki.Pem.encode(current));
            ExternalClient.runOk(List.of("openssl", "cms", "-decrypt", "-inform", "DER", "-in", work.resolve("key.p7m").toString(),
                    "-recip", work.resolve("leaf.pem").toString(), "-inkey", handed.resolve("key.pem").toString(),
                    "-out", work.resolve("signed.der").toString()), Map.of());

            // The decrypted content is a SignedData by the device CA of an AsymmetricKeyPackage (RFC 5958).
            SignedData signedData = SignedData.getInstance(Files.readAllBytes(work.resolve("signed.der")));
            CMSSignedData signed = new CMSSignedData(new ContentInfo(CMSObjectIdentifiers.signedData, signedData));
            X509Certificate deviceCa = EstEnrollmentTest.certificate(tmp.resolve("data/pki/device-ca.crt"));
            SignerInformation signer = signed.getSignerInfos().getSigners().iterator().next();
            assertThat(signer.verify(new JcaSimpleSignerInfoVerifierBuilder().build(deviceCa))).isTrue();
            assertThat(signed.getSignedContentTypeOID()).isEqualTo("2.16.840.1.101.2.1.2.78.5");
            ASN1Sequence keyPackage = ASN1Sequence.getInstance(signed.getSignedContent().getContent());
            var key = new JcaPEMKeyConverter().getPrivateKey(PrivateKeyInfo.getInstance(keyPackage.getObjectAt(0)));
            assertKeyOf(key, issued.getPublicKey());
            assertThat(issued.getSubjectX500Principal().getName()).contains("CN=tv");
        }
    }

    @Test
    void aKeyIdentifierThatIsNotTheClientCertificateIsRefused() throws Exception {
        LiveServer.Issued laptop = live.issueDevice("laptop");
        String auth = EstEnrollmentTest.basic(LiveServer.ACCOUNT, PASSWORD);
        try (RawHttps http = new RawHttps(live.clientContext(laptop.p12()), live.address("https"))) {
            RawHttps.Response r = http.exchange(EstEnrollmentTest.post(BASE + "serverkeygen", request("tv", new byte[20]), auth));
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.text()).contains("AsymmetricDecryptKeyIdentifier").contains("TLS client certificate");
        }
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            RawHttps.Response r = http.exchange(EstEnrollmentTest.post(BASE + "serverkeygen", request("tv", new byte[20]), auth));
            assertThat(r.status()).isEqualTo(400);
        }
        // RFC 7030 §4.4.1.2: refused before any key is made; only the laptop's certificate was issued.
        assertThat(live.cli.admin("cert", "list").out()).doesNotContain("CN=tv");
    }

    @Test
    void anEncryptionKeyMadeHereIsEscrowedBeforeItIsAnsweredAndRecovered() throws Exception {
        String auth = EstEnrollmentTest.basic(LiveServer.ACCOUNT, PASSWORD);
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            RawHttps.Response refused = http.exchange(EstEnrollmentTest.post(BASE + "user-encryption/serverkeygen",
                    request(LiveServer.ACCOUNT, null), auth));
            assertThat(refused.status()).isEqualTo(403);
            assertThat(refused.text()).contains("escrow");
        }
        Cli.Run init = live.cli.admin("kms", "escrow", "init", "--shares", "5", "--threshold", "3");
        assertThat(init.code()).as(init.err()).isZero();
        List<String> shares = new ArrayList<>();
        Matcher m = SHARE.matcher(init.out());
        while (m.find()) shares.add(m.group(2));

        byte[] answered;
        X509Certificate issued;
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            RawHttps.Response r = http.exchange(EstEnrollmentTest.post(BASE + "user-encryption/serverkeygen",
                    request(LiveServer.ACCOUNT, null), auth));
            assertThat(r.status()).as(r.text()).isEqualTo(200);
            List<String> parts = parts(r);
            assertThat(parts.get(0)).contains("Content-Type: application/pkcs8");
            answered = body(parts.get(0));
            issued = certificate(body(parts.get(1)));
        }
        boolean[] usage = issued.getKeyUsage();
        assertThat(usage[0]).as("digitalSignature").isFalse();
        assertThat(usage[4]).as("keyAgreement").isTrue();
        String serial = issued.getSerialNumber().toString(16);
        assertThat(tmp.resolve("data/pki/escrow/keys/" + serial + ".p7m")).exists();

        Path password = tmp.resolve("pw");
        Files.writeString(password, "a long enough password\n");
        Path p12 = tmp.resolve("recovered.p12");
        Cli.Run recovered = live.cli.withStdin(String.join("\n", shares.subList(1, 4)) + "\n", "kms", "recover", serial,
                "--out", p12.toString(), "--password-file", password.toString());
        assertThat(recovered.code()).as(recovered.err()).isZero();
        var store = java.security.KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(p12)) {
            store.load(in, "a long enough password".toCharArray());
        }
        var key = store.getKey(store.aliases().nextElement(), "a long enough password".toCharArray());
        assertThat(PrivateKeyInfo.getInstance(key.getEncoded()).parsePrivateKey())
                .isEqualTo(PrivateKeyInfo.getInstance(answered).parsePrivateKey());
    }
}
