package org.castellan.security.pki;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * A PKCS#10 certification request (RFC 2986) as an enrollment client sends it, read and checked:
 * base64 as RFC 7030 §4.2.1 and RFC 8951 §3.2 have it (line breaks and PEM armour tolerated), a
 * well-formed DER request whose self-signature verifies with its own key (proof of possession,
 * RFC 2986 §3), and a key of a kind the CA signs.
 *
 * <p>Keys accepted ({@link #keyProblem}): RSA of 2048 to {@value #MAX_RSA_BITS} bits (NIST SP
 * 800-131A and the CA/Browser Forum's floor; larger costs every handshake a great deal for no
 * gain over the CA's own P-256 key); EC on P-256 or P-384, the curves TLS 1.3 clients and servers
 * all implement (RFC 8446 §9.1) and the ones CNSA-minded policies ask for; Ed25519 (RFC 8410),
 * which TLS 1.3 and modern OpenSSL, BoringSSL and the JDK accept. Refused: DSA, which TLS 1.3
 * dropped (RFC 8446 §4.2.3); P-521 and other or explicit curves, which BoringSSL does not accept
 * from a peer by default; Ed448 and anything else.
 *
 * <p>Pure: no I/O, no clock. {@link #read} never throws for client input; it returns
 * {@link Refused} with a one-line reason safe to show the client.
 */
public final class CertificationRequest {

    /** RSA keys above this are refused: signing with one costs about 30 times an RSA-2048 signature. */
    public static final int MAX_RSA_BITS = 8192;
    /** RSA keys below this are refused (NIST SP 800-131A: 112-bit security from 2014 on). */
    public static final int MIN_RSA_BITS = 2048;

    private final PKCS10CertificationRequest request;
    private final PublicKey key;
    private final List<Name> names;

    private CertificationRequest(PKCS10CertificationRequest request, PublicKey key, List<Name> names) {
        this.request = request;
        this.key = key;
        this.names = names;
    }

    /** The outcome of {@link #read}. */
    public sealed interface Result {}

    /** A request that may be signed, names permitting. */
    public record Accepted(CertificationRequest request) implements Result {}

    /** @param reason what is wrong, in words the client may be shown */
    public record Refused(String reason) implements Result {}

    /** Reads a base64 request body; {@link Refused} says why one cannot be used. */
    public static Result read(byte[] body) {
        return read(body, true);
    }

    /**
     * Reads a request for server-side key generation (RFC 7030 §4.4.1): as {@link #read}, but its
     * key and signature are not checked, since the CA makes the key and the request's own is
     * ignored; only its names count.
     */
    public static Result readForServerKey(byte[] body) {
        return read(body, false);
    }

    private static Result read(byte[] body, boolean keyMatters) {
        String text = new String(body, StandardCharsets.US_ASCII)
                .replace("-----BEGIN CERTIFICATE REQUEST-----", "")
                .replace("-----END CERTIFICATE REQUEST-----", "");
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            return new Refused("the request is not base64 (RFC 7030 §4.2.1)");
        }
        if (der.length == 0) return new Refused("the request is empty");
        PKCS10CertificationRequest request;
        try {
            request = new PKCS10CertificationRequest(der);
        } catch (IOException | IllegalArgumentException | IllegalStateException | ClassCastException e) {
            // Bouncy Castle reports malformed DER with each of these, depending on where it breaks.
            return new Refused("the request is not a DER PKCS#10 certification request (RFC 2986)");
        }
        List<Name> names;
        try {
            names = alternativeNames(request);
        } catch (IllegalArgumentException | IllegalStateException e) {
            return new Refused("the request's extensionRequest attribute is malformed (RFC 2985 §5.4.2)");
        }
        if (!keyMatters) return new Accepted(new CertificationRequest(request, null, names));
        SubjectPublicKeyInfo info = request.getSubjectPublicKeyInfo();
        PublicKey key;
        try {
            key = new JcaPKCS10CertificationRequest(request).getPublicKey();
        } catch (GeneralSecurityException | IllegalArgumentException | IllegalStateException e) {
            return new Refused("the request's public key cannot be read");
        }
        String problem = keyProblem(info, key);
        if (problem != null) return new Refused(problem);
        try {
            if (!request.isSignatureValid(new JcaContentVerifierProviderBuilder().build(info))) {
                return new Refused("the request's signature does not verify with its own key (RFC 2986 §3)");
            }
        } catch (OperatorCreationException | PKCSException | IllegalArgumentException e) {
            return new Refused("the request's signature cannot be checked: unsupported signature algorithm");
        } catch (IllegalStateException e) {
            // Bouncy Castle's word for a signature BIT STRING with unused bits (found by fuzzing).
            return new Refused("the request's signature is malformed");
        }
        return new Accepted(new CertificationRequest(request, key, names));
    }

    /** Why the CA will not sign {@code key}, or null when it will. */
    static String keyProblem(SubjectPublicKeyInfo info, PublicKey key) {
        ASN1ObjectIdentifier algorithm = info.getAlgorithm().getAlgorithm();
        if (algorithm.equals(PKCSObjectIdentifiers.rsaEncryption) && key instanceof RSAPublicKey rsa) {
            int bits = rsa.getModulus().bitLength();
            if (bits < MIN_RSA_BITS) return "an RSA key of " + bits + " bits is too short; use at least " + MIN_RSA_BITS;
            if (bits > MAX_RSA_BITS) return "an RSA key of " + bits + " bits is too long; use at most " + MAX_RSA_BITS;
            if (rsa.getPublicExponent().compareTo(BigInteger.valueOf(3)) < 0) return "the RSA key's exponent is invalid";
            return null;
        }
        if (algorithm.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
            var parameters = info.getAlgorithm().getParameters();
            if (X9ObjectIdentifiers.prime256v1.equals(parameters) || SECObjectIdentifiers.secp384r1.equals(parameters)) {
                return null;
            }
            return "EC keys must be on P-256 or P-384, named by their OID";
        }
        if (algorithm.equals(EdECObjectIdentifiers.id_Ed25519)) return null;
        return "keys of this type are not accepted; use EC P-256 or P-384, RSA of at least " + MIN_RSA_BITS
                + " bits, or Ed25519";
    }

    /** RFC 7030 §4.4.1.2: id-aa-asymmDecryptKeyID, the key the client wants a server-made key encrypted to. */
    public static final ASN1ObjectIdentifier ASYMMETRIC_DECRYPT_KEY_ID = new ASN1ObjectIdentifier("1.2.840.113549.1.9.16.2.54");
    /** RFC 7030 §4.4.1.1 (RFC 4108 §2.2.5): id-aa-decryptKeyID, a symmetric key shared beforehand. */
    public static final ASN1ObjectIdentifier DECRYPT_KEY_ID = new ASN1ObjectIdentifier("1.2.840.113549.1.9.16.2.37");
    /** A key identifier longer than this is not one: SHA-1 makes 20 octets, SHA-256 32 (RFC 7093). */
    static final int MAX_KEY_IDENTIFIER = 64;

    /** How a server-made key is to be returned (RFC 7030 §4.4.2). */
    public sealed interface KeyDelivery {}

    /** No key-encryption attribute: the key is returned inside TLS only. */
    public record Plain() implements KeyDelivery {}

    /** @param keyIdentifier the AsymmetricDecryptKeyIdentifier: the key to encrypt to */
    public record ToKey(byte[] keyIdentifier) implements KeyDelivery {}

    /** @param reason why the request's key-encryption attribute cannot be honoured, for the client */
    public record Undeliverable(String reason) implements KeyDelivery {}

    /**
     * What the request asks for the server-made key (RFC 7030 §4.4.1.1 and §4.4.1.2). Never throws:
     * a malformed attribute or a symmetric key identifier is {@link Undeliverable}.
     */
    public KeyDelivery keyDelivery() {
        if (request.getAttributes(DECRYPT_KEY_ID).length > 0) {
            return new Undeliverable("symmetric encryption of the key (DecryptKeyIdentifier, RFC 7030 §4.4.1.1) is not"
                    + " supported; ask for it with AsymmetricDecryptKeyIdentifier");
        }
        var attributes = request.getAttributes(ASYMMETRIC_DECRYPT_KEY_ID);
        if (attributes.length == 0) return new Plain();
        var values = attributes[0].getAttrValues();
        if (attributes.length != 1 || values.size() != 1
                || !(values.getObjectAt(0) instanceof org.bouncycastle.asn1.ASN1OctetString id)
                || id.getOctets().length == 0 || id.getOctets().length > MAX_KEY_IDENTIFIER) {
            return new Undeliverable("the AsymmetricDecryptKeyIdentifier attribute must hold one OCTET STRING of 1 to "
                    + MAX_KEY_IDENTIFIER + " octets (RFC 7030 §4.4.1.2)");
        }
        return new ToKey(id.getOctets().clone());
    }

    /** The key to certify; null for a request read by {@link #readForServerKey}, whose key is ignored. */
    public PublicKey publicKey() {
        return key;
    }

    /** The subject's common name, if it has exactly one. */
    public Optional<String> commonName() {
        return attribute(BCStyle.CN);
    }

    /** The subject's emailAddress attribute (PKCS#9), which older tools put there instead of a subjectAltName. */
    public Optional<String> emailAttribute() {
        return attribute(BCStyle.EmailAddress);
    }

    private Optional<String> attribute(ASN1ObjectIdentifier type) {
        RDN[] rdns = X500Name.getInstance(request.getSubject()).getRDNs(type);
        if (rdns.length != 1 || rdns[0].isMultiValued()) return Optional.empty();
        return rdns[0].getFirst().getValue() instanceof ASN1String s ? Optional.of(s.getString()) : Optional.empty();
    }

    /**
     * The subjectAltNames the request asks for (in its extensionRequest attribute, RFC 2985
     * §5.4.2), each as its GeneralName tag and text: rfc822Name addresses, dNSNames and the rest.
     */
    public List<Name> alternativeNames() {
        return names;
    }

    private static List<Name> alternativeNames(PKCS10CertificationRequest request) {
        List<Name> names = new ArrayList<>();
        var attributes = request.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest);
        for (var attribute : attributes) {
            for (var value : attribute.getAttributeValues()) {
                Extensions extensions = Extensions.getInstance(value);
                GeneralNames sans = GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName);
                if (sans == null) continue;
                for (GeneralName n : sans.getNames()) {
                    names.add(new Name(n.getTagNo(), n.getName() instanceof ASN1String s ? s.getString() : n.getName().toString()));
                }
            }
        }
        return List.copyOf(names);
    }

    /** One subjectAltName: {@code tag} is GeneralName's ({@link GeneralName#rfc822Name} for an address). */
    public record Name(int tag, String value) {
        public boolean isAddress() {
            return tag == GeneralName.rfc822Name;
        }
    }
}
