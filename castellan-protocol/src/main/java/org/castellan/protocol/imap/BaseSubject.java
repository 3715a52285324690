package org.castellan.protocol.imap;

import java.nio.charset.StandardCharsets;

/**
 * RFC 5256 §2.1 base subject: the subject without "Re:", "Fwd:", "[list]" blobs, "(fwd)"
 * trailers and "[Fwd: ...]" wrappers, for SORT SUBJECT and THREAD.
 *
 * @param subject the base subject, encoded words decoded and white space collapsed
 * @param replyOrForward whether anything marking a reply or forward was removed (RFC 5256 §3
 *     REFERENCES step 5 and ORDEREDSUBJECT treat such messages as followers)
 */
public record BaseSubject(String subject, boolean replyOrForward) {

    /** Extracts the base subject of a raw Subject: value (null or empty gives an empty subject). */
    public static BaseSubject of(String raw) {
        if (raw == null) return new BaseSubject("", false);
        // §2.1 (1): decode, turn tabs and continuations into spaces, collapse runs of spaces.
        String s = MessageStructure.decodeWords(raw).replaceAll("[\\t\\r\\n ]+", " ").strip();
        boolean refwd = false;
        while (true) {
            // (2) subj-trailer: "(fwd)" or white space, repeatedly.
            while (true) {
                String lower = lower(s);
                if (lower.endsWith("(fwd)")) {
                    s = s.substring(0, s.length() - 5).stripTrailing();
                    refwd = true;
                } else if (!s.isEmpty() && s.charAt(s.length() - 1) == ' ') {
                    s = s.stripTrailing();
                } else {
                    break;
                }
            }
            // (5) repeat (3) and (4) until nothing changes.
            String before;
            do {
                before = s;
                // (3) subj-leader: white space, or *subj-blob subj-refwd.
                int leader = leader(s);
                if (leader > 0) {
                    if (leader != whitespace(s, 0)) refwd = true;
                    s = s.substring(leader);
                }
                // (4) a leading subj-blob, unless what remains would be empty.
                int blob = blob(s, 0);
                if (blob > 0 && !s.substring(blob).isBlank()) s = s.substring(blob);
            } while (!s.equals(before));
            // (6) "[fwd:" ... "]" wrapper.
            if (lower(s).startsWith("[fwd:") && s.endsWith("]")) {
                s = s.substring(5, s.length() - 1).strip();
                refwd = true;
                continue;
            }
            return new BaseSubject(s, refwd);
        }
    }

    /** RFC 5256 §2.1 comparisons use i;ascii-casemap: ASCII letters upper-cased, then octets. */
    public static int compare(String a, String b) {
        return java.util.Arrays.compareUnsigned(casemap(a), casemap(b));
    }

    /** i;ascii-casemap (RFC 4790 §9.2) key: UTF-8 octets with a–z upper-cased. */
    public static byte[] casemap(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i++) if (b[i] >= 'a' && b[i] <= 'z') b[i] -= 32;
        return b;
    }

    private static String lower(String s) {
        return s.toLowerCase(java.util.Locale.ROOT);
    }

    /** Length of the subj-leader at the start: WSP, or *subj-blob subj-refwd; 0 when none. */
    private static int leader(String s) {
        int ws = whitespace(s, 0);
        if (ws > 0) return ws;
        int i = 0;
        while (true) {
            int blob = blob(s, i);
            if (blob == 0) break;
            i += blob;
        }
        int refwd = refwd(s, i);
        return refwd == 0 ? 0 : i + refwd;
    }

    /** subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" — its length at {@code at}, or 0. */
    private static int refwd(String s, int at) {
        String lower = lower(s.substring(at));
        int i;
        if (lower.startsWith("re")) i = 2;
        else if (lower.startsWith("fwd")) i = 3;
        else if (lower.startsWith("fw")) i = 2;
        else return 0;
        i += whitespace(lower, i);
        i += blob(lower, i);
        return i < lower.length() && lower.charAt(i) == ':' ? i + 1 : 0;
    }

    /** subj-blob = "[" *BLOBCHAR "]" *WSP, BLOBCHAR anything but "[" and "]"; its length at {@code at}, or 0. */
    private static int blob(String s, int at) {
        if (at >= s.length() || s.charAt(at) != '[') return 0;
        int i = at + 1;
        while (i < s.length() && s.charAt(i) != '[' && s.charAt(i) != ']') i++;
        if (i >= s.length() || s.charAt(i) != ']') return 0;
        i++;
        return i + whitespace(s, i) - at;
    }

    private static int whitespace(String s, int at) {
        int i = at;
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) i++;
        return i - at;
    }
}
