package org.castellan.security.pki;

import java.io.IOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import org.castellan.security.internal.SecureFiles;

/**
 * A newly issued certificate with the private key the CA generated for it.
 *
 * @param kind which issuing CA signed it
 * @param certificate the leaf
 * @param chain the leaf followed by its issuing CA certificate, as a TLS peer sends it (the root
 *     is left out: the other side must already have it)
 * @param privateKey the leaf's private key; never logged, written only by {@link #writeTo(Path)}
 */
public record IssuedCertificate(
        CertificateKind kind, X509Certificate certificate, List<X509Certificate> chain, PrivateKey privateKey) {

    /** File name of the PEM chain written by {@link #writeTo(Path)}. */
    public static final String CHAIN_FILE = "chain.pem";
    /** File name of the PEM PKCS#8 key written by {@link #writeTo(Path)}; permissions 0600. */
    public static final String KEY_FILE = "key.pem";
    /**
     * File name of the chain followed by the key in one PEM file, for clients that take a single
     * file (mutt's {@code ssl_client_cert}, HAProxy); permissions 0600.
     */
    public static final String CHAIN_AND_KEY_FILE = "chain-and-key.pem";

    public IssuedCertificate {
        chain = List.copyOf(chain);
    }

    /** Where {@link #writeTo(Path)} put the chain, the key, and both together. */
    public record Files(Path chain, Path key, Path chainAndKey) {}

    /**
     * Writes {@value #CHAIN_FILE} (leaf + issuing CA), {@value #KEY_FILE} and
     * {@value #CHAIN_AND_KEY_FILE} (both 0600 from creation) into {@code directory}, creating it
     * with permissions 0700 if it does not exist (an existing directory is left as it is), and
     * replacing earlier files atomically.
     *
     * @throws PkiException if the directory cannot be created or a file cannot be written
     */
    public Files writeTo(Path directory) {
        try {
            SecureFiles.directoryIfAbsent(directory);
        } catch (IOException e) {
            throw new PkiException("cannot create " + directory + ": " + e.getMessage(), e);
        }
        Path key = directory.resolve(KEY_FILE);
        Path chainFile = directory.resolve(CHAIN_FILE);
        // Key first: a chain.pem without its key would make a server fail at start, the other way
        // round only leaves an unused key.
        Pem.writePrivateKey(key, privateKey);
        Path both = directory.resolve(CHAIN_AND_KEY_FILE);
        Pem.writeCertificatesAndKey(both, chain, privateKey);
        Pem.writeCertificates(chainFile, chain);
        return new Files(chainFile, key, both);
    }

    /** The serial number as lower-case hex. */
    public String serialHex() {
        return certificate.getSerialNumber().toString(16);
    }

    @Override
    public String toString() {
        return "IssuedCertificate[" + kind + " " + certificate.getSubjectX500Principal() + " serial " + serialHex() + "]";
    }
}
