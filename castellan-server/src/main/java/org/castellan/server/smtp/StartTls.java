package org.castellan.server.smtp;

import org.castellan.protocol.smtp.SmtpError;
import org.castellan.server.config.TlsMode;

/**
 * STARTTLS (RFC 3207). The TLS handler goes in before the 220 reply is written, so the reply is
 * the last cleartext byte; input buffered behind the command is dropped (§4.2, docs/design.md §5.4)
 * and the client must send EHLO again.
 */
final class StartTls {

    private StartTls() {}

    static void run(SmtpSession s) {
        if (s.connection().listener().tls() != TlsMode.STARTTLS || s.connection().tlsStarted()) {
            s.error(new SmtpError(503, "5.5.1", "TLS is not available or already active"));
            return;
        }
        s.startTls();
        s.reply("220 2.0.0 Ready to start TLS");
    }
}
