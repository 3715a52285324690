package org.castellan.server.outbound;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The {@code _smtp._tls.<domain>} TXT record of RFC 8460 §3: where a domain wants TLS reports,
 * {@code v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.com/tlsrpt}. Pure: bad
 * input gives an empty result.
 *
 * @param rua the report destinations, {@code mailto:} and {@code https:} URIs in the order given
 */
public record TlsRptRecord(List<URI> rua) {

    private static final String VERSION = "v=TLSRPTv1";

    public TlsRptRecord {
        rua = List.copyOf(rua);
    }

    /** RFC 8460 §3: of the TXT records, exactly one must start with {@code v=TLSRPTv1}, else no reports. */
    public static Optional<TlsRptRecord> select(List<String> txtRecords) {
        List<String> candidates = txtRecords.stream().filter(t -> t.startsWith(VERSION)).toList();
        return candidates.size() == 1 ? parse(candidates.get(0)) : Optional.empty();
    }

    /** Parses one record; empty when it is not TLSRPTv1 or names no usable destination. */
    public static Optional<TlsRptRecord> parse(String txt) {
        String[] fields = txt.split(";", -1);
        if (!fields[0].strip().equals(VERSION) || !fields[0].startsWith(VERSION)) return Optional.empty();
        List<URI> rua = new ArrayList<>();
        for (int i = 1; i < fields.length; i++) {
            String field = fields[i].strip(); // field-delim = *WSP ";" *WSP
            if (field.startsWith("rua=")) {
                if (!rua.isEmpty()) return Optional.empty(); // one rua field
                for (String uri : field.substring("rua=".length()).split(",", -1)) {
                    Optional<URI> u = destination(uri.strip());
                    if (u.isEmpty()) return Optional.empty();
                    rua.add(u.get());
                }
            }
            // other fields are extensions (RFC 8460 §3: tlsrpt-extension), ignored
        }
        return rua.isEmpty() ? Optional.empty() : Optional.of(new TlsRptRecord(rua));
    }

    /** RFC 8460 §3: {@code tlsrpt-uri} is a mailto: or https: URI. */
    private static Optional<URI> destination(String text) {
        try {
            URI uri = new URI(text);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (scheme.equals("mailto") && uri.getSchemeSpecificPart().contains("@")) return Optional.of(uri);
            if (scheme.equals("https") && uri.getHost() != null) return Optional.of(uri);
            return Optional.empty();
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
    }

    /** The addresses of the {@code mailto:} destinations. */
    public List<String> mailboxes() {
        return rua.stream().filter(u -> u.getScheme().equalsIgnoreCase("mailto")).map(URI::getSchemeSpecificPart).toList();
    }

    /** The {@code https:} destinations, where reports are POSTed. */
    public List<URI> httpsEndpoints() {
        return rua.stream().filter(u -> u.getScheme().equalsIgnoreCase("https")).toList();
    }
}
