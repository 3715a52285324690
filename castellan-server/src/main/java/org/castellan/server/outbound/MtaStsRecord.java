package org.castellan.server.outbound;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The {@code _mta-sts.<domain>} TXT record of RFC 8461 §3.1: {@code v=STSv1; id=20160831085700Z;}.
 * Its id changes whenever the domain changes its policy, which is what makes a sender fetch it
 * again. Pure: bad input gives an empty result, never an exception.
 */
public record MtaStsRecord(String id) {

    /** RFC 8461 §3.1: {@code sts-id = %s"id=" 1*32(ALPHA / DIGIT)}. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9]{1,32}");
    /** RFC 8461 §3.1: {@code sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")}. */
    private static final Pattern EXTENSION_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");
    /** RFC 8461 §3.1: {@code sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)}. */
    private static final Pattern EXTENSION_VALUE = Pattern.compile("[\\x21-\\x3A\\x3C\\x3E-\\x7E]+");
    private static final String VERSION = "v=STSv1";

    /**
     * RFC 8461 §3.1: of the TXT records at {@code _mta-sts.<domain>}, those not starting with
     * {@code v=STSv1} are discarded; unless exactly one remains and it parses, the domain has no
     * policy to discover.
     */
    public static Optional<MtaStsRecord> select(List<String> txtRecords) {
        List<String> candidates = txtRecords.stream().filter(t -> t.startsWith(VERSION)).toList();
        return candidates.size() == 1 ? parse(candidates.get(0)) : Optional.empty();
    }

    /** Parses one TXT record; empty when it is not a valid STSv1 record. */
    public static Optional<MtaStsRecord> parse(String txt) {
        String[] fields = txt.split(";", -1);
        if (!fields[0].strip().equals(VERSION) || !fields[0].startsWith(VERSION)) return Optional.empty();
        String id = null;
        for (int i = 1; i < fields.length; i++) {
            String field = fields[i].strip(); // sts-sep = *WSP %x3B *WSP
            if (field.isEmpty()) {
                if (i == fields.length - 1) break; // the optional trailing separator
                return Optional.empty();
            }
            int eq = field.indexOf('=');
            if (eq <= 0) return Optional.empty();
            String name = field.substring(0, eq);
            String value = field.substring(eq + 1);
            if (name.equals("id")) {
                if (id != null || !ID.matcher(value).matches()) return Optional.empty();
                id = value;
            } else if (!EXTENSION_NAME.matcher(name).matches() || !EXTENSION_VALUE.matcher(value).matches()) {
                return Optional.empty();
            }
        }
        return Optional.ofNullable(id).map(MtaStsRecord::new);
    }
}
