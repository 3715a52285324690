package org.castellan.testkit;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
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
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away PKI for tests, written as PEM files into a directory (normally a JUnit
 * {@code @TempDir}) so that JDK clients, Netty servers, {@code curl}, {@code openssl} and Python
 * can all use the same certificates.
 *
 * <p>What it builds: a root CA; an issuing CA under it; a server certificate for
 * {@code localhost}, {@code 127.0.0.1} and {@code ::1}; and client certificates that are valid,
 * expired, not yet valid, of the wrong usage (serverAuth instead of clientAuth), revoked (listed
 * in {@link #crlFile()}), and one from an unrelated CA that nothing trusts. All keys are ECDSA
 * P-256, as Castellan's own CA uses.
 *
 * <p>Failure: {@link #create(Path)} throws {@link UncheckedIOException} if the directory cannot be
 * written and {@link IllegalStateException} if the JDK lacks EC P-256 (it never does).
 */
public final class TestPki {

    /** The client certificates' identity; tests map it to an account. */
    public static final String CLIENT_EMAIL = "alice@example.org";

    private static final String SIGNATURE = "SHA256withECDSA";
    /** Backdating absorbs clock differences between the test JVM and external tools. */
    private static final Duration BACKDATE = Duration.ofHours(1);
    /** Long enough for any test run, short enough that a leaked file is useless. */
    private static final Duration VALIDITY = Duration.ofDays(2);

    private final Path directory;
    private final SecureRandom random = new SecureRandom();
    private final TestCertificate root;
    private final TestCertificate issuingCa;
    private final TestCertificate server;
    private final TestCertificate client;
    private final TestCertificate expiredClient;
    private final TestCertificate notYetValidClient;
    private final TestCertificate wrongUsageClient;
    private final TestCertificate revokedClient;
    private final TestCertificate untrustedClient;
    private final Path crlFile;
    private final Path trustFile;

    private TestPki(Path directory) {
        this.directory = directory;
        Instant now = Instant.now();
        Instant from = now.minus(BACKDATE);
        Instant until = now.plus(VALIDITY);

        root = ca("root", "O=Castellan Test,CN=Castellan Test Root CA", null, from, until);
        issuingCa = ca("issuing-ca", "O=Castellan Test,CN=Castellan Test Issuing CA", root, from, until);
        server = leaf("server", "O=Castellan Test,CN=localhost", issuingCa, from, until,
                KeyPurposeId.id_kp_serverAuth, serverNames());
        client = clientLeaf("client", issuingCa, from, until, KeyPurposeId.id_kp_clientAuth);
        expiredClient = clientLeaf("expired-client", issuingCa,
                now.minus(VALIDITY), now.minus(Duration.ofDays(1)), KeyPurposeId.id_kp_clientAuth);
        notYetValidClient = clientLeaf("not-yet-valid-client", issuingCa,
                now.plus(Duration.ofDays(1)), now.plus(VALIDITY), KeyPurposeId.id_kp_clientAuth);
        wrongUsageClient = clientLeaf("wrong-usage-client", issuingCa, from, until,
                KeyPurposeId.id_kp_serverAuth);
        revokedClient = clientLeaf("revoked-client", issuingCa, from, until, KeyPurposeId.id_kp_clientAuth);
        TestCertificate untrustedRoot =
                ca("untrusted-root", "O=Somebody Else,CN=Unrelated Test CA", null, from, until);
        untrustedClient = clientLeaf("untrusted-client", untrustedRoot, from, until,
                KeyPurposeId.id_kp_clientAuth);

        crlFile = directory.resolve("issuing-ca.crl");
        writeText(crlFile, pem(crl(now)), false);
        trustFile = directory.resolve("trust.pem");
        writeText(trustFile, pem(root.certificate()), false);
    }

    /** Builds the whole PKI into {@code directory}, which must exist. */
    public static TestPki create(Path directory) {
        return new TestPki(directory);
    }

    public Path directory() {
        return directory;
    }

    /** The trust anchor for {@link #server()} and for all valid client certificates. */
    public TestCertificate root() {
        return root;
    }

    /** Issues the server and client certificates; what a server lists as client CA. */
    public TestCertificate issuingCa() {
        return issuingCa;
    }

    /** For {@code localhost}, {@code 127.0.0.1} and {@code ::1}, with serverAuth. */
    public TestCertificate server() {
        return server;
    }

    /**
     * A server certificate from {@link #issuingCa()} for {@code dnsNames} (the first names its
     * files), valid now: for tests of peers that are not {@code localhost}, such as an MX host
     * or an {@code mta-sts.} policy host. Call it once per first name: the files are named after it.
     */
    public TestCertificate serverFor(String... dnsNames) {
        Instant now = Instant.now();
        return namedServer(dnsNames[0].replace("*", "wildcard"), now.minus(BACKDATE), now.plus(VALIDITY), dnsNames);
    }

    /** Same profile as {@link #serverFor(String...)}, but its validity ended yesterday. */
    public TestCertificate expiredServerFor(String... dnsNames) {
        Instant now = Instant.now();
        return namedServer("expired-" + dnsNames[0].replace("*", "wildcard"), now.minus(VALIDITY), now.minus(Duration.ofDays(1)), dnsNames);
    }

    private TestCertificate namedServer(String name, Instant from, Instant until, String... dnsNames) {
        List<GeneralName> names = new ArrayList<>();
        for (String dnsName : dnsNames) names.add(new GeneralName(GeneralName.dNSName, dnsName));
        return leaf(name, "O=Castellan Test,CN=" + dnsNames[0], issuingCa, from, until,
                KeyPurposeId.id_kp_serverAuth, names);
    }

    /** A valid client certificate for {@link #CLIENT_EMAIL} (clientAuth + emailProtection). */
    public TestCertificate client() {
        return client;
    }

    /** Same profile as {@link #client()}, but its validity ended yesterday. */
    public TestCertificate expiredClient() {
        return expiredClient;
    }

    /** Same profile as {@link #client()}, but valid only from tomorrow. */
    public TestCertificate notYetValidClient() {
        return notYetValidClient;
    }

    /** Chains to the root but carries serverAuth instead of clientAuth. */
    public TestCertificate wrongUsageClient() {
        return wrongUsageClient;
    }

    /** Otherwise valid, but listed as key-compromised in {@link #crlFile()}. */
    public TestCertificate revokedClient() {
        return revokedClient;
    }

    /** A client certificate from an unrelated CA that nothing here trusts. */
    public TestCertificate untrustedClient() {
        return untrustedClient;
    }

    /** PEM CRL from {@link #issuingCa()} listing {@link #revokedClient()}. */
    public Path crlFile() {
        return crlFile;
    }

    /** PEM file with the root certificate ({@code curl --cacert}, Python's {@code cafile}). */
    public Path trustFile() {
        return trustFile;
    }

    /** A key store whose only trusted entry is the root. */
    public KeyStore trustStore() {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setCertificateEntry("root", root.certificate());
            return store;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the trust store", e);
        }
    }

    /** A TLS client context that trusts the root and presents no certificate. */
    public SSLContext clientContext() {
        return sslContext(null);
    }

    /** A TLS client context that trusts the root and presents {@code clientCertificate}. */
    public SSLContext clientContext(TestCertificate clientCertificate) {
        return sslContext(clientCertificate.keyManagerFactory().getKeyManagers());
    }

    private SSLContext sslContext(KeyManager[] keyManagers) {
        try {
            TrustManagerFactory trust =
                    TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trustStore());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keyManagers, trust.getTrustManagers(), random);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build a TLS client context", e);
        }
    }

    private static List<GeneralName> serverNames() {
        List<GeneralName> names = new ArrayList<>();
        names.add(new GeneralName(GeneralName.dNSName, "localhost"));
        names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
        names.add(new GeneralName(GeneralName.iPAddress, "::1"));
        return names;
    }

    private TestCertificate clientLeaf(
            String name, TestCertificate issuer, Instant from, Instant until, KeyPurposeId usage) {
        List<KeyPurposeId> usages = new ArrayList<>(List.of(usage));
        if (usage == KeyPurposeId.id_kp_clientAuth) usages.add(KeyPurposeId.id_kp_emailProtection);
        return leaf(name, "O=Castellan Test,CN=" + CLIENT_EMAIL, issuer, from, until,
                usages.toArray(new KeyPurposeId[0]),
                List.of(new GeneralName(GeneralName.rfc822Name, CLIENT_EMAIL)));
    }

    private TestCertificate leaf(String name, String subject, TestCertificate issuer, Instant from,
            Instant until, KeyPurposeId usage, List<GeneralName> altNames) {
        return leaf(name, subject, issuer, from, until, new KeyPurposeId[] {usage}, altNames);
    }

    private TestCertificate leaf(String name, String subject, TestCertificate issuer, Instant from,
            Instant until, KeyPurposeId[] usages, List<GeneralName> altNames) {
        KeyPair keys = newKeyPair();
        try {
            X509v3CertificateBuilder builder = builder(subject, issuer, keys, from, until);
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(usages));
            builder.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(altNames.toArray(new GeneralName[0])));
            X509Certificate certificate = sign(builder, issuer.privateKey());
            return write(name, certificate, List.of(certificate, issuer.certificate()), keys);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private TestCertificate ca(String name, String subject, TestCertificate issuer, Instant from,
            Instant until) {
        KeyPair keys = newKeyPair();
        try {
            X509v3CertificateBuilder builder = builder(subject, issuer, keys, from, until);
            // A root may sign one level of issuing CAs; an issuing CA signs only leaves.
            builder.addExtension(Extension.basicConstraints, true,
                    issuer == null ? new BasicConstraints(1) : new BasicConstraints(0));
            builder.addExtension(Extension.keyUsage, true,
                    new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            X509Certificate certificate =
                    sign(builder, issuer == null ? keys.getPrivate() : issuer.privateKey());
            List<X509Certificate> chain = issuer == null
                    ? List.of(certificate)
                    : List.of(certificate, issuer.certificate());
            return write(name, certificate, chain, keys);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private X509v3CertificateBuilder builder(String subject, TestCertificate issuer, KeyPair keys,
            Instant from, Instant until) throws IOException {
        X500Name subjectName = new X500Name(subject);
        X500Name issuerName = issuer == null
                ? subjectName
                : X500Name.getInstance(issuer.certificate().getSubjectX500Principal().getEncoded());
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuerName,
                new BigInteger(128, random).setBit(127), Date.from(from), Date.from(until),
                subjectName, keys.getPublic());
        JcaX509ExtensionUtils utils = extensionUtils();
        builder.addExtension(Extension.subjectKeyIdentifier, false,
                utils.createSubjectKeyIdentifier(keys.getPublic()));
        builder.addExtension(Extension.authorityKeyIdentifier, false,
                utils.createAuthorityKeyIdentifier(
                        issuer == null ? keys.getPublic() : issuer.certificate().getPublicKey()));
        return builder;
    }

    private X509CRL crl(Instant now) {
        try {
            X500Name issuer = X500Name.getInstance(
                    issuingCa.certificate().getSubjectX500Principal().getEncoded());
            X509v2CRLBuilder builder = new X509v2CRLBuilder(issuer, Date.from(now.minus(BACKDATE)));
            builder.setNextUpdate(Date.from(now.plus(VALIDITY)));
            builder.addCRLEntry(revokedClient.certificate().getSerialNumber(),
                    Date.from(now.minus(BACKDATE)), CRLReason.keyCompromise);
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                    extensionUtils().createAuthorityKeyIdentifier(issuingCa.certificate()));
            return new JcaX509CRLConverter().getCRL(builder.build(signer(issuingCa.privateKey())));
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot sign the test CRL", e);
        }
    }

    private static JcaX509ExtensionUtils extensionUtils() {
        try {
            return new JcaX509ExtensionUtils();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-1 for key identifiers is missing", e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key) {
        try {
            return new JcaX509CertificateConverter().getCertificate(builder.build(signer(key)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot convert a test certificate", e);
        }
    }

    private static ContentSigner signer(PrivateKey key) {
        try {
            return new JcaContentSignerBuilder(SIGNATURE).build(key);
        } catch (OperatorCreationException e) {
            throw new IllegalStateException("cannot sign with " + SIGNATURE, e);
        }
    }

    private KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), random);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("EC P-256 is not available", e);
        }
    }

    private TestCertificate write(String name, X509Certificate certificate,
            List<X509Certificate> chain, KeyPair keys) {
        Path certificateFile = directory.resolve(name + ".crt");
        Path chainFile = directory.resolve(name + "-chain.pem");
        Path keyFile = directory.resolve(name + ".key");
        writeText(certificateFile, pem(certificate), false);
        writeText(chainFile, pem(chain.toArray()), false);
        writeText(keyFile, pem(keys.getPrivate()), true);
        return new TestCertificate(name, certificate, chain, keys.getPrivate(), certificateFile,
                chainFile, keyFile);
    }

    private static String pem(Object... objects) {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            for (Object object : objects) {
                // PKCS#8 ("BEGIN PRIVATE KEY") is what Netty, curl and Python all read.
                writer.writeObject(object instanceof PrivateKey key
                        ? new JcaPKCS8Generator(key, null)
                        : object);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return text.toString();
    }

    /** Secret files get 0600 at creation, so the key is never readable by others, not even briefly. */
    private static void writeText(Path file, String text, boolean secret) {
        try {
            if (secret) {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rw-------")));
            }
            try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.US_ASCII,
                    StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                writer.write(text);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
