package org.castellan.server.outbound;

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

    /** The name in the report: {@code starttls-not-supported}. */
    public String json() {
        return json;
    }
}
