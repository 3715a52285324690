package org.castellan.server.smtp;

/** Where a session is in RFC 5321 §4.1.4's command order. */
enum SmtpState {
    /** Greeted, no EHLO or HELO yet (or none since STARTTLS). */
    CONNECTED,
    /** EHLO/HELO done, no transaction. */
    READY,
    /** MAIL accepted, no recipient yet. */
    MAIL,
    /** At least one recipient accepted. */
    RCPT,
    /** Inside a BDAT sequence (RFC 3030 §2): only BDAT, RSET, NOOP and QUIT may follow. */
    CHUNKING
}
