package org.castellan.server.http.est;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.castellan.security.escrow.CmsEnvelope;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificationRequest;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.Pem;
import org.castellan.security.pki.PkiException;
import org.castellan.server.http.HttpAnswer;
import org.castellan.server.transport.Connection;

/**
 * The answer to {@code serverkeygen} (RFC 7030 §4.4.2): multipart/mixed with the private key the
 * CA made and its certificate (certs-only CMS), each in base64. The key is PKCS#8
 * ({@code application/pkcs8}) unless the request asked for it encrypted with an
 * AsymmetricDecryptKeyIdentifier (RFC 7030 §4.4.1.2) naming the certificate the client presented
 * in the TLS handshake; then it is {@code application/pkcs7-mime; smime-type=server-generated-key}:
 * an EnvelopedData to that certificate of a SignedData, by the issuing CA, of an
 * AsymmetricKeyPackage (RFC 5958) holding the key.
 *
 * <p>SECURITY: the key leaves only inside TLS (HTTPS listeners are implicit TLS only), and
 * encrypted end to end when asked (a TLS-terminating proxy then never sees it); the answer is
 * {@code no-store} as every answer; the log never sees the key. The CA keeps no copy, except the
 * escrowed copy of an encryption-only certificate's key ({@code user-encryption/}, docs/kms.md),
 * which only the escrow key's shares open. A requested recipient that is not the TLS client
 * certificate is refused: the server encrypts only to a key whose holder has just proved
 * possession of it.
 */
final class ServerKeyAnswer {

    private static final SecureRandom RANDOM = new SecureRandom();
    /** RFC 5958 §1 (RFC 7030 §4.4.2): id-ct-KP-aKeyPackage, the content type of an AsymmetricKeyPackage. */
    static final ASN1ObjectIdentifier KEY_PACKAGE = new ASN1ObjectIdentifier("2.16.840.1.101.2.1.2.78.5");
    /** RFC 7030 §4.4.2. */
    static final String ENCRYPTED_KEY_TYPE = "application/pkcs7-mime; smime-type=server-generated-key";

    private ServerKeyAnswer() {
    }

    /** Whom the key is encrypted to, or why the request cannot be answered. */
    sealed interface Delivery {}

    /** @param certificate the recipient; empty: the key is answered as PKCS#8 inside TLS */
    record Recipient(Optional<X509Certificate> certificate) implements Delivery {}

    record Refused(String reason) implements Delivery {}

    /**
     * RFC 7030 §4.4.1.2: the key named by the request's AsymmetricDecryptKeyIdentifier, matched
     * against the subject key identifier of the TLS client certificate; a request naming a key the
     * server does not hold is refused, as the RFC asks, before any key is made.
     */
    static Delivery recipient(CertificationRequest request, Connection connection) {
        return switch (request.keyDelivery()) {
            case CertificationRequest.Plain p -> new Recipient(Optional.empty());
            case CertificationRequest.Undeliverable u -> new Refused(u.reason());
            case CertificationRequest.ToKey k -> {
                Optional<X509Certificate> peer = connection.clientTls().flatMap(Connection.TlsInfo::peer);
                if (peer.isPresent() && MessageDigest.isEqual(k.keyIdentifier(), subjectKeyIdentifier(peer.get()))) {
                    String algorithm = peer.get().getPublicKey().getAlgorithm();
                    if (algorithm.equals("EC") || algorithm.equals("RSA")) yield new Recipient(peer);
                    // Ed25519 signs only; CMS encryption to it would need an X25519 key (RFC 8418).
                    yield new Refused("the key named by the AsymmetricDecryptKeyIdentifier is " + algorithm
                            + ", which cannot be encrypted to; present an EC or RSA certificate");
                }
                yield new Refused("no certificate with the AsymmetricDecryptKeyIdentifier " + HexFormat.of().formatHex(
                        k.keyIdentifier()) + " was presented; present it as the TLS client certificate (RFC 7030 §4.4.1.2)");
            }
        };
    }

    private static byte[] subjectKeyIdentifier(X509Certificate certificate) {
        byte[] extension = certificate.getExtensionValue(Extension.subjectKeyIdentifier.getId());
        if (extension == null) return new byte[0];
        return SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(extension).getOctets()).getKeyIdentifier();
    }

    static HttpAnswer answer(IssuedCertificate made, Optional<X509Certificate> recipient, CertificateAuthority ca) {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        // A random boundary cannot occur in base64 text with this prefix ('-' is not a base64 character).
        String boundary = "est-" + HexFormat.of().formatHex(bytes);
        String keyType = recipient.isPresent() ? ENCRYPTED_KEY_TYPE : "application/pkcs8";
        byte[] key = recipient.isPresent() ? encrypted(made, recipient.get(), ca) : made.privateKey().getEncoded();
        String body = "--" + boundary + "\r\n"
                + "Content-Type: " + keyType + "\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n"
                + ascii(CertsOnly.base64(key)) + "\r\n"
                + "--" + boundary + "\r\n"
                + "Content-Type: " + CertsOnly.CONTENT_TYPE + "\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n"
                + ascii(CertsOnly.base64(CertsOnly.der(List.of(made.certificate())))) + "\r\n"
                + "--" + boundary + "--\r\n";
        return HttpAnswer.ok("multipart/mixed; boundary=" + boundary, body.getBytes(StandardCharsets.US_ASCII));
    }

    /** RFC 7030 §4.4.2: EnvelopedData(SignedData(AsymmetricKeyPackage)), signed by the CA that made the key. */
    private static byte[] encrypted(IssuedCertificate made, X509Certificate recipient, CertificateAuthority ca) {
        try {
            byte[] keyPackage = new DERSequence(PrivateKeyInfo.getInstance(Pem.complete(made.privateKey()).getEncoded()))
                    .getEncoded(ASN1Encoding.DER);
            byte[] signed = ca.signedData(made.kind(), KEY_PACKAGE, keyPackage);
            return CmsEnvelope.to(recipient, CMSObjectIdentifiers.signedData, signed);
        } catch (IOException | GeneralSecurityException e) {
            throw new PkiException("cannot encrypt the key made for certificate " + made.serialHex() + ": " + e.getMessage(), e);
        }
    }

    private static String ascii(byte[] base64) {
        return new String(base64, StandardCharsets.US_ASCII);
    }
}
