package org.castellan.security.escrow;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.MGF1ParameterSpec;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.RecipientInfoGenerator;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyAgreeRecipientInfoGenerator;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;

/**
 * CMS EnvelopedData (RFC 5652 §6) to one certificate, with AES-256-CBC content encryption (RFC
 * 3565): KeyTransRecipientInfo with RSAES-OAEP and SHA-256 (RFC 8017 §7.1, RFC 4055 §4) for an RSA
 * key; KeyAgreeRecipientInfo with ephemeral-static ECDH, the X9.63 KDF with SHA-256 and AES-256 key
 * wrap (RFC 5753 §3.1, RFC 8418) for an EC key, as OpenSSL's {@code cms -encrypt} makes and reads.
 */
public final class CmsEnvelope {

    /** RFC 4055 §4.1 with SHA-256 for the hash and the mask, the empty label. */
    private static final OAEPParameterSpec OAEP = new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256,
            PSource.PSpecified.DEFAULT);
    /** A provider object of our own, not registered: the same OAEP and ECDH on every JDK. */
    static final Provider BC = new BouncyCastleProvider();

    private CmsEnvelope() {
    }

    /**
     * The DER ContentInfo of an EnvelopedData holding {@code content} of CMS type {@code type} (id-data
     * for bytes) for {@code recipient}.
     *
     * @throws GeneralSecurityException if the recipient's key is neither RSA nor EC, or encryption fails
     */
    public static byte[] to(X509Certificate recipient, ASN1ObjectIdentifier type, byte[] content)
            throws GeneralSecurityException {
        CMSEnvelopedDataGenerator generator = new CMSEnvelopedDataGenerator();
        generator.addRecipientInfoGenerator(recipientInfo(recipient));
        try {
            return generator.generate(new CMSProcessableByteArray(type, content),
                    new JceCMSContentEncryptorBuilder(CMSAlgorithm.AES256_CBC).setProvider(BC).build()).getEncoded();
        } catch (CMSException | IOException e) {
            throw new GeneralSecurityException("cannot make CMS EnvelopedData: " + e.getMessage(), e);
        }
    }

    private static RecipientInfoGenerator recipientInfo(X509Certificate recipient) throws GeneralSecurityException {
        var key = recipient.getPublicKey();
        if (key instanceof ECPublicKey ec) {
            // An ephemeral key on the recipient's curve (RFC 5753 §3.1.1: ephemeral-static ECDH).
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(ec.getParams());
            KeyPair ephemeral = generator.generateKeyPair();
            return new JceKeyAgreeRecipientInfoGenerator(CMSAlgorithm.ECDH_SHA256KDF, ephemeral.getPrivate(),
                    ephemeral.getPublic(), CMSAlgorithm.AES256_WRAP).addRecipient(recipient).setProvider(BC);
        }
        if (key.getAlgorithm().equals("RSA")) {
            var oaep = new JcaAlgorithmParametersConverter().getAlgorithmIdentifier(PKCSObjectIdentifiers.id_RSAES_OAEP, OAEP);
            return new JceKeyTransRecipientInfoGenerator(recipient, oaep).setProvider(BC);
        }
        throw new GeneralSecurityException("cannot encrypt to a " + key.getAlgorithm() + " key; RSA and EC keys only");
    }
}
