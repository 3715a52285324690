package org.castellan.server.outbound;

import java.util.HexFormat;
import java.util.List;
import org.castellan.server.dns.MailRouting.TlsaRecord;

/**
 * The policy a TLS session was held to, as a TLS-RPT report names it (RFC 8460 §4.4): its type, its
 * text and the domain it is for. Sessions are counted per policy.
 *
 * @param policyString for {@code sts} the policy's lines, for {@code tlsa} the records in
 *     presentation form; empty for {@code no-policy-found}
 * @param mxHosts for {@code sts} the policy's {@code mx} patterns; for {@code tlsa} the MX host
 */
public record TlsRptPolicy(Type type, List<String> policyString, String policyDomain, List<String> mxHosts) {

    public TlsRptPolicy {
        policyString = List.copyOf(policyString);
        mxHosts = List.copyOf(mxHosts);
    }

    /** RFC 8460 §4.4: {@code policy-type}. */
    public enum Type {
        TLSA("tlsa"),
        STS("sts"),
        NO_POLICY_FOUND("no-policy-found");

        private final String json;

        Type(String json) {
            this.json = json;
        }

        public String json() {
            return json;
        }
    }

    /** The {@code sts} policy of a domain, its text as fetched. */
    public static TlsRptPolicy sts(String domain, String policyBody, MtaStsPolicy policy) {
        List<String> lines = policyBody.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        return new TlsRptPolicy(Type.STS, lines, domain, policy.mx());
    }

    /** The {@code tlsa} policy of an MX host of a domain. */
    public static TlsRptPolicy tlsa(String domain, String mxHost, List<TlsaRecord> records) {
        List<String> text = records.stream()
                .map(r -> r.usage() + " " + r.selector() + " " + r.matchingType() + " " + HexFormat.of().formatHex(r.data()))
                .toList();
        return new TlsRptPolicy(Type.TLSA, text, domain, List.of(mxHost));
    }

    /**
     * The {@code sts} policy a domain announced (its {@code _mta-sts} record) but that could not be
     * fetched or was invalid, so none applied; its failure is reported (RFC 8460 §4.3.2.2).
     */
    public static TlsRptPolicy stsUnavailable(String domain) {
        return new TlsRptPolicy(Type.STS, List.of(), domain, List.of());
    }

    /** No policy applied to the domain. */
    public static TlsRptPolicy none(String domain) {
        return new TlsRptPolicy(Type.NO_POLICY_FOUND, List.of(), domain, List.of());
    }
}
