package org.castellan.security.pki;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.cert.CertificateException;
import java.security.cert.CRLException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util;
import org.bouncycastle.jce.spec.ECParameterSpec;
import org.bouncycastle.math.ec.ECPoint;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.castellan.security.internal.SecureFiles;

/**
 * Reads and writes certificates, certificate chains, CRLs and private keys as PEM, the form
 * every TLS library and command-line tool accepts.
 *
 * <p>Private keys are written as unencrypted PKCS#8 ({@code BEGIN PRIVATE KEY}) into files that
 * have permissions 0600 from the moment they exist; an EC key always carries its public key
 * ({@link #complete}), as OpenSSL writes it, so that GnuTLS, NSS, Java and .NET read it as well as
 * OpenSSL. Reading also accepts OpenSSL's traditional {@code BEGIN EC PRIVATE KEY} and
 * {@code BEGIN RSA PRIVATE KEY} forms.
 *
 * <p>Failure: every method throws {@link PkiException} naming the file and what was wrong with it
 * (missing, unreadable, no PEM block of the expected kind, an encrypted key).
 */
public final class Pem {

    private Pem() {}

    /** All certificates in {@code file}, in file order (a chain: leaf first). At least one. */
    public static List<X509Certificate> readCertificates(Path file) {
        List<X509Certificate> certificates = new ArrayList<>();
        for (Object object : readObjects(file)) {
            if (object instanceof X509CertificateHolder holder) certificates.add(toCertificate(holder, file));
        }
        if (certificates.isEmpty()) {
            throw new PkiException(file + " holds no PEM certificate (expected a '-----BEGIN CERTIFICATE-----' block)");
        }
        return List.copyOf(certificates);
    }

    /** The first certificate in {@code file}. */
    public static X509Certificate readCertificate(Path file) {
        return readCertificates(file).get(0);
    }

    /** The first private key in {@code file}: PKCS#8, or OpenSSL's traditional EC/RSA form. */
    public static PrivateKey readPrivateKey(Path file) {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        for (Object object : readObjects(file)) {
            try {
                if (object instanceof PrivateKeyInfo info) return converter.getPrivateKey(info);
                if (object instanceof PEMKeyPair pair) return converter.getKeyPair(pair).getPrivate();
            } catch (IOException e) {
                throw new PkiException(file + " holds a private key of an unsupported algorithm: " + e.getMessage(), e);
            }
            if (object instanceof PKCS8EncryptedPrivateKeyInfo || object instanceof PEMEncryptedKeyPair) {
                throw new PkiException(file + " holds an encrypted private key; Castellan needs it unencrypted in a"
                        + " 0600 file: convert it with 'openssl pkcs8 -topk8 -nocrypt -in " + file + "'");
            }
        }
        throw new PkiException(file + " holds no PEM private key (expected a '-----BEGIN PRIVATE KEY-----' block)");
    }

    /** The first CRL in {@code file}. */
    public static X509CRL readCrl(Path file) {
        for (Object object : readObjects(file)) {
            if (object instanceof X509CRLHolder holder) {
                try {
                    return new JcaX509CRLConverter().getCRL(holder);
                } catch (CRLException e) {
                    throw new PkiException(file + " holds a CRL the JDK cannot decode: " + e.getMessage(), e);
                }
            }
        }
        throw new PkiException(file + " holds no PEM CRL (expected a '-----BEGIN X509 CRL-----' block)");
    }

    /** Certificates from PEM text (for values embedded in configuration or received over HTTP). */
    public static List<X509Certificate> parseCertificates(String pem) {
        List<X509Certificate> certificates = new ArrayList<>();
        for (Object object : parse(new StringReader(pem), "PEM text")) {
            if (object instanceof X509CertificateHolder holder) certificates.add(toCertificate(holder, null));
        }
        if (certificates.isEmpty()) throw new PkiException("the PEM text holds no certificate");
        return List.copyOf(certificates);
    }

    /**
     * The same key with an encoding that other TLS stacks read: an EC key whose PKCS#8 form lacks
     * the public key gets it, computed from the private scalar. RFC 5915 §3 makes the publicKey
     * field of ECPrivateKey optional and the JDK leaves it out, but GnuTLS (mutt, msmtp) refuses
     * such a key ("ASN1 parser: Element was not found"); OpenSSL writes it. The curve stays in
     * the PKCS#8 AlgorithmIdentifier (RFC 5915 §3: parameters then omitted from ECPrivateKey).
     * Other keys are returned as they are. Anything that exports the key (a PEM file, PKCS#12)
     * should take it from here.
     *
     * @throws PkiException if the JDK cannot rebuild the key from the completed encoding
     */
    public static PrivateKey complete(PrivateKey key) {
        if (!(key instanceof ECPrivateKey ec) || !"PKCS#8".equals(key.getFormat())) return key;
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(key.getEncoded());
        try {
            org.bouncycastle.asn1.sec.ECPrivateKey inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
            if (inner.getPublicKey() != null) return key;
            ECParameterSpec curve = EC5Util.convertSpec(ec.getParams());
            ECPoint q = new FixedPointCombMultiplier().multiply(curve.getG(), ec.getS()).normalize();
            var withPublic = new org.bouncycastle.asn1.sec.ECPrivateKey(ec.getParams().getOrder().bitLength(), ec.getS(),
                    new DERBitString(q.getEncoded(false)), null);
            byte[] encoded = new PrivateKeyInfo(info.getPrivateKeyAlgorithm(), withPublic).getEncoded(ASN1Encoding.DER);
            return KeyFactory.getInstance(key.getAlgorithm()).generatePrivate(new PKCS8EncodedKeySpec(encoded));
        } catch (IOException | GeneralSecurityException e) {
            throw new PkiException("cannot add the public key to an EC private key: " + e.getMessage(), e);
        }
    }

    /**
     * PEM text for certificates, CRLs and private keys, in the order given. Private keys become
     * unencrypted PKCS#8, EC keys with their public key ({@link #complete}).
     */
    public static String encode(Object... objects) {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            for (Object object : objects) {
                writer.writeObject(object instanceof PrivateKey key ? new JcaPKCS8Generator(complete(key), null) : object);
            }
        } catch (IOException e) {
            throw new PkiException("cannot PEM-encode " + describe(objects) + ": " + e.getMessage(), e);
        }
        return text.toString();
    }

    /** Writes {@code certificates} (a chain, leaf first) to {@code file}, world-readable. */
    public static void writeCertificates(Path file, List<X509Certificate> certificates) {
        write(file, encode(certificates.toArray()), SecureFiles.PUBLIC);
    }

    /** Writes {@code certificates} (leaf first) and then {@code key} to {@code file}, 0600 from its creation. */
    public static void writeCertificatesAndKey(Path file, List<X509Certificate> certificates, PrivateKey key) {
        List<Object> objects = new ArrayList<>(certificates);
        objects.add(key);
        write(file, encode(objects.toArray()), SecureFiles.SECRET);
    }

    /** Writes {@code crl} to {@code file}, world-readable. */
    public static void writeCrl(Path file, X509CRL crl) {
        write(file, encode(crl), SecureFiles.PUBLIC);
    }

    /** Writes {@code key} as PKCS#8 to {@code file}, which has permissions 0600 from its creation. */
    public static void writePrivateKey(Path file, PrivateKey key) {
        write(file, encode(key), SecureFiles.SECRET);
    }

    private static void write(Path file, String text, Set<PosixFilePermission> permissions) {
        try {
            SecureFiles.write(file, text.getBytes(StandardCharsets.US_ASCII), permissions);
        } catch (IOException e) {
            throw new PkiException("cannot write " + file + ": " + e.getMessage()
                    + " (check that its directory exists and is writable by this user)", e);
        }
    }

    private static List<Object> readObjects(Path file) {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII)) {
            return parse(reader, file.toString());
        } catch (NoSuchFileException e) {
            throw new PkiException(file + " does not exist", e);
        } catch (IOException e) {
            throw new PkiException("cannot read " + file + ": " + e.getMessage()
                    + " (check that it exists and is readable by this user)", e);
        }
    }

    private static List<Object> parse(Reader reader, String source) {
        List<Object> objects = new ArrayList<>();
        try (PEMParser parser = new PEMParser(reader)) {
            for (Object object = parser.readObject(); object != null; object = parser.readObject()) {
                objects.add(object);
            }
        } catch (IOException | RuntimeException e) {
            throw new PkiException(source + " is not valid PEM: " + e.getMessage(), e);
        }
        return objects;
    }

    private static X509Certificate toCertificate(X509CertificateHolder holder, Path file) {
        try {
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (CertificateException e) {
            throw new PkiException((file == null ? "PEM text" : file.toString())
                    + " holds a certificate the JDK cannot decode: " + e.getMessage(), e);
        }
    }

    private static String describe(Object[] objects) {
        return objects.length == 1 ? objects[0].getClass().getSimpleName() : objects.length + " objects";
    }
}
