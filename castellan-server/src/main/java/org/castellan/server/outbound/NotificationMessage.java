package org.castellan.server.outbound;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.protocol.smtp.DeliveryReport;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;

/**
 * One delivery status notification made from the queue's record of a message, composed by
 * {@link DeliveryReport}: what each recipient's state, reply and host say in RFC 3464's fields,
 * and how much of the message goes back (RFC 3461 §4.3).
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
     * The most of a header section read for a report; a longer one is cut at a line end. No
     * real header section comes near it, and a report is no place for more.
     */
    static final int MAX_HEADER_SECTION = 1024 * 1024;

    /** RFC 3463 §2: class.subject.detail, the first one in a reply. */
    private static final Pattern STATUS = Pattern.compile("\\b([245])\\.(\\d{1,3}\\.\\d{1,3})\\b");

    /**
     * The composed notification about {@code covered}; {@code content} is the queued message's,
     * {@code giveUpAt} when the queue stops trying it.
     */
    static DeliveryReport.Composed render(String hostname, QueuedMessage m, Notifier.Kind kind, List<QueuedRecipient> covered,
                                          InputStream content, Instant giveUpAt, Instant now) throws IOException {
        // RFC 3461 §4.3: RET=FULL returns the whole message with a failure; above the limit, the header section.
        boolean whole = kind == Notifier.Kind.FAILED && m.ret() == Dsn.Ret.FULL && m.size() <= MAX_RETURNED;
        Dsn.Ret ret = whole ? Dsn.Ret.FULL : Dsn.Ret.HDRS;
        byte[] returned = whole ? content.readAllBytes() : headerSection(content);
        var original = new DeliveryReport.Original(m.sender(), m.envid(), ret, m.arrival(), m.smtpUtf8(), returned);
        List<DeliveryReport.Recipient> recipients = covered.stream().map(r -> recipient(kind, r, giveUpAt)).toList();
        String explanation = DeliveryReport.explanation(hostname, recipients);
        if (kind == Notifier.Kind.FAILED && m.ret() == Dsn.Ret.FULL && !whole) {
            explanation += "\r\nThe message is larger than " + MAX_RETURNED + " octets; only its header section is returned.\r\n";
        }
        String id = "dsn." + m.id() + "." + kind.name().toLowerCase(Locale.ROOT) + "." + now.toEpochMilli();
        return DeliveryReport.compose(hostname, id, now, original, recipients, explanation);
    }

    /** RFC 3464 §2.3: one recipient's fields from what the queue recorded of it. */
    static DeliveryReport.Recipient recipient(Notifier.Kind kind, QueuedRecipient r, Instant giveUpAt) {
        DeliveryReport.Action action = action(kind, r);
        // RFC 3464 §2.3.9: only a recipient still being tried has a Will-Retry-Until.
        Optional<Instant> willRetryUntil = kind == Notifier.Kind.DELAYED ? Optional.of(giveUpAt) : Optional.empty();
        return new DeliveryReport.Recipient(r.address(), r.orcpt(), action, status(action, r), r.lastHost(), r.lastReply(),
                r.lastAttempt(), willRetryUntil);
    }

    /**
     * RFC 3464 §2.3.3. A success reported from a remote host is "relayed": the receiver took no
     * duty to report further, as far as this queue knows.
     */
    static DeliveryReport.Action action(Notifier.Kind kind, QueuedRecipient r) {
        return switch (kind) {
            case FAILED -> DeliveryReport.Action.FAILED;
            case DELIVERED -> r.lastHost().isPresent() ? DeliveryReport.Action.RELAYED : DeliveryReport.Action.DELIVERED;
            case DELAYED -> DeliveryReport.Action.DELAYED;
        };
    }

    /**
     * RFC 3464 §2.3.4: the reply's enhanced status code in the action's class (a recipient given
     * up on after 4.x.x deferrals failed: 5.x.x with the same subject and detail), else the class's
     * generic code (RFC 3463 §3.1).
     */
    static String status(DeliveryReport.Action action, QueuedRecipient r) {
        char statusClass = switch (action) {
            case FAILED -> '5';
            case DELAYED -> '4';
            default -> '2';
        };
        if (r.lastReply().isPresent()) {
            Matcher found = STATUS.matcher(r.lastReply().get());
            if (found.find()) return statusClass + "." + found.group(2);
        }
        return statusClass + ".0.0";
    }

    /** The header section of {@code content}: up to and including the empty line, cut at a line end if too long. */
    static byte[] headerSection(InputStream unbuffered) throws IOException {
        InputStream content = new java.io.BufferedInputStream(unbuffered);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int b;
        int lineStart = 0;
        while ((b = content.read()) != -1) {
            out.write(b);
            if (b != '\n') {
                if (out.size() >= MAX_HEADER_SECTION) break;
                continue;
            }
            if (out.size() - lineStart <= 2) return out.toByteArray(); // "\n" or "\r\n": the empty line ends the section
            lineStart = out.size();
        }
        return java.util.Arrays.copyOf(out.toByteArray(), lineStart);
    }

    /** RFC 5321 §4.4: the Return-Path of final delivery, the null path for a notification. */
    static byte[] withReturnPath(byte[] notification) {
        byte[] path = "Return-Path: <>\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] out = java.util.Arrays.copyOf(path, path.length + notification.length);
        System.arraycopy(notification, 0, out, path.length, notification.length);
        return out;
    }
}
