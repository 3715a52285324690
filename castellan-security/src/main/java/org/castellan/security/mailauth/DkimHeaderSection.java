package org.castellan.security.mailauth;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A message's header section as DKIM sees it: the fields in order, each with its lines joined by
 * CRLF (a bare LF read as CRLF) and without the final CRLF, as ISO-8859-1 text (one char per
 * octet). Reading stops after the empty line, leaving the stream at the first octet of the body.
 */
record DkimHeaderSection(List<Field> fields) {

    /**
     * A header section larger than this is not a mail header: RFC 5322 §2.1.1 lines are at most
     * 1000 octets, and Postfix refuses headers past 100 KiB (header_size_limit) as spam or a
     * loop. One MiB leaves room for any real message while bounding what one message costs.
     */
    static final int MAX_HEADER_SECTION = 1024 * 1024;

    /** One header field: its name as written (before the colon) and its whole text. */
    record Field(String name, String text) {
        boolean named(String other) {
            return name.strip().equalsIgnoreCase(other);
        }
    }

    DkimHeaderSection {
        fields = List.copyOf(fields);
    }

    /** The section, or empty when it is larger than {@link #MAX_HEADER_SECTION}. */
    static Optional<DkimHeaderSection> read(InputStream in) throws IOException {
        List<Field> fields = new ArrayList<>();
        StringBuilder field = null;
        ByteArrayOutputStream line = new ByteArrayOutputStream(128);
        long total = 0;
        while (true) {
            int b = in.read();
            if (b >= 0 && ++total > MAX_HEADER_SECTION) return Optional.empty();
            if (b >= 0 && b != '\n') {
                line.write(b);
                continue;
            }
            byte[] bytes = line.toByteArray();
            line.reset();
            int n = bytes.length;
            if (n > 0 && bytes[n - 1] == '\r') n--;
            String text = new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
            boolean end = b < 0 || text.isEmpty();
            if (!end && (text.charAt(0) == ' ' || text.charAt(0) == '\t') && field != null) {
                field.append("\r\n").append(text); // RFC 5322 §2.2.3: a folded continuation
                continue;
            }
            if (field != null) fields.add(field(field.toString()));
            field = null;
            if (!text.isEmpty()) field = new StringBuilder(text);
            if (end) {
                if (field != null) fields.add(field(field.toString()));
                return Optional.of(new DkimHeaderSection(fields));
            }
        }
    }

    private static Field field(String text) {
        int colon = text.indexOf(':');
        return new Field(colon < 0 ? text : text.substring(0, colon), text);
    }

    /** The fields named {@code name} (case-insensitive), top first. */
    List<Field> named(String name) {
        return fields.stream().filter(f -> f.named(name)).toList();
    }
}
