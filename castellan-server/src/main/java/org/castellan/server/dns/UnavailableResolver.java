package org.castellan.server.dns;

import java.net.InetAddress;
import org.castellan.security.mailauth.DnsLookup;

/**
 * What the server resolves with when it has no resolver (no {@code [dns] resolvers} and none in
 * /etc/resolv.conf): every answer is a temporary failure naming why, so outbound mail waits in
 * the queue and inbound checks say temperror, rather than the server refusing to start.
 */
public record UnavailableResolver(String reason) implements MailRouting, DnsLookup {

    @Override
    public Destination route(String domain) {
        return new Temporary(reason);
    }

    @Override
    public Tlsa tlsa(String host, int port) {
        return new TlsaFailure(reason);
    }

    @Override
    public Answer<String> txt(String name) {
        return new Failed<>(reason);
    }

    @Override
    public Answer<InetAddress> addresses(String name) {
        return new Failed<>(reason);
    }

    @Override
    public Answer<String> mx(String name) {
        return new Failed<>(reason);
    }

    @Override
    public Answer<String> ptr(InetAddress address) {
        return new Failed<>(reason);
    }
}
