package org.castellan.server.smtp;

import java.net.InetAddress;
import java.net.Inet6Address;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Optional;
import org.castellan.server.transport.Connection;

/**
 * The trace field Castellan prepends to every message it accepts (RFC 5321 §4.4), with the TLS
 * version and cipher in Postfix's {@code (using ... with cipher ...)} form (RFC 8314 §4.3), and
 * the RFC 3848 / RFC 6531 §3.7.3 protocol type (ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTP...).
 * The recipient is named only for a single recipient: listing all would disclose Bcc addresses.
 */
final class ReceivedHeader {

    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT);

    private ReceivedHeader() {}

    static byte[] render(String hostname, String helo, boolean esmtp, boolean smtpUtf8, Connection connection,
                         Optional<String> singleRecipient, ZonedDateTime now) {
        InetAddress ip = connection.remote().getAddress();
        String literal = ip instanceof Inet6Address ? "[IPv6:" + ip.getHostAddress() + "]" : "[" + ip.getHostAddress() + "]";
        boolean tls = connection.tls().isPresent();
        boolean auth = connection.account().isPresent();
        String with = (smtpUtf8 ? "UTF8SMTP" : esmtp ? "ESMTP" : "SMTP") + (tls && (esmtp || smtpUtf8) ? "S" : "")
                + (auth && (esmtp || smtpUtf8) ? "A" : "");
        StringBuilder h = new StringBuilder("Received: from ").append(printable(helo)).append(" (").append(literal).append(")\r\n")
                .append("\tby ").append(hostname).append(" (Castellan) with ").append(with)
                .append(" id ").append(connection.logId());
        connection.tls().ifPresent(t -> h.append("\r\n\t(using ").append(t.protocol()).append(" with cipher ")
                .append(t.cipherSuite()).append(")"));
        singleRecipient.ifPresent(r -> h.append("\r\n\tfor <").append(r).append(">"));
        h.append(";\r\n\t").append(DATE.format(now)).append("\r\n");
        return h.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The client's own words (its EHLO name, an address from its message): kept to printable
     * ASCII so they cannot fold or break a header field or a reply line.
     */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) b.append(c > 0x20 && c < 0x7f ? c : '?');
        return b.toString();
    }
}
