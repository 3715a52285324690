package org.castellan.security.pki;

import org.bouncycastle.asn1.x509.CRLReason;

/**
 * Why a certificate was revoked, as written into the CRL entry (RFC 5280 §5.3.1). Only the
 * reasons that make sense for a CA without certificate holds or attribute authorities.
 */
public enum RevocationReason {
    UNSPECIFIED(CRLReason.unspecified),
    KEY_COMPROMISE(CRLReason.keyCompromise),
    AFFILIATION_CHANGED(CRLReason.affiliationChanged),
    SUPERSEDED(CRLReason.superseded),
    CESSATION_OF_OPERATION(CRLReason.cessationOfOperation),
    PRIVILEGE_WITHDRAWN(CRLReason.privilegeWithdrawn);

    private final int code;

    RevocationReason(int code) {
        this.code = code;
    }

    /** The CRLReason code (RFC 5280 §5.3.1). */
    public int code() {
        return code;
    }

    /** The reason written as {@code key-compromise}, {@code superseded}, ... */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** Parses {@link #label()} (case-insensitive; '_' accepted for '-'). */
    public static RevocationReason fromLabel(String label) {
        for (RevocationReason reason : values()) {
            if (reason.label().equalsIgnoreCase(label.replace('_', '-'))) return reason;
        }
        throw new PkiException("'" + label + "' is not a revocation reason; expected one of unspecified,"
                + " key-compromise, affiliation-changed, superseded, cessation-of-operation, privilege-withdrawn");
    }
}
