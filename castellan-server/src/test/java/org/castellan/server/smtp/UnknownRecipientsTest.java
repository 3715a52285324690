package org.castellan.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.castellan.server.config.Smtp;
import org.junit.jupiter.api.Test;

/** The per-host memory of unknown recipients behind the [smtp] harvesting limits. */
class UnknownRecipientsTest {

    /** A clock the test moves. */
    private static final class Hand extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final Hand clock = new Hand();
    private final UnknownRecipients counts = new UnknownRecipients(new Smtp(2, Duration.ofSeconds(1), 5, 4, Duration.ofMinutes(10)), clock);

    @Test
    void aHostIsAnIpv4AddressOrAnIpv6Slash64() throws Exception {
        assertThat(UnknownRecipients.host(InetAddress.getByName("192.0.2.7"))).isEqualTo("192.0.2.7");
        assertThat(UnknownRecipients.host(InetAddress.getByName("2001:db8:0:1::25"))).isEqualTo("2001:db8:0:1::/64");
        assertThat(UnknownRecipients.host(InetAddress.getByName("2001:db8:0:1:ffff::1"))).isEqualTo("2001:db8:0:1::/64");
        assertThat(UnknownRecipients.host(InetAddress.getByName("2001:db8:0:2::25"))).isEqualTo("2001:db8:0:2::/64");
        // An IPv4 client on an IPv6 socket is the same host as on an IPv4 one.
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 2, 7};
        assertThat(UnknownRecipients.host(java.net.Inet6Address.getByAddress(null, mapped, -1))).isEqualTo("192.0.2.7");
    }

    @Test
    void countsPerHostWithinTheWindowFromTheFirst() {
        for (int i = 1; i <= 3; i++) assertThat(counts.add("192.0.2.7")).isEqualTo(i);
        assertThat(counts.count("192.0.2.8")).isZero();
        assertThat(counts.refused("192.0.2.7")).isFalse();
        clock.now = clock.now.plus(Duration.ofMinutes(9));
        assertThat(counts.add("192.0.2.7")).isEqualTo(4);
        assertThat(counts.refused("192.0.2.7")).isTrue();
        // The window started with the first unknown recipient, not the last.
        clock.now = clock.now.plus(Duration.ofMinutes(1));
        assertThat(counts.count("192.0.2.7")).isZero();
        assertThat(counts.refused("192.0.2.7")).isFalse();
        assertThat(counts.add("192.0.2.7")).isEqualTo(1);
    }

    @Test
    void memoryIsBoundedByForgettingTheLeastRecentlyCountedHost() {
        counts.add("198.51.100.1");
        counts.add("198.51.100.1");
        for (int i = 0; i < UnknownRecipients.MAX_SOURCES; i++) counts.add("10." + (i >> 16) + "." + (i >> 8 & 0xff) + "." + (i & 0xff));
        assertThat(counts.count("198.51.100.1")).isZero();
        assertThat(counts.count("10.0.0.1")).isOne();
    }
}
