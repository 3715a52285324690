package org.castellan.server.testing;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.castellan.security.mailauth.DnsLookup;

/**
 * DNS holding only TXT records, for tests of what reads policy records (DKIM keys, SPF, DMARC,
 * TLS-RPT): a name's TXT set from {@code txt}, look-ups of the {@code failing} names fail as a
 * SERVFAIL would, and every other name and type does not exist. Names are compared in lower case.
 */
public record TxtZone(Map<String, List<String>> txt, Set<String> failing) implements DnsLookup {

    public static TxtZone of(Map<String, List<String>> txt) {
        return new TxtZone(txt, Set.of());
    }

    @Override
    public Answer<String> txt(String name) {
        if (failing.contains(name)) return new Failed<>("SERVFAIL");
        List<String> values = txt.get(name.toLowerCase(java.util.Locale.ROOT));
        return values == null ? new NotFound<>() : new Found<>(values);
    }

    @Override
    public Answer<InetAddress> addresses(String name) {
        return new NotFound<>();
    }

    @Override
    public Answer<String> mx(String name) {
        return new NotFound<>();
    }

    @Override
    public Answer<String> ptr(InetAddress address) {
        return new NotFound<>();
    }
}
