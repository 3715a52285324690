package org.castellan.server.outbound;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * What a message's own transport-security request (RFC 8689) asks of its delivery: the REQUIRETLS
 * MAIL parameter, which demands an authenticated TLS path end to end, or the {@code TLS-Required: No}
 * header field, which lets the message go when the recipient domain's DANE or MTA-STS policy fails.
 *
 * <p>SECURITY: with REQUIRETLS a next hop counts only when DANE or MTA-STS authenticated it and it
 * offered REQUIRETLS after STARTTLS, so the demand travels with the message (RFC 8689 §4.2.1).
 * When both are present, REQUIRETLS wins: the header field is ignored (RFC 8689 §3), so it cannot
 * weaken what the envelope asks. Pure: no I/O.
 */
public final class RequireTlsPolicy {

    /** X.7.30 "REQUIRETLS support required", registered by RFC 8689: the next hop does not offer it. */
    public static final String NOT_OFFERED = "5.7.30";
    /** RFC 3463 §3.8 (X.7.10 "Encryption needed", RFC 5248): the path could not be authenticated. */
    public static final String NOT_AUTHENTICATED = "5.7.10";
    private static final String FIELD = "tls-required";

    private RequireTlsPolicy() {}

    /** How TLS to the next hop was authenticated, if it was. */
    public enum Authentication {
        /** RFC 7672: a TLSA record matched. */
        DANE,
        /** RFC 8461: the MX host is in an {@code enforce} or {@code testing} policy and its certificate is valid for it. */
        MTA_STS,
        /** Cleartext, opportunistic TLS, or TLS verified only by a local policy. */
        NONE
    }

    /** What the message asks. */
    public enum Demand {
        /** The REQUIRETLS MAIL parameter (RFC 8689 §4.2). */
        REQUIRE_TLS,
        /** {@code TLS-Required: No} (RFC 8689 §4.2.2): recipient-domain policy failures do not stop delivery. */
        POLICY_FAILURES_IGNORED,
        /** Neither: the usual policies apply. */
        USUAL
    }

    /** What the engine does with one next hop, after STARTTLS and the second EHLO. */
    public sealed interface Verdict {
    }

    /** Send; when {@code passOn}, with {@code REQUIRETLS} on MAIL FROM (RFC 8689 §4.2.1). */
    public record Send(boolean passOn) implements Verdict {
    }

    /**
     * Do not send to this host; another MX host may do, and when none does the message fails with
     * this code (RFC 8689 §4.2.1).
     */
    public record Refuse(String enhancedCode, String text) implements Verdict {
    }

    /**
     * The demand of a message: {@code requireTls} is its REQUIRETLS MAIL parameter,
     * {@code message} its content (only the header section is read).
     */
    public static Demand demand(boolean requireTls, byte[] message) {
        if (requireTls) return Demand.REQUIRE_TLS; // RFC 8689 §3: the header field is then ignored
        return tlsRequiredNo(message) ? Demand.POLICY_FAILURES_IGNORED : Demand.USUAL;
    }

    /**
     * RFC 8689 §3: whether the header section has {@code TLS-Required: No} (name and value in any
     * case, folding and surrounding white space allowed).
     */
    static boolean tlsRequiredNo(byte[] message) {
        String text = new String(message, StandardCharsets.ISO_8859_1);
        int end = headerEnd(text);
        String header = text.substring(0, end).replaceAll("\r?\n[ \t]", " "); // RFC 5322 §2.2.3 unfolding
        for (String line : header.split("\r?\n")) {
            int colon = line.indexOf(':');
            if (colon <= 0) continue;
            if (line.substring(0, colon).strip().toLowerCase(Locale.ROOT).equals(FIELD)
                    && line.substring(colon + 1).strip().equalsIgnoreCase("No")) {
                return true;
            }
        }
        return false;
    }

    private static int headerEnd(String text) {
        int crlf = text.indexOf("\r\n\r\n");
        int lf = text.indexOf("\n\n");
        if (crlf < 0 && lf < 0) return text.length();
        if (crlf < 0) return lf;
        if (lf < 0) return crlf;
        return Math.min(crlf, lf);
    }

    /**
     * RFC 8689 §4.2.1: whether a message with REQUIRETLS may go to this next hop.
     *
     * @param authentication how the TLS session with the hop was authenticated
     * @param offered whether the hop listed REQUIRETLS in its EHLO reply after STARTTLS
     */
    public static Verdict check(Demand demand, Authentication authentication, boolean offered) {
        if (demand != Demand.REQUIRE_TLS) return new Send(false);
        if (authentication == Authentication.NONE) {
            return new Refuse(NOT_AUTHENTICATED, "REQUIRETLS: the next hop was not authenticated by DANE or MTA-STS");
        }
        if (!offered) return new Refuse(NOT_OFFERED, "REQUIRETLS support required");
        return new Send(true);
    }

    /**
     * RFC 8689 §4.2.2: whether a failure of the recipient domain's DANE or MTA-STS policy (a TLSA
     * mismatch, an MTA-STS certificate or MX failure) may be passed over for this message: only
     * under {@code TLS-Required: No}. STARTTLS is still attempted, and its certificate simply not
     * required to verify.
     */
    public static boolean mayIgnorePolicyFailure(Demand demand) {
        return demand == Demand.POLICY_FAILURES_IGNORED;
    }
}
