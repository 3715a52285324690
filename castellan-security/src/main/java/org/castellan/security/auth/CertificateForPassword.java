package org.castellan.security.auth;

/**
 * Whether a password login on a listener also needs a verified client certificate: the device
 * certificate and the password as two factors.
 */
public enum CertificateForPassword {
    /** A password alone is enough. */
    NO,
    /** A password login succeeds only on a connection that presented a verified client certificate. */
    ANY,
    /** As {@link #ANY}, and the certificate must name the account the password logs in to. */
    SAME_ACCOUNT
}
