package org.castellan.server.outbound;

import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXReason;

/**
 * The result types of a TLS-RPT report (RFC 8460 §4.3): why a session with a receiving MTA did not
 * meet the policy that applied to it. Each has the name the report's JSON uses.
 */
public enum TlsRptResultType {
    /** RFC 8460 §4.3.1: the receiver did not offer STARTTLS, or the command failed. */
    STARTTLS_NOT_SUPPORTED("starttls-not-supported"),
    /** The certificate does not name the host the policy asks for. */
    CERTIFICATE_HOST_MISMATCH("certificate-host-mismatch"),
    CERTIFICATE_EXPIRED("certificate-expired"),
    CERTIFICATE_NOT_TRUSTED("certificate-not-trusted"),
    /** Any other failure to establish the session's security. */
    VALIDATION_FAILURE("validation-failure"),
    /** RFC 8460 §4.3.2: no TLSA record matched, or the records were unusable where DANE was required. */
    TLSA_INVALID("tlsa-invalid"),
    DNSSEC_INVALID("dnssec-invalid"),
    DANE_REQUIRED("dane-required"),
    /** RFC 8460 §4.3.3: the MTA-STS policy could not be fetched. */
    STS_POLICY_FETCH_ERROR("sts-policy-fetch-error"),
    STS_POLICY_INVALID("sts-policy-invalid"),
    /** The policy host's certificate did not validate (RFC 8461 §3.3). */
    STS_WEBPKI_INVALID("sts-webpki-invalid");

    private final String json;

    TlsRptResultType(String json) {
        this.json = json;
    }

    /**
     * The result type of a failed outbound TLS handshake, from what the JDK's trust managers and
     * {@link DaneTrustManager} threw: a DANE mismatch, an expired certificate, a certificate for
     * another name (the JDK's RFC 6125 check, recognised by its message), a chain to no trusted
     * root; anything else is a {@code validation-failure}.
     */
    public static TlsRptResultType ofHandshakeFailure(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof DaneTrustManager.Mismatch) return TLSA_INVALID;
            if (t instanceof CertificateExpiredException || t instanceof CertificateNotYetValidException) return CERTIFICATE_EXPIRED;
            if (t instanceof CertPathValidatorException v && (v.getReason() == CertPathValidatorException.BasicReason.EXPIRED
                    || v.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID)) {
                return CERTIFICATE_EXPIRED;
            }
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CertificateException c && c.getMessage() != null
                    && (c.getMessage().startsWith("No subject alternative") || c.getMessage().startsWith("No name matching"))) {
                return CERTIFICATE_HOST_MISMATCH;
            }
            if (t instanceof CertPathBuilderException
                    || (t instanceof CertPathValidatorException v && v.getReason() == PKIXReason.NO_TRUST_ANCHOR)) {
                return CERTIFICATE_NOT_TRUSTED;
            }
        }
        return VALIDATION_FAILURE;
    }

    /** The name in the report: {@code starttls-not-supported}. */
    public String json() {
        return json;
    }
}
