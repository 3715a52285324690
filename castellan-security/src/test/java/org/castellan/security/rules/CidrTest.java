package org.castellan.security.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class CidrTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            192.0.2.1              | 192.0.2.1/32
            192.0.2.0/24           | 192.0.2.0/24
            0.0.0.0/0              | 0.0.0.0/0
            10.0.0.0/8             | 10.0.0.0/8
            255.255.255.255        | 255.255.255.255/32
            128.0.0.0/1            | 128.0.0.0/1
            ::                     | ::/128
            ::/0                   | ::/0
            ::1                    | ::1/128
            2001:DB8::/32          | 2001:db8::/32
            2001:0db8:0000:0000:0000:0000:0000:0001 | 2001:db8::1/128
            2001:db8:0:0:1:0:0:1   | 2001:db8::1:0:0:1/128
            2001:db8:0:1:1:1:1:1   | 2001:db8:0:1:1:1:1:1/128
            fe80::/10              | fe80::/10
            1:2:3:4:5:6:7::        | 1:2:3:4:5:6:7:0/128
            ::ffff:192.0.2.1       | 192.0.2.1/32
            ::ffff:192.0.2.0/120   | 192.0.2.0/24
            ::ffff:0:0/96          | 0.0.0.0/0
            ::192.0.2.1            | ::c000:201/128
            """)
    void parsesToCanonicalForm(String text, String canonical) {
        Cidr cidr = Cidr.parse(text);
        assertThat(cidr).hasToString(canonical);
        assertThat(Cidr.parse(canonical)).isEqualTo(cidr).hasSameHashCodeAs(cidr);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "mail.example.org", "localhost", "192.0.2", "192.0.2.1.5", "192.0.2.256",
        "192.0.2.01", "192.0.2.-1", "192.0.2.1/33", "192.0.2.1/-1", "192.0.2.1/", "192.0.2.1/024", "192.0.2.1/a",
        "192.0.2.1/24", "10.0.0.1/8", "::1/129", "2001:db8::/16", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1::2::3",
        ":::", "12345::", "g::", "fe80::1%eth0", "1.2.3.4::", "::ffff:1.2.3.4/80", " 192.0.2.1", "192.0.2.1 "})
    void refusesWithOneLineReason(String text) {
        assertThatThrownBy(() -> Cidr.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .satisfies(e -> assertThat(e.getMessage()).isNotBlank().doesNotContain("\n"));
    }

    @Test
    void hostBitsErrorSuggestsTheNetwork() {
        assertThatThrownBy(() -> Cidr.parse("10.1.2.3/8")).hasMessageContaining("did you mean 10.0.0.0/8?");
        assertThatThrownBy(() -> Cidr.parse("2001:db8::1/32")).hasMessageContaining("did you mean 2001:db8::/32?");
    }

    @ParameterizedTest(name = "{0} contains {1}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            192.0.2.0/24     | 192.0.2.0       | true
            192.0.2.0/24     | 192.0.2.255     | true
            192.0.2.0/24     | 192.0.3.0       | false
            192.0.2.0/24     | 192.0.1.255     | false
            192.0.2.7        | 192.0.2.7       | true
            192.0.2.7        | 192.0.2.8       | false
            0.0.0.0/0        | 203.0.113.9     | true
            0.0.0.0/0        | 2001:db8::1     | false
            0.0.0.0/0        | ::              | false
            128.0.0.0/1      | 127.255.255.255 | false
            128.0.0.0/1      | 128.0.0.0       | true
            10.0.0.0/8       | ::ffff:10.1.2.3 | true
            10.0.0.0/8       | ::ffff:11.1.2.3 | false
            ::/0             | 2001:db8::1     | true
            ::/0             | 192.0.2.1       | false
            ::/0             | ::ffff:192.0.2.1 | false
            2001:db8::/32    | 2001:db8:ffff::1 | true
            2001:db8::/32    | 2001:db9::1     | false
            2001:db8::/64    | 2001:db8::ffff:ffff:ffff:ffff | true
            2001:db8::/64    | 2001:db8:0:1::  | false
            2001:db8::/65    | 2001:db8::7fff:0:0:0 | true
            2001:db8::/65    | 2001:db8::8000:0:0:0 | false
            ::1              | ::1             | true
            ::1              | ::2             | false
            ::ffff:192.0.2.0/120 | 192.0.2.200 | true
            """)
    void containsAddresses(String cidr, String address, boolean expected) throws UnknownHostException {
        assertThat(Cidr.parse(cidr).contains(InetAddress.getByName(address))).isEqualTo(expected);
    }

    @Test
    void everyIpv4PrefixLengthSplitsAtTheRightBit() throws UnknownHostException {
        // 203.0.113.77 = 11001011 00000000 01110001 01001101; flipping bit p (0-based from the left)
        // stays inside /p and leaves every longer prefix.
        long base = 0xCB00714DL;
        for (int prefix = 0; prefix <= 32; prefix++) {
            Cidr cidr = Cidr.parse(ipv4(maskTo(base, prefix)) + "/" + prefix);
            assertThat(cidr.prefixLength()).isEqualTo(prefix);
            assertThat(cidr.contains(InetAddress.getByName(ipv4(base)))).as("/%d", prefix).isTrue();
            if (prefix > 0) {
                long flipped = base ^ (1L << (32 - prefix));
                assertThat(cidr.contains(InetAddress.getByName(ipv4(flipped)))).as("/%d flipped", prefix).isFalse();
            }
            if (prefix < 32) {
                long flipped = base ^ (1L << (31 - prefix));
                assertThat(cidr.contains(InetAddress.getByName(ipv4(flipped)))).as("/%d next bit", prefix).isTrue();
            }
        }
    }

    @Test
    void everyIpv6PrefixLengthSplitsAtTheRightBit() throws UnknownHostException {
        byte[] base = InetAddress.getByName("2001:db8:85a3:8d3:1319:8a2e:370:7348").getAddress();
        for (int prefix = 0; prefix <= 128; prefix++) {
            byte[] network = base.clone();
            for (int bit = prefix; bit < 128; bit++) {
                network[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
            }
            Cidr cidr = Cidr.parse(InetAddress.getByAddress(network).getHostAddress() + "/" + prefix);
            assertThat(cidr.prefixLength()).isEqualTo(prefix);
            assertThat(cidr.contains(InetAddress.getByAddress(base))).as("/%d", prefix).isTrue();
            if (prefix > 0) {
                byte[] flipped = base.clone();
                flipped[(prefix - 1) / 8] ^= (byte) (0x80 >>> ((prefix - 1) % 8));
                assertThat(cidr.contains(InetAddress.getByAddress(flipped))).as("/%d flipped", prefix).isFalse();
            }
        }
    }

    @Test
    void mappedAddressKeptAsInet6AddressStillMatchesIpv4() throws UnknownHostException {
        // InetAddress.getByName folds mapped literals to Inet4Address; a socket may still hand us an Inet6Address.
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, (byte) 192, 0, 2, 9};
        Inet6Address address = Inet6Address.getByAddress(null, mapped, -1);
        assertThat(Cidr.parse("192.0.2.0/24").contains(address)).isTrue();
        assertThat(Cidr.parse("192.0.3.0/24").contains(address)).isFalse();
        assertThat(Cidr.parse("::/0").contains(address)).isFalse();
    }

    private static long maskTo(long address, int prefix) {
        return prefix == 0 ? 0 : address & (0xFFFF_FFFFL << (32 - prefix)) & 0xFFFF_FFFFL;
    }

    private static String ipv4(long value) {
        return (value >>> 24 & 0xFF) + "." + (value >>> 16 & 0xFF) + "." + (value >>> 8 & 0xFF) + "." + (value & 0xFF);
    }
}
