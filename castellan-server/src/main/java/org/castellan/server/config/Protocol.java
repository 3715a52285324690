package org.castellan.server.config;

/**
 * The protocol a listener speaks. Configuration values: {@code "smtp"} (inbound mail exchange),
 * {@code "submission"}, {@code "imap"}, {@code "pop3"}, {@code "https"}.
 */
public enum Protocol {
    /** Mail exchange from other servers, usually port 25 (RFC 5321). */
    SMTP,
    /** Message submission by users' clients, ports 587 and 465 (RFC 6409, RFC 8314). */
    SUBMISSION,
    /** IMAP4rev2, ports 143 and 993 (RFC 9051). */
    IMAP,
    /** POP3, ports 110 and 995 (RFC 1939). */
    POP3,
    /**
     * HTTP/1.1 over implicit TLS, port 443 (RFC 9110, RFC 9112): certificate enrollment (EST,
     * RFC 7030) and, later, the other web services of docs/http.md.
     */
    HTTPS;

    /**
     * Whether clients log in on this protocol's listeners. Not on SMTP (MX): other servers
     * deliver there without AUTH, which RFC 4954 leaves to submission (RFC 6409 §4.3).
     */
    public boolean takesLogins() {
        return this != SMTP;
    }
}
