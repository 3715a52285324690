package org.castellan.security.pki;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLDistPoint;
import org.bouncycastle.asn1.x509.DistributionPoint;
import org.bouncycastle.asn1.x509.DistributionPointName;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.internal.SecureFiles;
import org.castellan.security.pki.internal.FileStamp;
import org.castellan.security.pki.internal.IssuedIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Castellan's certificate authority: a root CA and four issuing CAs under it ({@code server},
 * {@code device}, {@code user}, {@code node}), all ECDSA P-256, kept as PEM files in one directory.
 *
 * <p>Trusts: the files in its directory, which only the owner may read (0700 directory, 0600
 * keys). Exposes: certificates signed by the issuing CAs, the index of what was issued
 * ({@value #INDEX_FILE}) and one CRL per issuing CA ({@code <name>-ca.crl}). The root key signs
 * only the issuing CAs, so it can be moved offline once they exist.
 *
 * <p>Layout of the directory: {@code root.crt}, {@code root.key}, {@code server-ca.crt},
 * {@code server-ca.key}, {@code server-ca.crl}, the same for {@code device-ca}, {@code user-ca}
 * and {@code node-ca}, and {@value #INDEX_FILE}.
 *
 * <p>One process at a time may issue or revoke: the methods of an instance are synchronized, but
 * two processes writing the same directory may lose an index line.
 *
 * <p>Failure: every method throws {@link PkiException} with a message naming the file or value at
 * fault and what to do about it.
 */
public final class CertificateAuthority {

    private static final Logger LOG = LoggerFactory.getLogger(CertificateAuthority.class);

    /** The index of issued certificates, in the CA directory. */
    public static final String INDEX_FILE = "issued.tsv";
    /**
     * The directory, in the CA directory, of the user certificates issued, one PEM file per serial
     * ({@code <serial>.crt}): the certificate directory (docs/kms.md) publishes them, and a
     * certificate is public by nature.
     */
    public static final String USER_CERTIFICATES = "user-certs";
    static final String ROOT = "root";

    /** Signature algorithm of every certificate and CRL: ECDSA on P-256, as TLS 1.3 requires every client to support (RFC 8446 §9.1). */
    private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
    private static final String CURVE = "secp256r1";
    /** A root is replaced only by re-enrolling every device and user: make that rare. */
    static final Duration ROOT_VALIDITY = Duration.ofDays(20 * 365);
    /** Issuing CAs can be rolled under the same root; half the root's life leaves room for that. */
    static final Duration ISSUING_VALIDITY = Duration.ofDays(10 * 365);
    /** Certificates start an hour in the past so a peer whose clock is behind still accepts them. */
    static final Duration BACKDATE = Duration.ofHours(1);
    /** Relying parties reject a CRL after its nextUpdate; a week leaves time to notice a failed refresh. */
    public static final Duration CRL_VALIDITY = Duration.ofDays(7);
    /** RFC 5280 §4.1.2.2 allows 20 octets; 128 random bits make serials unguessable and unique. */
    static final int SERIAL_BITS = 128;
    /** A device name becomes a certificate CN and a file name: keep it short and plain. */
    static final Pattern DEVICE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private final Path directory;
    private final String organization;
    private final SecureRandom random = new SecureRandom();
    private final X509Certificate root;
    private final Map<CertificateKind, Issuer> issuers;
    /** Where the HTTPS listener publishes OCSP, CRLs and CA certificates; empty: nothing is published. */
    private final Optional<URI> publicUrl;

    /**
     * The index as this instance last read or wrote it, and what identified the file then
     * ({@link FileStamp}); null before the first reading. Guarded by {@code this}.
     */
    private IndexSnapshot index;

    /** An issuing CA held in memory. */
    private record Issuer(X509Certificate certificate, PrivateKey key) {}

    private record IndexSnapshot(List<Object> stamp, List<IssuedEntry> entries) {}

    private CertificateAuthority(Path directory, String organization, X509Certificate root,
            Map<CertificateKind, Issuer> issuers, Optional<URI> publicUrl) {
        this.directory = directory;
        this.organization = organization;
        this.root = root;
        this.issuers = issuers;
        this.publicUrl = publicUrl;
    }

    /**
     * Opens the CA in {@code pkiDir}, first creating whatever is missing: the directory (0700), the
     * root CA, the four issuing CAs and their empty CRLs. What exists is reused untouched, so
     * running this again is harmless. An existing directory open to others is narrowed to 0700.
     *
     * @param organization the O= of new CA certificates (ignored for CAs that already exist)
     * @throws PkiException if a certificate exists without its key or the reverse, if an issuing CA
     *     was not signed by the root, or if a file cannot be read or written
     */
    public static CertificateAuthority initialize(Path pkiDir, String organization) {
        if (organization == null || organization.isBlank() || organization.matches(".*[\\p{Cntrl}].*")) {
            throw new PkiException("the organization name for the CA must be non-empty text without control characters");
        }
        try {
            if (SecureFiles.privateDirectory(pkiDir)) {
                LOG.warn("{} was readable by other users; its permissions are now 0700", pkiDir);
            }
        } catch (IOException e) {
            throw new PkiException("cannot create the CA directory " + pkiDir + ": " + e.getMessage(), e);
        }
        SecureRandom random = new SecureRandom();
        Instant now = Instant.now();

        X509Certificate root;
        PrivateKey rootKey;
        if (present(pkiDir, ROOT)) {
            root = Pem.readCertificate(certificateFile(pkiDir, ROOT));
            rootKey = Pem.readPrivateKey(keyFile(pkiDir, ROOT));
        } else {
            for (CertificateKind kind : CertificateKind.values()) {
                if (Files.exists(certificateFile(pkiDir, kind.caName() + "-ca"))) {
                    throw new PkiException(pkiDir.resolve("root.crt") + " and root.key are missing but "
                            + certificateFile(pkiDir, kind.caName() + "-ca") + " exists: restore the root"
                            + " from a backup, or move " + pkiDir + " away to start a new CA");
                }
            }
            KeyPair keys = newKeyPair(random);
            X500Name name = caName(organization, organization + " Root CA");
            root = certificate(name, name, keys.getPublic(), keys.getPublic(), keys.getPrivate(),
                    now.minus(BACKDATE), now.plus(ROOT_VALIDITY), serial(random), b -> {
                        // The root signs only issuing CAs, which sign only leaves.
                        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(1));
                        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
                    });
            Pem.writePrivateKey(keyFile(pkiDir, ROOT), keys.getPrivate());
            Pem.writeCertificates(certificateFile(pkiDir, ROOT), List.of(root));
            rootKey = keys.getPrivate();
            LOG.info("created root CA {} in {}", root.getSubjectX500Principal(), pkiDir);
        }
        requireMatchingKey(root, rootKey, keyFile(pkiDir, ROOT));

        for (CertificateKind kind : CertificateKind.values()) {
            if (!present(pkiDir, kind.caName() + "-ca")) createIssuer(pkiDir, kind, root, rootKey, random);
        }

        CertificateAuthority ca = load(pkiDir);
        for (CertificateKind kind : CertificateKind.values()) {
            if (!Files.exists(ca.crlFile(kind))) ca.writeCrl(kind);
        }
        return ca;
    }

    /** Creates {@code kind}'s issuing CA under the root, with the root's organization, and writes its key and certificate. */
    private static void createIssuer(Path pkiDir, CertificateKind kind, X509Certificate root, PrivateKey rootKey,
            SecureRandom random) {
        String base = kind.caName() + "-ca";
        String org = organizationOf(root);
        Instant now = Instant.now();
        KeyPair keys = newKeyPair(random);
        Instant until = min(now.plus(ISSUING_VALIDITY), root.getNotAfter().toInstant());
        X509Certificate ca = certificate(caName(org, org + " " + capitalized(kind.caName()) + " CA"),
                subjectOf(root), keys.getPublic(), root.getPublicKey(), rootKey,
                now.minus(BACKDATE), until, serial(random), b -> {
                    // pathLen 0: an issuing CA cannot create further CAs (RFC 5280 §4.2.1.9).
                    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
                    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
                });
        Pem.writePrivateKey(keyFile(pkiDir, base), keys.getPrivate());
        Pem.writeCertificates(certificateFile(pkiDir, base), List.of(ca));
        LOG.info("created issuing CA {} in {}", ca.getSubjectX500Principal(), pkiDir);
    }

    /**
     * The node CA came after the first data directories were made: one opened without it gets it
     * now, signed by the root (whose key must then still be here), with its empty CRL, so that an
     * upgrade needs no step of the operator's. Both its files absent is the only case filled in; one
     * without the other is a damaged directory, which {@link #present} names.
     */
    private static void fillInNodeCa(Path pkiDir) {
        if (present(pkiDir, CertificateKind.NODE.caName() + "-ca")) return;
        Path rootKeyFile = keyFile(pkiDir, ROOT);
        if (!Files.exists(rootKeyFile)) {
            throw new PkiException(certificateFile(pkiDir, CertificateKind.NODE.caName() + "-ca") + " is missing and the"
                    + " root key " + rootKeyFile + " is not here to create it: bring the root key back and run castellan init");
        }
        X509Certificate root = Pem.readCertificate(requireReadable(certificateFile(pkiDir, ROOT)));
        PrivateKey rootKey = Pem.readPrivateKey(rootKeyFile);
        requireMatchingKey(root, rootKey, rootKeyFile);
        createIssuer(pkiDir, CertificateKind.NODE, root, rootKey, new SecureRandom());
    }

    /**
     * Opens an existing CA in {@code pkiDir}, creating nothing but a missing node CA ({@link #fillInNodeCa}).
     *
     * @throws PkiException naming the first missing or unreadable file, or an issuing CA that the
     *     root did not sign, or a key that does not belong to its certificate
     */
    public static CertificateAuthority load(Path pkiDir) {
        return load(pkiDir, Optional.empty());
    }

    /**
     * Like {@link #load(Path)}, for a CA whose revocation services are published under {@code
     * publicUrl} (see {@link #requirePublicUrl}): every certificate it issues from then on names
     * {@code <publicUrl>/ocsp} and {@code <publicUrl>/ca/<name>-ca.crt} in its Authority
     * Information Access and {@code <publicUrl>/crl/<name>-ca.crl} as its CRL distribution point.
     *
     * @throws PkiException as {@link #load(Path)}, or if the URL is not an http or https URL
     */
    public static CertificateAuthority load(Path pkiDir, Optional<URI> publicUrl) {
        publicUrl.ifPresent(CertificateAuthority::requirePublicUrl);
        if (!Files.isDirectory(pkiDir)) {
            throw new PkiException("the CA directory " + pkiDir + " does not exist; create the CA first"
                    + " (CertificateAuthority.initialize)");
        }
        X509Certificate root = Pem.readCertificate(requireReadable(certificateFile(pkiDir, ROOT)));
        boolean nodeCaMissing = !present(pkiDir, CertificateKind.NODE.caName() + "-ca");
        if (nodeCaMissing) fillInNodeCa(pkiDir);
        Map<CertificateKind, Issuer> issuers = new EnumMap<>(CertificateKind.class);
        for (CertificateKind kind : CertificateKind.values()) {
            String base = kind.caName() + "-ca";
            Path certificateFile = requireReadable(certificateFile(pkiDir, base));
            Path keyFile = requireReadable(keyFile(pkiDir, base));
            X509Certificate certificate = Pem.readCertificate(certificateFile);
            PrivateKey key = Pem.readPrivateKey(keyFile);
            try {
                certificate.verify(root.getPublicKey());
            } catch (GeneralSecurityException e) {
                throw new PkiException(certificateFile + " was not signed by " + certificateFile(pkiDir, ROOT)
                        + "; the directory mixes two CAs: restore the matching files from a backup", e);
            }
            requireMatchingKey(certificate, key, keyFile);
            issuers.put(kind, new Issuer(certificate, key));
        }
        CertificateAuthority ca = new CertificateAuthority(pkiDir, organizationOf(root), root, issuers,
                publicUrl.map(CertificateAuthority::withoutTrailingSlash));
        if (nodeCaMissing) ca.writeCrl(CertificateKind.NODE);
        return ca;
    }

    /**
     * Checks a URL for {@link #load(Path, Optional)}: http or https, a host, and no user, query
     * or fragment, which have no place in a URL printed into every certificate. Plain http is the
     * usual choice: relying parties fetch CRLs and OCSP over it (RFC 5280 §4.2.1.13, RFC 6960
     * Appendix A.1), the objects being signed; https makes checking the server's own certificate
     * circular.
     *
     * @throws PkiException naming what is wrong
     */
    public static URI requirePublicUrl(URI url) {
        boolean web = "http".equalsIgnoreCase(url.getScheme()) || "https".equalsIgnoreCase(url.getScheme());
        if (!web || url.getHost() == null || url.getRawUserInfo() != null
                || url.getRawQuery() != null || url.getRawFragment() != null) {
            throw new PkiException("'" + url + "' is not a public URL for the CA; expected http://host[:port][/path]"
                    + " or https://..., such as http://mail.example.org");
        }
        return url;
    }

    private static URI withoutTrailingSlash(URI url) {
        String text = url.toString();
        return text.endsWith("/") ? URI.create(text.substring(0, text.length() - 1)) : url;
    }

    /** Where revocation services are published, if they are. */
    public Optional<URI> publicUrl() {
        return publicUrl;
    }

    public Path directory() {
        return directory;
    }

    /** The root certificate: what clients and servers install as their trust anchor. */
    public X509Certificate rootCertificate() {
        return root;
    }

    public Path rootCertificateFile() {
        return certificateFile(directory, ROOT);
    }

    /** The issuing CA for {@code kind}. */
    public X509Certificate caCertificate(CertificateKind kind) {
        return issuers.get(kind).certificate();
    }

    /** {@code <name>-ca.crt}: what a listener lists as the trust anchor for client certificates of that kind. */
    public Path caCertificateFile(CertificateKind kind) {
        return certificateFile(directory, kind.caName() + "-ca");
    }

    /** {@code <name>-ca.crl}: the PEM CRL of the issuing CA for {@code kind}. */
    public Path crlFile(CertificateKind kind) {
        return directory.resolve(kind.caName() + "-ca.crl");
    }

    /**
     * Issues a TLS server certificate (serverAuth, digitalSignature) from the {@code server} CA
     * with the given names as subjectAltNames; the CN is the first DNS name, or the first address.
     *
     * @throws PkiException if there is no name at all, a DNS name is malformed, or the validity is
     *     not positive or would outlast the issuing CA
     */
    public synchronized IssuedCertificate issueServer(List<String> dnsNames, List<InetAddress> ips,
            Duration validity) {
        if (dnsNames.isEmpty() && ips.isEmpty()) {
            throw new PkiException("a server certificate needs at least one DNS name or IP address");
        }
        List<GeneralName> names = new ArrayList<>();
        for (String dns : dnsNames) names.add(new GeneralName(GeneralName.dNSName, requireHostName(dns)));
        for (InetAddress ip : ips) {
            names.add(new GeneralName(GeneralName.iPAddress, ip.getHostAddress()));
        }
        String commonName = dnsNames.isEmpty() ? ips.get(0).getHostAddress() : dnsNames.get(0).toLowerCase(Locale.ROOT);
        return issue(CertificateKind.SERVER, leafName(commonName), commonName, validity,
                new KeyUsage(KeyUsage.digitalSignature), List.of(KeyPurposeId.id_kp_serverAuth), names);
    }

    /**
     * Issues a device certificate (clientAuth) from the {@code device} CA. The device name is the
     * CN; the owner is recorded in the index, not in the certificate, so a device certificate
     * alone never names an account that it could log in as.
     *
     * @throws PkiException if the name is not 1–64 letters, digits, '.', '_' or '-', or the validity
     *     is not positive or would outlast the issuing CA
     */
    public synchronized IssuedCertificate issueDevice(String deviceName, EmailAddress owner, Duration validity) {
        requireDeviceName(deviceName);
        return issue(CertificateKind.DEVICE, leafName(deviceName), owner.toString(), validity,
                new KeyUsage(KeyUsage.digitalSignature), List.of(KeyPurposeId.id_kp_clientAuth), List.of());
    }

    /**
     * Issues a user certificate from the {@code user} CA: clientAuth for TLS and emailProtection
     * for S/MIME, with the address as CN and as rfc822Name subjectAltName (RFC 8550 §3). Its
     * keyUsage allows signing and, since the key is EC, key agreement for S/MIME encryption
     * (RFC 5753).
     *
     * @throws PkiException if the address is not ASCII (internationalized addresses need the
     *     SmtpUTF8Mailbox name form of RFC 9598, which is not supported yet), or the validity is
     *     not positive or would outlast the issuing CA
     */
    public synchronized IssuedCertificate issueUser(EmailAddress user, Duration validity) {
        String address = requireAsciiAddress(user);
        return issue(CertificateKind.USER, leafName(address), address, validity,
                new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement),
                List.of(KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_emailProtection),
                List.of(new GeneralName(GeneralName.rfc822Name, address)));
    }

    /**
     * Issues a user encryption certificate from the {@code user} CA: S/MIME (emailProtection)
     * with keyAgreement alone (RFC 5753, RFC 8550 §4.4.2), so that it cannot sign, which is what
     * allows its key to be escrowed; the user signs with a certificate of {@link #issueUser}.
     *
     * @throws PkiException as {@link #issueUser}
     */
    public synchronized IssuedCertificate issueUserEncryption(EmailAddress user, Duration validity) {
        String address = requireAsciiAddress(user);
        return issue(CertificateKind.USER, leafName(address), address, validity, new KeyUsage(KeyUsage.keyAgreement),
                List.of(KeyPurposeId.id_kp_emailProtection), List.of(new GeneralName(GeneralName.rfc822Name, address)));
    }

    /**
     * Issues a node certificate from the {@code node} CA for the edge ↔ mailbox link
     * (docs/roles.md §2): serverAuth and clientAuth, since each node is a TLS server to some peers
     * and a client to others; the node name as CN; as subjectAltNames the node's DNS names and the
     * URI {@code castellan-node:<role>/<name>} ({@link NodeIdentity}), which is what a peer reads.
     * The index records the URI as the owner, so that the node list needs nothing else.
     *
     * @throws PkiException if a DNS name is malformed, or the validity is not positive or would
     *     outlast the issuing CA
     */
    public synchronized IssuedCertificate issueNode(NodeIdentity node, List<String> dnsNames, Duration validity) {
        return issueNode(node, dnsNames, validity, null);
    }

    /** A node certificate for {@code requested}, or for a key the CA makes when it is null. */
    private IssuedCertificate issueNode(NodeIdentity node, List<String> dnsNames, Duration validity, PublicKey requested) {
        List<GeneralName> names = new ArrayList<>();
        for (String dns : dnsNames) names.add(new GeneralName(GeneralName.dNSName, requireHostName(dns)));
        names.add(uri(node.uri()));
        return issue(CertificateKind.NODE, leafName(node.name()), node.uri(), validity,
                new KeyUsage(KeyUsage.digitalSignature),
                List.of(KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth), names, requested);
    }

    /**
     * Issues a node certificate for a key the node made and keeps: the profile of
     * {@link #issueNode}, for a join over EST (docs/roles.md §4), so that a node key never leaves
     * its node. Who may have which node name is the caller's policy (a join token).
     *
     * @return the certificate followed by the node CA certificate
     * @throws PkiException as {@link #issueNode}
     */
    public synchronized List<X509Certificate> issueNodeForKey(NodeIdentity node, List<String> dnsNames, PublicKey key,
            Duration validity) {
        return issueNode(node, dnsNames, validity, java.util.Objects.requireNonNull(key, "key")).chain();
    }

    /**
     * The node a certificate names: the one {@code castellan-node:} URI among its
     * subjectAltNames; empty when there is none, when it is malformed, or when there are two
     * (a certificate naming two nodes names none). Checks nothing else: whether the certificate
     * is trusted is the TLS handshake's business.
     */
    public static Optional<NodeIdentity> nodeIdentity(X509Certificate certificate) {
        List<NodeIdentity> found = new ArrayList<>();
        try {
            var names = certificate.getSubjectAlternativeNames();
            if (names == null) return Optional.empty();
            for (List<?> name : names) {
                if (!(name.get(0) instanceof Integer type) || type != GeneralName.uniformResourceIdentifier) continue;
                String text = String.valueOf(name.get(1));
                if (!text.startsWith(NodeIdentity.SCHEME + ":")) continue;
                Optional<NodeIdentity> parsed = NodeIdentity.parse(text);
                if (parsed.isEmpty()) return Optional.empty();
                found.add(parsed.get());
            }
        } catch (java.security.cert.CertificateParsingException e) {
            return Optional.empty();
        }
        return found.size() == 1 ? Optional.of(found.get(0)) : Optional.empty();
    }

    /**
     * Issues a device or user certificate for a key its holder made and keeps (an enrollment
     * request, RFC 7030 §4.2): the profile of {@link #issueDevice} or {@link #issueUser}, with a
     * keyUsage that fits the key — keyAgreement for an EC key and keyEncipherment for an RSA key
     * on a user certificate (RFC 8550 §4.4.2, RFC 5753), digitalSignature alone otherwise. Which
     * keys are acceptable is the caller's policy; this method signs what it is given.
     *
     * @param name the device name (DEVICE), or the owner's address again (USER)
     * @return the certificate followed by its issuing CA certificate
     * @throws PkiException for a SERVER kind, a name {@link #issueDevice} or {@link #issueUser}
     *     refuses, a user name other than the owner, or a validity they refuse
     */
    public synchronized List<X509Certificate> issueForKey(CertificateKind kind, String name, EmailAddress owner,
            PublicKey key, Duration validity) {
        boolean ec = key.getAlgorithm().equals("EC");
        boolean rsa = key.getAlgorithm().equals("RSA");
        IssuedCertificate issued = switch (kind) {
            case DEVICE -> {
                requireDeviceName(name);
                yield issue(CertificateKind.DEVICE, leafName(name), owner.toString(), validity,
                        new KeyUsage(KeyUsage.digitalSignature), List.of(KeyPurposeId.id_kp_clientAuth), List.of(), key);
            }
            case USER -> {
                String address = requireAsciiAddress(owner);
                if (!address.equals(name)) throw new PkiException("a user certificate names its owner, " + address + ", not " + name);
                int usage = KeyUsage.digitalSignature | (ec ? KeyUsage.keyAgreement : rsa ? KeyUsage.keyEncipherment : 0);
                yield issue(CertificateKind.USER, leafName(address), address, validity, new KeyUsage(usage),
                        List.of(KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_emailProtection),
                        List.of(new GeneralName(GeneralName.rfc822Name, address)), key);
            }
            case SERVER -> throw new PkiException("server certificates are issued by castellan cert, not on request");
            case NODE -> throw new PkiException("node certificates are issued by castellan node add, not on request");
        };
        return issued.chain();
    }

    /**
     * {@code content} of CMS type {@code type} signed by {@code kind}'s issuing CA as CMS SignedData
     * (RFC 5652 §5), with the issuing CA's certificate included: the signature of "the party that
     * generated the private key" on a server-made key (RFC 7030 §4.4.2).
     *
     * @return the DER SignedData (not wrapped in a ContentInfo), as an EnvelopedData encapsulates it
     * @throws PkiException if signing fails
     */
    public synchronized byte[] signedData(CertificateKind kind, ASN1ObjectIdentifier type, byte[] content) {
        Issuer issuer = issuers.get(kind);
        try {
            var generator = new CMSSignedDataGenerator();
            generator.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(
                    new JcaDigestCalculatorProviderBuilder().build())
                    .build(signer(issuer.key()), issuer.certificate()));
            generator.addCertificate(new JcaX509CertificateHolder(issuer.certificate()));
            var signed = generator.generate(new CMSProcessableByteArray(type, content), true);
            return signed.toASN1Structure().getContent().toASN1Primitive().getEncoded(ASN1Encoding.DER);
        } catch (GeneralSecurityException | OperatorCreationException | CMSException
                 | IOException e) {
            throw new PkiException("cannot sign with the " + kind.caName() + " CA: " + e.getMessage(), e);
        }
    }

    /**
     * {@code dns} in lower case (RFC 4343 §3), unless it is no DNS name for a TLS certificate.
     *
     * @throws PkiException saying why it is not
     */
    public static String requireHostName(String dns) {
        String name = dns.toLowerCase(Locale.ROOT);
        String plain = name.startsWith("*.") ? name.substring(2) : name;
        if (plain.isEmpty() || !plain.chars().allMatch(c -> c < 0x80) || !EmailAddress.isValidDomain(plain)) {
            throw new PkiException("'" + dns + "' is not a DNS name for a TLS certificate; use"
                    + " letters, digits, hyphens and dots (IDNs in their xn-- form), optionally '*.' first");
        }
        return name;
    }

    /** Throws {@link PkiException} saying why, unless {@code deviceName} is one a device certificate can carry. */
    public static void requireDeviceName(String deviceName) {
        if (deviceName == null || !DEVICE_NAME.matcher(deviceName).matches()) {
            throw new PkiException("'" + deviceName + "' is not a device name; use 1 to 64 letters, digits,"
                    + " '.', '_' or '-', starting with a letter or digit");
        }
    }

    private static String requireAsciiAddress(EmailAddress user) {
        String address = user.toString();
        if (!address.chars().allMatch(c -> c < 0x80)) {
            throw new PkiException("'" + address + "' is not an ASCII address; user certificates for"
                    + " internationalized addresses are not supported yet");
        }
        return address;
    }

    /**
     * Issues a delegated OCSP responder certificate for {@code kind}'s issuing CA (RFC 6960
     * §4.2.2.2): id-kp-OCSPSigning, digitalSignature, and id-pkix-ocsp-nocheck (RFC 6960
     * §4.2.2.2.1), so that clients do not ask about the responder's own status. It is not
     * recorded in the index: nothing checks its revocation, which is why its validity is short
     * and the responder renews it (see {@link OcspResponder}).
     *
     * @throws PkiException if the validity is not positive or the certificate cannot be signed
     */
    public synchronized IssuedCertificate issueOcspSigner(CertificateKind kind, Duration validity) {
        if (validity == null || validity.isNegative() || validity.isZero()) {
            throw new PkiException("the validity of an OCSP signing certificate must be positive, not " + validity);
        }
        Issuer issuer = issuers.get(kind);
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        Instant notAfter = min(now.plus(validity), issuer.certificate().getNotAfter().toInstant());
        KeyPair keys = newKeyPair(random);
        X500Name subject = leafName(organization + " " + capitalized(kind.caName()) + " CA OCSP Responder");
        X509Certificate certificate = certificate(subject, subjectOf(issuer.certificate()), keys.getPublic(),
                issuer.certificate().getPublicKey(), issuer.key(), now.minus(BACKDATE), notAfter, serial(random), b -> {
                    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
                    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
                    b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_OCSPSigning));
                    b.addExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nocheck, false, DERNull.INSTANCE);
                });
        LOG.info("issued the OCSP signing certificate {} of the {} CA, valid until {}",
                certificate.getSerialNumber().toString(16), kind.caName(), notAfter);
        return new IssuedCertificate(kind, certificate, List.of(certificate, issuer.certificate()), keys.getPrivate());
    }

    /**
     * Marks the certificate with {@code serial} revoked now and rewrites the CRL of its issuing CA.
     *
     * @return the updated index entry
     * @throws PkiException if no such certificate was issued here or it is already revoked
     */
    public synchronized IssuedEntry revoke(BigInteger serial, RevocationReason reason) {
        List<IssuedEntry> entries = new ArrayList<>(readIndex());
        for (int i = 0; i < entries.size(); i++) {
            IssuedEntry entry = entries.get(i);
            if (!entry.serial().equals(serial)) continue;
            if (entry.revoked()) {
                throw new PkiException("certificate " + serial.toString(16) + " was already revoked at "
                        + entry.revocation().orElseThrow().time());
            }
            IssuedEntry revoked = entry.revoke(Instant.now().truncatedTo(ChronoUnit.SECONDS), reason);
            entries.set(i, revoked);
            writeIndex(entries);
            writeCrl(entry.kind());
            LOG.info("revoked {} certificate {} ({}) for {}", entry.kind().caName(), revoked.serialHex(),
                    entry.subject(), reason.label());
            return revoked;
        }
        throw new PkiException("no certificate with serial " + serial.toString(16) + " in "
                + indexFile() + "; list the issued certificates to find the right serial");
    }

    /**
     * Signs and writes a new CRL for {@code kind}'s issuing CA listing every certificate it revoked,
     * valid for {@link #CRL_VALIDITY}. Call it again before then (the server refreshes it daily).
     */
    public synchronized X509CRL writeCrl(CertificateKind kind) {
        Issuer issuer = issuers.get(kind);
        Instant now = Instant.now();
        Path file = crlFile(kind);
        BigInteger number = BigInteger.ONE;
        if (Files.exists(file)) {
            byte[] previous = Pem.readCrl(file).getExtensionValue(Extension.cRLNumber.getId());
            if (previous != null) {
                // RFC 5280 §5.2.3: CRL numbers increase monotonically per issuer.
                number = ASN1Integer.getInstance(
                        ASN1OctetString.getInstance(previous).getOctets())
                        .getValue().add(BigInteger.ONE);
            }
        }
        try {
            X509v2CRLBuilder builder = new X509v2CRLBuilder(subjectOf(issuer.certificate()), Date.from(now));
            builder.setNextUpdate(Date.from(now.plus(CRL_VALIDITY)));
            for (IssuedEntry entry : readIndex()) {
                if (entry.kind() != kind || entry.revocation().isEmpty()) continue;
                IssuedEntry.Revocation r = entry.revocation().orElseThrow();
                builder.addCRLEntry(entry.serial(), Date.from(r.time()), r.reason().code());
            }
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                    extensionUtils().createAuthorityKeyIdentifier(issuer.certificate()));
            builder.addExtension(Extension.cRLNumber, false, new CRLNumber(number));
            X509CRL crl = new JcaX509CRLConverter().getCRL(builder.build(signer(issuer.key())));
            Pem.writeCrl(file, crl);
            return crl;
        } catch (GeneralSecurityException | CertIOException e) {
            throw new PkiException("cannot sign the CRL of the " + kind.caName() + " CA: " + e.getMessage(), e);
        }
    }

    /** Everything issued so far, oldest first. */
    public synchronized List<IssuedEntry> issued() {
        return readIndex();
    }

    /** The index entry for {@code serial}, if this CA issued it. */
    public synchronized Optional<IssuedEntry> find(BigInteger serial) {
        return issued().stream().filter(e -> e.serial().equals(serial)).findFirst();
    }

    private Path indexFile() {
        return directory.resolve(INDEX_FILE);
    }

    /**
     * The user certificate {@code serial}, as kept when it was issued; empty for another kind, or
     * one issued before user certificates were kept ({@value #USER_CERTIFICATES}).
     *
     * @throws PkiException if the file exists but cannot be read as a certificate
     */
    public Optional<X509Certificate> userCertificate(BigInteger serial) {
        Path file = userCertificateFile(serial);
        return Files.exists(file) ? Optional.of(Pem.readCertificate(file)) : Optional.empty();
    }

    private Path userCertificateFile(BigInteger serial) {
        return directory.resolve(USER_CERTIFICATES).resolve(serial.toString(16) + ".crt");
    }

    /** Keeps a user certificate for the directory; after the index, so that one kept is always revocable. */
    private void keepUserCertificate(BigInteger serial, X509Certificate certificate) {
        try {
            SecureFiles.directoryIfAbsent(directory.resolve(USER_CERTIFICATES));
        } catch (IOException e) {
            throw new PkiException("cannot create " + directory.resolve(USER_CERTIFICATES) + ": " + e.getMessage(), e);
        }
        Pem.writeCertificates(userCertificateFile(serial), List.of(certificate));
    }

    /**
     * The index, parsed again only when the file is not the one this instance last read or wrote
     * (one {@code stat}): another process ({@code castellan cert revoke}) has changed it. Parsing
     * the whole index on every issuance made an enrollment's cost grow with the number of
     * certificates ever issued (castellan-bench/results/2026-12-07-est.md).
     */
    private List<IssuedEntry> readIndex() {
        List<Object> stamp = FileStamp.of(indexFile());
        if (index != null && index.stamp().equals(stamp)) return index.entries();
        List<IssuedEntry> entries = List.copyOf(IssuedIndex.read(indexFile()));
        index = new IndexSnapshot(stamp, entries);
        return entries;
    }

    private void writeIndex(List<IssuedEntry> entries) {
        IssuedIndex.write(indexFile(), entries);
        index = new IndexSnapshot(FileStamp.of(indexFile()), List.copyOf(entries));
    }

    private IssuedCertificate issue(CertificateKind kind, X500Name subject, String owner, Duration validity,
            KeyUsage keyUsage, List<KeyPurposeId> purposes, List<GeneralName> altNames) {
        return issue(kind, subject, owner, validity, keyUsage, purposes, altNames, null);
    }

    /** As above, for {@code requested} (the holder keeps its private key) or, when null, a key the CA makes. */
    private IssuedCertificate issue(CertificateKind kind, X500Name subject, String owner, Duration validity,
            KeyUsage keyUsage, List<KeyPurposeId> purposes, List<GeneralName> altNames, PublicKey requested) {
        Issuer issuer = issuers.get(kind);
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        if (validity == null || validity.isNegative() || validity.isZero()) {
            throw new PkiException("the validity of a certificate must be positive, not " + validity);
        }
        Instant notAfter = now.plus(validity);
        Instant caEnd = issuer.certificate().getNotAfter().toInstant();
        if (notAfter.isAfter(caEnd)) {
            throw new PkiException("a validity of " + validity.toDays() + " days would outlast the "
                    + kind.caName() + " CA, which expires " + caEnd + "; choose a shorter validity");
        }
        Instant notBefore = now.minus(BACKDATE);
        List<IssuedEntry> entries = new ArrayList<>(readIndex());
        Set<BigInteger> used = new HashSet<>();
        entries.forEach(e -> used.add(e.serial()));
        BigInteger serial;
        do {
            serial = serial(random);
        } while (used.contains(serial));

        KeyPair keys = requested != null ? new KeyPair(requested, null) : newKeyPair(random);
        X509Certificate certificate = certificate(subject, subjectOf(issuer.certificate()), keys.getPublic(),
                issuer.certificate().getPublicKey(), issuer.key(), notBefore, notAfter, serial, b -> {
                    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
                    b.addExtension(Extension.keyUsage, true, keyUsage);
                    b.addExtension(Extension.extendedKeyUsage, false,
                            new ExtendedKeyUsage(purposes.toArray(new KeyPurposeId[0])));
                    if (!altNames.isEmpty()) {
                        b.addExtension(Extension.subjectAlternativeName, false,
                                new GeneralNames(altNames.toArray(new GeneralName[0])));
                    }
                    if (publicUrl.isPresent()) addRevocationServices(b, publicUrl.get(), kind);
                });
        // Index before handing the certificate out: a certificate missing from the index could
        // never be revoked.
        entries.add(new IssuedEntry(serial, kind, certificate.getSubjectX500Principal().getName(), owner,
                notBefore, notAfter, Optional.empty()));
        writeIndex(entries);
        if (kind == CertificateKind.USER) keepUserCertificate(serial, certificate);
        LOG.info("issued {} certificate {} for {}", kind.caName(), serial.toString(16), subject);
        return new IssuedCertificate(kind, certificate, List.of(certificate, issuer.certificate()), keys.getPrivate());
    }

    /**
     * RFC 5280 §4.2.2.1: where to ask about the certificate (id-ad-ocsp, RFC 6960 §3.1) and where
     * its issuer's certificate is (id-ad-caIssuers, a DER certificate); RFC 5280 §4.2.1.13: where
     * its issuer's CRL is. Not critical, as RFC 5280 recommends for both.
     */
    private static void addRevocationServices(X509v3CertificateBuilder builder, URI base, CertificateKind kind)
            throws CertIOException {
        String ca = kind.caName() + "-ca";
        builder.addExtension(Extension.authorityInfoAccess, false, new AuthorityInformationAccess(new AccessDescription[] {
            new AccessDescription(AccessDescription.id_ad_ocsp, uri(base + "/ocsp")),
            new AccessDescription(AccessDescription.id_ad_caIssuers, uri(base + "/ca/" + ca + ".crt")),
        }));
        builder.addExtension(Extension.cRLDistributionPoints, false, new CRLDistPoint(new DistributionPoint[] {
            new DistributionPoint(new DistributionPointName(new GeneralNames(uri(base + "/crl/" + ca + ".crl"))), null, null),
        }));
    }

    private static GeneralName uri(String text) {
        return new GeneralName(GeneralName.uniformResourceIdentifier, text);
    }

    private X500Name leafName(String commonName) {
        return new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, organization)
                .addRDN(BCStyle.CN, commonName)
                .build();
    }

    private static X500Name caName(String organization, String commonName) {
        return new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, organization)
                .addRDN(BCStyle.CN, commonName)
                .build();
    }

    @FunctionalInterface
    private interface Extensions {
        void add(X509v3CertificateBuilder builder) throws CertIOException;
    }

    private static X509Certificate certificate(X500Name subject, X500Name issuer, PublicKey subjectKey,
            PublicKey issuerKey, PrivateKey signingKey, Instant notBefore, Instant notAfter, BigInteger serial,
            Extensions extensions) {
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer, serial,
                    Date.from(notBefore), Date.from(notAfter), subject, subjectKey);
            JcaX509ExtensionUtils utils = extensionUtils();
            builder.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(subjectKey));
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                    utils.createAuthorityKeyIdentifier(issuerKey));
            extensions.add(builder);
            return new JcaX509CertificateConverter().getCertificate(builder.build(signer(signingKey)));
        } catch (GeneralSecurityException | CertIOException e) {
            throw new PkiException("cannot sign a certificate for " + subject + ": " + e.getMessage(), e);
        }
    }

    private static ContentSigner signer(PrivateKey key) {
        try {
            return new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(key);
        } catch (OperatorCreationException e) {
            throw new PkiException("cannot sign with " + SIGNATURE_ALGORITHM + ": " + e.getMessage(), e);
        }
    }

    private static JcaX509ExtensionUtils extensionUtils() throws GeneralSecurityException {
        return new JcaX509ExtensionUtils();
    }

    private static KeyPair newKeyPair(SecureRandom random) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec(CURVE), random);
            KeyPair pair = generator.generateKeyPair();
            // With the public key inside, so that the PKCS#12 export and PEM files carry it (Pem.complete).
            return new KeyPair(pair.getPublic(), Pem.complete(pair.getPrivate()));
        } catch (GeneralSecurityException e) {
            throw new PkiException("this JDK cannot generate EC P-256 keys: " + e.getMessage(), e);
        }
    }

    /** A positive serial of exactly {@link #SERIAL_BITS} bits (top bit set, so none is shorter). */
    private static BigInteger serial(SecureRandom random) {
        return new BigInteger(SERIAL_BITS, random).setBit(SERIAL_BITS - 1);
    }

    /** Catches a key file swapped or restored from the wrong backup before it signs anything. */
    private static void requireMatchingKey(X509Certificate certificate, PrivateKey key, Path keyFile) {
        try {
            byte[] challenge = "castellan key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(SIGNATURE_ALGORITHM);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(SIGNATURE_ALGORITHM);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(challenge);
            if (verifier.verify(signature)) return;
        } catch (GeneralSecurityException e) {
            // Falls through: a key of another algorithm does not match either.
        }
        throw new PkiException(keyFile + " is not the private key of " + certificate.getSubjectX500Principal()
                + "; restore the matching key from a backup");
    }

    private static boolean present(Path dir, String base) {
        boolean certificate = Files.exists(certificateFile(dir, base));
        boolean key = Files.exists(keyFile(dir, base));
        if (certificate != key) {
            Path missing = certificate ? keyFile(dir, base) : certificateFile(dir, base);
            throw new PkiException(missing + " is missing while its " + (certificate ? "certificate" : "key")
                    + " exists: restore it from a backup, or remove both to let a new " + base + " be created");
        }
        return certificate;
    }

    private static Path requireReadable(Path file) {
        if (!Files.exists(file)) {
            throw new PkiException(file + " is missing from the CA directory; restore it from a backup"
                    + " (or run the CA initialization to create missing CAs)");
        }
        if (!Files.isReadable(file)) {
            throw new PkiException(file + " is not readable by this user; the CA files belong to the"
                    + " account that runs Castellan");
        }
        return file;
    }

    private static Path certificateFile(Path dir, String base) {
        return dir.resolve(base + ".crt");
    }

    private static Path keyFile(Path dir, String base) {
        return dir.resolve(base + ".key");
    }

    private static X500Name subjectOf(X509Certificate certificate) {
        return X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
    }

    private static String organizationOf(X509Certificate certificate) {
        RDN[] rdns = subjectOf(certificate).getRDNs(BCStyle.O);
        return rdns.length == 0 || !(rdns[0].getFirst().getValue() instanceof ASN1String text)
                ? "Castellan"
                : text.getString();
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    private static String capitalized(String name) {
        return Character.toUpperCase(name.charAt(0)) + name.substring(1);
    }
}
