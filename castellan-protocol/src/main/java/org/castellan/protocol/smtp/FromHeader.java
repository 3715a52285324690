package org.castellan.protocol.smtp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The addresses of a message's {@code From:} fields (RFC 5322 §3.6.2), which a submission server
 * checks against the authenticated account (RFC 6409 §8 lets it refuse what it would otherwise
 * have to rewrite). Pure; reads only the header section.
 */
public final class FromHeader {

    /**
     * How much of a message is searched for its header section. Real headers are a few KiB; one
     * with a From field beyond 256 KiB is treated as having none.
     */
    public static final int MAX_HEADER_SECTION = 256 * 1024;

    private FromHeader() {}

    /**
     * The addr-specs in every From field, in order, as written ({@code local@domain}); empty if
     * there is no From field. Display names, comments and group syntax are skipped.
     *
     * @param message the start of the message, at least its header section when it has one
     */
    public static List<String> addresses(byte[] message, int length) {
        String text = new String(message, 0, Math.min(length, MAX_HEADER_SECTION), StandardCharsets.UTF_8);
        int end = text.indexOf("\r\n\r\n");
        String headers = end < 0 ? text : text.substring(0, end + 2);
        List<String> out = new ArrayList<>();
        String[] lines = headers.split("\r\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (!line.regionMatches(true, 0, "From:", 0, 5)) continue;
            StringBuilder value = new StringBuilder(line.substring(5));
            // RFC 5322 §2.2.3: a field continues on lines that start with white space.
            while (i + 1 < lines.length && !lines[i + 1].isEmpty()
                    && (lines[i + 1].charAt(0) == ' ' || lines[i + 1].charAt(0) == '\t')) {
                value.append(lines[++i]);
            }
            out.addAll(mailboxes(value.toString()));
        }
        return out;
    }

    /** Splits an address-list (RFC 5322 §3.4) into addr-specs. */
    static List<String> mailboxes(String value) {
        List<String> out = new ArrayList<>();
        StringBuilder element = new StringBuilder();
        int depth = 0;
        boolean quoted = false;
        boolean angle = false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (quoted) {
                if (c == '\\' && i + 1 < value.length()) {
                    element.append(c).append(value.charAt(++i));
                    continue;
                }
                if (c == '"') quoted = false;
                element.append(c);
            } else if (depth > 0) { // inside a comment: dropped
                if (c == '\\') i++;
                else if (c == '(') depth++;
                else if (c == ')') depth--;
            } else if (c == '(') {
                depth++;
            } else if (c == '"') {
                quoted = true;
                element.append(c);
            } else if (c == '<') {
                angle = true;
                element.append(c);
            } else if (c == '>') {
                angle = false;
                element.append(c);
            } else if ((c == ',' || c == ';') && !angle) {
                addSpec(element.toString(), out);
                element.setLength(0);
            } else if (c == ':' && !angle) { // group display name: "undisclosed:"
                element.setLength(0);
            } else {
                element.append(c);
            }
        }
        addSpec(element.toString(), out);
        return out;
    }

    private static void addSpec(String element, List<String> out) {
        String e = element.strip();
        if (e.isEmpty()) return;
        int open = e.lastIndexOf('<');
        int close = e.lastIndexOf('>');
        if (open >= 0 && close > open) e = e.substring(open + 1, close).strip();
        if (!e.isEmpty()) out.add(e);
    }
}
