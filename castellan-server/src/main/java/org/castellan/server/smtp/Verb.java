package org.castellan.server.smtp;


import java.util.EnumSet;
import java.util.Set;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.protocol.smtp.SmtpError;

/**
 * Which command is allowed in which state: the one table the dispatcher checks before any
 * handler runs (RFC 5321 §4.1.4, RFC 3030 §2, RFC 3207 §4.2, RFC 4954 §4).
 */
enum Verb {
    EHLO(EnumSet.allOf(SmtpState.class)),
    HELO(EnumSet.allOf(SmtpState.class)),
    MAIL(EnumSet.of(SmtpState.READY)),
    RCPT(EnumSet.of(SmtpState.MAIL, SmtpState.RCPT)),
    DATA(EnumSet.of(SmtpState.RCPT)),
    BDAT(EnumSet.of(SmtpState.RCPT, SmtpState.CHUNKING)),
    RSET(EnumSet.allOf(SmtpState.class)),
    NOOP(EnumSet.allOf(SmtpState.class)),
    QUIT(EnumSet.allOf(SmtpState.class)),
    HELP(EnumSet.of(SmtpState.CONNECTED, SmtpState.READY, SmtpState.MAIL, SmtpState.RCPT)),
    VRFY(EnumSet.of(SmtpState.CONNECTED, SmtpState.READY, SmtpState.MAIL, SmtpState.RCPT)),
    // RFC 3207 §4: STARTTLS may not be issued in the middle of a transaction.
    STARTTLS(EnumSet.of(SmtpState.CONNECTED, SmtpState.READY)),
    // RFC 4954 §4: AUTH needs EHLO first and is not permitted during a mail transaction.
    AUTH(EnumSet.of(SmtpState.READY));

    private final Set<SmtpState> allowed;

    Verb(Set<SmtpState> allowed) {
        this.allowed = allowed;
    }

    static Verb of(SmtpCommand command) {
        return valueOf(command.verb());
    }

    /** The refusal for this command in {@code state}, or null when it is allowed. */
    SmtpError refusal(SmtpState state) {
        if (allowed.contains(state)) return null;
        // RFC 5321 §3.3: DATA (or BDAT) without a valid recipient gets 554.
        if ((this == DATA || this == BDAT) && state == SmtpState.MAIL) return new SmtpError(554, "5.5.1", "No valid recipients");
        if (this == DATA && state == SmtpState.CHUNKING) return new SmtpError(503, "5.5.1", "DATA is not allowed after BDAT");
        if (state == SmtpState.CONNECTED) return new SmtpError(503, "5.5.1", "Send EHLO first");
        if (state == SmtpState.CHUNKING) return new SmtpError(503, "5.5.1", "Only BDAT, RSET, NOOP and QUIT may follow BDAT");
        if (state == SmtpState.MAIL || state == SmtpState.RCPT) return new SmtpError(503, "5.5.1", "Not allowed during a mail transaction");
        return new SmtpError(503, "5.5.1", "Bad sequence of commands");
    }
}
