package org.castellan.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;

/**
 * A certificate made by {@link TestPki}, with its private key and the PEM files that hold them.
 *
 * @param name short name used for the file names ({@code client}, {@code expired-client}, ...)
 * @param certificate the leaf certificate
 * @param chain the leaf followed by the issuing CA certificate (if any), as a TLS peer sends it
 * @param privateKey the leaf's private key
 * @param certificateFile PEM file with the leaf alone
 * @param chainFile PEM file with {@link #chain()} (what {@code curl --cert} and servers want)
 * @param keyFile PEM PKCS#8 private key, created with permissions 0600
 */
public record TestCertificate(
        String name,
        X509Certificate certificate,
        List<X509Certificate> chain,
        PrivateKey privateKey,
        Path certificateFile,
        Path chainFile,
        Path keyFile) {

    /** Alias of the key entry in {@link #keyStore(char[])}. */
    public static final String KEY_ALIAS = "key";

    public TestCertificate {
        chain = List.copyOf(chain);
    }

    /**
     * An in-memory PKCS#12 key store holding the key and chain under {@link #KEY_ALIAS}.
     *
     * @throws IllegalStateException if the JDK cannot create a PKCS#12 store (it always can)
     */
    public KeyStore keyStore(char[] password) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry(KEY_ALIAS, privateKey, password, chain.toArray(new Certificate[0]));
            return store;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a PKCS#12 key store for " + name, e);
        }
    }

    /** A key manager factory presenting this certificate, for JDK and Jakarta Mail clients. */
    public KeyManagerFactory keyManagerFactory() {
        char[] password = new char[0];
        try {
            KeyManagerFactory factory =
                    KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            factory.init(keyStore(password), password);
            return factory;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build a key manager for " + name, e);
        }
    }
}
