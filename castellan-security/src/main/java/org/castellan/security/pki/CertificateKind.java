package org.castellan.security.pki;

/**
 * What a certificate is for; each kind has its own issuing CA under the root, so that a listener
 * trusting device certificates does not accept a user's certificate, and the reverse.
 */
public enum CertificateKind {
    /** TLS servers: serverAuth. */
    SERVER("server"),
    /** Managed machines that may reach a certificate-gated listener: clientAuth. */
    DEVICE("device"),
    /** People: clientAuth and S/MIME (emailProtection), with their address as rfc822Name. */
    USER("user"),
    /**
     * Castellan's own nodes on the edge ↔ mailbox link: serverAuth and clientAuth, the node named
     * by a {@code castellan-node:<role>/<name>} URI ({@link NodeIdentity}). Apart from the device
     * and user CAs so that a link, which trusts this CA alone, never opens to them (docs/roles.md).
     */
    NODE("node");

    private final String caName;

    CertificateKind(String caName) {
        this.caName = caName;
    }

    /** The issuing CA's name, used in its file names ({@code server-ca.crt}) and subject. */
    public String caName() {
        return caName;
    }

    /** The kind whose {@link #caName()} is {@code name}. */
    public static CertificateKind fromCaName(String name) {
        for (CertificateKind kind : values()) {
            if (kind.caName.equals(name)) return kind;
        }
        throw new PkiException("'" + name + "' is not a certificate kind; expected server, device, user or node");
    }
}
