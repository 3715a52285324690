package org.castellan.protocol.smtp;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.castellan.protocol.mail.AddressList;

/**
 * Who a submitted message says it is from: the addresses of its originator fields (RFC 5322
 * §3.6.2 From and Sender, §3.6.6 Resent-From and Resent-Sender), which a submission server checks
 * against the authenticated account (RFC 6409 §8 lets it refuse what it would otherwise have to
 * rewrite). Reply-To names where answers go, not who wrote: it is not checked.
 *
 * <p>The fields are read with {@link AddressList}, the parser IMAP's ENVELOPE, SEARCH and SORT
 * use, so the address checked here is the address a mail reader shows. Two more rules close the
 * gap between what is checked and what a reader sees: a field that is not RFC 5322 is refused
 * rather than guessed at (readers guess differently), and an address shown in a display name
 * ({@code "ceo@bank.example" <bob@example.org>}, which many readers show instead of the address)
 * is claimed as much as the mailbox is. Pure; reads only the header section.
 *
 * <p>What a reader shows must also be all there is to see: a From or Sender field written twice
 * (readers show one or the other), several authors without a Sender (RFC 5322 §3.6.2), a Sender
 * naming more than one mailbox, or a header section that does not end within what was read (a
 * field beyond it would reach the reader unchecked) are refused as well.
 */
public final class FromHeader {

    /**
     * How much of a message is searched for its header section. Real headers are a few KiB; one
     * with a From field beyond 256 KiB is treated as having none.
     */
    public static final int MAX_HEADER_SECTION = 256 * 1024;

    /** The originator fields, each of whose addresses must be the sender's. */
    public static final List<String> FIELDS = List.of("From", "Sender", "Resent-From", "Resent-Sender");

    private FromHeader() {}

    /**
     * An address a field claims for the sender.
     *
     * @param field the field's name as {@link #FIELDS} spells it
     * @param address {@code local@domain} as written (the local part unquoted)
     * @param inDisplayName true when the address is shown in a display name, not the mailbox itself
     */
    public record Claim(String field, String address, boolean inDisplayName) {}

    /** What the originator fields say. */
    public sealed interface Originators {

        /**
         * Every claim of every originator field; {@code fromAddresses} counts the From mailboxes.
         * {@code misuse}, when present, says how the fields break RFC 5322 §3.6 although each is
         * well-formed; a submission server refuses such a message once it has checked the claims.
         */
        record Claims(List<Claim> claims, int fromAddresses, Optional<String> misuse) implements Originators {
            public Claims {
                claims = List.copyOf(claims);
            }
        }

        /** A field that is not an RFC 5322 address list (§3.4, with §4.4's obsolete forms). */
        record Malformed(String field) implements Originators {}

        /** The header section does not end within the octets read: fields beyond went unchecked. */
        record HeaderTooLong(int limit) implements Originators {}
    }

    /** The fields RFC 5322 §3.6 allows at most once; the Resent- ones come once per resent block. */
    private static final List<String> ONCE = List.of("From", "Sender");

    /**
     * Reads the originator fields of a message's header section; {@code length} octets are the
     * whole message.
     */
    public static Originators originators(byte[] message, int length) {
        return originators(message, length, true);
    }

    /**
     * Reads the originator fields of a message's header section.
     *
     * @param message the start of the message, at least its header section when it has one
     * @param whole whether the {@code length} octets are the whole message; when they are not, the
     *     header section must end within them (and within {@link #MAX_HEADER_SECTION})
     */
    public static Originators originators(byte[] message, int length, boolean whole) {
        Header header = headerFields(message, length);
        if (!header.ended() && (!whole || length > MAX_HEADER_SECTION)) {
            return new Originators.HeaderTooLong(Math.min(length, MAX_HEADER_SECTION));
        }
        List<Claim> claims = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        int fromAddresses = 0;
        int senderAddresses = 0;
        for (String[] f : header.fields()) {
            String field = FIELDS.stream().filter(n -> n.equalsIgnoreCase(f[0])).findFirst().orElse(null);
            if (field == null) continue;
            seen.merge(field, 1, Integer::sum);
            AddressList list = AddressList.parse(f[1]);
            if (!list.wellFormed()) return new Originators.Malformed(field);
            for (AddressList.Mailbox m : list.mailboxes()) {
                claims.add(new Claim(field, m.addrSpec(), false));
                if (m.name() != null) {
                    for (String shown : addressesIn(m.name())) claims.add(new Claim(field, shown, true));
                    for (String shown : addressesIn(m.decodedName())) claims.add(new Claim(field, shown, true));
                }
                if (field.equals("From")) fromAddresses++;
                if (field.equals("Sender")) senderAddresses++;
            }
        }
        return new Originators.Claims(claims, fromAddresses, misuse(seen, fromAddresses, senderAddresses));
    }

    /** How well-formed originator fields still break RFC 5322 §3.6, if they do. */
    private static Optional<String> misuse(Map<String, Integer> seen, int fromAddresses, int senderAddresses) {
        for (String field : ONCE) {
            // RFC 5322 §3.6: at most one From and one Sender; readers show either one of two.
            if (seen.getOrDefault(field, 0) > 1) return Optional.of(field + ": field appears more than once (RFC 5322 3.6)");
        }
        // RFC 5322 §3.6.2: sender = "Sender:" mailbox, one agent.
        if (senderAddresses > 1) return Optional.of("Sender: names more than one mailbox (RFC 5322 3.6.2)");
        // RFC 5322 §3.6.2: with several authors, the Sender field MUST name the one who sent it.
        if (fromAddresses > 1 && senderAddresses == 0) {
            return Optional.of("From: names several authors, so a Sender: field is required (RFC 5322 3.6.2)");
        }
        return Optional.empty();
    }

    /** Header fields as {name, unfolded value}; {@code ended}: the empty line ending the section was read. */
    private record Header(List<String[]> fields, boolean ended) {}

    /** Header fields up to the empty line ending the header section, or as far as the octets go. */
    private static Header headerFields(byte[] message, int length) {
        String text = new String(message, 0, Math.min(length, MAX_HEADER_SECTION), StandardCharsets.UTF_8);
        List<String[]> out = new ArrayList<>();
        String name = null;
        StringBuilder value = new StringBuilder();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.endsWith("\r")) line = line.substring(0, line.length() - 1);
            boolean continuation = !line.isEmpty() && (line.charAt(0) == ' ' || line.charAt(0) == '\t');
            if (continuation && name != null) { // RFC 5322 §2.2.3 folding
                value.append(line);
                continue;
            }
            if (name != null) out.add(new String[] {name, value.toString()});
            name = null;
            // The end of the header section: an empty line, not the empty rest after the last LF.
            if (line.isEmpty() && i < lines.length - 1) return new Header(out, true);
            int colon = line.indexOf(':');
            if (colon > 0) {
                name = line.substring(0, colon).strip();
                value.setLength(0);
                value.append(line, colon + 1, line.length());
            }
        }
        if (name != null) out.add(new String[] {name, value.toString()});
        return new Header(out, false);
    }

    /** What ends an address a display name shows: white space and the characters that frame one. */
    private static boolean frame(int c) {
        return Character.isWhitespace(c) || "\"'<>()[],;:@".indexOf(c) >= 0;
    }

    /**
     * The addresses ({@code local@domain}) a display name shows, after Unicode compatibility
     * normalisation (NFKC), which turns look-alikes such as the full-width {@code ＠} into what a
     * reader's eye takes them for.
     */
    static Set<String> addressesIn(String name) {
        String text = Normalizer.normalize(name, Normalizer.Form.NFKC);
        Set<String> out = new LinkedHashSet<>();
        for (int at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
            int from = at;
            while (from > 0 && !frame(text.codePointBefore(from))) from -= Character.charCount(text.codePointBefore(from));
            int to = at + 1;
            while (to < text.length() && !frame(text.codePointAt(to))) to += Character.charCount(text.codePointAt(to));
            String local = text.substring(from, at);
            String domain = text.substring(at + 1, to).replaceAll("\\.+$", "");
            if (!local.isEmpty() && !domain.isEmpty()) out.add(local + "@" + domain.toLowerCase(Locale.ROOT));
        }
        return out;
    }
}
