package org.castellan.server.http.est;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cms.CMSAbsentContent;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.castellan.server.http.HttpAnswer;

/**
 * EST's answer holding certificates: a certs-only CMS SignedData without signers ("degenerate",
 * RFC 5751 §3.6), base64 (RFC 7030 §4.1.3, §4.2.3; RFC 8951 §3.1).
 */
public final class CertsOnly {

    static final String CONTENT_TYPE = "application/pkcs7-mime; smime-type=certs-only";

    private CertsOnly() {
    }

    static HttpAnswer answer(List<X509Certificate> certificates) {
        // RFC 7030 §4.1.3 names the encoding in a Content-Transfer-Encoding header; RFC 8951 §3.1 lets clients ignore it.
        return HttpAnswer.ok(CONTENT_TYPE, base64(der(certificates))).with("Content-Transfer-Encoding", "base64");
    }

    /** The certs-only SignedData, DER. */
    public static byte[] der(List<X509Certificate> certificates) {
        try {
            CMSSignedDataGenerator generator = new CMSSignedDataGenerator();
            generator.addCertificates(new JcaCertStore(certificates));
            return generator.generate(new CMSAbsentContent()).getEncoded();
        } catch (CertificateEncodingException | CMSException | IOException e) {
            throw new IllegalStateException("cannot encode certificates the CA just made", e);
        }
    }

    /** Base64 in lines of 64 with CRLF, as PEM and MIME bodies have it. */
    static byte[] base64(byte[] der) {
        return Base64.getMimeEncoder(64, "\r\n".getBytes(StandardCharsets.US_ASCII)).encode(der);
    }
}
