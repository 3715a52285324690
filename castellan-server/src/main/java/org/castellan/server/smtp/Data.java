package org.castellan.server.smtp;

/**
 * DATA (RFC 5321 §4.1.1.4): 354, then content until CRLF.CRLF, read by the session through
 * {@code DataDecoder}; the Received field goes first in the spool (§4.4).
 */
final class Data {

    private Data() {}

    static void run(SmtpSession s) {
        s.reply("354 End data with <CR><LF>.<CR><LF>");
        s.startData(Delivery.receivedField(s));
    }
}
