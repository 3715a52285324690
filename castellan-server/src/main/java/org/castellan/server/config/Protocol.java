package org.castellan.server.config;

/**
 * The protocol a listener speaks. Configuration values: {@code "smtp"} (inbound mail exchange),
 * {@code "submission"}, {@code "imap"}, {@code "pop3"}, {@code "https"}, {@code "http"}, {@code "ldaps"}, {@code "ldap"}, {@code "link"}.
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
    HTTPS,
    /**
     * Plain HTTP/1.1 without TLS, port 80 (RFC 9110, RFC 9112): only the built-in CA's signed,
     * public objects (OCSP, CRLs, CA certificates), which relying parties fetch over http (RFC 5280
     * §4.2.1.13, RFC 6960 Appendix A.1); nothing that asks who the client is (docs/http.md).
     */
    HTTP,
    /**
     * LDAPv3 over implicit TLS, port 636 (RFC 4511, RFC 4513 §3.1.3): the read-only certificate
     * directory of docs/kms.md, anonymous or bound as an account.
     */
    LDAPS,
    /**
     * LDAPv3 on port 389 with the StartTLS operation (RFC 4511 §4.14, RFC 4513 §3): the same
     * directory for clients that cannot start with TLS; before StartTLS only the root DSE is read.
     */
    LDAP,
    /**
     * The edge ↔ mailbox link (docs/roles.md §2): TLS 1.3 with a node certificate on both sides,
     * trusting the node CA alone, from the addresses listed as edges. Only on a mailbox node.
     */
    LINK;

    /**
     * Whether clients log in on this protocol's listeners. Not on SMTP (MX): other servers
     * deliver there without AUTH, which RFC 4954 leaves to submission (RFC 6409 §4.3). Not on
     * plain HTTP, which serves only public objects. Not on the link, where nodes, not people,
     * are the peers.
     */
    public boolean takesLogins() {
        return this != SMTP && this != HTTP && this != LINK;
    }

    /**
     * Whether end users' clients or other mail servers connect here: everything but the link and
     * the plain-HTTP publication of the CA's public objects. A mailbox node has none of these
     * (docs/roles.md §1).
     */
    public boolean servesClients() {
        return this != LINK && this != HTTP;
    }
}
