package org.castellan.server.tls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.castellan.security.pki.Pem;

/**
 * An operator's own CA, outside Castellan: one self-signed P-256 root that issues server
 * certificates (for SNI) and client certificates (optionally naming an OCSP responder), and signs
 * CRLs. Keys are written 0600 from the start.
 */
final class ExternalCa {

    /** Backdating absorbs clock differences between the test JVM and external tools. */
    private static final Duration BACKDATE = Duration.ofHours(1);
    private static final Duration VALIDITY = Duration.ofDays(2);

    /** A certificate, its key, and its files: chain PEM, key PEM, and both in one PEM. */
    record Issued(X509Certificate certificate, PrivateKey key, Path chainFile, Path keyFile, Path combinedFile) {
        BigInteger serial() {
            return certificate.getSerialNumber();
        }
    }

    private final Path directory;
    private final SecureRandom random = new SecureRandom();
    private final KeyPair keys;
    private final X509Certificate certificate;
    private final Path certificateFile;
    private final List<BigInteger> revoked = new ArrayList<>();
    private int issued;

    ExternalCa(Path directory, String name) {
        this.directory = directory;
        this.keys = newKeyPair();
        Instant now = Instant.now();
        try {
            X500Name subject = new X500Name("O=Operator,CN=" + name);
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(VALIDITY)), subject, keys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            certificate = sign(b);
            certificateFile = directory.resolve(name + ".crt");
            Files.writeString(certificateFile, Pem.encode(certificate));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    X509Certificate certificate() {
        return certificate;
    }

    Path certificateFile() {
        return certificateFile;
    }

    /** A server certificate for {@code dnsNames} (each may be a {@code *.} wildcard). */
    Issued server(String name, String... dnsNames) {
        List<GeneralName> names = new ArrayList<>();
        for (String dns : dnsNames) names.add(new GeneralName(GeneralName.dNSName, dns));
        return leaf(name, "CN=" + dnsNames[0], KeyPurposeId.id_kp_serverAuth, names, null);
    }

    /** A server certificate for {@code dnsName} whose Authority Information Access names the responder {@code ocsp}. */
    Issued server(String name, URI ocsp, String dnsName) {
        return leaf(name, "CN=" + dnsName, KeyPurposeId.id_kp_serverAuth,
                List.of(new GeneralName(GeneralName.dNSName, dnsName)), ocsp);
    }

    /** A client certificate; with {@code ocsp}, its Authority Information Access names that responder. */
    Issued client(String name, URI ocsp) {
        return leaf(name, "CN=" + name + "@example.org", KeyPurposeId.id_kp_clientAuth,
                List.of(new GeneralName(GeneralName.rfc822Name, name + "@example.org")), ocsp);
    }

    /** Lists {@code serial} in the CRLs signed from now on. */
    void revoke(BigInteger serial) {
        revoked.add(serial);
    }

    /**
     * Writes a CRL of what is revoked so far to {@code file}, as an operator's tool would: to a
     * new file renamed over the old one, so that no reader sees it half-written.
     */
    void writeCrl(Path file) {
        Instant now = Instant.now();
        try {
            X509v2CRLBuilder b = new X509v2CRLBuilder(name(certificate), Date.from(now.minus(BACKDATE)));
            b.setNextUpdate(Date.from(now.plus(VALIDITY)));
            for (BigInteger serial : revoked) b.addCRLEntry(serial, Date.from(now), CRLReason.keyCompromise);
            var crl = new JcaX509CRLConverter().getCRL(b.build(signer(keys.getPrivate())));
            Path staged = file.resolveSibling(file.getFileName() + ".new");
            Files.writeString(staged, Pem.encode(crl));
            Files.move(staged, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign the CRL", e);
        }
    }

    /** A responder certificate this CA authorises for OCSP signing (RFC 6960 §4.2.2.2). */
    Issued ocspSigner() {
        return leaf("ocsp-signer", "CN=OCSP responder", KeyPurposeId.id_kp_OCSPSigning, List.of(), null);
    }

    PrivateKey privateKey() {
        return keys.getPrivate();
    }

    /** A TLS client presenting {@code client} and trusting the CA certificates in {@code trustStore}. */
    static SSLContext clientContext(Issued client, KeyStore trustStore) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            char[] password = "test".toCharArray();
            store.setKeyEntry("key", client.key(), password, new X509Certificate[] {client.certificate()});
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password);
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trustStore);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a TLS client context", e);
        }
    }

    private Issued leaf(String name, String subject, KeyPurposeId usage, List<GeneralName> altNames, URI ocsp) {
        KeyPair leafKeys = newKeyPair();
        Instant now = Instant.now();
        try {
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name(certificate), serial(),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(VALIDITY)), new X500Name(subject),
                    leafKeys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(usage));
            if (!altNames.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(altNames.toArray(new GeneralName[0])));
            }
            if (ocsp != null) {
                b.addExtension(Extension.authorityInfoAccess, false, new AuthorityInformationAccess(
                        AccessDescription.id_ad_ocsp, new GeneralName(GeneralName.uniformResourceIdentifier, ocsp.toString())));
            }
            X509Certificate leaf = sign(b);
            String stem = name + "-" + (++issued);
            Path chainFile = directory.resolve(stem + ".crt");
            Files.writeString(chainFile, Pem.encode(leaf, certificate));
            Path keyFile = secret(directory.resolve(stem + ".key"), Pem.encode(leafKeys.getPrivate()));
            Path combined = secret(directory.resolve(stem + ".pem"), Pem.encode(leaf, certificate, leafKeys.getPrivate()));
            return new Issued(leaf, leafKeys.getPrivate(), chainFile, keyFile, combined);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Creates {@code file} 0600, then writes it: the key is never readable by others, not even for a moment. */
    private static Path secret(Path file, String text) throws IOException {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, text, StandardCharsets.US_ASCII);
        return file;
    }

    private X509Certificate sign(X509v3CertificateBuilder builder) {
        try {
            return new JcaX509CertificateConverter().getCertificate(builder.build(signer(keys.getPrivate())));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign a test certificate", e);
        }
    }

    static org.bouncycastle.operator.ContentSigner signer(PrivateKey key) {
        try {
            return new JcaContentSignerBuilder("SHA256withECDSA").build(key);
        } catch (OperatorCreationException e) {
            throw new IllegalStateException("cannot sign with ECDSA", e);
        }
    }

    private static X500Name name(X509Certificate certificate) {
        return X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
    }

    private BigInteger serial() {
        return new BigInteger(128, random).setBit(127);
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("EC P-256 is missing from this JDK", e);
        }
    }
}
