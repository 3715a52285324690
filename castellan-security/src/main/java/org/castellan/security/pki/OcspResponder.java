package org.castellan.security.pki;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.oiw.OIWObjectIdentifiers;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPException;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.Req;
import org.bouncycastle.cert.ocsp.RespID;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.castellan.security.pki.internal.FileStamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The built-in CA's OCSP responder (RFC 6960), without HTTP: it turns the DER of an OCSPRequest
 * (the body of a POST, or the base64 of a GET path, RFC 6960 Appendix A.1) into the DER of an
 * OCSPResponse, answering from the CA's index of issued certificates ({@code issued.tsv}).
 *
 * <p>Trusts: the CA directory. Each issuing CA answers through its own delegated responder
 * certificate ({@code <name>-ca-ocsp.crt} and its 0600 key beside it, RFC 6960 §4.2.2.2), short
 * lived and renewed {@link #SIGNER_RENEW_BEFORE} ahead of its end, so the issuing CA key signs
 * only that certificate. Exposes: good / revoked (time, reason) / unknown for serials of the
 * issuing CAs, {@code unauthorized} for any other issuer (RFC 6960 §2.3). Requests are not
 * required to be signed, and their signatures are not checked: the answer is public.
 *
 * <p>Responses without a nonce are signed once per certificate and hash algorithm and served
 * from memory until half their validity has passed; a response is re-signed at once when the
 * certificate's index entry changes. The index file is looked at (one {@code stat}) on every
 * request, so a revocation from any process ({@code castellan cert revoke}) is answered by the
 * next request. A request with a nonce is signed afresh, with the nonce echoed (RFC 9654 §2.1).
 * Signatures made for requests are bounded by {@link #MAX_SIGNATURES_PER_SECOND}: past it a
 * nonce is answered by the pre-signed response and the rest by {@code tryLater}.
 *
 * <p>Failure: {@link #respond} never throws for bad input; malformed, oversized or over-long
 * requests get {@code malformedRequest}, a failure to sign or to read the index
 * {@code internalError} (logged), both as unsigned OCSPResponses (RFC 6960 §4.2.1).
 */
public final class OcspResponder {

    private static final Logger LOG = LoggerFactory.getLogger(OcspResponder.class);

    /** The media type of a response body (RFC 6960 Appendix A.2). */
    public static final String CONTENT_TYPE = "application/ocsp-response";
    /**
     * A request with one certificate is about 80 octets; a signed one with its signer's chain a
     * few kilobytes. Anything beyond is not a request this responder could answer usefully.
     */
    public static final int MAX_REQUEST_BYTES = 8 * 1024;
    /**
     * Certificates asked about in one request. Browsers and TLS servers ask about one; a few
     * cover a chain. Each costs a look-up and grows the signed response, so a long list is refused.
     */
    public static final int MAX_CERTIFICATES = 8;
    /** RFC 9654 §2.1: a responder rejects nonces of 0 or more than 128 octets with malformedRequest. */
    public static final int MAX_NONCE_BYTES = 128;
    /**
     * nextUpdate of every response: how long a client or TLS server may keep a "good" answer of a
     * certificate revoked since. Short, since a signature costs well under a millisecond.
     */
    public static final Duration RESPONSE_VALIDITY = Duration.ofHours(4);
    /** A cached response is re-signed once this much of its validity has passed: it always has half left. */
    public static final Duration RESPONSE_REFRESH = RESPONSE_VALIDITY.dividedBy(2);
    /**
     * Validity of a delegated responder certificate: it carries id-pkix-ocsp-nocheck and so cannot
     * be revoked in practice (RFC 6960 §4.2.2.2.1), which its short life makes up for.
     */
    public static final Duration SIGNER_VALIDITY = Duration.ofDays(7);
    /** A responder certificate is renewed when less than this is left: far more than {@link #RESPONSE_VALIDITY}. */
    public static final Duration SIGNER_RENEW_BEFORE = Duration.ofDays(2);
    /**
     * Cached responses (one per certificate and hash algorithm, ~500 octets each). When full the
     * cache starts over: requests for made-up serials cannot grow it without bound.
     */
    public static final int MAX_CACHED = 50_000;
    /**
     * Signatures per second made for requests: for a nonce, for several certificates at once, or
     * for a certificate first asked about (made-up serials included). Each costs about 110 µs of
     * CPU (castellan-bench/results/2026-12-07-ocsp.md) and anyone who reaches the listener can ask,
     * so past this a nonce is left out of the answer and the pre-signed response is given (RFC 9654
     * §2.1 lets a responder leave it out), and what has no pre-signed response gets tryLater
     * (RFC 6960 §2.3). 500 a second is about 5 % of one core and far above what relying parties
     * ask; staples are not counted.
     */
    public static final int MAX_SIGNATURES_PER_SECOND = 500;

    /** The hash algorithms of CertIDs that are matched: SHA-1 (what most clients send) and SHA-2. */
    private static final List<ASN1ObjectIdentifier> CERT_ID_HASHES = List.of(OIWObjectIdentifiers.idSHA1,
            NISTObjectIdentifiers.id_sha256, NISTObjectIdentifiers.id_sha384, NISTObjectIdentifiers.id_sha512);
    private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

    private static final byte[] MALFORMED = unsuccessful(OCSPRespBuilder.MALFORMED_REQUEST);
    private static final byte[] UNAUTHORIZED = unsuccessful(OCSPRespBuilder.UNAUTHORIZED);
    private static final byte[] INTERNAL_ERROR = unsuccessful(OCSPRespBuilder.INTERNAL_ERROR);
    private static final byte[] TRY_LATER = unsuccessful(OCSPRespBuilder.TRY_LATER);

    private final CertificateAuthority ca;
    private final Clock clock;
    private final DigestCalculatorProvider digests;
    /** Per hash algorithm, the issuing CA whose name and key hashes are these. */
    private final Map<ASN1ObjectIdentifier, List<IssuerHashes>> issuerHashes;
    private final Map<CertificateKind, Signer> signers = new EnumMap<>(CertificateKind.class);
    private final Map<CacheKey, Signed> cache = new ConcurrentHashMap<>();
    /** The servers' own certificates whose issuer was looked up for {@link #staple}: a handful. */
    private final Map<X509Certificate, Optional<CertificateKind>> issuedBy = new ConcurrentHashMap<>();
    private volatile Snapshot index = new Snapshot(List.of("none"), Map.of());
    private final SigningBudget budget;

    private record IssuerHashes(CertificateKind kind, byte[] nameHash, byte[] keyHash) {}

    /** A delegated responder certificate and key, and the RespID that names it. */
    private record Signer(X509Certificate certificate, PrivateKey key, RespID id, X509CertificateHolder[] chain) {}

    private record CacheKey(CertificateKind kind, ASN1ObjectIdentifier hash, BigInteger serial) {}

    /** A signed response, what it said it from (empty: unknown serial) and when to sign it again. */
    private record Signed(byte[] der, Optional<IssuedEntry> basis, Instant refreshAt) {}

    /** The index as read, and what identified the file then (inode, modification time, size). */
    private record Snapshot(List<Object> stamp, Map<BigInteger, IssuedEntry> entries) {}

    private OcspResponder(CertificateAuthority ca, Clock clock, int signaturesPerSecond) {
        this.ca = ca;
        this.clock = clock;
        this.budget = new SigningBudget(signaturesPerSecond, clock);
        try {
            this.digests = new JcaDigestCalculatorProviderBuilder().build();
        } catch (OperatorCreationException e) {
            throw new PkiException("this JDK offers no SHA digests for OCSP: " + e.getMessage(), e);
        }
        Map<ASN1ObjectIdentifier, List<IssuerHashes>> hashes = new HashMap<>();
        for (ASN1ObjectIdentifier algorithm : CERT_ID_HASHES) {
            List<IssuerHashes> list = new ArrayList<>();
            for (CertificateKind kind : CertificateKind.values()) {
                CertificateID id = certificateId(kind, algorithm, BigInteger.ONE);
                list.add(new IssuerHashes(kind, id.getIssuerNameHash(), id.getIssuerKeyHash()));
            }
            hashes.put(algorithm, List.copyOf(list));
        }
        this.issuerHashes = Map.copyOf(hashes);
    }

    /**
     * A responder for {@code ca}, with a delegated responder certificate per issuing CA: loaded
     * from the CA directory, or issued and written there if missing or near its end.
     *
     * @throws PkiException if a responder certificate cannot be issued or written
     */
    public static OcspResponder open(CertificateAuthority ca, Clock clock) {
        return open(ca, clock, MAX_SIGNATURES_PER_SECOND);
    }

    /** As {@link #open(CertificateAuthority, Clock)}, signing at most {@code signaturesPerSecond} for requests. */
    public static OcspResponder open(CertificateAuthority ca, Clock clock, int signaturesPerSecond) {
        if (signaturesPerSecond < 1) throw new IllegalArgumentException("signaturesPerSecond < 1: " + signaturesPerSecond);
        OcspResponder responder = new OcspResponder(Objects.requireNonNull(ca, "ca"), Objects.requireNonNull(clock, "clock"),
                signaturesPerSecond);
        for (CertificateKind kind : CertificateKind.values()) responder.signer(kind);
        return responder;
    }

    /** {@code <name>-ca-ocsp.crt}: the delegated responder certificate of {@code kind}'s issuing CA. */
    public Path signerCertificateFile(CertificateKind kind) {
        return ca.directory().resolve(kind.caName() + "-ca-ocsp.crt");
    }

    private Path signerKeyFile(CertificateKind kind) {
        return ca.directory().resolve(kind.caName() + "-ca-ocsp.key");
    }

    /** The delegated responder certificate now in use for {@code kind}. */
    public X509Certificate signerCertificate(CertificateKind kind) {
        return signer(kind).certificate();
    }

    /**
     * The OCSPResponse for the GET form of a request (RFC 6960 Appendix A.1): {@code encoded} is
     * the path after the responder's URL, the URL-encoded base64 of the DER request.
     */
    public byte[] respondToGet(String encoded) {
        return respond(getRequest(encoded));
    }

    /**
     * The DER request the path of a GET names (RFC 6960 Appendix A.1), for {@link #respond} or
     * {@link #respondWithoutSigning}; null if it is not URL-encoded base64 (which both answer
     * with {@code malformedRequest}).
     */
    public static byte[] getRequest(String encoded) {
        // Base64 grows the request by 4/3, URL encoding each of '+', '/' and '=' to three characters.
        if (encoded == null || encoded.length() > MAX_REQUEST_BYTES * 3) return null;
        String base64 = percentDecoded(encoded.startsWith("/") ? encoded.substring(1) : encoded);
        if (base64 == null) return null;
        try {
            return Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException notBase64) {
            try {
                return Base64.getUrlDecoder().decode(base64);
            } catch (IllegalArgumentException neither) {
                return null;
            }
        }
    }

    /** The OCSPResponse (DER) for the OCSPRequest {@code der}, per the class description. */
    public byte[] respond(byte[] der) {
        return answer(der, true);
    }

    /**
     * The response {@link #respond} would give, if it needs neither a signature nor a new
     * reading of the index: a response signed before and still fresh for an index unchanged (one
     * {@code stat}), or the fixed answer to a bad request. Empty when {@link #respond} has to do
     * more (a nonce, several certificates, a first request about a certificate, a changed index),
     * so that a caller on an event loop can answer the common case at once and hand the rest to
     * a thread that may block. Never throws for bad input.
     */
    public Optional<byte[]> respondWithoutSigning(byte[] der) {
        return Optional.ofNullable(answer(der, false));
    }

    /** The response; with {@code maySign} false, null where a signature or a reading of the index is needed. */
    private byte[] answer(byte[] der, boolean maySign) {
        if (der == null || der.length == 0 || der.length > MAX_REQUEST_BYTES) return MALFORMED;
        OCSPReq request;
        try {
            request = new OCSPReq(der);
        } catch (IOException | RuntimeException e) {
            return MALFORMED;
        }
        Req[] asked = request.getRequestList();
        if (asked.length == 0 || asked.length > MAX_CERTIFICATES) return MALFORMED;
        Extension nonce = request.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
        if (nonce != null && !nonceLengthAllowed(nonce)) return MALFORMED;

        CertificateKind kind = null;
        for (Req req : asked) {
            Optional<CertificateKind> issuer = issuerOf(req.getCertID());
            // RFC 6960 §2.3: not a CA this responder speaks for. One response has one signer, so
            // a request mixing issuing CAs is refused the same way.
            if (issuer.isEmpty() || (kind != null && kind != issuer.get())) return UNAUTHORIZED;
            kind = issuer.get();
        }
        try {
            Map<BigInteger, IssuedEntry> entries = maySign ? currentIndex() : currentIndexIfRead();
            if (entries == null) return null;
            if (nonce == null && asked.length == 1) {
                byte[] answer = cached(kind, asked[0].getCertID(), entries, maySign, true);
                return answer != null || !maySign ? answer : TRY_LATER;
            }
            if (!maySign) return null;
            if (!budget.take()) {
                // Over the budget: the nonce is left out (RFC 9654 §2.1), several certificates wait.
                if (asked.length > 1) return TRY_LATER;
                byte[] presigned = cached(kind, asked[0].getCertID(), entries, true, true);
                return presigned != null ? presigned : TRY_LATER;
            }
            List<CertificateID> ids = new ArrayList<>();
            for (Req req : asked) ids.add(req.getCertID());
            return sign(kind, ids, entries, nonce);
        } catch (PkiException | OCSPException | IOException e) {
            LOG.warn("OCSP response for the {} CA not signed: {}", kind.caName(), e.getMessage());
            return INTERNAL_ERROR;
        }
    }

    /**
     * The response a TLS server presenting {@code certificate} staples (RFC 6066 §8), if one of
     * the issuing CAs issued it: the pre-signed response a client asking would get, so a
     * revocation shows in the next handshake. Empty for a certificate of another CA, or if the
     * response cannot be signed (logged). Called on every handshake: a map look-up and one
     * {@code stat} of the index once the response is signed.
     */
    public Optional<byte[]> staple(X509Certificate certificate) {
        Optional<CertificateKind> kind = issuedBy.computeIfAbsent(certificate, this::issuingKind);
        if (kind.isEmpty()) return Optional.empty();
        try {
            CertificateID id = certificateId(kind.get(), OIWObjectIdentifiers.idSHA1, certificate.getSerialNumber());
            return Optional.of(cached(kind.get(), id, currentIndex(), true, false));
        } catch (PkiException | OCSPException | IOException e) {
            LOG.warn("no OCSP staple for certificate {}: {}", certificate.getSerialNumber().toString(16), e.getMessage());
            return Optional.empty();
        }
    }

    /** The issuing CA that signed {@code certificate}, checked by its signature, not only its issuer name. */
    private Optional<CertificateKind> issuingKind(X509Certificate certificate) {
        for (CertificateKind kind : CertificateKind.values()) {
            X509Certificate issuer = ca.caCertificate(kind);
            if (!issuer.getSubjectX500Principal().equals(certificate.getIssuerX500Principal())) continue;
            try {
                certificate.verify(issuer.getPublicKey());
                return Optional.of(kind);
            } catch (java.security.GeneralSecurityException e) {
                // Same name, another key: not ours.
            }
        }
        return Optional.empty();
    }

    /**
     * The response signed before if still good; else signed now, or null if not {@code maySign}.
     * {@code budgeted}: a request's signature is counted against {@link #MAX_SIGNATURES_PER_SECOND};
     * the budget spent, a response due for refresh but still valid is given, else null.
     */
    private byte[] cached(CertificateKind kind, CertificateID id, Map<BigInteger, IssuedEntry> entries, boolean maySign,
            boolean budgeted) throws OCSPException, IOException {
        CacheKey key = new CacheKey(kind, id.getHashAlgOID(), id.getSerialNumber());
        Optional<IssuedEntry> basis = entryOf(kind, id.getSerialNumber(), entries);
        Signed signed = cache.get(key);
        Instant now = clock.instant();
        if (signed != null && signed.basis().equals(basis) && now.isBefore(signed.refreshAt())) return signed.der();
        if (!maySign) return null;
        if (budgeted && !budget.take()) {
            // A response still within its validity says what the index says: good enough to give.
            boolean stillValid = signed != null && signed.basis().equals(basis)
                    && now.isBefore(signed.refreshAt().plus(RESPONSE_VALIDITY.minus(RESPONSE_REFRESH)));
            return stillValid ? signed.der() : null;
        }
        byte[] der = sign(kind, List.of(id), entries, null);
        if (cache.size() >= MAX_CACHED) cache.clear();
        cache.put(key, new Signed(der, basis, now.plus(RESPONSE_REFRESH)));
        return der;
    }

    private byte[] sign(CertificateKind kind, List<CertificateID> asked, Map<BigInteger, IssuedEntry> entries, Extension nonce)
            throws OCSPException, IOException {
        Signer signer = signer(kind);
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        Date thisUpdate = Date.from(now);
        Date nextUpdate = Date.from(now.plus(RESPONSE_VALIDITY));
        BasicOCSPRespBuilder builder = new BasicOCSPRespBuilder(signer.id());
        for (CertificateID id : asked) {
            builder.addResponse(id, status(entryOf(kind, id.getSerialNumber(), entries)), thisUpdate, nextUpdate, null);
        }
        // RFC 9654 §2.1: the responder returns the request's nonce extension unchanged.
        if (nonce != null) builder.setResponseExtensions(new Extensions(nonce));
        try {
            BasicOCSPResp basic = builder.build(new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(signer.key()),
                    signer.chain(), thisUpdate);
            return new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, basic).getEncoded();
        } catch (OperatorCreationException e) {
            throw new PkiException("cannot sign with " + SIGNATURE_ALGORITHM + ": " + e.getMessage(), e);
        }
    }

    /**
     * RFC 6960 §2.2: good for a certificate issued and not revoked, revoked with its time and
     * reason, unknown for a serial this CA never issued (or issued by another of its CAs).
     */
    private static CertificateStatus status(Optional<IssuedEntry> entry) {
        if (entry.isEmpty()) return new UnknownStatus();
        Optional<IssuedEntry.Revocation> revocation = entry.get().revocation();
        if (revocation.isEmpty()) return CertificateStatus.GOOD;
        return new RevokedStatus(Date.from(revocation.get().time()), revocation.get().reason().code());
    }

    private static Optional<IssuedEntry> entryOf(CertificateKind kind, BigInteger serial, Map<BigInteger, IssuedEntry> entries) {
        IssuedEntry entry = entries.get(serial);
        return entry != null && entry.kind() == kind ? Optional.of(entry) : Optional.empty();
    }

    /** The issuing CA whose name and key hashes the CertID carries (both: RFC 6960 §4.1.1). */
    private Optional<CertificateKind> issuerOf(CertificateID id) {
        List<IssuerHashes> candidates = issuerHashes.get(id.getHashAlgOID());
        if (candidates == null) return Optional.empty();
        for (IssuerHashes c : candidates) {
            if (Arrays.equals(c.nameHash(), id.getIssuerNameHash())
                    && Arrays.equals(c.keyHash(), id.getIssuerKeyHash())) {
                return Optional.of(c.kind());
            }
        }
        return Optional.empty();
    }

    /** The index as last read if the file has not changed since (one {@code stat}); else null. */
    private Map<BigInteger, IssuedEntry> currentIndexIfRead() {
        Snapshot now = index;
        return now.stamp().equals(FileStamp.of(ca.directory().resolve(CertificateAuthority.INDEX_FILE))) ? now.entries() : null;
    }

    /** The index, re-read when the file changed since the last request. */
    private Map<BigInteger, IssuedEntry> currentIndex() {
        List<Object> stamp = FileStamp.of(ca.directory().resolve(CertificateAuthority.INDEX_FILE));
        Snapshot now = index;
        if (now.stamp().equals(stamp)) return now.entries();
        Map<BigInteger, IssuedEntry> entries = new HashMap<>();
        for (IssuedEntry entry : ca.issued()) entries.put(entry.serial(), entry);
        index = new Snapshot(stamp, Map.copyOf(entries));
        return index.entries();
    }

    /** The delegated responder of {@code kind}, renewed (and written) when missing or near its end. */
    private synchronized Signer signer(CertificateKind kind) {
        Signer signer = signers.get(kind);
        Instant renewAt = clock.instant().plus(SIGNER_RENEW_BEFORE);
        if (signer != null && signer.certificate().getNotAfter().toInstant().isAfter(renewAt)) return signer;
        Path certificateFile = signerCertificateFile(kind);
        Path keyFile = signerKeyFile(kind);
        X509Certificate certificate = null;
        PrivateKey key = null;
        if (Files.exists(certificateFile) && Files.exists(keyFile)) {
            certificate = Pem.readCertificate(certificateFile);
            key = Pem.readPrivateKey(keyFile);
            if (!certificate.getNotAfter().toInstant().isAfter(renewAt)
                    || !certificate.getIssuerX500Principal().equals(ca.caCertificate(kind).getSubjectX500Principal())) {
                certificate = null;
            }
        }
        if (certificate == null) {
            IssuedCertificate issued = ca.issueOcspSigner(kind, SIGNER_VALIDITY);
            // Key first: a certificate without its key on disk would be unusable after a restart.
            Pem.writePrivateKey(keyFile, issued.privateKey());
            Pem.writeCertificates(certificateFile, List.of(issued.certificate()));
            certificate = issued.certificate();
            key = issued.privateKey();
        }
        try {
            X509CertificateHolder holder = new JcaX509CertificateHolder(certificate);
            RespID id = new RespID(SubjectPublicKeyInfo.getInstance(certificate.getPublicKey().getEncoded()),
                    digests.get(CertificateID.HASH_SHA1));
            // The responder certificate goes with each response so that clients can check the delegation (RFC 6960 §4.2.2.2).
            signer = new Signer(certificate, key, id, new X509CertificateHolder[] {holder});
        } catch (CertificateEncodingException | OCSPException | OperatorCreationException e) {
            throw new PkiException("cannot use the OCSP signing certificate " + certificateFile + ": " + e.getMessage(), e);
        }
        signers.put(kind, signer);
        cache.clear();
        return signer;
    }

    private CertificateID certificateId(CertificateKind kind, ASN1ObjectIdentifier algorithm, BigInteger serial) {
        try {
            return new CertificateID(digests.get(new AlgorithmIdentifier(algorithm)),
                    new JcaX509CertificateHolder(ca.caCertificate(kind)), serial);
        } catch (OCSPException | OperatorCreationException | CertificateEncodingException e) {
            throw new PkiException("cannot hash the " + kind.caName() + " CA for OCSP: " + e.getMessage(), e);
        }
    }

    private static boolean nonceLengthAllowed(Extension nonce) {
        byte[] value = nonce.getExtnValue().getOctets();
        int length = value.length;
        try {
            // RFC 9654 §2.1: the nonce is the content of an OCTET STRING inside extnValue.
            if (ASN1Primitive.fromByteArray(value) instanceof ASN1OctetString inner) length = inner.getOctets().length;
        } catch (IOException | RuntimeException raw) {
            // Older clients put the raw nonce in extnValue: its length is that of the whole value.
        }
        return length >= 1 && length <= MAX_NONCE_BYTES;
    }

    /** {@code %XX} sequences decoded; '+' kept (it is base64, not a space). Null if malformed. */
    private static String percentDecoded(String text) {
        if (text.indexOf('%') < 0) return text;
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (i + 2 >= text.length()) return null;
            int high = Character.digit(text.charAt(i + 1), 16);
            int low = Character.digit(text.charAt(i + 2), 16);
            if (high < 0 || low < 0) return null;
            out.append((char) (high * 16 + low));
            i += 2;
        }
        return out.toString();
    }

    private static byte[] unsuccessful(int status) {
        try {
            return new OCSPRespBuilder().build(status, null).getEncoded();
        } catch (OCSPException | IOException e) {
            throw new IllegalStateException("cannot encode an OCSP status " + status, e);
        }
    }

    /**
     * A token bucket of signatures: {@code perSecond} tokens, refilled continuously by the clock,
     * so a burst of one second's worth is allowed and the long-run rate is bounded.
     */
    private static final class SigningBudget {
        private final double perSecond;
        private final Clock clock;
        private double tokens;
        private Instant last;

        SigningBudget(int perSecond, Clock clock) {
            this.perSecond = perSecond;
            this.clock = clock;
            this.tokens = perSecond;
            this.last = clock.instant();
        }

        synchronized boolean take() {
            Instant now = clock.instant();
            if (now.isAfter(last)) {
                tokens = Math.min(perSecond, tokens + Duration.between(last, now).toNanos() * perSecond / 1e9);
                last = now;
            }
            if (tokens < 1) return false;
            tokens -= 1;
            return true;
        }
    }
}
