package org.castellan.security.rules;

import java.net.InetAddress;

/**
 * A block of IPv4 or IPv6 addresses written in CIDR notation ({@code 192.0.2.0/24},
 * {@code 2001:db8::/32}), or a single address ({@code /32} or {@code /128} implied).
 *
 * <p>IPv4-mapped IPv6 addresses ({@code ::ffff:192.0.2.1}, RFC 4291 §2.5.5.2) are IPv4: a
 * dual-stack socket reports IPv4 clients that way, and a rule written for {@code 192.0.2.0/24}
 * must still apply to them. A mapped block written in IPv6 form ({@code ::ffff:192.0.2.0/120}) is
 * read as the IPv4 block it denotes. Otherwise IPv4 blocks contain only IPv4 addresses and IPv6
 * blocks only IPv6 addresses.
 *
 * <p>The text is parsed without any name lookup: host names are refused, so reading a
 * configuration never waits on DNS.
 */
public final class Cidr {

    private static final int IPV4_BITS = 32; // RFC 791 §3.1
    private static final int IPV6_BITS = 128; // RFC 4291 §2
    private static final int IPV6_GROUPS = 8; // RFC 4291 §2.2: eight 16-bit pieces
    private static final int MAPPED_PREFIX = 96; // RFC 4291 §2.5.5.2: ::ffff:0:0/96
    private static final long MAPPED_MARKER = 0xFFFFL; // bits 80-95 of a mapped address

    private final boolean ipv4;
    private final int prefixLength;
    // The network: IPv6 in two 64-bit halves; IPv4 in the low 32 bits of low, high = 0.
    private final long high;
    private final long low;
    private final long maskHigh;
    private final long maskLow;

    private Cidr(boolean ipv4, long high, long low, int prefixLength) {
        this.ipv4 = ipv4;
        this.prefixLength = prefixLength;
        if (ipv4) {
            this.maskHigh = 0;
            this.maskLow = prefixLength == 0 ? 0 : (0xFFFF_FFFFL << (IPV4_BITS - prefixLength)) & 0xFFFF_FFFFL;
        } else {
            this.maskHigh = prefixLength >= 64 ? -1L : prefixLength == 0 ? 0 : -1L << (64 - prefixLength);
            this.maskLow = prefixLength <= 64 ? 0 : prefixLength == IPV6_BITS ? -1L : -1L << (IPV6_BITS - prefixLength);
        }
        this.high = high;
        this.low = low;
    }

    /**
     * Parses {@code address} or {@code address/prefix}.
     *
     * @throws IllegalArgumentException with a one-line reason if the text is not an IPv4 or IPv6
     *     address with an optional prefix length, or if it has bits set after the prefix (such as
     *     {@code 10.1.2.3/8}, where {@code 10.0.0.0/8} was almost certainly meant)
     */
    public static Cidr parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("empty CIDR; write an address such as 192.0.2.0/24 or 2001:db8::/32");
        }
        int slash = text.indexOf('/');
        String address = slash < 0 ? text : text.substring(0, slash);
        boolean ipv6 = address.indexOf(':') >= 0;
        int bits = ipv6 ? IPV6_BITS : IPV4_BITS;
        int prefix = slash < 0 ? bits : parsePrefix(text, text.substring(slash + 1), bits);
        long high;
        long low;
        if (ipv6) {
            int[] groups = parseIpv6(text, address);
            high = (long) groups[0] << 48 | (long) groups[1] << 32 | (long) groups[2] << 16 | groups[3];
            low = (long) groups[4] << 48 | (long) groups[5] << 32 | (long) groups[6] << 16 | groups[7];
        } else {
            high = 0;
            low = parseIpv4(text, address);
        }
        boolean ipv4 = !ipv6;
        if (ipv6 && high == 0 && low >>> 32 == MAPPED_MARKER) {
            if (prefix < MAPPED_PREFIX) {
                throw new IllegalArgumentException("\"" + text + "\": a prefix of an IPv4-mapped address must be /"
                        + MAPPED_PREFIX + " or longer; write the IPv4 block instead");
            }
            ipv4 = true;
            low &= 0xFFFF_FFFFL;
            prefix -= MAPPED_PREFIX;
        }
        Cidr cidr = new Cidr(ipv4, high, low, prefix);
        if ((high & ~cidr.maskHigh) != 0 || (low & ~cidr.maskLow) != 0) {
            Cidr network = new Cidr(ipv4, high & cidr.maskHigh, low & cidr.maskLow, prefix);
            throw new IllegalArgumentException("\"" + text + "\" has bits set after the /" + prefix
                    + " prefix; did you mean " + network + "?");
        }
        return cidr;
    }

    /** Whether {@code address} is in this block (see the class comment for IPv4-mapped addresses). */
    public boolean contains(InetAddress address) {
        byte[] bytes = address.getAddress();
        return contains(isIpv4(bytes), high(bytes), low(bytes));
    }

    boolean contains(boolean addressIsIpv4, long addressHigh, long addressLow) {
        return addressIsIpv4 == ipv4 && (addressHigh & maskHigh) == high && (addressLow & maskLow) == low;
    }

    /** Whether this is an IPv4 block (including one written in IPv4-mapped IPv6 form). */
    public boolean isIpv4() {
        return ipv4;
    }

    /** The number of leading bits that are fixed: 0-32 for IPv4, 0-128 for IPv6. */
    public int prefixLength() {
        return prefixLength;
    }

    /** Canonical form: the network address (RFC 5952 form for IPv6), a slash, the prefix length. */
    @Override
    public String toString() {
        return (ipv4 ? formatIpv4(low) : formatIpv6(high, low)) + "/" + prefixLength;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Cidr that && ipv4 == that.ipv4 && prefixLength == that.prefixLength
                && high == that.high && low == that.low;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(high) * 31 * 31 + Long.hashCode(low) * 31 + prefixLength + (ipv4 ? 1 : 0);
    }

    // An address as the (ipv4, high, low) triple that contains() compares, mapped IPv6 folded to IPv4.

    static boolean isIpv4(byte[] address) {
        return address.length == 4 || isMapped(address);
    }

    static long high(byte[] address) {
        return isIpv4(address) ? 0 : bytesToLong(address, 0);
    }

    static long low(byte[] address) {
        if (address.length == 4) {
            return bytesToLong(address, 0) >>> 32;
        }
        long low = bytesToLong(address, 8);
        return isMapped(address) ? low & 0xFFFF_FFFFL : low;
    }

    private static boolean isMapped(byte[] address) {
        if (address.length != 16) {
            return false;
        }
        for (int i = 0; i < 10; i++) {
            if (address[i] != 0) {
                return false;
            }
        }
        return address[10] == (byte) 0xFF && address[11] == (byte) 0xFF;
    }

    private static long bytesToLong(byte[] bytes, int from) {
        long value = 0;
        for (int i = from; i < from + 8; i++) {
            value = value << 8 | (i < bytes.length ? bytes[i] & 0xFF : 0);
        }
        return value;
    }

    private static int parsePrefix(String text, String prefix, int bits) {
        if (prefix.isEmpty() || prefix.length() > 3 || !prefix.chars().allMatch(c -> c >= '0' && c <= '9')
                || (prefix.length() > 1 && prefix.charAt(0) == '0')) {
            throw new IllegalArgumentException("\"" + text + "\": the prefix length after / must be a number from 0 to " + bits);
        }
        int value = Integer.parseInt(prefix);
        if (value > bits) {
            throw new IllegalArgumentException("\"" + text + "\": the prefix length after / must be a number from 0 to " + bits);
        }
        return value;
    }

    private static long parseIpv4(String text, String address) {
        String[] parts = address.split("\\.", -1);
        if (parts.length != 4) {
            throw notIpv4(text);
        }
        long value = 0;
        for (String part : parts) {
            // Leading zeros are refused: some tools read "010" as octal 8, others as decimal 10.
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9')
                    || (part.length() > 1 && part.charAt(0) == '0')) {
                throw notIpv4(text);
            }
            int octet = Integer.parseInt(part);
            if (octet > 255) {
                throw notIpv4(text);
            }
            value = value << 8 | octet;
        }
        return value;
    }

    private static IllegalArgumentException notIpv4(String text) {
        return new IllegalArgumentException("\"" + text + "\" is not an IPv4 address or CIDR "
                + "(four decimal numbers 0-255 without leading zeros, such as 192.0.2.0/24; host names are not accepted)");
    }

    private static int[] parseIpv6(String text, String address) {
        if (address.indexOf('%') >= 0) {
            throw new IllegalArgumentException("\"" + text + "\": zone indexes (%...) are not supported in CIDRs");
        }
        int gap = address.indexOf("::");
        if (gap >= 0 && address.indexOf("::", gap + 1) >= 0) {
            throw notIpv6(text, ":: may appear only once");
        }
        // RFC 4291 §2.2: a dotted IPv4 part may only end the address.
        int[] head = gap < 0 ? parseGroups(text, address, true) : parseGroups(text, address.substring(0, gap), false);
        int[] tail = gap < 0 ? new int[0] : parseGroups(text, address.substring(gap + 2), true);
        int count = head.length + tail.length;
        if (gap < 0 ? count != IPV6_GROUPS : count > IPV6_GROUPS - 1) {
            throw notIpv6(text, "it needs eight groups of hex digits, or fewer with ::");
        }
        int[] groups = new int[IPV6_GROUPS];
        System.arraycopy(head, 0, groups, 0, head.length);
        System.arraycopy(tail, 0, groups, IPV6_GROUPS - tail.length, tail.length);
        return groups;
    }

    /** Colon-separated hex groups; the last may be a dotted IPv4 address (two groups). */
    private static int[] parseGroups(String text, String part, boolean mayEndDotted) {
        if (part.isEmpty()) {
            return new int[0];
        }
        String[] pieces = part.split(":", -1);
        String last = pieces[pieces.length - 1];
        boolean dotted = mayEndDotted && last.indexOf('.') >= 0;
        int[] groups = new int[pieces.length + (dotted ? 1 : 0)];
        for (int i = 0; i < pieces.length - (dotted ? 1 : 0); i++) {
            String piece = pieces[i];
            if (piece.isEmpty() || piece.length() > 4 || !piece.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                throw notIpv6(text, "each group is one to four hex digits");
            }
            groups[i] = Integer.parseInt(piece, 16);
        }
        if (dotted) {
            long ipv4 = parseIpv4(text, last);
            groups[groups.length - 2] = (int) (ipv4 >>> 16);
            groups[groups.length - 1] = (int) (ipv4 & 0xFFFF);
        }
        return groups;
    }

    private static IllegalArgumentException notIpv6(String text, String reason) {
        return new IllegalArgumentException("\"" + text + "\" is not an IPv6 address or CIDR: " + reason);
    }

    private static String formatIpv4(long value) {
        return (value >>> 24 & 0xFF) + "." + (value >>> 16 & 0xFF) + "." + (value >>> 8 & 0xFF) + "." + (value & 0xFF);
    }

    /** RFC 5952 §4: lower case, no leading zeros, the longest run (two or more) of zero groups as ::. */
    private static String formatIpv6(long high, long low) {
        int[] groups = new int[IPV6_GROUPS];
        for (int i = 0; i < 4; i++) {
            groups[i] = (int) (high >>> (48 - 16 * i) & 0xFFFF);
            groups[i + 4] = (int) (low >>> (48 - 16 * i) & 0xFFFF);
        }
        int bestStart = -1;
        int bestLength = 1; // RFC 5952 §4.2.2: a single zero group is not shortened
        for (int i = 0; i < IPV6_GROUPS; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int start = i;
            while (i < IPV6_GROUPS && groups[i] == 0) {
                i++;
            }
            if (i - start > bestLength) { // RFC 5952 §4.2.3: the first of equal runs
                bestStart = start;
                bestLength = i - start;
            }
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < IPV6_GROUPS; i++) {
            if (i == bestStart) {
                out.append("::");
                i += bestLength - 1;
                continue;
            }
            if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
                out.append(':');
            }
            out.append(Integer.toHexString(groups[i]));
        }
        return out.toString();
    }
}
