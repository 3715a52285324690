package org.castellan.server.imap;

import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import org.castellan.protocol.imap.FetchAttribute;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ImapStrings;
import org.castellan.protocol.imap.ImapUrl;
import org.castellan.protocol.imap.MessageStructure;

/**
 * RFC 4467 §7 URLFETCH of URLAUTH-authorized URLs, with RFC 5524's BODYPARTSTRUCTURE, BODY and
 * BINARY. Each URL gets one {@code * URLFETCH} response, NIL when it reaches nothing for any
 * reason (§8): a bad or tampered token, an expired URL, an access identifier that does not admit
 * this session, no such message, no URLAUTH at all. Nothing here sets \Seen or touches the
 * selected mailbox. Runs on the blocking executor and writes each response as it goes, holding
 * one message in memory at a time.
 */
final class UrlFetch {

    private UrlFetch() {}

    static void run(ImapSession s, String tag, ImapCommand.UrlFetch c) {
        Instant now = Instant.now();
        s.blocking(tag, () -> {
            for (ImapCommand.UrlFetchItem item : c.urls()) {
                Optional<UrlAccess.Target> target = ImapUrl.parse(item.url()) instanceof ImapUrl.Parsed(ImapUrl url)
                        ? UrlAccess.reach(s, url, false, now) : Optional.empty();
                s.write(Unpooled.wrappedBuffer(response(s, item, target)));
            }
            return null;
        }, v -> s.ok(tag, "URLFETCH completed"));
    }

    private static byte[] response(ImapSession s, ImapCommand.UrlFetchItem item, Optional<UrlAccess.Target> target) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(("* URLFETCH " + ImapStrings.string(item.url(), s.utf8Accept()) + " ").getBytes(StandardCharsets.UTF_8));
        byte[] data = target.isEmpty() ? null : data(s, item, target.get());
        if (data == null) {
            out.writeBytes("NIL\r\n".getBytes(StandardCharsets.US_ASCII));
        } else {
            out.writeBytes(data);
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        return out.toByteArray();
    }

    /** The answer after the URL, or null for NIL. */
    private static byte[] data(ImapSession s, ImapCommand.UrlFetchItem item, UrlAccess.Target t) {
        UrlAccess.Loaded m = UrlAccess.load(s, t);
        if (!item.extended()) return UrlAccess.section(m, t).map(b -> literal(b, false)).orElse(null);
        // RFC 5524 §3.2: metadata and content describe a body part; HEADER, TEXT and MIME are none.
        boolean wholePart = t.section().kind() == FetchAttribute.Section.Kind.ALL;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write('(');
        if (item.bodyPartStructure()) {
            Optional<String> structure = wholePart ? m.structure().bodyPartStructure(t.section().part(), s.utf8Accept())
                    : Optional.empty();
            if (structure.isEmpty()) return null;
            out.writeBytes(("BODYPARTSTRUCTURE " + structure.get()).getBytes(StandardCharsets.UTF_8));
        }
        byte[] content = switch (item.data()) {
            case NONE -> null;
            case BODY -> UrlAccess.section(m, t).orElse(null);
            case BINARY -> wholePart ? binary(m, t) : null;
        };
        if (item.data() != ImapCommand.UrlData.NONE) {
            if (content == null) return null;
            if (item.bodyPartStructure()) out.write(' ');
            out.writeBytes((item.data().name() + " ").getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(literal(content, item.data() == ImapCommand.UrlData.BINARY));
        }
        out.write(')');
        return out.toByteArray();
    }

    /** RFC 5524 §3.1 BINARY: the part with its transfer encoding undone, then PARTIAL; null when it cannot be. */
    private static byte[] binary(UrlAccess.Loaded m, UrlAccess.Target t) {
        return switch (m.structure().binary(m.content(), t.section().part())) {
            case MessageStructure.BinaryContent.Decoded d -> UrlAccess.partial(d.bytes(), t.partial());
            case MessageStructure.BinaryContent.Missing x -> null;
            case MessageStructure.BinaryContent.UnknownEncoding u -> null;
        };
    }

    /** A literal; with {@code binary}, {@code ~{n}} when the octets hold NUL (RFC 3516 §4.2). */
    private static byte[] literal(byte[] data, boolean binary) {
        boolean nul = false;
        if (binary) for (byte b : data) nul |= b == 0;
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length + 16);
        out.writeBytes(((nul ? "~{" : "{") + data.length + "}\r\n").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(data);
        return out.toByteArray();
    }
}
