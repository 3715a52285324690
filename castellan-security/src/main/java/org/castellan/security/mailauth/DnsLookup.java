package org.castellan.security.mailauth;

import java.net.InetAddress;
import java.util.List;

/** The DNS look-ups mail authentication makes; each blocks until answered or failed. */
public interface DnsLookup {

    /** TXT records, each with its character-strings joined (RFC 7208 §3.3). */
    Answer<String> txt(String name);

    /** A and AAAA records. */
    Answer<InetAddress> addresses(String name);

    /** MX exchange names, most preferred first. */
    Answer<String> mx(String name);

    /** PTR names of an address. */
    Answer<String> ptr(InetAddress address);

    sealed interface Answer<T> {
    }

    record Found<T>(List<T> values) implements Answer<T> {
        public Found {
            values = List.copyOf(values);
        }
    }

    /** NXDOMAIN or no record of the type: a definite "none". */
    record NotFound<T>() implements Answer<T> {
    }

    /** Timeout, SERVFAIL and the like (RFC 7208 §2.6.6's temperror). */
    record Failed<T>(String reason) implements Answer<T> {
    }
}
