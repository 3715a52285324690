package org.castellan.protocol.imap;

import java.util.List;
import java.util.OptionalLong;

/** One item of a FETCH request (RFC 9051 §6.4.5). */
public sealed interface FetchAttribute {

    record Flags() implements FetchAttribute {}

    record Uid() implements FetchAttribute {}

    record InternalDate() implements FetchAttribute {}

    record Rfc822Size() implements FetchAttribute {}

    record Envelope() implements FetchAttribute {}

    /** {@code BODYSTRUCTURE} ({@code extensible} true) or {@code BODY} without a section. */
    record BodyStructure(boolean extensible) implements FetchAttribute {}

    /** RFC 7162 §3.1.4.1. */
    record ModSeq() implements FetchAttribute {}

    /** RFC 3501 {@code RFC822}, {@code RFC822.HEADER}, {@code RFC822.TEXT}: sections under old names. */
    record Rfc822(Section.Kind kind) implements FetchAttribute {}

    /**
     * RFC 3516 §4.2 {@code BINARY[part]<partial>} or {@code BINARY.PEEK[...]}: the part's content
     * with its transfer encoding undone; {@code part} empty for the whole message.
     */
    record Binary(boolean peek, List<Integer> part, OptionalLong partialOffset, OptionalLong partialLength)
            implements FetchAttribute {
        public Binary { part = List.copyOf(part); }
    }

    /** RFC 3516 §4.2 {@code BINARY.SIZE[part]}: the decoded size of the part. */
    record BinarySize(List<Integer> part) implements FetchAttribute {
        public BinarySize { part = List.copyOf(part); }
    }

    /** The part path as echoed in a response, e.g. {@code 1.2}; empty for the whole message. */
    static String partSpec(List<Integer> part) {
        StringBuilder b = new StringBuilder();
        for (int p : part) {
            if (b.length() > 0) b.append('.');
            b.append(p);
        }
        return b.toString();
    }

    /**
     * {@code BODY[section]<partial>} or {@code BODY.PEEK[...]} (RFC 9051 §6.4.5).
     *
     * @param partialOffset with {@code partialLength}, the {@code <o.l>} suffix
     */
    record Body(boolean peek, Section section, OptionalLong partialOffset, OptionalLong partialLength)
            implements FetchAttribute {}

    /**
     * A section specification: a part path ({@code 1.2}, empty for the whole message) and what of
     * that part.
     */
    record Section(List<Integer> part, Kind kind, List<String> fields) {

        public Section {
            part = List.copyOf(part);
            fields = List.copyOf(fields);
        }

        public enum Kind { ALL, HEADER, HEADER_FIELDS, HEADER_FIELDS_NOT, TEXT, MIME }

        /** The section as it is echoed in the response, e.g. {@code 1.2.HEADER.FIELDS (FROM)}. */
        public String spec() {
            StringBuilder b = new StringBuilder();
            for (int p : part) {
                if (b.length() > 0) b.append('.');
                b.append(p);
            }
            String k = switch (kind) {
                case ALL -> "";
                case HEADER -> "HEADER";
                case HEADER_FIELDS -> "HEADER.FIELDS";
                case HEADER_FIELDS_NOT -> "HEADER.FIELDS.NOT";
                case TEXT -> "TEXT";
                case MIME -> "MIME";
            };
            if (!k.isEmpty()) {
                if (b.length() > 0) b.append('.');
                b.append(k);
            }
            if (kind == Kind.HEADER_FIELDS || kind == Kind.HEADER_FIELDS_NOT) {
                b.append(" (").append(String.join(" ", fields)).append(')');
            }
            return b.toString();
        }
    }
}
