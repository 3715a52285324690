package org.castellan.server.dns;

import java.net.InetAddress;
import java.util.List;

/** Where mail for a domain goes, by RFC 5321 §5.1 and RFC 7505. */
public interface MailRouting {

    /** Resolves the hosts of an ASCII (A-label) domain; blocks. */
    Destination route(String domain);

    /** TLSA records for a host's SMTP port (RFC 7672 §2.2: {@code _25._tcp.host}); blocks. */
    Tlsa tlsa(String host, int port);

    sealed interface Destination {
    }

    /**
     * The hosts to try, in order: MX preference ascending, equal preferences shuffled (RFC 5321
     * §5.1), or the domain itself when it has no MX but has addresses (the implicit MX).
     *
     * @param secure the MX RRset (or the implicit MX's addresses) validated by DNSSEC
     */
    record Hosts(List<MxHost> hosts, boolean secure) implements Destination {
        public Hosts {
            hosts = List.copyOf(hosts);
        }
    }

    /** RFC 7505: the domain accepts no mail. */
    record NullMx() implements Destination {
    }

    /** The domain does not exist or has neither MX nor address records. */
    record NoSuchDomain(String reason) implements Destination {
    }

    /** Resolution failed in a way that may pass (SERVFAIL, timeout, DNSSEC bogus). */
    record Temporary(String reason) implements Destination {
    }

    /**
     * One MX host with its addresses, IPv6 first where the machine has IPv6.
     *
     * @param secure its address records validated by DNSSEC
     */
    record MxHost(String name, int preference, List<InetAddress> addresses, boolean secure) {
        public MxHost {
            addresses = List.copyOf(addresses);
        }
    }

    sealed interface Tlsa {
    }

    /** DNSSEC-validated TLSA records (RFC 7672 §2.2); none usable means no DANE. */
    record SecureTlsa(List<TlsaRecord> records) implements Tlsa {
        public SecureTlsa {
            records = List.copyOf(records);
        }
    }

    /** No TLSA records, or ones not validated by DNSSEC: DANE does not apply. */
    record NoTlsa() implements Tlsa {
    }

    /** The look-up failed or the answer was bogus: DANE cannot be ruled out, so defer (RFC 7672 §2.2). */
    record TlsaFailure(String reason) implements Tlsa {
    }

    /** RFC 6698 §2.1. */
    record TlsaRecord(int usage, int selector, int matchingType, byte[] data) {
    }
}
