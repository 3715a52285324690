package org.castellan.protocol.smtp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.james.mime4j.codec.QuotedPrintableOutputStream;

/**
 * Composes a delivery status notification (RFC 3464) as a complete message (RFC 5322): a
 * multipart/report (RFC 6522) of a human-readable explanation, the machine-readable
 * message/delivery-status, and the original message or its header section. Pure: no clock, no
 * randomness, no I/O; the caller gives the date and a unique id.
 *
 * <p>What comes back of the original (RFC 3461 §4.3): the whole message only when the sender asked
 * for it (RET=FULL) and the report tells of a failure; otherwise its header section as
 * text/rfc822-headers (RFC 6522 §4). The whole message is never cut short: a caller that will not
 * return a message of some size (Postfix returns headers only above 50 000 octets) passes
 * {@link Dsn.Ret#HDRS}. A whole message with a line over 998 octets, which no report could carry
 * intact (RFC 5322 §2.1.1), is returned as its header section as well. Line ends of the original
 * are made CRLF.
 *
 * <p>For a message sent with SMTPUTF8 the parts are message/global-delivery-status and
 * message/global or message/global-headers (RFC 6533 §6), and the report must be sent with
 * SMTPUTF8 too.
 *
 * <p>Everything from elsewhere (a remote server's reply, host names, addresses) is written as one
 * line of printable text: control characters, CR and LF become spaces, so a reply cannot add
 * header fields to the report.
 */
public final class DeliveryReport {

    /** RFC 5322 §2.1.1: a line is at most 998 octets without its CRLF. */
    public static final int MAX_LINE = 998;
    /** RFC 5322 §2.1.1: lines should be at most 78 characters; fields are folded at spaces to fit. */
    private static final int FOLD_AT = 78;
    /**
     * The longest Diagnostic-Code text kept: two reply lines of RFC 5321 §4.5.3.1.5's 512 octets
     * say what happened; a hundred-line reply would drown the report.
     */
    public static final int MAX_DIAGNOSTIC = 1024;

    private static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT).withZone(ZoneOffset.UTC);
    /** RFC 3463 §2: class.subject.detail. */
    private static final Pattern STATUS = Pattern.compile("[245]\\.[0-9]{1,3}\\.[0-9]{1,3}");
    /** An id that can stand in a Message-ID's left side (RFC 5322 §3.6.4 dot-atom-text, a safe subset). */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private DeliveryReport() {}

    /** RFC 3464 §2.3.3: what happened to a recipient. */
    public enum Action {
        FAILED, DELAYED, DELIVERED, RELAYED, EXPANDED;

        /** The status class this action goes with (RFC 3464 §2.3.4). */
        char statusClass() {
            return switch (this) {
                case FAILED -> '5';
                case DELAYED -> '4';
                default -> '2';
            };
        }
    }

    /**
     * One recipient's per-recipient fields (RFC 3464 §2.3).
     *
     * @param finalRecipient the address the report is about, {@code local@domain}; written as
     *     {@code rfc822;} or, when it holds non-ASCII, {@code utf-8;} (RFC 6533 §3)
     * @param originalRecipient RCPT's ORCPT as kept ({@code addr-type;address}), when given
     * @param status the enhanced status code (RFC 3463), its class matching the action: 5 for
     *     failed, 4 for delayed, 2 otherwise
     * @param remoteMta the host that gave the reply, when a remote one did
     * @param diagnostic the reply as the remote host gave it (code, enhanced code, text), or the
     *     local reason; lines may be joined with anything, they become one line
     * @param willRetryUntil for a delayed recipient, when the queue gives up
     */
    public record Recipient(
            String finalRecipient,
            Optional<String> originalRecipient,
            Action action,
            String status,
            Optional<String> remoteMta,
            Optional<String> diagnostic,
            Optional<Instant> lastAttempt,
            Optional<Instant> willRetryUntil) {

        /** @throws IllegalArgumentException when the status is malformed or does not match the action */
        public Recipient {
            Objects.requireNonNull(finalRecipient, "finalRecipient");
            Objects.requireNonNull(action, "action");
            if (!STATUS.matcher(status).matches() || status.charAt(0) != action.statusClass()) {
                throw new IllegalArgumentException("status " + status + " does not fit action " + action);
            }
        }
    }

    /**
     * The message the report is about and its envelope.
     *
     * @param sender the reverse-path, who gets the report; never the null sender (RFC 3461 §6.2:
     *     a message from {@code <>} gets no report)
     * @param ret RET as kept; {@code HDRS} also for a message too large to return
     * @param smtpUtf8 whether the message was sent with SMTPUTF8 (RFC 6531), which makes the
     *     report a global one (RFC 6533)
     * @param message the message as stored, or at least its header section
     */
    public record Original(String sender, Optional<String> envid, Dsn.Ret ret, Instant arrival, boolean smtpUtf8, byte[] message) {

        /** @throws IllegalArgumentException for the null sender */
        public Original {
            if (sender.isEmpty()) throw new IllegalArgumentException("the null sender never gets a report");
        }
    }

    /**
     * The composed report.
     *
     * @param message the whole message, CRLF line ends, no line over 998 octets
     * @param eightBit it holds 8-bit content and must be sent with BODY=8BITMIME (RFC 6152)
     * @param smtpUtf8 it is a global report and must be sent with SMTPUTF8 (RFC 6531)
     */
    public record Composed(byte[] message, boolean eightBit, boolean smtpUtf8) {
    }

    /**
     * Composes the report.
     *
     * @param reportingMta this host's name, for Reporting-MTA, From and Message-ID
     * @param id unique among this host's reports (letters, digits, ".", "_", "-"); the Message-ID is
     *     {@code <id@reportingMta>}
     * @param date when the report is made
     * @param explanation the human-readable part, any line ends (made CRLF)
     * @throws IllegalArgumentException when there is no recipient, or the host name or id is not
     *     one line of printable ASCII of the forms above
     */
    public static Composed compose(String reportingMta, String id, Instant date, Original original,
            List<Recipient> recipients, String explanation) {
        if (recipients.isEmpty()) throw new IllegalArgumentException("a report is about at least one recipient");
        if (!ID.matcher(id).matches()) throw new IllegalArgumentException("report id: " + id);
        if (reportingMta.isEmpty() || !reportingMta.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f && ch != '<' && ch != '>')) {
            throw new IllegalArgumentException("reporting MTA: " + reportingMta);
        }
        boolean global = original.smtpUtf8();
        boolean failure = recipients.stream().anyMatch(r -> r.action() == Action.FAILED);

        Part text = explanation(explanation);
        Part status = Part.of(global ? "message/global-delivery-status" : "message/delivery-status",
                deliveryStatus(reportingMta, original, recipients, global).getBytes(StandardCharsets.UTF_8));
        Part returned = returned(original, failure && original.ret() == Dsn.Ret.FULL, global);
        String boundary = boundary(text.body, status.body, returned.body);
        boolean eightBit = text.eightBit() || status.eightBit() || returned.eightBit();

        StringBuilder h = new StringBuilder();
        field(h, "From", "Mail Delivery System <MAILER-DAEMON@" + reportingMta + ">");
        field(h, "To", line(original.sender(), global));
        field(h, "Subject", failure ? "Undelivered Mail Returned to Sender"
                : recipients.stream().anyMatch(r -> r.action() == Action.DELAYED) ? "Delivery Status Notification (Delay)"
                : "Delivery Status Notification (Success)");
        field(h, "Date", DATE.format(date));
        field(h, "Message-ID", "<" + id + "@" + reportingMta + ">");
        field(h, "Auto-Submitted", "auto-replied"); // RFC 3834 §5
        field(h, "MIME-Version", "1.0");
        // RFC 6522 §3: report-type names the second part's subtype.
        field(h, "Content-Type", "multipart/report; report-type=" + (global ? "global-delivery-status" : "delivery-status")
                + "; boundary=\"" + boundary + "\"");
        if (eightBit) field(h, "Content-Transfer-Encoding", "8bit");
        h.append("\r\nThis is a MIME-encapsulated message.\r\n");

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        write(out, h.toString());
        for (Part p : List.of(text, status, returned)) {
            write(out, "\r\n--" + boundary + "\r\n");
            write(out, p.header());
            write(out, "\r\n");
            out.writeBytes(p.body);
        }
        write(out, "\r\n--" + boundary + "--\r\n");
        return new Composed(out.toByteArray(), eightBit, global);
    }

    /**
     * A plain explanation for the first part, in the manner of Postfix's: what happened to each
     * recipient, with the reply that said so.
     */
    public static String explanation(String reportingMta, List<Recipient> recipients) {
        StringBuilder b = new StringBuilder("This is the mail system at host " + reportingMta + ".\r\n\r\n");
        boolean failed = recipients.stream().anyMatch(r -> r.action() == Action.FAILED);
        boolean delayed = recipients.stream().anyMatch(r -> r.action() == Action.DELAYED);
        if (failed) {
            b.append("I'm sorry to have to inform you that your message could not be delivered to one or\r\n"
                    + "more recipients. It is attached below.\r\n");
        } else if (delayed) {
            b.append("Your message could not be delivered yet to one or more recipients. The mail system\r\n"
                    + "will keep trying; you do not need to send it again.\r\n");
        } else {
            b.append("Your message was successfully delivered to the destination(s) listed below.\r\n");
        }
        b.append("\r\n");
        for (Recipient r : recipients) {
            b.append("<").append(line(r.finalRecipient(), true)).append(">: ").append(r.action().name().toLowerCase(Locale.ROOT));
            r.remoteMta().ifPresent(host -> b.append(", host ").append(line(host, false)));
            r.diagnostic().ifPresent(d -> b.append(" said: ").append(diagnostic(d)));
            r.willRetryUntil().filter(u -> r.action() == Action.DELAYED)
                    .ifPresent(u -> b.append(" (trying until ").append(DATE.format(u)).append(")"));
            b.append("\r\n");
        }
        return b.toString();
    }

    // ---- parts

    /** A body part: its media type, its Content-Transfer-Encoding (empty for 7bit) and content. */
    private record Part(String type, String encoding, byte[] body) {
        /** A part as it is: 7bit, or 8bit when it holds a non-ASCII octet (RFC 2045 §6.2). */
        static Part of(String type, byte[] body) {
            return new Part(type, DeliveryReport.eightBit(body) ? "8bit" : "", body);
        }

        boolean eightBit() {
            return encoding.equals("8bit");
        }

        String header() {
            return "Content-Type: " + type + "\r\n" + (encoding.isEmpty() ? "" : "Content-Transfer-Encoding: " + encoding + "\r\n");
        }
    }

    /** The first part: US-ASCII as it is when it can be, else UTF-8 in quoted-printable, so its lines stay short. */
    private static Part explanation(String text) {
        String crlf = text.replaceAll("\r\n|\r|\n", "\r\n");
        if (!crlf.endsWith("\r\n")) crlf += "\r\n";
        boolean plain = crlf.chars().allMatch(ch -> ch < 0x80) && crlf.lines().allMatch(l -> l.length() <= MAX_LINE);
        if (plain) return Part.of("text/plain; charset=us-ascii", crlf.getBytes(StandardCharsets.US_ASCII));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (QuotedPrintableOutputStream qp = new QuotedPrintableOutputStream(out, false)) {
            qp.write(crlf.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        byte[] encoded = out.toByteArray();
        if (encoded.length < 2 || encoded[encoded.length - 1] != '\n') encoded = concat(encoded, CRLF);
        return new Part("text/plain; charset=utf-8", "quoted-printable", encoded);
    }

    /** RFC 3464 §2.1: the per-message fields, then each recipient's, each group ended by a blank line. */
    private static String deliveryStatus(String reportingMta, Original original, List<Recipient> recipients, boolean global) {
        StringBuilder b = new StringBuilder();
        original.envid().ifPresent(envid -> field(b, "Original-Envelope-Id", line(envid, false))); // RFC 3464 §2.2.1
        field(b, "Reporting-MTA", "dns; " + reportingMta); // §2.2.2
        field(b, "Arrival-Date", DATE.format(original.arrival())); // §2.2.5
        for (Recipient r : recipients) {
            b.append("\r\n");
            r.originalRecipient().ifPresent(o -> field(b, "Original-Recipient", typedAddress(o, global))); // §2.3.1
            field(b, "Final-Recipient", typedAddress(addressType(r.finalRecipient()) + ";" + r.finalRecipient(), global)); // §2.3.2
            field(b, "Action", r.action().name().toLowerCase(Locale.ROOT)); // §2.3.3
            field(b, "Status", r.status()); // §2.3.4
            r.remoteMta().ifPresent(host -> field(b, "Remote-MTA", "dns; " + line(host, false))); // §2.3.5
            r.diagnostic().ifPresent(d -> field(b, "Diagnostic-Code", "smtp; " + diagnostic(d))); // §2.3.6
            r.lastAttempt().ifPresent(at -> field(b, "Last-Attempt-Date", DATE.format(at))); // §2.3.7
            // §2.3.9: only a delayed recipient is still being tried.
            r.willRetryUntil().filter(u -> r.action() == Action.DELAYED).ifPresent(u -> field(b, "Will-Retry-Until", DATE.format(u)));
        }
        return b.toString();
    }

    /** The third part: the whole message (RFC 6522 §3: message/rfc822, RFC 6533: message/global) or its header section. */
    private static Part returned(Original original, boolean whole, boolean global) {
        byte[] message = crlf(original.message());
        if (whole && longestLine(message) <= MAX_LINE) {
            return Part.of(global ? "message/global" : "message/rfc822", message);
        }
        byte[] headers = shortenLines(Arrays.copyOf(message, headerEnd(message)));
        return Part.of(global ? "message/global-headers" : "text/rfc822-headers", headers);
    }

    // ---- text

    /** A field, folded at spaces so that lines stay within 78 characters where words allow and always within 998. */
    private static void field(StringBuilder b, String name, String value) {
        int lineLength = name.length() + 1;
        b.append(name).append(':');
        for (String word : value.split(" ")) {
            if (word.isEmpty()) continue;
            if (lineLength + 1 + word.length() > FOLD_AT && lineLength > name.length() + 1) {
                b.append("\r\n");
                lineLength = 0;
            }
            // A word longer than a line can hold is split; only a remote reply has such words.
            while (lineLength + 1 + word.length() > MAX_LINE) {
                int cut = MAX_LINE - lineLength - 1;
                b.append(' ').append(word, 0, cut).append("\r\n");
                word = word.substring(cut);
                lineLength = 0;
            }
            b.append(' ').append(word);
            lineLength += 1 + word.length();
        }
        b.append("\r\n");
    }

    /**
     * Text from elsewhere as one line: control characters (CR and LF among them) become spaces,
     * and non-ASCII becomes "?" unless the report may carry UTF-8.
     */
    private static String line(String s, boolean utf8) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) b.append(' ');
            else if (cp >= 0x80 && !utf8) b.append('?');
            else b.appendCodePoint(cp);
        });
        return b.toString().strip();
    }

    /** A remote reply for Diagnostic-Code (RFC 3464 §2.3.6): one ASCII line, runs of spaces collapsed, at most {@link #MAX_DIAGNOSTIC}. */
    private static String diagnostic(String reply) {
        String one = line(reply, false).replaceAll(" {2,}", " ");
        return one.length() <= MAX_DIAGNOSTIC ? one : one.substring(0, MAX_DIAGNOSTIC) + "...";
    }

    private static String addressType(String address) {
        return address.chars().allMatch(ch -> ch < 0x80) ? "rfc822" : "utf-8";
    }

    /**
     * {@code addr-type;address} for an address field: as it is in a global report, and in a plain
     * one with non-ASCII written as RFC 6533 §3's utf-8-addr-xtext under the utf-8 type.
     */
    private static String typedAddress(String typed, boolean global) {
        String value = line(typed, true);
        if (global || value.chars().allMatch(ch -> ch < 0x80)) return value;
        int semi = value.indexOf(';');
        String address = semi < 0 ? value : value.substring(semi + 1);
        StringBuilder b = new StringBuilder("utf-8;");
        address.codePoints().forEach(cp -> {
            if (cp > 0x20 && cp < 0x7f && cp != '+' && cp != '=' && cp != '\\') b.append((char) cp);
            else b.append("\\x{").append(Integer.toHexString(cp).toUpperCase(Locale.ROOT)).append('}');
        });
        return b.toString();
    }

    // ---- bytes

    private static final byte[] CRLF = {'\r', '\n'};

    /** The octets with every line end (CRLF, a bare CR or LF) made CRLF, ending with one. */
    private static byte[] crlf(byte[] in) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(in.length + 64);
        for (int i = 0; i < in.length; i++) {
            byte c = in[i];
            if (c == '\r') {
                out.writeBytes(CRLF);
                if (i + 1 < in.length && in[i + 1] == '\n') i++;
            } else if (c == '\n') {
                out.writeBytes(CRLF);
            } else {
                out.write(c);
            }
        }
        byte[] result = out.toByteArray();
        return result.length == 0 || result[result.length - 1] == '\n' ? result : concat(result, CRLF);
    }

    /** Where the header section ends: after the CRLF of its last field, before the empty line. */
    private static int headerEnd(byte[] crlf) {
        if (crlf.length >= 2 && crlf[0] == '\r' && crlf[1] == '\n') return 0;
        for (int i = 0; i + 3 < crlf.length; i++) {
            if (crlf[i] == '\r' && crlf[i + 1] == '\n' && crlf[i + 2] == '\r' && crlf[i + 3] == '\n') return i + 2;
        }
        return crlf.length;
    }

    private static int longestLine(byte[] crlf) {
        int longest = 0;
        int start = 0;
        for (int i = 0; i < crlf.length; i++) {
            if (crlf[i] == '\n') {
                longest = Math.max(longest, i - 1 - start);
                start = i + 1;
            }
        }
        return Math.max(longest, crlf.length - start);
    }

    /** Header lines over 998 octets cut to 998, at a UTF-8 character boundary: an informative copy, not a message to deliver. */
    private static byte[] shortenLines(byte[] crlf) {
        if (longestLine(crlf) <= MAX_LINE) return crlf;
        ByteArrayOutputStream out = new ByteArrayOutputStream(crlf.length);
        int start = 0;
        for (int i = 0; i < crlf.length; i++) {
            if (crlf[i] != '\n') continue;
            int end = i - 1;
            if (end - start > MAX_LINE) {
                end = start + MAX_LINE;
                while (end > start && (crlf[end] & 0xc0) == 0x80) end--; // not inside a character
            }
            out.write(crlf, start, end - start);
            out.writeBytes(CRLF);
            start = i + 1;
        }
        return out.toByteArray();
    }

    private static boolean eightBit(byte[] b) {
        for (byte x : b) if (x < 0) return true;
        return false;
    }

    /** RFC 2046 §5.1.1: a boundary that occurs in none of the parts. */
    private static String boundary(byte[]... parts) {
        for (int n = 0;; n++) {
            String candidate = "=_castellan_report_" + n;
            byte[] bytes = candidate.getBytes(StandardCharsets.US_ASCII);
            boolean clash = false;
            for (byte[] p : parts) clash |= indexOf(p, bytes) >= 0;
            if (!clash) return candidate;
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static void write(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }
}
