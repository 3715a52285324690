package org.castellan.server.http.est;

import java.util.Optional;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.CertificateKind;

/**
 * Who an enrollment request comes from, once authenticated: an account by its password, or the
 * holder of a one-time token made for one account, device and kind.
 *
 * @param kind the kind a token was made for; empty for a password, which may ask for either
 * @param device the device a token was made for
 * @param token the token's id, spent when the certificate is issued; empty for a password
 */
public record Enrollee(EmailAddress owner, Optional<CertificateKind> kind, Optional<String> device, Optional<String> token) {}
