package org.castellan.server.outbound;

import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.UUID;

/**
 * The mail form of a TLS report (RFC 8460 §5.3): a {@code multipart/report; report-type="tlsrpt"}
 * message with a short human-readable part and the gzipped JSON as
 * {@code application/tlsrpt+gzip}, its header naming the report domain and the submitter
 * ({@code TLS-Report-Domain}, {@code TLS-Report-Submitter}). RFC 8460 §5.3 requires the message
 * to be DKIM-signed by the submitter's domain: the signing step of outbound mail does that, as for
 * any message.
 *
 * <p>Failure: {@link #message} throws {@link IllegalArgumentException} when an address or domain
 * holds a control or non-ASCII character.
 */
public final class TlsRptMail {

    /** RFC 2045 §6.8: base64 lines of at most 76 characters. */
    private static final int BASE64_LINE = 76;
    private static final String CRLF = "\r\n";

    private TlsRptMail() {}

    /**
     * The message, CRLF line ends, ready for the queue.
     *
     * @param policyDomain the domain the report is about
     * @param submitter the reporting host's domain ({@code TLS-Report-Submitter})
     * @param from the sender's address, in the submitter's domain
     * @param to the {@code mailto:} address of the domain's {@code rua}
     */
    public static byte[] message(TlsRptReport report, String policyDomain, String submitter, String from, String to) {
        String boundary = "tlsrpt-" + UUID.randomUUID();
        // RFC 8460 §5.1: sender "!" policy-domain "!" begin "!" end "!" unique-id "." extension
        String filename = submitter + "!" + policyDomain + "!" + report.start().getEpochSecond() + "!"
                + report.end().getEpochSecond() + "!" + report.reportId().replaceAll("[^A-Za-z0-9._-]", "_") + ".json.gz";
        StringBuilder m = new StringBuilder();
        header(m, "From", from);
        header(m, "To", to);
        header(m, "Date", DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC)));
        // RFC 8460 §5.3: the subject names the domain, the submitter and the report id.
        header(m, "Subject", "Report Domain: " + policyDomain + " Submitter: " + submitter + " Report-ID: <" + report.reportId() + ">");
        header(m, "Message-ID", "<" + UUID.randomUUID() + "@" + submitter + ">");
        header(m, "TLS-Report-Domain", policyDomain);
        header(m, "TLS-Report-Submitter", submitter);
        header(m, "MIME-Version", "1.0");
        header(m, "Content-Type", "multipart/report; report-type=\"tlsrpt\"; boundary=\"" + boundary + "\"");
        m.append(CRLF);
        m.append("--").append(boundary).append(CRLF);
        header(m, "Content-Type", "text/plain; charset=us-ascii");
        m.append(CRLF);
        m.append("This is an aggregate TLS report from ").append(submitter).append(" for ").append(policyDomain)
                .append(" (RFC 8460).").append(CRLF);
        m.append("--").append(boundary).append(CRLF);
        header(m, "Content-Type", "application/tlsrpt+gzip");
        header(m, "Content-Transfer-Encoding", "base64");
        header(m, "Content-Disposition", "attachment; filename=\"" + filename + "\"");
        m.append(CRLF);
        String base64 = Base64.getEncoder().encodeToString(report.gzip());
        for (int i = 0; i < base64.length(); i += BASE64_LINE) {
            m.append(base64, i, Math.min(base64.length(), i + BASE64_LINE)).append(CRLF);
        }
        m.append("--").append(boundary).append("--").append(CRLF);
        return m.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * The addresses come from DNS ({@code rua}), so a value with a line break or a non-ASCII
     * character is refused rather than allowed to add header fields.
     *
     * @throws IllegalArgumentException for such a value
     */
    private static void header(StringBuilder m, String name, String value) {
        if (!value.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) {
            throw new IllegalArgumentException(name + " would carry a control or non-ASCII character");
        }
        m.append(name).append(": ").append(value).append(CRLF);
    }
}
