package org.castellan.server.outbound;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;

/**
 * One delivery status notification as a message: a {@code multipart/report} (RFC 6522) with a
 * human-readable part, the {@code message/delivery-status} part of RFC 3464 and the returned
 * message or its header section (RFC 3461 §4.3).
 *
 * <p>Failure: {@link #render} throws the {@link IOException} of reading the queued content.
 */
final class NotificationMessage {

    private NotificationMessage() {}

    /**
     * The most of a message a bounce returns whole (RET=FULL); a larger one is returned as its
     * header section. A returned message counts against the sender's mailbox like any other, and
     * the sender keeps its own copy; Postfix's {@code bounce_size_limit} is far lower (50,000).
     */
    static final int MAX_RETURNED = 10 * 1024 * 1024;
    /**
     * The most of a header section returned; a longer one is cut at a line end. The SMTP server
     * refuses header sections beyond this much anyway (FromHeader's limit is smaller).
     */
    static final int MAX_HEADER_SECTION = 1024 * 1024;

    /** RFC 3463 §2: class.subject.detail, the first one in a reply. */
    private static final Pattern STATUS = Pattern.compile("\\b([245])\\.(\\d{1,3})\\.(\\d{1,3})\\b");
    /** An SMTP reply: a three-digit code first (RFC 5321 §4.2). */
    private static final Pattern SMTP_REPLY = Pattern.compile("[2-5]\\d\\d([ -].*)?");
    private static final DateTimeFormatter DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

    /** The notification's bytes, CRLF line ends. {@code content} is the queued message's. */
    static byte[] render(String hostname, QueuedMessage m, Notifier.Kind kind, List<QueuedRecipient> covered,
                         InputStream content, Instant now) throws IOException {
        // RFC 3461 §4.3: RET applies to failed DSNs only; others return the header section.
        boolean full = kind == Notifier.Kind.FAILED && m.ret() == Dsn.Ret.FULL && m.size() <= MAX_RETURNED;
        byte[] returned = full ? content.readAllBytes() : headerSection(content);
        String boundary = "=_castellan_" + m.id() + "_" + now.toEpochMilli();
        StringBuilder head = new StringBuilder();
        head.append("From: Mail Delivery System <MAILER-DAEMON@").append(hostname).append(">\r\n");
        head.append("To: <").append(m.sender()).append(">\r\n");
        head.append("Subject: ").append(subject(kind)).append("\r\n");
        head.append("Date: ").append(DATE.format(now)).append("\r\n");
        head.append("Message-ID: <dsn.").append(m.id()).append('.').append(kind.name().toLowerCase(Locale.ROOT)).append('.')
                .append(now.toEpochMilli()).append('@').append(hostname).append(">\r\n");
        // RFC 3834 §5: automatic responders do not answer it.
        head.append("Auto-Submitted: auto-replied\r\n");
        head.append("MIME-Version: 1.0\r\n");
        head.append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"").append(boundary)
                .append("\"\r\n\r\n");
        head.append("--").append(boundary).append("\r\n");
        head.append("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        head.append(text(hostname, m, kind, covered, full));
        head.append("--").append(boundary).append("\r\n");
        head.append("Content-Type: message/delivery-status\r\n\r\n");
        head.append(status(hostname, m, kind, covered));
        head.append("--").append(boundary).append("\r\n");
        head.append("Content-Type: ").append(full ? "message/rfc822" : "text/rfc822-headers").append("\r\n\r\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream(head.length() + returned.length + 64);
        out.writeBytes(head.toString().getBytes(StandardCharsets.UTF_8));
        out.writeBytes(returned);
        out.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    private static String subject(Notifier.Kind kind) {
        return switch (kind) {
            case FAILED -> "Undelivered Mail Returned to Sender";
            case DELIVERED -> "Successful Mail Delivery Report";
            case DELAYED -> "Delayed Mail (still being retried)";
        };
    }

    private static String text(String hostname, QueuedMessage m, Notifier.Kind kind, List<QueuedRecipient> covered,
                               boolean full) {
        StringBuilder t = new StringBuilder("This is the mail system at ").append(hostname).append(".\r\n\r\n");
        t.append(switch (kind) {
            case FAILED -> "Your message could not be delivered to the recipients below. It will not be tried again.";
            case DELIVERED -> "Your message was delivered to the recipients below.";
            case DELAYED -> "Your message has not been delivered yet to the recipients below. It is still being tried;"
                    + " you need not send it again.";
        }).append("\r\n\r\n");
        for (QueuedRecipient r : covered) {
            t.append("<").append(r.address()).append(">");
            r.lastReply().ifPresent(reply -> t.append(": ").append(printable(reply)));
            r.lastHost().ifPresent(host -> t.append(" (from ").append(host).append(")"));
            t.append("\r\n");
        }
        if (kind == Notifier.Kind.FAILED && m.ret() == Dsn.Ret.FULL && !full) {
            t.append("\r\nThe message is larger than ").append(MAX_RETURNED).append(" octets; only its header is returned.\r\n");
        }
        return t.append("\r\n").toString();
    }

    /** RFC 3464 §2.2 per-message fields, then §2.3 per-recipient fields for each recipient covered. */
    private static String status(String hostname, QueuedMessage m, Notifier.Kind kind, List<QueuedRecipient> covered) {
        StringBuilder s = new StringBuilder();
        m.envid().ifPresent(e -> s.append("Original-Envelope-Id: ").append(printable(e)).append("\r\n"));
        s.append("Reporting-MTA: dns; ").append(hostname).append("\r\n");
        s.append("Arrival-Date: ").append(DATE.format(m.arrival())).append("\r\n");
        for (QueuedRecipient r : covered) {
            s.append("\r\n");
            r.orcpt().ifPresent(o -> s.append("Original-Recipient: ").append(printable(o)).append("\r\n"));
            s.append("Final-Recipient: rfc822; ").append(r.address()).append("\r\n");
            s.append("Action: ").append(action(kind, r)).append("\r\n");
            s.append("Status: ").append(status(kind, r)).append("\r\n");
            r.lastHost().ifPresent(h -> s.append("Remote-MTA: dns; ").append(h).append("\r\n"));
            r.lastReply().ifPresent(reply -> s.append("Diagnostic-Code: ")
                    .append(SMTP_REPLY.matcher(reply).matches() ? "smtp; " : "X-Castellan; ").append(printable(reply)).append("\r\n"));
            r.lastAttempt().ifPresent(t -> s.append("Last-Attempt-Date: ").append(DATE.format(t)).append("\r\n"));
        }
        return s.append("\r\n").toString();
    }

    /**
     * RFC 3464 §2.3.3. A success reported from a remote host is "relayed": the receiver did not
     * take the duty to report on (the engine marks success reported itself when it passed NOTIFY
     * on to a receiver that supports DSN, RFC 3461 §5.2.2).
     */
    static String action(Notifier.Kind kind, QueuedRecipient r) {
        return switch (kind) {
            case FAILED -> "failed";
            case DELIVERED -> r.lastHost().isPresent() ? "relayed" : "delivered";
            case DELAYED -> "delayed";
        };
    }

    /** RFC 3464 §2.3.4: the reply's enhanced status code, else the class's generic one (RFC 3463 §3.1). */
    static String status(Notifier.Kind kind, QueuedRecipient r) {
        if (r.lastReply().isPresent()) {
            Matcher mm = STATUS.matcher(r.lastReply().get());
            if (mm.find()) return mm.group();
        }
        return switch (kind) {
            case FAILED -> "5.0.0";
            case DELIVERED -> "2.0.0";
            case DELAYED -> "4.0.0";
        };
    }

    /** Field text stays one line of printable characters, whatever a remote server replied. */
    private static String printable(String s) {
        return s.replaceAll("[\\p{Cntrl}]", " ");
    }

    /** The header section of {@code content}: up to and including the empty line, cut at a line end if too long. */
    static byte[] headerSection(InputStream content) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int b;
        int lineStart = 0;
        while ((b = content.read()) != -1) {
            out.write(b);
            if (b != '\n') {
                if (out.size() >= MAX_HEADER_SECTION) break;
                continue;
            }
            int lineLength = out.size() - lineStart;
            if (lineLength <= 2) return out.toByteArray(); // "\n" or "\r\n": the empty line ends the section
            lineStart = out.size();
        }
        byte[] all = out.toByteArray();
        return java.util.Arrays.copyOf(all, lineStart);
    }

    /** RFC 5321 §4.4: the Return-Path of final delivery, the null path for a notification. */
    static byte[] withReturnPath(byte[] notification) {
        byte[] path = "Return-Path: <>\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] out = java.util.Arrays.copyOf(path, path.length + notification.length);
        System.arraycopy(notification, 0, out, path.length, notification.length);
        return out;
    }

    /** RFC 6152: 8BITMIME when any octet has the high bit set. */
    static SmtpCommand.Body bodyType(byte[] notification) {
        for (byte b : notification) if (b < 0) return SmtpCommand.Body.EIGHT_BIT_MIME;
        return SmtpCommand.Body.SEVEN_BIT;
    }

    /** RFC 6531: an address with non-ASCII characters needs SMTPUTF8. */
    static boolean needsSmtpUtf8(String address) {
        return !StandardCharsets.US_ASCII.newEncoder().canEncode(address);
    }
}
