package org.castellan.server.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The {@code [enroll]} table: what certificate enrollment over HTTPS (EST, RFC 7030;
 * docs/http.md) issues.
 *
 * @param deviceValidity how long a device certificate issued by enrollment lasts
 * @param userValidity how long a user certificate issued by enrollment lasts
 * @param approve whether an enrollment (simpleenroll) waits for the operator's {@code castellan enroll approve}
 * <p>The constructor throws {@code IllegalArgumentException} for a validity outside
 * {@link #MIN_VALIDITY} to {@link #MAX_VALIDITY}; the reader checks the ranges first and reports them with the line.
 */
public record Enroll(Duration deviceValidity, Duration userValidity, boolean approve) {

    /** A year, as {@code castellan cert issue} gives: renewal (simplereenroll) is routine and yearly. */
    public static final Duration DEFAULT_VALIDITY = Duration.ofDays(365);
    /** An hour: shorter than any clock skew a device may have would make the certificate useless. */
    public static final Duration MIN_VALIDITY = Duration.ofHours(1);
    /**
     * Five years; the issuing CAs last ten, and the CA refuses a certificate that would outlast
     * its issuer. Devices renew with their current certificate, so long lives buy little.
     */
    public static final Duration MAX_VALIDITY = Duration.ofDays(5 * 365);
    public static final Enroll DEFAULTS = new Enroll(DEFAULT_VALIDITY, DEFAULT_VALIDITY, false);

    public Enroll {
        Objects.requireNonNull(deviceValidity, "deviceValidity");
        Objects.requireNonNull(userValidity, "userValidity");
        for (Duration d : new Duration[] {deviceValidity, userValidity}) {
            if (d.compareTo(MIN_VALIDITY) < 0 || d.compareTo(MAX_VALIDITY) > 0) {
                throw new IllegalArgumentException("a validity is from " + MIN_VALIDITY + " to " + MAX_VALIDITY + ", not " + d);
            }
        }
    }
}
