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
import org.apache.james.mime4j.dom.field.ContentDispositionField;
import org.apache.james.mime4j.dom.field.ContentTypeField;
import org.apache.james.mime4j.field.ContentDispositionFieldLenientImpl;
import org.apache.james.mime4j.field.ContentTypeFieldLenientImpl;
import org.apache.james.mime4j.stream.RawField;
import org.castellan.protocol.mail.AddressList;
import org.castellan.protocol.mail.EncodedWords;

/**
 * The MIME structure of one message as IMAP FETCH reports it (RFC 9051 §6.4.5, §7.5.2):
 * byte offsets of every entity's header and body, ENVELOPE and BODYSTRUCTURE. Sections are cut
 * from the original bytes, so BODY[...] returns exactly what was stored.
 *
 * <p>Header fields and multipart bodies are split by hand (byte-exact); Content-Type and
 * Content-Disposition values are parsed with mime4j, address fields with {@link AddressList},
 * leniently: malformed MIME yields a best-effort structure, never an exception. Holds offsets and
 * header fields, no body bytes, so it can be cached per stored body.
 */
public final class MessageStructure {

    /** Multipart nesting followed; deeper parts are reported as opaque. Real mail nests a few levels. */
    public static final int MAX_DEPTH = 20;
    /** Parts reported per multipart; bounds the structure a hostile message can make. Later parts are passed over. */
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
        return new MessageStructure(new Parser(message.slice()).entity(0, "text/plain", 0, List.of()).entity);
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

    /**
     * One pass over the message, as a mail reader reads it: each entity ends at the first line
     * that is a delimiter of a multipart enclosing it (RFC 2046 §5.1.1), so an entity's extent
     * never depends on how the parts inside it are cut.
     */
    private static final class Parser {
        final ByteBuffer b;
        final int length;

        Parser(ByteBuffer b) {
            this.b = b;
            this.length = b.limit();
        }

        /** A parsed entity and where the line that ended it starts (a delimiter line, or the end). */
        record Parsed(Entity entity, int next) {}

        /**
         * The entity starting at {@code start}. {@code open} holds "--boundary" of every enclosing
         * multipart, innermost last; the first line that is one of them ends the entity.
         */
        Parsed entity(int start, String defaultType, int depth, List<byte[]> open) {
            int i = start;
            int bodyStart = length;
            while (i < length) {
                if (b.get(i) == '\n') {
                    bodyStart = i + 1;
                    break;
                }
                if (b.get(i) == '\r' && i + 1 < length && b.get(i + 1) == '\n') {
                    bodyStart = i + 2;
                    break;
                }
                int eol = i;
                while (eol < length && b.get(eol) != '\n') eol++;
                // A header cut short by the next part has no body; content without a header
                // (binary data APPENDed as literal8, a part sent with no blank line) is body from
                // its first line that cannot be a header field.
                if (delimiter(i, open) >= 0 || !headerLine(b, i, eol)) {
                    bodyStart = i;
                    break;
                }
                i = Math.min(eol + 1, length);
            }
            List<Field> fields = fields(b, start, bodyStart);
            String type = defaultType.substring(0, defaultType.indexOf('/'));
            String subtype = defaultType.substring(defaultType.indexOf('/') + 1);
            Map<String, String> params = Map.of();
            for (Field f : fields) {
                if (!f.name.equalsIgnoreCase("Content-Type")) continue;
                ContentTypeField ct = ContentTypeFieldLenientImpl.PARSER.parse(rawField("Content-Type", f.value),
                        DecodeMonitor.SILENT);
                if (ct.getMediaType() != null && ct.getSubType() != null && !ct.getMediaType().isEmpty()) {
                    type = ct.getMediaType().toLowerCase(Locale.ROOT);
                    subtype = ct.getSubType().toLowerCase(Locale.ROOT);
                    Map<String, String> copy = new java.util.LinkedHashMap<>(ct.getParameters());
                    copy.values().removeIf(java.util.Objects::isNull); // a name without "=value"
                    params = java.util.Collections.unmodifiableMap(copy);
                }
                break;
            }
            boolean deepest = depth >= MAX_DEPTH;
            // RFC 2046 §5.2.1, RFC 6532 §3.7: the body is a message, parsed as one.
            boolean encapsulated = type.equals("message") && (subtype.equals("rfc822") || subtype.equals("global"));
            String boundary = params.get("boundary");
            List<Entity> children = List.of();
            Entity embedded = null;
            int next;
            if (type.equals("multipart") && boundary != null && !boundary.isEmpty() && !deepest) {
                byte[] own = ("--" + boundary).getBytes(StandardCharsets.UTF_8);
                List<byte[]> inner = new ArrayList<>(open);
                inner.add(own);
                children = new ArrayList<>();
                // RFC 2046 §5.1.5: a digest's parts are messages unless they say otherwise.
                String childType = subtype.equals("digest") ? "message/rfc822" : "text/plain";
                next = scan(bodyStart, inner); // the preamble
                boolean closed = false;
                while (next < length && delimiter(next, inner) == inner.size() - 1) {
                    if (startsWith(b, next + own.length, length, CLOSE)) {
                        closed = true;
                        break;
                    }
                    int partStart = nextLine(b, next, length);
                    Parsed part = entity(partStart, childType, depth + 1, inner);
                    if (children.size() < MAX_PARTS) children.add(part.entity);
                    next = part.next;
                }
                if (closed) next = scan(nextLine(b, next, length), open); // the epilogue
                if (children.isEmpty()) {
                    // RFC 2046 §5.1.1 needs one part; an empty multipart is shown as one empty text part.
                    int at = end(bodyStart, next);
                    children.add(new Entity(at, at, at, List.of(), "text", "plain", Map.of(), List.of(), null, 0));
                }
                children = List.copyOf(children);
            } else if (encapsulated && !deepest) {
                Parsed inner = entity(bodyStart, "text/plain", depth + 1, open);
                embedded = inner.entity;
                next = inner.next;
            } else {
                if (type.equals("multipart") || encapsulated) {
                    // Nested too deeply, or a multipart without a boundary: opaque, and reported
                    // so, since BODYSTRUCTURE would otherwise need its parts or envelope.
                    type = "application";
                    subtype = "octet-stream";
                }
                next = scan(bodyStart, open);
            }
            int end = end(bodyStart, next);
            return new Parsed(new Entity(start, bodyStart, end, fields, type, subtype, params, children, embedded,
                    countLines(b, bodyStart, end)), next);
        }

        /** Where content ending at the delimiter line {@code next} ends: the CRLF before a delimiter is the delimiter's (RFC 2046 §5.1.1). */
        int end(int bodyStart, int next) {
            if (next >= length) return length;
            int end = next;
            if (end > bodyStart && b.get(end - 1) == '\n') end--;
            if (end > bodyStart && b.get(end - 1) == '\r') end--;
            return end;
        }

        /** The start of the first line at or after {@code i} that is a delimiter of one of {@code open}, or the end. */
        int scan(int i, List<byte[]> open) {
            if (open.isEmpty()) return length;
            while (i < length) {
                if (delimiter(i, open) >= 0) return i;
                i = nextLine(b, i, length);
            }
            return length;
        }

        /**
         * Which of {@code open} the line at {@code i} is a delimiter of, or -1. RFC 2046 §5.1.1
         * compares the line's beginning with the boundary; when several match (nested boundaries
         * where one is a prefix of another), the longest is the line's, the innermost on a tie.
         */
        int delimiter(int i, List<byte[]> open) {
            if (i >= length || b.get(i) != '-') return -1;
            int best = -1;
            for (int k = open.size() - 1; k >= 0; k--) {
                byte[] d = open.get(k);
                if ((best < 0 || d.length > open.get(best).length) && startsWith(b, i, length, d)) best = k;
            }
            return best;
        }
    }

    private static final byte[] CLOSE = {'-', '-'};

    /**
     * A field for mime4j's value parsers, which refuse a CR or LF in a value (IllegalArgumentException,
     * against header injection). Unfolding removed CRLF; a bare CR or LF (RFC 5322 §2.2 forbids them,
     * but a stored message may hold one, and older stored forms kept them) is dropped here too.
     */
    private static RawField rawField(String name, String value) {
        return new RawField(name, value.replace("\r", "").replace("\n", ""));
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
        Entity target = part(section.part());
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
        Entity target = part(section.part());
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

    /**
     * The entity a part number names (RFC 9051 §6.4.5), or null when there is none. A multipart's
     * parts are numbered from 1. A message that is not multipart (the message itself, or one a
     * message/rfc822 part encapsulates) has one part, 1, its body; a leaf part has none. The parts
     * of a message/rfc822 part are those of the message it encapsulates, so "4.2.1" is part 1 of
     * the message that part 4.2 holds.
     */
    private Entity part(List<Integer> path) {
        Entity e = root;
        boolean message = true;
        for (int k = 0; k < path.size(); k++) {
            int n = path.get(k);
            if (e.multipart()) {
                if (n > e.children.size()) return null;
                e = e.children.get(n - 1);
            } else if (!message || n != 1) {
                return null;
            }
            message = false;
            if (k + 1 < path.size() && e.message()) {
                e = e.embedded;
                message = true;
            }
        }
        return e;
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
        Entity target = part(part);
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

    /**
     * The first address structure of a top-level address field as ENVELOPE gives it, for SORT
     * (RFC 5256 §3 "the first From address"; RFC 5957 §3 speaks of the IMAP address structure):
     * for a field that opens with a group, the group's start marker, whose mailbox is the group
     * name. Empty when the field is missing or holds no address.
     */
    public Optional<FirstAddress> firstAddress(String field) {
        Optional<String> value = root.header(field);
        if (value.isEmpty()) return Optional.empty();
        for (AddressList.Address a : AddressList.parse(value.get()).addresses()) {
            return Optional.of(switch (a) {
                case AddressList.Mailbox m -> new FirstAddress(m.name(), m.localPart(), m.domain());
                case AddressList.Group g -> new FirstAddress(null, g.name(), null);
            });
        }
        return Optional.empty();
    }

    /**
     * One IMAP address structure as SORT compares it (RFC 9051 §7.5.2): addr-name (as written,
     * encoded words kept; null for NIL), addr-mailbox, addr-host (null for a group marker, and
     * for an address without a domain).
     */
    public record FirstAddress(String name, String mailbox, String host) {

        /** RFC 5957 §3: the display value of the address structure. */
        public String display() {
            // "If the address structure's addr-name is non-NIL, apply the procedure from RFC 5255
            // §4.6 (decode RFC 2047 words) ... If the resulting octet string is not the empty string, use it."
            if (name != null) {
                String decoded = EncodedWords.decode(name);
                if (!decoded.isEmpty()) return decoded;
            }
            // "Otherwise, if addr-mailbox and addr-host are both non-NIL, addr-mailbox@addr-host";
            // "otherwise, if addr-mailbox is non-NIL, addr-mailbox" (a group's name); else "".
            if (mailbox != null && host != null) return mailbox + "@" + host;
            return mailbox == null ? "" : mailbox;
        }
    }

    /**
     * The Date: field as an instant (RFC 5256 §2.2 "sent date"), parsed leniently; empty when the
     * field is missing or unparsable, and the caller then uses the internal date. mime4j's lenient
     * parser reports an unparsable date as null (it catches SimpleDateFormat's ParseException).
     */
    public Optional<java.time.Instant> sentDate() {
        Optional<String> value = root.header("Date");
        if (value.isEmpty()) return Optional.empty();
        java.util.Date d = org.apache.james.mime4j.field.DateTimeFieldLenientImpl.PARSER
                .parse(rawField("Date", value.get()), DecodeMonitor.SILENT).getDate();
        return Optional.ofNullable(d).map(java.util.Date::toInstant);
    }

    /** RFC 2047 encoded words decoded; text that is not an encoded word is kept as it is. */
    public static String decodeWords(String value) {
        return EncodedWords.decode(value);
    }

    /**
     * The text SEARCH FROM, TO, CC and BCC look in (RFC 9051 §6.4.4: "the envelope structure's
     * FROM field"): each top-level field of that name read as ENVELOPE reads it, its addresses
     * written out one after another as RFC 5322 writes them, display names decoded
     * ({@code Name <local@domain>}, {@code group: ...;}). Comments and routes are not part of the
     * envelope's addresses and are not found; the addresses are, whatever form the field wrote
     * them in.
     */
    public List<String> addressText(String field) {
        List<String> out = new ArrayList<>();
        for (String value : headers(field)) {
            StringBuilder b = new StringBuilder();
            for (AddressList.Address a : AddressList.parse(value).addresses()) {
                if (b.length() > 0) b.append(", ");
                switch (a) {
                    case AddressList.Mailbox m -> addressText(m, b);
                    case AddressList.Group g -> {
                        b.append(EncodedWords.decode(g.name())).append(": ");
                        for (int i = 0; i < g.members().size(); i++) {
                            if (i > 0) b.append(", ");
                            addressText(g.members().get(i), b);
                        }
                        b.append(';');
                    }
                }
            }
            out.add(b.toString());
        }
        return out;
    }

    private static void addressText(AddressList.Mailbox m, StringBuilder b) {
        String name = m.decodedName();
        if (name != null && !name.isEmpty()) b.append(name).append(" <").append(m.address()).append('>');
        else b.append(m.address());
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
        // RFC 9051 §7.5.2: Sender and Reply-To absent, or present but empty, are the From field.
        String sender = addresses(e.header("Sender"), utf8);
        String replyTo = addresses(e.header("Reply-To"), utf8);
        return "(" + String.join(" ",
                nstring(e.header("Date"), utf8),
                nstring(e.header("Subject"), utf8),
                from, sender.equals("NIL") ? from : sender, replyTo.equals("NIL") ? from : replyTo,
                addresses(e.header("To"), utf8),
                addresses(e.header("Cc"), utf8),
                addresses(e.header("Bcc"), utf8),
                nstring(e.header("In-Reply-To"), utf8),
                nstring(e.header("Message-ID"), utf8)) + ")";
    }

    private static String nstring(Optional<String> value, boolean utf8) {
        return ImapStrings.nstring(value.orElse(null), utf8);
    }

    /**
     * An address field as a list of address structures (RFC 9051 §7.5.2), read by
     * {@link AddressList}: display names as written (clients decode RFC 2047 words, as they do in
     * the subject), the comment of the legacy {@code addr (Name)} form as the name, an obsolete
     * route as addr-adl. A group is a start marker with its name, its members, an end marker.
     */
    private static String addresses(Optional<String> header, boolean utf8) {
        if (header.isEmpty()) return "NIL";
        StringBuilder b = new StringBuilder();
        for (AddressList.Address a : AddressList.parse(header.get()).addresses()) {
            switch (a) {
                case AddressList.Mailbox m -> b.append(address(m, utf8));
                case AddressList.Group g -> {
                    b.append("(NIL NIL ").append(ImapStrings.string(g.name(), utf8)).append(" NIL)");
                    for (AddressList.Mailbox m : g.members()) b.append(address(m, utf8));
                    b.append("(NIL NIL NIL NIL)");
                }
            }
        }
        return b.length() == 0 ? "NIL" : "(" + b + ")";
    }

    private static String address(AddressList.Mailbox m, boolean utf8) {
        String name = m.name() == null || m.name().isEmpty() ? null : m.name();
        return "(" + ImapStrings.nstring(name, utf8) + " " + ImapStrings.nstring(m.route(), utf8) + " "
                + ImapStrings.string(m.localPart(), utf8) + " " + ImapStrings.string(envelopeDomain(m), utf8) + ")";
    }

    /**
     * addr-host of a mailbox: its domain; for an address without one (not RFC 5322, but "From:
     * root" exists) the empty string, since NIL would make it a group marker (RFC 9051 §7.5.2).
     */
    private static String envelopeDomain(AddressList.Mailbox m) {
        return m.domain() == null ? "" : m.domain();
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
        return Optional.ofNullable(part(part)).map(target -> body(target, true, utf8));
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

    /**
     * RFC 9051 §7.5.2 body-fld-param. mime4j gives a parameter written without "=value" a null
     * value; it is not a parameter and is left out (the grammar has no NIL value).
     */
    private static String params(Map<String, String> params, boolean utf8) {
        if (params.values().stream().allMatch(java.util.Objects::isNull)) return "NIL";
        return params.entrySet().stream().filter(p -> p.getValue() != null)
                .map(p -> ImapStrings.string(p.getKey().toUpperCase(Locale.ROOT), utf8) + " " + ImapStrings.string(p.getValue(), utf8))
                .collect(Collectors.joining(" ", "(", ")"));
    }

    private static String disposition(Entity e, boolean utf8) {
        Optional<String> raw = e.header("Content-Disposition");
        if (raw.isEmpty()) return "NIL";
        ContentDispositionField d = ContentDispositionFieldLenientImpl.PARSER.parse(
                rawField("Content-Disposition", raw.get()), DecodeMonitor.SILENT);
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
        } catch (java.io.IOException ex) {
            // Not thrown: the input is in memory (or mapped) and a silent monitor skips bad
            // encodings. Kept for the declared exception: search what is there.
            bytes = new byte[Math.min(to - from, SearchText.MAX_CHARS * 4)];
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
        } catch (IllegalArgumentException e) { // IllegalCharsetNameException, UnsupportedCharsetException
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
        } catch (IllegalArgumentException e) { // In's checks: truncated, too long, too deep
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
                if (at >= b.length) throw new IllegalArgumentException("truncated");
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
