package org.castellan.server.smtp;

import org.castellan.protocol.smtp.SmtpCommand;

/**
 * BDAT (RFC 3030 §2): exactly {@code size} octets follow the command line, taken as they are (no
 * dot-stuffing, no end marker, so no smuggling ambiguity); the reply comes after the chunk, and
 * the one after {@code LAST} means delivered.
 */
final class Bdat {

    private Bdat() {}

    static void run(SmtpSession s, SmtpCommand.Bdat c) {
        byte[] received = s.spool() == null ? Delivery.receivedField(s) : null;
        s.startChunk(c.size(), c.last(), received);
    }
}
