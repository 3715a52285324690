package org.castellan.security.escrow;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.castellan.security.internal.SecureFiles;
import org.castellan.security.pki.Pem;
import org.castellan.security.pki.PkiException;

/**
 * The key escrow of the built-in CA, in one directory ({@code DATA/pki/escrow}, 0700).
 *
 * <p>The escrow key is an RSA-3072 pair. Its certificate ({@code KEYID.crt}, self-signed) is what
 * keys are encrypted to: CMS EnvelopedData (RFC 5652 §6) with KeyTransRecipientInfo, RSAES-OAEP
 * with SHA-256 (RFC 8017 §7.1, RFC 4055 §4) and AES-256-CBC (RFC 3565). Its private half is kept
 * only sealed ({@code KEYID.sealed}: AES-256-GCM under a random 256-bit secret), and the secret
 * only as Shamir shares printed once ({@link #initialize}); {@code KEYID.digests} holds a digest of
 * each share, so that an altered share is named. Escrowed keys are {@code keys/SERIAL.p7m} (0600).
 * {@code current} names the key new escrows go to; keys replaced stay, so what was escrowed to them
 * is recovered with their shares.
 *
 * <p>SECURITY. Someone holding this directory holds ciphertext and public keys: without
 * {@code threshold} shares no escrowed key can be opened, and fewer shares tell nothing about the
 * secret. Recovery checks every share before combining (form, check digits, key id, digest, no
 * index twice) and the combined secret against the escrow key's public half before decrypting.
 *
 * <p>Failure: every method throws {@link EscrowException} with a message for the operator.
 */
public final class KeyEscrow {

    /** The escrow's directory under the CA's. */
    public static final String DIRECTORY = "escrow";
    static final String CURRENT = "current";
    static final String KEYS = "keys";
    /** The secret behind the shares: a 256-bit AES key. */
    static final int SECRET_BYTES = 32;
    /** RSA-3072: 128-bit security (NIST SP 800-57 Part 1 Table 2), as the AES-256 content key more than matches. */
    static final int RSA_BITS = 3072;
    /** The escrow certificate is only an envelope for the public key; nothing checks its dates. */
    static final Duration CERTIFICATE_VALIDITY = Duration.ofDays(100 * 365);
    private static final int GCM_NONCE = 12;
    private static final int GCM_TAG_BITS = 128;
    private final Path directory;
    private final SecureRandom random = new SecureRandom();

    private KeyEscrow(Path directory) {
        this.directory = directory;
    }

    /** The escrow in {@code directory} ({@code DATA/pki/escrow}), which may not exist yet. */
    public static KeyEscrow at(Path directory) {
        return new KeyEscrow(directory);
    }

    public Path directory() {
        return directory;
    }

    public EscrowAuditLog audit() {
        return new EscrowAuditLog(directory);
    }

    /** What {@link #initialize} made; the shares exist nowhere else. */
    public record Created(String keyId, X509Certificate certificate, List<EscrowShare> shares, Optional<String> replaced) {}

    /** The id of the escrow key new keys go to, if one was made. */
    public Optional<String> currentKeyId() {
        try {
            return Optional.of(Files.readString(directory.resolve(CURRENT), StandardCharsets.US_ASCII).strip());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new EscrowException("cannot read " + directory.resolve(CURRENT) + ": " + e.getMessage(), e);
        }
    }

    /**
     * Makes a new escrow key and splits its secret into {@code shares} shares, {@code threshold}
     * of which recover it. Writes the certificate, the sealed private key and the share digests;
     * never the secret or the shares.
     *
     * @param replace make a new key even if one exists (escrows from then on go to the new one)
     * @throws EscrowException if an escrow key exists and {@code replace} is false, or the numbers
     *     are not 2 ≤ threshold ≤ shares ≤ 255, or a file cannot be written
     */
    public synchronized Created initialize(int shares, int threshold, boolean replace) {
        if (threshold < Shamir.MIN_THRESHOLD || threshold > shares || shares > Shamir.MAX_SHARES) {
            throw new EscrowException("shares and threshold must satisfy 2 <= threshold <= shares <= 255, not "
                    + threshold + " of " + shares);
        }
        Optional<String> existing = currentKeyId();
        if (existing.isPresent() && !replace) {
            throw new EscrowException("an escrow key exists already (" + existing.get() + "); making another needs --replace,"
                    + " and keys escrowed to " + existing.get() + " then stay recoverable only with its shares");
        }
        try {
            SecureFiles.privateDirectory(directory);
            SecureFiles.privateDirectory(directory.resolve(KEYS));
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(RSA_BITS, random);
            KeyPair pair = generator.generateKeyPair();
            String id = HexFormat.of().formatHex(EscrowShare.sha256(pair.getPublic().getEncoded()), 0, 8);
            X509Certificate certificate = selfSigned(id, pair);

            byte[] secret = new byte[SECRET_BYTES];
            random.nextBytes(secret);
            byte[] sealed = seal(secret, id, pair.getPrivate().getEncoded());
            List<byte[]> parts = Shamir.split(secret, shares, threshold, random);
            Arrays.fill(secret, (byte) 0);
            List<EscrowShare> made = new ArrayList<>();
            StringBuilder digests = new StringBuilder("threshold " + threshold + "\nshares " + shares + "\n");
            for (int i = 0; i < parts.size(); i++) {
                EscrowShare share = new EscrowShare(id, threshold, i + 1, parts.get(i));
                made.add(share);
                digests.append(share.index()).append(' ').append(share.digest()).append('\n');
            }
            SecureFiles.write(directory.resolve(id + ".sealed"), sealed, SecureFiles.SECRET);
            SecureFiles.write(directory.resolve(id + ".digests"), digests.toString().getBytes(StandardCharsets.US_ASCII),
                    SecureFiles.SECRET);
            SecureFiles.write(directory.resolve(id + ".crt"), Pem.encode(certificate).getBytes(StandardCharsets.US_ASCII),
                    SecureFiles.SECRET);
            // Last: until it names the new key, nothing is escrowed to a key whose files are incomplete.
            SecureFiles.write(directory.resolve(CURRENT), (id + "\n").getBytes(StandardCharsets.US_ASCII), SecureFiles.SECRET);
            return new Created(id, certificate, List.copyOf(made), existing);
        } catch (IOException | GeneralSecurityException e) {
            throw new EscrowException("cannot make the escrow key in " + directory + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether a certificate's key may be escrowed: it encrypts (keyEncipherment or keyAgreement)
     * and does not sign (neither digitalSignature nor nonRepudiation). A signing key is never
     * escrowed: a copy of it would let its keeper sign as its holder.
     */
    public static boolean isEncryptionOnly(X509Certificate certificate) {
        boolean[] usage = certificate.getKeyUsage();
        if (usage == null) return false;
        // RFC 5280 §4.2.1.3: digitalSignature(0), nonRepudiation(1), keyEncipherment(2), keyAgreement(4).
        boolean signs = usage[0] || usage[1];
        boolean encrypts = usage[2] || (usage.length > 4 && usage[4]);
        return encrypts && !signs;
    }

    /** The file an escrowed key of {@code serial} is kept in. */
    public Path keyFile(BigInteger serial) {
        return directory.resolve(KEYS).resolve(serial.toString(16) + ".p7m");
    }

    /**
     * Stores {@code key} and {@code chain} (leaf first) encrypted to the current escrow key, under
     * the leaf's serial, before the caller hands the key out.
     *
     * @return the file written
     * @throws EscrowException if there is no escrow key, the leaf is not an encryption-only
     *     certificate ({@link #isEncryptionOnly}), the key is not the leaf's, a key is escrowed
     *     under its serial already, or the file cannot be written
     */
    public synchronized Path escrow(List<X509Certificate> chain, PrivateKey key) {
        X509Certificate leaf = chain.get(0);
        String serial = leaf.getSerialNumber().toString(16);
        if (!isEncryptionOnly(leaf)) {
            throw new EscrowException("certificate " + serial + " can sign; signing keys are never escrowed");
        }
        if (!matches(leaf, key)) throw new EscrowException("the key given is not the key of certificate " + serial);
        if (Files.exists(keyFile(leaf.getSerialNumber()))) {
            throw new EscrowException("a key is escrowed under serial " + serial + " already (" + keyFile(leaf.getSerialNumber()) + ")");
        }
        String id = currentKeyId().orElseThrow(() -> new EscrowException(
                "there is no escrow key; make one with 'castellan kms escrow init'"));
        X509Certificate recipient = certificate(id);
        List<Object> objects = new ArrayList<>(chain);
        objects.add(key);
        byte[] content = Pem.encode(objects.toArray()).getBytes(StandardCharsets.US_ASCII);
        try {
            byte[] enveloped = CmsEnvelope.to(recipient, CMSObjectIdentifiers.data, content);
            Path file = keyFile(leaf.getSerialNumber());
            SecureFiles.privateDirectory(file.getParent());
            SecureFiles.write(file, enveloped, SecureFiles.SECRET);
            return file;
        } catch (GeneralSecurityException | IOException e) {
            throw new EscrowException("cannot escrow the key of certificate " + leaf.getSerialNumber().toString(16) + ": "
                    + e.getMessage(), e);
        } finally {
            Arrays.fill(content, (byte) 0);
        }
    }

    /** A recovered key with its certificate chain (leaf first), and the escrow key that opened it. */
    public record Recovered(PrivateKey key, List<X509Certificate> chain, String keyId) {}

    /**
     * Recovers the key escrowed under {@code serial} with {@code shareLines} (one share each; blank
     * lines are skipped).
     *
     * @throws EscrowException if nothing is escrowed under the serial, a share is damaged, of another
     *     escrow key, given twice, or too few shares are given (each message names the share by its
     *     place among those given), or the shares do not open the escrow key
     */
    public Recovered recover(BigInteger serial, List<String> shareLines) {
        Escrowed escrowed = escrowed(serial);
        Path file = escrowed.file();
        RecipientInformation recipient = escrowed.recipient();
        String id = escrowed.keyId();
        X509Certificate certificate = certificate(id);
        byte[] secret = combine(id, shareLines);
        PrivateKey escrowKey;
        try {
            escrowKey = unseal(secret, id);
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
        if (!matches(certificate, escrowKey)) {
            throw new EscrowException("the shares open a key that is not escrow key " + id + "'s; the escrow files were altered");
        }
        byte[] content;
        try {
            content = recipient.getContent(new JceKeyTransEnvelopedRecipient(escrowKey).setProvider(CmsEnvelope.BC));
        } catch (CMSException e) {
            throw new EscrowException(file + " cannot be decrypted with escrow key " + id + ": " + e.getMessage(), e);
        }
        return read(content, file, id);
    }

    /**
     * How many shares recover the key escrowed under {@code serial}: the threshold of the escrow
     * key it was escrowed to, so that a recovery asks for no more and fails before asking when
     * nothing is escrowed.
     *
     * @throws EscrowException if no key is escrowed under {@code serial}, or its files cannot be read
     */
    public int threshold(BigInteger serial) {
        return Integer.parseInt(digests(escrowed(serial).keyId()).get(0));
    }

    /** An escrowed key's file, its recipient (the escrow key) and that key's id. */
    private record Escrowed(Path file, RecipientInformation recipient, String keyId) {}

    private Escrowed escrowed(BigInteger serial) {
        Path file = keyFile(serial);
        CMSEnvelopedData enveloped;
        try {
            enveloped = new CMSEnvelopedData(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new EscrowException("no key is escrowed for certificate " + serial.toString(16) + " (" + file + " does not exist)");
        } catch (IOException | CMSException e) {
            throw new EscrowException("cannot read the escrowed key " + file + ": " + e.getMessage(), e);
        }
        RecipientInformation recipient = enveloped.getRecipientInfos().getRecipients().iterator().next();
        return new Escrowed(file, recipient, escrowKeyOf(recipient, file));
    }

    /** Which of the escrow keys in the directory {@code recipient} names. */
    private String escrowKeyOf(RecipientInformation recipient, Path file) {
        try (DirectoryStream<Path> certificates = Files.newDirectoryStream(directory, "*.crt")) {
            for (Path path : certificates) {
                X509CertificateHolder holder = new JcaX509CertificateHolder(Pem.readCertificate(path));
                if (recipient.getRID().match(holder)) {
                    String name = path.getFileName().toString();
                    return name.substring(0, name.length() - ".crt".length());
                }
            }
        } catch (IOException | GeneralSecurityException | PkiException e) {
            throw new EscrowException("cannot read the escrow certificates in " + directory + ": " + e.getMessage(), e);
        }
        throw new EscrowException(file + " was escrowed to an escrow key whose certificate is no longer in " + directory
                + "; restore it from a backup");
    }

    /** Checks each share, then combines them. */
    private byte[] combine(String id, List<String> shareLines) {
        Map<Integer, String> digests = digests(id);
        int threshold = Integer.parseInt(digests.get(0));
        Map<Integer, byte[]> points = new LinkedHashMap<>();
        Map<Integer, Integer> placeOfIndex = new HashMap<>();
        int place = 0;
        for (String line : shareLines) {
            if (line.isBlank()) continue;
            place++;
            EscrowShare share = switch (EscrowShare.parse(line)) {
                case EscrowShare.Damaged d -> throw new EscrowException("share " + place + " of those given is damaged: " + d.reason());
                case EscrowShare.Parsed p -> p.share();
            };
            if (!share.keyId().equals(id)) {
                throw new EscrowException("share " + place + " of those given belongs to escrow key " + share.keyId()
                        + ", not to " + id + ", the key this certificate was escrowed to");
            }
            if (!share.digest().equals(digests.get(share.index())) || share.threshold() != threshold) {
                throw new EscrowException("share " + place + " of those given is damaged: it is not one of the shares made for"
                        + " escrow key " + id + " (altered, though its check digits were made to fit)");
            }
            Integer earlier = placeOfIndex.putIfAbsent(share.index(), place);
            if (earlier != null) {
                throw new EscrowException("shares " + earlier + " and " + place + " of those given are the same share (number "
                        + share.index() + "); " + threshold + " different shares are needed");
            }
            points.put(share.index(), share.bytes());
        }
        if (points.size() < threshold) {
            throw new EscrowException(threshold + " shares of escrow key " + id + " are needed, " + points.size() + " given");
        }
        return Shamir.combine(points);
    }

    /** index → digest from {@code KEYID.digests}; key 0 holds the threshold. */
    private Map<Integer, String> digests(String id) {
        Path file = directory.resolve(id + ".digests");
        Map<Integer, String> digests = new HashMap<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                String[] f = line.split(" ");
                if (f.length != 2) continue;
                if (f[0].equals("threshold")) digests.put(0, f[1]);
                else if (f[0].matches("[0-9]{1,3}")) digests.put(Integer.parseInt(f[0]), f[1]);
            }
        } catch (IOException e) {
            throw new EscrowException("cannot read " + file + ": " + e.getMessage() + "; restore it from a backup", e);
        }
        if (!digests.getOrDefault(0, "").matches("[0-9]{1,3}")) {
            throw new EscrowException(file + " names no threshold; restore it from a backup");
        }
        return digests;
    }

    private X509Certificate certificate(String id) {
        try {
            return Pem.readCertificate(directory.resolve(id + ".crt"));
        } catch (PkiException e) {
            throw new EscrowException("cannot read the certificate of escrow key " + id + ": " + e.getMessage(), e);
        }
    }

    private byte[] seal(byte[] secret, String id, byte[] plain) throws GeneralSecurityException {
        byte[] nonce = new byte[GCM_NONCE];
        random.nextBytes(nonce);
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(secret, "AES"), new GCMParameterSpec(GCM_TAG_BITS, nonce));
        cipher.updateAAD(aad(id));
        byte[] sealed = cipher.doFinal(plain);
        byte[] out = new byte[GCM_NONCE + sealed.length];
        System.arraycopy(nonce, 0, out, 0, GCM_NONCE);
        System.arraycopy(sealed, 0, out, GCM_NONCE, sealed.length);
        return out;
    }

    private PrivateKey unseal(byte[] secret, String id) {
        Path file = directory.resolve(id + ".sealed");
        try {
            byte[] sealed = Files.readAllBytes(file);
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(secret, "AES"), new GCMParameterSpec(GCM_TAG_BITS, sealed, 0, GCM_NONCE));
            cipher.updateAAD(aad(id));
            byte[] plain = cipher.doFinal(sealed, GCM_NONCE, sealed.length - GCM_NONCE);
            try {
                return new JcaPEMKeyConverter().getPrivateKey(PrivateKeyInfo.getInstance(plain));
            } finally {
                Arrays.fill(plain, (byte) 0);
            }
        } catch (javax.crypto.AEADBadTagException e) {
            throw new EscrowException("the shares given do not open escrow key " + id + ": they are not shares of its secret");
        } catch (IOException | GeneralSecurityException e) {
            throw new EscrowException("cannot open " + file + ": " + e.getMessage(), e);
        }
    }

    private static byte[] aad(String id) {
        return ("castellan escrow key " + id).getBytes(StandardCharsets.US_ASCII);
    }

    /** Whether {@code key} is the private half of {@code certificate}'s: a signature made with one, checked with the other. */
    static boolean matches(X509Certificate certificate, PrivateKey key) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            default -> null;
        };
        if (algorithm == null || !key.getAlgorithm().equals(certificate.getPublicKey().getAlgorithm())) return false;
        try {
            byte[] challenge = "castellan escrow key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static Recovered read(byte[] content, Path file, String id) {
        List<X509Certificate> chain = new ArrayList<>();
        PrivateKey key = null;
        try (PEMParser parser = new PEMParser(new StringReader(new String(content, StandardCharsets.US_ASCII)))) {
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof X509CertificateHolder holder) chain.add(new JcaX509CertificateConverter().getCertificate(holder));
                if (o instanceof PrivateKeyInfo info) key = new JcaPEMKeyConverter().getPrivateKey(info);
            }
        } catch (IOException | GeneralSecurityException e) {
            throw new EscrowException(file + " decrypts to something that is not a key and its chain: " + e.getMessage(), e);
        } finally {
            Arrays.fill(content, (byte) 0);
        }
        if (key == null || chain.isEmpty()) throw new EscrowException(file + " decrypts to no key or no certificate");
        return new Recovered(key, List.copyOf(chain), id);
    }

    private X509Certificate selfSigned(String id, KeyPair pair) throws GeneralSecurityException, IOException {
        X500Name name = new X500Name("CN=Castellan key escrow " + id);
        Instant now = Instant.now();
        var builder = new JcaX509v3CertificateBuilder(name, new BigInteger(64, random).setBit(63), Date.from(now),
                Date.from(now.plus(CERTIFICATE_VALIDITY)), name, pair.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyEncipherment));
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withRSA").build(pair.getPrivate())));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e.getMessage(), e);
        }
    }
}
