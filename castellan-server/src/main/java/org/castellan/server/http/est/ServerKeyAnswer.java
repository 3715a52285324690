package org.castellan.server.http.est;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.server.http.HttpAnswer;

/**
 * The answer to {@code serverkeygen} (RFC 7030 §4.4.2): multipart/mixed with the private key the
 * CA made (PKCS#8, {@code application/pkcs8}) and its certificate (certs-only CMS), each in base64.
 *
 * <p>SECURITY: the key leaves only inside TLS (HTTPS listeners are implicit TLS only), without
 * the further encryption of §4.4.2 (no DecryptKeyIdentifier is supported yet); the answer is
 * {@code no-store} as every answer; the CA keeps no copy and the log never sees it.
 */
final class ServerKeyAnswer {

    private static final SecureRandom RANDOM = new SecureRandom();

    private ServerKeyAnswer() {
    }

    static HttpAnswer answer(IssuedCertificate made) {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        // A random boundary cannot occur in base64 text with this prefix ('-' is not a base64 character).
        String boundary = "est-" + HexFormat.of().formatHex(bytes);
        String body = "--" + boundary + "\r\n"
                + "Content-Type: application/pkcs8\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n"
                + ascii(CertsOnly.base64(made.privateKey().getEncoded())) + "\r\n"
                + "--" + boundary + "\r\n"
                + "Content-Type: " + CertsOnly.CONTENT_TYPE + "\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n"
                + ascii(CertsOnly.base64(CertsOnly.der(List.of(made.certificate())))) + "\r\n"
                + "--" + boundary + "--\r\n";
        return HttpAnswer.ok("multipart/mixed; boundary=" + boundary, body.getBytes(StandardCharsets.US_ASCII));
    }

    private static String ascii(byte[] base64) {
        return new String(base64, StandardCharsets.US_ASCII);
    }
}
