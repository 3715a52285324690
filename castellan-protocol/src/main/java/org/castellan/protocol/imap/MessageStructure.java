package org.castellan.protocol.imap;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.dom.address.Address;
import org.apache.james.mime4j.dom.address.AddressList;
import org.apache.james.mime4j.dom.address.Group;
import org.apache.james.mime4j.dom.address.Mailbox;
import org.apache.james.mime4j.dom.field.ContentDispositionField;
import org.apache.james.mime4j.dom.field.ContentTypeField;
import org.apache.james.mime4j.field.ContentDispositionFieldLenientImpl;
import org.apache.james.mime4j.field.ContentTypeFieldLenientImpl;
import org.apache.james.mime4j.field.address.LenientAddressParser;
import org.apache.james.mime4j.stream.RawField;

/**
 * The MIME structure of one message as IMAP FETCH reports it (RFC 9051 §6.4.5, §7.5.2):
 * byte offsets of every entity's header and body, ENVELOPE and BODYSTRUCTURE. Sections are cut
 * from the original bytes, so BODY[...] returns exactly what was stored.
 *
 * <p>Header fields are split by hand (byte-exact), their values parsed with mime4j
 * (Content-Type, Content-Disposition, address lists), leniently: malformed MIME yields a
 * best-effort structure, never an exception. Holds offsets and header fields, no body bytes, so
 * it can be cached per stored body.
 */
public final class MessageStructure {

    /** Multipart nesting followed; deeper parts are reported as opaque. Real mail nests a few levels. */
    public static final int MAX_DEPTH = 20;
    /** Parts per multipart followed; bounds work on hostile input. */
    public static final int MAX_PARTS = 1000;

    private final Entity root;

    private MessageStructure(Entity root) {
        this.root = root;
    }

    /** Parses a message; never fails. */
    public static MessageStructure parse(byte[] message) {
        return parse(ByteBuffer.wrap(message));
    }

    /**
     * Parses the message between the buffer's position and limit, read with absolute gets (the
     * buffer is not moved); a memory-mapped file lets the store parse a large message without
     * holding it on the heap. Never fails.
     */
    public static MessageStructure parse(ByteBuffer message) {
        ByteBuffer b = message.slice();
        return new MessageStructure(entity(b, 0, b.limit(), "text/plain", 0));
    }

    /** One MIME entity: header [start, bodyStart), body [bodyStart, end). */
    private record Entity(int start, int bodyStart, int end, List<Field> fields, String type, String subtype,
            Map<String, String> params, List<Entity> children, Entity embedded, int bodyLines) {

        boolean multipart() { return type.equals("multipart"); }

        boolean message() { return embedded != null; }

        Optional<String> header(String name) {
            for (Field f : fields) if (f.name.equalsIgnoreCase(name)) return Optional.of(f.value);
            return Optional.empty();
        }
    }

    /** A header field: its name, unfolded value and the raw bytes range including CRLF. */
    private record Field(String name, String value, int start, int end) {}

    // ---- parsing

    private static Entity entity(ByteBuffer b, int start, int end, String defaultType, int depth) {
        int bodyStart = headerEnd(b, start, end);
        List<Field> fields = fields(b, start, bodyStart);
        String type = defaultType.substring(0, defaultType.indexOf('/'));
        String subtype = defaultType.substring(defaultType.indexOf('/') + 1);
        Map<String, String> params = Map.of();
        for (Field f : fields) {
            if (!f.name.equalsIgnoreCase("Content-Type")) continue;
            ContentTypeField ct = ContentTypeFieldLenientImpl.PARSER.parse(new RawField("Content-Type", f.value),
                    DecodeMonitor.SILENT);
            if (ct.getMediaType() != null && ct.getSubType() != null && !ct.getMediaType().isEmpty()) {
                type = ct.getMediaType().toLowerCase(Locale.ROOT);
                subtype = ct.getSubType().toLowerCase(Locale.ROOT);
                params = ct.getParameters();
            }
            break;
        }
        List<Entity> children = List.of();
        Entity embedded = null;
        if (depth < MAX_DEPTH && type.equals("multipart") && params.get("boundary") != null) {
            children = parts(b, bodyStart, end, params.get("boundary"),
                    subtype.equals("digest") ? "message/rfc822" : "text/plain", depth + 1);
            if (children.isEmpty()) {
                // RFC 2046 §5.1.1 needs one part; an empty multipart is shown as one empty text part.
                children = List.of(entity(b, end, end, "text/plain", depth + 1));
            }
        } else if (depth < MAX_DEPTH && type.equals("message") && subtype.equals("rfc822")) {
            embedded = entity(b, bodyStart, end, "text/plain", depth + 1);
        } else if (type.equals("multipart")) {
            type = "application";
            subtype = "octet-stream";
        }
        return new Entity(start, bodyStart, end, fields, type, subtype, params, children, embedded,
                countLines(b, bodyStart, end));
    }

    /** Where the body starts: after the first empty line, or at {@code end} when there is none. */
    private static int headerEnd(ByteBuffer b, int start, int end) {
        int i = start;
        while (i < end) {
            if (b.get(i) == '\n') return i + 1;
            if (b.get(i) == '\r' && i + 1 < end && b.get(i + 1) == '\n') return i + 2;
            int eol = i;
            while (eol < end && b.get(eol) != '\n') eol++;
            // Content without a header (binary data APPENDed as literal8, a part sent with no
            // blank line) is body from its first line that cannot be a header field.
            if (!headerLine(b, i, eol)) return i;
            i = eol + 1;
        }
        return end;
    }

    /**
     * Whether the line {@code [from, eol)} can belong to a header: a continuation (RFC 5322 §2.2.3)
     * or a field name (printable US-ASCII, RFC 5322 §3.6.8; obsolete WSP before the colon
     * tolerated, §4.5) and a colon. A line with a control or 8-bit octet before any colon, or
     * with no colon at all, is the body's.
     */
    private static boolean headerLine(ByteBuffer b, int from, int eol) {
        int c = b.get(from) & 0xff;
        if (c == ' ' || c == '\t') return true;
        for (int k = from; k < eol; k++) {
            c = b.get(k) & 0xff;
            if (c == ':') return k > from;
            if (c != ' ' && c != '\t' && (c < 0x21 || c > 0x7e)) return false;
        }
        return false;
    }

    private static List<Field> fields(ByteBuffer b, int start, int headerEnd) {
        List<Field> out = new ArrayList<>();
        int i = start;
        while (i < headerEnd) {
            int lineEnd = nextLine(b, i, headerEnd);
            if (lineEnd - i <= 2 && (b.get(i) == '\r' || b.get(i) == '\n')) break;
            int fieldEnd = lineEnd;
            while (fieldEnd < headerEnd && (b.get(fieldEnd) == ' ' || b.get(fieldEnd) == '\t')) fieldEnd = nextLine(b, fieldEnd, headerEnd);
            String raw = string(b, i, fieldEnd - i);
            int colon = raw.indexOf(':');
            if (colon > 0) {
                String value = raw.substring(colon + 1).replaceAll("\r?\n", "").strip();
                out.add(new Field(raw.substring(0, colon).strip(), value, i, fieldEnd));
            }
            i = fieldEnd;
        }
        return out;
    }

    private static String string(ByteBuffer b, int from, int length) {
        byte[] bytes = new byte[length];
        b.get(from, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static int nextLine(ByteBuffer b, int i, int end) {
        while (i < end && b.get(i) != '\n') i++;
        return Math.min(i + 1, end);
    }

    private static int countLines(ByteBuffer b, int start, int end) {
        int n = 0;
        for (int i = start; i < end; i++) if (b.get(i) == '\n') n++;
        if (end > start && b.get(end - 1) != '\n') n++;
        return n;
    }

    /** RFC 2046 §5.1.1: parts between "--boundary" lines, each ending before the CRLF of the next. */
    private static List<Entity> parts(ByteBuffer b, int start, int end, String boundary, String defaultType, int depth) {
        byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.UTF_8);
        List<Entity> out = new ArrayList<>();
        int partStart = -1;
        int i = start;
        while (i < end && out.size() < MAX_PARTS) {
            int lineEnd = nextLine(b, i, end);
            if (startsWith(b, i, end, delimiter)) {
                boolean close = startsWith(b, i + delimiter.length, end, new byte[] {'-', '-'});
                if (partStart >= 0) {
                    int partEnd = i;
                    if (partEnd > partStart && b.get(partEnd - 1) == '\n') partEnd--;
                    if (partEnd > partStart && b.get(partEnd - 1) == '\r') partEnd--;
                    out.add(entity(b, partStart, Math.max(partStart, partEnd), defaultType, depth));
                }
                if (close) return out;
                partStart = lineEnd;
            }
            i = lineEnd;
        }
        if (partStart >= 0 && partStart < end && out.size() < MAX_PARTS) {
            out.add(entity(b, partStart, end, defaultType, depth)); // no closing delimiter
        }
        return out;
    }

    private static boolean startsWith(ByteBuffer b, int at, int end, byte[] prefix) {
        if (end - at < prefix.length) return false;
        for (int k = 0; k < prefix.length; k++) if (b.get(at + k) != prefix[k]) return false;
        return true;
    }

    // ---- sections

    /**
     * The bytes of a section (RFC 9051 §6.4.5 {@code BODY[section]}), or empty when the part does
     * not exist (the server then returns an empty string, as RFC 9051 allows for missing parts).
     */
    public Optional<byte[]> section(byte[] message, FetchAttribute.Section section) {
        Entity target = entity(section.part());
        if (target == null) return Optional.empty();
        boolean nested = !section.part().isEmpty();
        return switch (section.kind()) {
            case ALL -> Optional.of(nested ? slice(message, target.bodyStart, target.end) : message.clone());
            case MIME -> Optional.of(slice(message, target.start, target.bodyStart));
            case HEADER, TEXT, HEADER_FIELDS, HEADER_FIELDS_NOT -> {
                Entity msg = nested ? target.embedded : root;
                if (msg == null) yield Optional.empty();
                yield Optional.of(switch (section.kind()) {
                    case TEXT -> slice(message, msg.bodyStart, msg.end);
                    case HEADER -> slice(message, msg.start, msg.bodyStart);
                    default -> headerFields(message, msg, Set.copyOf(section.fields()),
                            section.kind() == FetchAttribute.Section.Kind.HEADER_FIELDS_NOT);
                });
            }
        };
    }

    /** The entity a part number names (RFC 9051 §6.4.5), or null when there is no such part. */
    private Entity entity(List<Integer> part) {
        Entity target = root;
        for (int n : part) {
            if (target.message() && target != root) target = target.embedded;
            if (target.multipart()) {
                if (n > target.children.size()) return null;
                target = target.children.get(n - 1);
            } else if (n != 1) {
                return null;
            }
        }
        return target;
    }

    /** Where a section lies in the stored message: octets {@code [from, to)}. */
    public record Range(long from, long to) {
        public long length() { return to - from; }
    }

    /**
     * Where {@link #section} would cut a section that is one contiguous run of the stored
     * message (kinds ALL, MIME, HEADER and TEXT), so that it can be sent from the stored bytes
     * without holding them; empty when the part does not exist.
     *
     * @param messageSize the stored message's size, which is where the whole message ends
     * @throws IllegalArgumentException for HEADER.FIELDS, which is not one run
     */
    public Optional<Range> sectionRange(FetchAttribute.Section section, long messageSize) {
        Entity target = entity(section.part());
        if (target == null) return Optional.empty();
        boolean nested = !section.part().isEmpty();
        return switch (section.kind()) {
            case ALL -> Optional.of(nested ? new Range(target.bodyStart, target.end) : new Range(0, messageSize));
            case MIME -> Optional.of(new Range(target.start, target.bodyStart));
            case HEADER, TEXT -> {
                Entity msg = nested ? target.embedded : root;
                if (msg == null) yield Optional.empty();
                yield Optional.of(section.kind() == FetchAttribute.Section.Kind.TEXT ? new Range(msg.bodyStart, msg.end)
                        : new Range(msg.start, msg.bodyStart));
            }
            case HEADER_FIELDS, HEADER_FIELDS_NOT -> throw new IllegalArgumentException("not one run: " + section.kind());
        };
    }

    /** What {@link #binary} found: the decoded content, no such part, or an encoding it cannot undo. */
    public sealed interface BinaryContent {
        record Decoded(byte[] bytes) implements BinaryContent {}

        record Missing() implements BinaryContent {}

        /** RFC 3516 §4.3: the server answers NO [UNKNOWN-CTE]. */
        record UnknownEncoding(String encoding) implements BinaryContent {}
    }

    /**
     * RFC 3516 §4.2 {@code BINARY[part]}: the part's body with its Content-Transfer-Encoding
     * undone (base64, quoted-printable; 7bit, 8bit and binary as they are). The empty part is
     * the whole message as stored: a message as a whole has no transfer encoding to undo.
     * Decoding is lenient, as mail clients are: stray characters in base64 are skipped, a broken
     * quoted-printable escape is kept as it is.
     */
    public BinaryContent binary(byte[] message, java.util.List<Integer> part) {
        if (part.isEmpty()) return new BinaryContent.Decoded(message.clone());
        Entity target = entity(part);
        if (target == null) return new BinaryContent.Missing();
        String encoding = target.header("Content-Transfer-Encoding").orElse("7bit").strip().toLowerCase(Locale.ROOT);
        byte[] body = slice(message, target.bodyStart, target.end);
        return switch (encoding) {
            case "7bit", "8bit", "binary", "" -> new BinaryContent.Decoded(body);
            case "base64" -> new BinaryContent.Decoded(decode(new org.apache.james.mime4j.codec.Base64InputStream(
                    new java.io.ByteArrayInputStream(body), DecodeMonitor.SILENT)));
            case "quoted-printable" -> new BinaryContent.Decoded(decode(
                    new org.apache.james.mime4j.codec.QuotedPrintableInputStream(new java.io.ByteArrayInputStream(body),
                            DecodeMonitor.SILENT)));
            default -> new BinaryContent.UnknownEncoding(encoding);
        };
    }

    private static byte[] decode(java.io.InputStream in) {
        try (in) {
            return in.readAllBytes();
        } catch (java.io.IOException e) {
            // In-memory input and a silent monitor: bad encodings are skipped, not thrown.
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] headerFields(byte[] message, Entity msg, Set<String> upperNames, boolean not) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (Field f : msg.fields) {
            if (upperNames.contains(f.name.toUpperCase(Locale.ROOT)) != not) {
                bytes.write(message, f.start, f.end - f.start);
            }
        }
        bytes.write('\r');
        bytes.write('\n');
        return bytes.toByteArray();
    }

    private static byte[] slice(byte[] b, int from, int to) {
        return java.util.Arrays.copyOfRange(b, from, to);
    }

    /** The first address of a top-level address field (From, To, Cc), for SORT; empty when none. */
    public Optional<FirstAddress> firstAddress(String field) {
        Optional<String> value = root.header(field);
        if (value.isEmpty() || value.get().isBlank()) return Optional.empty();
        AddressList list;
        try {
            list = LenientAddressParser.DEFAULT.parseAddressList(value.get());
        } catch (RuntimeException e) {
            return Optional.empty();
        }
        for (Address a : list) {
            java.util.List<Mailbox> mailboxes = a instanceof Mailbox m ? List.of(m)
                    : a instanceof Group g ? g.getMailboxes() : List.of();
            for (Mailbox m : mailboxes) {
                return Optional.of(new FirstAddress(m.getName() == null ? "" : decodeWords(m.getName()),
                        m.getLocalPart() == null ? "" : m.getLocalPart(), m.getDomain() == null ? "" : m.getDomain()));
            }
        }
        return Optional.empty();
    }

    /** One address as SORT compares it (RFC 5256 §3, RFC 5957 §3): display name, local part, domain. */
    public record FirstAddress(String displayName, String localPart, String domain) {}

    /**
     * The Date: field as an instant (RFC 5256 §2.2 "sent date"), parsed leniently; empty when the
     * field is missing or unparsable, and the caller then uses the internal date.
     */
    public Optional<java.time.Instant> sentDate() {
        Optional<String> value = root.header("Date");
        if (value.isEmpty()) return Optional.empty();
        try {
            java.util.Date d = org.apache.james.mime4j.field.DateTimeFieldLenientImpl.PARSER
                    .parse(new RawField("Date", value.get()), DecodeMonitor.SILENT).getDate();
            return Optional.ofNullable(d).map(java.util.Date::toInstant);
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** RFC 2047 encoded words decoded; text that is not an encoded word is kept as it is. */
    public static String decodeWords(String value) {
        try {
            return org.apache.james.mime4j.codec.DecoderUtil.decodeEncodedWords(value, DecodeMonitor.SILENT);
        } catch (RuntimeException e) {
            return value;
        }
    }

    /** The value of a top-level header field, for SEARCH; empty when absent. */
    public Optional<String> header(String name) {
        return root.header(name);
    }

    /** Every value of a top-level header field. */
    public List<String> headers(String name) {
        return root.fields.stream().filter(f -> f.name.equalsIgnoreCase(name)).map(Field::value).toList();
    }

    /** Where the top-level body starts: SEARCH BODY scans from here. */
    public int bodyOffset() {
        return root.bodyStart;
    }

    // ---- ENVELOPE and BODYSTRUCTURE

    /** RFC 9051 §7.5.2 ENVELOPE. */
    public String envelope(boolean utf8) {
        return envelope(root, utf8);
    }

    private static String envelope(Entity e, boolean utf8) {
        String from = addresses(e.header("From"), utf8);
        String sender = e.header("Sender").isPresent() ? addresses(e.header("Sender"), utf8) : from;
        String replyTo = e.header("Reply-To").isPresent() ? addresses(e.header("Reply-To"), utf8) : from;
        return "(" + String.join(" ",
                nstring(e.header("Date"), utf8),
                nstring(e.header("Subject"), utf8),
                from, sender, replyTo,
                addresses(e.header("To"), utf8),
                addresses(e.header("Cc"), utf8),
                addresses(e.header("Bcc"), utf8),
                nstring(e.header("In-Reply-To"), utf8),
                nstring(e.header("Message-ID"), utf8)) + ")";
    }

    private static String nstring(Optional<String> value, boolean utf8) {
        return ImapStrings.nstring(value.orElse(null), utf8);
    }

    private static String addresses(Optional<String> header, boolean utf8) {
        if (header.isEmpty() || header.get().isBlank()) return "NIL";
        AddressList list;
        try {
            list = LenientAddressParser.DEFAULT.parseAddressList(header.get());
        } catch (RuntimeException e) {
            return "NIL";
        }
        StringBuilder b = new StringBuilder();
        for (Address a : list) {
            if (a instanceof Mailbox m) {
                b.append(address(m, utf8));
            } else if (a instanceof Group g) {
                // RFC 9051 §7.5.2: a group is a start marker with the name, its members, an end marker.
                b.append("(NIL NIL ").append(ImapStrings.string(g.getName(), utf8)).append(" NIL)");
                for (Mailbox m : g.getMailboxes()) b.append(address(m, utf8));
                b.append("(NIL NIL NIL NIL)");
            }
        }
        return b.length() == 0 ? "NIL" : "(" + b + ")";
    }

    private static String address(Mailbox m, boolean utf8) {
        String name = m.getName() == null || m.getName().isEmpty() ? null : m.getName();
        return "(" + ImapStrings.nstring(name, utf8) + " NIL " + ImapStrings.nstring(m.getLocalPart(), utf8) + " "
                + ImapStrings.nstring(m.getDomain(), utf8) + ")";
    }

    /** RFC 9051 §7.5.2 BODYSTRUCTURE ({@code extensible}) or BODY. */
    public String bodyStructure(boolean extensible, boolean utf8) {
        return body(root, extensible, utf8);
    }

    /**
     * RFC 5524 §3.2 {@code BODYPARTSTRUCTURE}: the extensible body structure of one part, as
     * BODYSTRUCTURE gives it for the whole message (the empty part); empty when there is no such
     * part.
     */
    public Optional<String> bodyPartStructure(java.util.List<Integer> part, boolean utf8) {
        Entity target = root;
        for (int n : part) {
            if (target.message() && target != root) target = target.embedded;
            if (target.multipart() && n <= target.children.size()) {
                target = target.children.get(n - 1);
            } else if (target.multipart() || n != 1) {
                return Optional.empty();
            }
        }
        return Optional.of(body(target, true, utf8));
    }

    private static String body(Entity e, boolean ext, boolean utf8) {
        StringBuilder b = new StringBuilder("(");
        if (e.multipart()) {
            for (Entity child : e.children) b.append(body(child, ext, utf8));
            b.append(' ').append(ImapStrings.quote(e.subtype.toUpperCase(Locale.ROOT)));
            if (ext) {
                b.append(' ').append(params(e.params, utf8)).append(' ').append(disposition(e, utf8))
                        .append(' ').append(nstring(e.header("Content-Language"), utf8))
                        .append(' ').append(nstring(e.header("Content-Location"), utf8));
            }
            return b.append(')').toString();
        }
        b.append(ImapStrings.quote(e.type.toUpperCase(Locale.ROOT))).append(' ')
                .append(ImapStrings.quote(e.subtype.toUpperCase(Locale.ROOT))).append(' ')
                .append(params(e.params, utf8)).append(' ')
                .append(nstring(e.header("Content-ID"), utf8)).append(' ')
                .append(nstring(e.header("Content-Description"), utf8)).append(' ')
                .append(ImapStrings.quote(e.header("Content-Transfer-Encoding").orElse("7BIT").toUpperCase(Locale.ROOT)))
                .append(' ').append(e.end - e.bodyStart);
        if (e.message()) {
            b.append(' ').append(envelope(e.embedded, utf8)).append(' ').append(body(e.embedded, ext, utf8))
                    .append(' ').append(e.bodyLines);
        } else if (e.type.equals("text")) {
            b.append(' ').append(e.bodyLines);
        }
        if (ext) {
            b.append(' ').append(nstring(e.header("Content-MD5"), utf8)).append(' ').append(disposition(e, utf8))
                    .append(' ').append(nstring(e.header("Content-Language"), utf8))
                    .append(' ').append(nstring(e.header("Content-Location"), utf8));
        }
        return b.append(')').toString();
    }

    private static String params(Map<String, String> params, boolean utf8) {
        if (params.isEmpty()) return "NIL";
        return params.entrySet().stream()
                .map(p -> ImapStrings.string(p.getKey().toUpperCase(Locale.ROOT), utf8) + " " + ImapStrings.string(p.getValue(), utf8))
                .collect(Collectors.joining(" ", "(", ")"));
    }

    private static String disposition(Entity e, boolean utf8) {
        Optional<String> raw = e.header("Content-Disposition");
        if (raw.isEmpty()) return "NIL";
        ContentDispositionField d = ContentDispositionFieldLenientImpl.PARSER.parse(
                new RawField("Content-Disposition", raw.get()), DecodeMonitor.SILENT);
        if (d.getDispositionType() == null || d.getDispositionType().isEmpty()) return "NIL";
        return "(" + ImapStrings.quote(d.getDispositionType().toUpperCase(Locale.ROOT)) + " " + params(d.getParameters(), utf8) + ")";
    }

    // ---- search text

    /**
     * The text SEARCH TEXT and BODY compare (RFC 9051 §6.4.4), computed the same way for the
     * full-text index and for a scan, so both give the same answers: the top-level header fields
     * with RFC 2047 words decoded, and the body's text parts with their transfer encoding
     * (base64, quoted-printable) and charset decoded. An encapsulated message (message/rfc822)
     * contributes its header fields and text parts to the body; other parts (images, archives)
     * are not text and contribute nothing. Each is cut at {@link SearchText#MAX_CHARS}.
     */
    public SearchText searchText(byte[] message) {
        return searchText(ByteBuffer.wrap(message));
    }

    /** As {@link #searchText(byte[])}, over the buffer's content (a mapped file), without moving it. */
    public SearchText searchText(ByteBuffer message) {
        message = message.slice();
        StringBuilder header = new StringBuilder();
        headerText(root, header);
        StringBuilder body = new StringBuilder();
        bodyText(message, root, body, true);
        return new SearchText(cap(header), cap(body));
    }

    /**
     * Cut at {@link SearchText#MAX_CHARS}, NUL as a space: SQLite's full-text index does not keep
     * NUL, and the scan must see what the index sees.
     */
    private static String cap(StringBuilder b) {
        String s = b.length() > SearchText.MAX_CHARS ? b.substring(0, SearchText.MAX_CHARS) : b.toString();
        return s.replace('\u0000', ' ');
    }

    private static void headerText(Entity e, StringBuilder out) {
        for (Field f : e.fields) {
            if (out.length() > SearchText.MAX_CHARS) return;
            out.append(f.name).append(": ").append(decodeWords(f.value)).append('\n');
        }
    }

    private static void bodyText(ByteBuffer message, Entity e, StringBuilder out, boolean top) {
        if (out.length() > SearchText.MAX_CHARS) return;
        if (e.multipart()) {
            for (Entity child : e.children) bodyText(message, child, out, false);
        } else if (e.message()) {
            headerText(e.embedded, out);
            bodyText(message, e.embedded, out, false);
        } else if (e.type.equals("text")) {
            out.append(decodedText(message, e)).append('\n');
        }
    }

    private static String decodedText(ByteBuffer message, Entity e) {
        int from = Math.min(e.bodyStart, message.limit());
        int to = Math.min(Math.max(from, e.end), message.limit());
        java.io.InputStream raw = new java.io.InputStream() {
            private final ByteBuffer part = message.slice(from, to - from);

            @Override
            public int read() {
                return part.hasRemaining() ? part.get() & 0xff : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (!part.hasRemaining()) return -1;
                int n = Math.min(len, part.remaining());
                part.get(b, off, n);
                return n;
            }
        };
        String encoding = e.header("Content-Transfer-Encoding").orElse("7bit").strip().toLowerCase(Locale.ROOT);
        java.io.InputStream decoded = switch (encoding) {
            case "base64" -> new org.apache.james.mime4j.codec.Base64InputStream(raw, DecodeMonitor.SILENT);
            case "quoted-printable" -> new org.apache.james.mime4j.codec.QuotedPrintableInputStream(raw, DecodeMonitor.SILENT);
            default -> raw;
        };
        byte[] bytes;
        try {
            bytes = decoded.readNBytes(SearchText.MAX_CHARS * 4);
        } catch (java.io.IOException | RuntimeException ex) {
            bytes = new byte[Math.min(to - from, SearchText.MAX_CHARS * 4)]; // undecodable: search what is there
            message.get(from, bytes);
        }
        return new String(bytes, charset(e.params.get("charset")));
    }

    /** The part's charset; US-ASCII, missing or unknown ones are read as UTF-8, its superset in practice. */
    private static java.nio.charset.Charset charset(String name) {
        if (name == null || name.isBlank()) return StandardCharsets.UTF_8;
        try {
            java.nio.charset.Charset c = java.nio.charset.Charset.forName(name.strip());
            return c.equals(StandardCharsets.US_ASCII) ? StandardCharsets.UTF_8 : c;
        } catch (RuntimeException e) {
            return StandardCharsets.UTF_8;
        }
    }

    // ---- stored form

    /** Version of {@link #encode()}'s layout; {@link #decode} refuses others, and the caller re-parses. */
    private static final int FORMAT = 1;
    /** Bounds what a corrupt or hostile stored form can make {@link #decode} allocate. */
    private static final int MAX_DECODED_ITEMS = 100_000;

    /**
     * A compact binary form of this structure, to store with the message so that ENVELOPE,
     * BODYSTRUCTURE, sections and SORT keys need no parse of the message after delivery.
     */
    public byte[] encode() {
        Out out = new Out();
        out.varint(FORMAT);
        encode(root, out);
        return out.bytes.toByteArray();
    }

    /** Reads what {@link #encode()} wrote; empty for another version or damaged bytes (never throws). */
    public static Optional<MessageStructure> decode(byte[] stored) {
        if (stored == null) return Optional.empty();
        try {
            In in = new In(stored);
            if (in.varint() != FORMAT) return Optional.empty();
            Entity root = decodeEntity(in, 0);
            return in.at == stored.length ? Optional.of(new MessageStructure(root)) : Optional.empty();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private static void encode(Entity e, Out out) {
        out.varint(e.start);
        out.varint(e.bodyStart);
        out.varint(e.end);
        out.varint(e.bodyLines);
        out.varint(e.fields.size());
        for (Field f : e.fields) {
            out.string(f.name);
            out.string(f.value);
            out.varint(f.start);
            out.varint(f.end);
        }
        out.string(e.type);
        out.string(e.subtype);
        out.varint(e.params.size());
        for (Map.Entry<String, String> p : e.params.entrySet()) {
            out.string(p.getKey());
            out.string(p.getValue());
        }
        out.varint(e.children.size());
        for (Entity c : e.children) encode(c, out);
        out.varint(e.embedded == null ? 0 : 1);
        if (e.embedded != null) encode(e.embedded, out);
    }

    private static Entity decodeEntity(In in, int depth) {
        if (depth > MAX_DEPTH + 1) throw new IllegalArgumentException("nested too deeply");
        int start = in.varint();
        int bodyStart = in.varint();
        int end = in.varint();
        int lines = in.varint();
        int n = in.count();
        List<Field> fields = new ArrayList<>(n);
        for (int i = 0; i < n; i++) fields.add(new Field(in.string(), in.string(), in.varint(), in.varint()));
        String type = in.string();
        String subtype = in.string();
        n = in.count();
        Map<String, String> params = new java.util.LinkedHashMap<>();
        for (int i = 0; i < n; i++) params.put(in.string(), in.string());
        n = in.count();
        List<Entity> children = new ArrayList<>(n);
        for (int i = 0; i < n; i++) children.add(decodeEntity(in, depth + 1));
        Entity embedded = in.varint() == 1 ? decodeEntity(in, depth + 1) : null;
        return new Entity(start, bodyStart, end, List.copyOf(fields), type, subtype, java.util.Collections.unmodifiableMap(params),
                List.copyOf(children), embedded, lines);
    }

    private static final class Out {
        final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(512);

        void varint(long v) {
            while ((v & ~0x7FL) != 0) {
                bytes.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            bytes.write((int) v);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            varint(b.length);
            bytes.writeBytes(b);
        }
    }

    private static final class In {
        final byte[] b;
        int at;

        In(byte[] b) {
            this.b = b;
        }

        int varint() {
            long v = 0;
            for (int shift = 0; shift < 35; shift += 7) {
                int x = b[at++] & 0xFF;
                v |= (long) (x & 0x7F) << shift;
                if ((x & 0x80) == 0) {
                    if (v > Integer.MAX_VALUE) break;
                    return (int) v;
                }
            }
            throw new IllegalArgumentException("bad number");
        }

        int count() {
            int n = varint();
            if (n > MAX_DECODED_ITEMS || n > b.length - at) throw new IllegalArgumentException("bad count");
            return n;
        }

        String string() {
            int n = varint();
            if (n > b.length - at) throw new IllegalArgumentException("bad length");
            String s = new String(b, at, n, StandardCharsets.UTF_8);
            at += n;
            return s;
        }
    }
}
