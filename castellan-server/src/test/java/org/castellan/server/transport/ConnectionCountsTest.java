package org.castellan.server.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import org.castellan.server.config.ConnectionLimits;
import org.junit.jupiter.api.Test;

/**
 * What counts as one address and one network for the connection caps. Sockets on this machine
 * come only from 127.0.0.0/8 and ::1, so the IPv6 prefixes are checked here, on addresses alone;
 * ConnectionFloodTest drives the caps over real sockets.
 */
class ConnectionCountsTest {

    private static InetAddress ip(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Test
    void anIpv6Slash64IsOneAddressAndASlash48OneNetwork() {
        var caps = new ConnectionCounts.PerListener(ConnectionLimits.caps(2, 3));
        // RFC 4291 §2.5.1: one host may use any interface identifier of its /64.
        assertThat(caps.enter(ip("2001:db8:1:1::1"))).isNull();
        assertThat(caps.enter(ip("2001:db8:1:1:ffff:ffff:ffff:ffff"))).isNull();
        assertThat(caps.enter(ip("2001:db8:1:1::2"))).isEqualTo(ConnectionCounts.Cap.ADDRESS);
        // Another /64 of the same /48 is another address of the same network.
        assertThat(caps.enter(ip("2001:db8:1:2::1"))).isNull();
        assertThat(caps.enter(ip("2001:db8:1:3::1"))).isEqualTo(ConnectionCounts.Cap.NETWORK);
        assertThat(caps.enter(ip("2001:db8:2::1"))).as("another /48").isNull();
        // A refused connection counted nothing: one close frees one place.
        caps.leave(ip("2001:db8:1:1::1"));
        assertThat(caps.enter(ip("2001:db8:1:3::1"))).isNull();
    }

    @Test
    void anIpv4AddressIsItselfAndASlash24ItsNetwork() {
        var caps = new ConnectionCounts.PerListener(ConnectionLimits.caps(1, 2));
        assertThat(caps.enter(ip("192.0.2.1"))).isNull();
        assertThat(caps.enter(ip("192.0.2.1"))).isEqualTo(ConnectionCounts.Cap.ADDRESS);
        assertThat(caps.enter(ip("192.0.2.200"))).isNull();
        assertThat(caps.enter(ip("192.0.2.3"))).isEqualTo(ConnectionCounts.Cap.NETWORK);
        assertThat(caps.enter(ip("192.0.3.3"))).isNull();
        // An IPv4 client of a dual-stack socket arrives IPv4-mapped and is counted as IPv4.
        assertThat(caps.enter(ip("::ffff:192.0.3.3"))).isEqualTo(ConnectionCounts.Cap.ADDRESS);
    }

    @Test
    void zeroMeansNoCapAndTheServerCeilingHoldsWhateverTheListener() {
        var caps = new ConnectionCounts.PerListener(ConnectionLimits.caps(0, 0));
        for (int i = 0; i < 1000; i++) assertThat(caps.enter(ip("192.0.2.1"))).isNull();
        var server = new ConnectionCounts(2);
        assertThat(server.enterServer()).isTrue();
        assertThat(server.enterServer()).isTrue();
        assertThat(server.enterServer()).isFalse();
        server.leaveServer();
        assertThat(server.enterServer()).isTrue();
    }
}
