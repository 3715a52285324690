package org.castellan.server.auth;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.server.Castellan;
import org.castellan.server.testing.TestServer;
import org.castellan.store.Account;
import org.castellan.testkit.TestCertificate;
import org.castellan.testkit.TestPki;

/**
 * A real Castellan for the authentication tests: the test PKI's server certificate, its root as
 * the trust anchor for client certificates, {@code [auth]} as given, and the accounts
 * {@link #ALICE} (whom the test client certificate names) and {@link #BOB}, both with
 * {@link #PASSWORD}. Also makes a client certificate from the trusted issuing CA that names no
 * address at all, as a device or smart-card certificate does.
 */
record AuthServer(Path dir, TestPki pki, Castellan server, TestCertificate unmapped) implements AutoCloseable {

    static final String ALICE = TestServer.USER;
    static final String BOB = TestServer.OTHER;
    static final String PASSWORD = TestServer.PASSWORD;
    /** As TestServer's accounts: RFC 7677 §4's minimum. */
    static final int SCRAM_ITERATIONS = 4096;

    /**
     * {@code [auth]} lines for tests whose refused logins are not about the limiter: no delays and
     * no blocks, so that one case's failures do not slow the next (LoginLimiterTest and
     * BruteForceTest show the delays).
     */
    static final String NO_DELAYS = String.join("\n", "free-failures = 999", "block-after = 1000",
            "first-delay = \"0ms\"", "max-delay = \"0ms\"");

    /** Starts a server with {@code auth} (lines of the [auth] table) and the given [[listener]] tables. */
    static AuthServer start(Path dir, String auth, String... listeners) {
        return startWithTls(dir, "", auth, listeners);
    }

    /** As {@link #start}, with further lines for the {@code [tls]} table. */
    static AuthServer startWithTls(Path dir, String tls, String auth, String... listeners) {
        TestServer test = TestServer.startWith(dir, "client-ca-files = [\"$PKI/trust.pem\"]\n" + tls, auth, listeners);
        return new AuthServer(dir, test.pki(), test.server(), unmappedCertificate(test.pki(), test.pki().directory()));
    }

    /** A [[listener]] on 127.0.0.1; {@code extra} are further key = value lines. */
    static String listener(String name, String protocol, String tls, String... extra) {
        return String.join("\n", "[[listener]]", "name = \"" + name + "\"", "protocol = \"" + protocol + "\"",
                "address = \"127.0.0.1\"", "port = 0", "tls = \"" + tls + "\"", String.join("\n", extra), "");
    }

    InetSocketAddress address(String listener) {
        return server.addresses().get(listener);
    }

    Account account(String address) {
        return server.store().getAccount(EmailAddress.of(address)).orElseThrow();
    }

    /** Adds an app password for {@code protocols}; returns the password. */
    String appPassword(String address, String label, Set<String> protocols) {
        String password = "app-" + label + "-" + Long.toHexString(new SecureRandom().nextLong());
        server.store().createAppPassword(account(address).id(),
                label, ScramSecret.derive(password.toCharArray(), SCRAM_ITERATIONS).encode(), protocols);
        return password;
    }

    static InetAddress loopback(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Override
    public void close() {
        server.close();
    }

    /** A valid client certificate of the trusted issuing CA with neither an address nor a SAN. */
    private static TestCertificate unmappedCertificate(TestPki pki, Path dir) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair keys = generator.generateKeyPair();
            TestCertificate ca = pki.issuingCa();
            Instant now = Instant.now();
            var builder = new JcaX509v3CertificateBuilder(X500Name.getInstance(
                    ca.certificate().getSubjectX500Principal().getEncoded()), new BigInteger(64, new SecureRandom()),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(2))),
                    new X500Name("O=Castellan Test,CN=kiosk-7"), keys.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
            X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(ca.privateKey())));
            Path certificateFile = dir.resolve("kiosk.crt");
            Path chainFile = dir.resolve("kiosk-chain.pem");
            Path keyFile = dir.resolve("kiosk.key");
            Files.writeString(certificateFile, pem(certificate));
            Files.writeString(chainFile, pem(certificate, ca.certificate()));
            // A private key file is 0600 from its creation.
            Files.createFile(keyFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(keyFile, pem(new JcaPKCS8Generator(keys.getPrivate(), null)));
            return new TestCertificate("kiosk", certificate, List.of(certificate, ca.certificate()), keys.getPrivate(),
                    certificateFile, chainFile, keyFile);
        } catch (Exception e) {
            throw new IllegalStateException("cannot make the unmapped test certificate", e);
        }
    }

    private static String pem(Object... objects) throws IOException {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            for (Object o : objects) writer.writeObject(o);
        }
        return text.toString();
    }
}
