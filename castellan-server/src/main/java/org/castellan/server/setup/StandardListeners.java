package org.castellan.server.setup;

import java.util.List;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.config.ConfigTemplate.ListenerSpec;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.TlsMode;

/**
 * The listeners a new data directory gets: every mail protocol with STARTTLS on its classic port and
 * implicit TLS on its RFC 8314 port, HTTPS (certificate enrollment, docs/http.md) on 443 and the
 * certificate directory (LDAPS, docs/kms.md) on 636. The implicit-TLS listeners request (never require) a client
 * certificate, so device and user certificates work out of the box without troubling clients
 * that hold none.
 */
public final class StandardListeners {

    /** Quickstart's default base: ports 2525, 2587, 2465, 2143, 2993, 2110, 2995, 2443, 2636 need no root. */
    public static final int QUICKSTART_PORT_BASE = 2000;
    /** Ports below this need root on Unix; quickstart must run without. */
    private static final int UNPRIVILEGED = 1024;
    private static final int MAX_PORT = 65535;

    private record Standard(String name, Protocol protocol, int standardPort, int quickstartOffset, TlsMode tls,
                            ClientCertMode clientCert) {
    }

    private static final List<Standard> ALL = List.of(
            new Standard("mx", Protocol.SMTP, 25, 525, TlsMode.STARTTLS, ClientCertMode.NONE),            // RFC 5321
            new Standard("submission", Protocol.SUBMISSION, 587, 587, TlsMode.STARTTLS, ClientCertMode.NONE), // RFC 6409
            new Standard("submissions", Protocol.SUBMISSION, 465, 465, TlsMode.IMPLICIT, ClientCertMode.REQUEST), // RFC 8314 §7.3
            new Standard("imap", Protocol.IMAP, 143, 143, TlsMode.STARTTLS, ClientCertMode.NONE),
            new Standard("imaps", Protocol.IMAP, 993, 993, TlsMode.IMPLICIT, ClientCertMode.REQUEST),
            new Standard("pop3", Protocol.POP3, 110, 110, TlsMode.STARTTLS, ClientCertMode.NONE),
            new Standard("pop3s", Protocol.POP3, 995, 995, TlsMode.IMPLICIT, ClientCertMode.REQUEST),
            // RFC 9110 §4.2.2; the certificate request lets a device re-enroll with its current one (RFC 7030 §4.2.2).
            new Standard("https", Protocol.HTTPS, 443, 443, TlsMode.IMPLICIT, ClientCertMode.REQUEST),
            // RFC 4513 §3.1.3: the certificate directory (docs/kms.md) on LDAP's implicit-TLS port.
            new Standard("ldaps", Protocol.LDAPS, 636, 636, TlsMode.IMPLICIT, ClientCertMode.REQUEST));

    private StandardListeners() {
    }

    /** On the protocols' standard ports (a production server, which needs the privilege to bind them). */
    public static List<ListenerSpec> standardPorts(String address) {
        return ALL.stream().map(s -> spec(s, address, s.standardPort())).toList();
    }

    /**
     * Unprivileged ports: {@code base} plus each listener's offset (base 2000 gives 2525, 2587, 2465,
     * 2143, 2993, 2110, 2995, 2443, 2636); base 0 lets the system choose free ports.
     */
    public static List<ListenerSpec> fromBase(String address, int base) {
        return ALL.stream().map(s -> spec(s, address, base == 0 ? 0 : base + s.quickstartOffset())).toList();
    }

    /** Whether {@code base} keeps every port in range; base 0 means "any free port". */
    public static boolean validBase(int base) {
        int minOffset = ALL.stream().mapToInt(Standard::quickstartOffset).min().orElseThrow();
        int maxOffset = ALL.stream().mapToInt(Standard::quickstartOffset).max().orElseThrow();
        return base == 0 || (base + minOffset >= UNPRIVILEGED && base + maxOffset <= MAX_PORT);
    }

    private static ListenerSpec spec(Standard s, String address, int port) {
        return new ListenerSpec(s.name(), s.protocol(), address, port, s.tls(), s.clientCert());
    }
}
