package org.castellan.server.smtp;

import java.util.ArrayList;
import java.util.List;
import org.castellan.server.config.TlsMode;

/**
 * EHLO and HELO (RFC 5321 §4.1.1.1). Either one resets a transaction in progress (§4.1.4). The
 * extensions offered depend on the state: STARTTLS only before TLS, AUTH only on submission
 * listeners and only with the mechanisms AuthService allows on this channel now.
 */
final class Ehlo {

    private Ehlo() {}

    static void ehlo(SmtpSession s, String domain) {
        s.resetTransaction();
        s.greeted(domain, true);
        s.state(SmtpState.READY);
        List<String> lines = new ArrayList<>();
        lines.add(s.service().hostname() + " greets " + domain);
        lines.add("PIPELINING"); // RFC 2920
        lines.add("SIZE " + s.service().limits().maxMessageSize()); // RFC 1870
        lines.add("8BITMIME"); // RFC 6152
        lines.add("SMTPUTF8"); // RFC 6531
        lines.add("ENHANCEDSTATUSCODES"); // RFC 2034
        lines.add("CHUNKING"); // RFC 3030
        lines.add("DSN"); // RFC 3461 §4: RET, ENVID, NOTIFY and ORCPT are accepted and kept
        if (s.connection().listener().tls() == TlsMode.STARTTLS && !s.connection().tlsStarted()) {
            lines.add("STARTTLS"); // RFC 3207
        }
        if (s.submission() && s.connection().tls().isPresent()) {
            lines.add("REQUIRETLS"); // RFC 8689 §4: offered only over TLS; MX listeners do not relay
        }
        if (s.connection().listener().protocol().takesLogins() && s.connection().account().isEmpty()) {
            List<String> mechanisms = s.service().auth().mechanisms(s.authContext());
            if (!mechanisms.isEmpty()) lines.add("AUTH " + String.join(" ", mechanisms)); // RFC 4954 §3
        }
        s.reply(250, lines);
    }

    static void helo(SmtpSession s, String domain) {
        s.resetTransaction();
        s.greeted(domain, false);
        s.state(SmtpState.READY);
        s.reply("250 " + s.service().hostname());
    }
}
