package org.castellan.security.pki;

import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPException;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

/**
 * Asks a certificate's OCSP responder (RFC 6960) whether it is revoked, over real HTTP, and keeps
 * each answer until the responder's nextUpdate in a bounded cache, so that a busy listener asks
 * once per certificate and validity period, not once per handshake.
 *
 * <p>Trusts: a response only if it is signed by the certificate's issuer, or by a responder
 * certificate that the issuer signed for OCSP signing (RFC 6960 §4.2.2.2), is about this
 * certificate, and is current (thisUpdate not in the future, nextUpdate not past). Anything else
 * is {@link Status.Unavailable}, never "good".
 *
 * <p>Failure: {@link #check} never throws; an unreachable responder, an HTTP error, a malformed or
 * badly signed response are all {@link Status.Unavailable} with the reason, for the caller's
 * soft- or hard-fail rule. It blocks for up to {@link #TIMEOUT} (twice, connect and response),
 * so call it off any event loop.
 */
public final class OcspClient {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(OcspClient.class);

    /**
     * Per connect and per response: well inside a TLS handshake's 10 s limit, and long enough for
     * a responder across the Internet.
     */
    public static final Duration TIMEOUT = Duration.ofSeconds(4);
    /** Distinct certificates remembered; beyond this the least recently used answer is dropped. */
    public static final int MAX_CACHED = 10_000;
    /**
     * How long a response without nextUpdate is kept: RFC 6960 §4.2.2.1 says newer information is
     * then always available, but asking on every handshake would make the responder a bottleneck.
     */
    public static final Duration NO_NEXT_UPDATE_TTL = Duration.ofMinutes(5);
    /** The longest any answer is kept, whatever nextUpdate says: a week-long response is still re-asked daily. */
    public static final Duration MAX_TTL = Duration.ofDays(1);
    /**
     * An unavailable responder is not asked again for this long: with soft-fail, a dead responder
     * would otherwise delay every handshake by the timeout.
     */
    public static final Duration FAILURE_TTL = Duration.ofSeconds(30);
    /** Clock differences tolerated between the responder and this server. */
    public static final Duration CLOCK_SKEW = Duration.ofMinutes(5);
    /** Larger responses are refused: a real one is a few kilobytes (RFC 6960 §4.2.1). */
    static final int MAX_RESPONSE_BYTES = 64 * 1024;

    /** What the responder said about one certificate. */
    public sealed interface Status {
        /** Not revoked, as of the response. */
        record Good(Instant until) implements Status {}

        /** Revoked at {@code at}. */
        record Revoked(Instant at, Instant until) implements Status {}

        /** The responder does not know the certificate (RFC 6960 §2.2). */
        record Unknown(Instant until) implements Status {}

        /** No usable answer: unreachable, HTTP error, malformed, badly signed or stale. */
        record Unavailable(String reason, Instant until) implements Status {}
    }

    private record Key(X500Principal issuer, BigInteger serial) {}

    private final HttpClient http;
    private final Clock clock;
    private final Map<Key, Status> cache = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Status> eldest) {
            return size() > MAX_CACHED;
        }
    };
    /** One request per certificate at a time: concurrent handshakes of one device share it. */
    private final ConcurrentHashMap<Key, CompletableFuture<Status>> inFlight = new ConcurrentHashMap<>();

    public OcspClient(Clock clock) {
        this.clock = clock;
        this.http = HttpClient.newBuilder()
                .connectTimeout(TIMEOUT)
                // RFC 6960 A.1 is plain HTTP: the response is signed, so TLS adds nothing and
                // would need revocation checks of its own.
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /** The OCSP responder named in the certificate's Authority Information Access, if any. */
    public static Optional<URI> responder(X509Certificate certificate) {
        byte[] extension = certificate.getExtensionValue(Extension.authorityInfoAccess.getId());
        if (extension == null) return Optional.empty();
        try {
            ASN1Primitive value = ASN1Primitive.fromByteArray(DEROctetString.getInstance(extension).getOctets());
            for (AccessDescription d : AuthorityInformationAccess.getInstance(value).getAccessDescriptions()) {
                if (d.getAccessMethod().equals(AccessDescription.id_ad_ocsp)
                        && d.getAccessLocation().getTagNo() == GeneralName.uniformResourceIdentifier) {
                    URI uri = URI.create(d.getAccessLocation().getName().toString());
                    if ("http".equalsIgnoreCase(uri.getScheme())) return Optional.of(uri);
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** The answer in the cache, if there is one still current; never does I/O. */
    public Optional<Status> cached(X509Certificate certificate) {
        Key key = key(certificate);
        synchronized (cache) {
            Status status = cache.get(key);
            if (status == null || !until(status).isAfter(clock.instant())) return Optional.empty();
            return Optional.of(status);
        }
    }

    /**
     * The status of {@code certificate}, issued by {@code issuer}: from the cache when current,
     * else from its responder (blocking). A certificate without an HTTP OCSP responder is
     * {@link Status.Unavailable}.
     */
    public Status check(X509Certificate certificate, X509Certificate issuer) {
        Optional<Status> cached = cached(certificate);
        if (cached.isPresent()) return cached.get();
        Key key = key(certificate);
        CompletableFuture<Status> mine = new CompletableFuture<>();
        CompletableFuture<Status> running = inFlight.putIfAbsent(key, mine);
        if (running != null) {
            try {
                return running.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Status.Unavailable("interrupted", clock.instant());
            } catch (ExecutionException e) {
                return new Status.Unavailable(e.getCause().toString(), clock.instant());
            }
        }
        try {
            Status status = fetch(certificate, issuer).status();
            synchronized (cache) {
                cache.put(key, status);
            }
            mine.complete(status);
            return status;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            inFlight.remove(key, mine);
        }
    }

    /**
     * A response a TLS server may staple (RFC 6066 §8): its DER, empty unless {@code status} is
     * Good, Revoked or Unknown, that is, unless it passed every check of {@link #check}.
     */
    public record Staple(byte[] response, Status status) {}

    /**
     * Asks {@code certificate}'s responder now, past the cache, for a response to staple to the
     * TLS handshakes of a server presenting it. Blocks as {@link #check} does; never throws.
     */
    public Staple fetchStaple(X509Certificate certificate, X509Certificate issuer) {
        try {
            return fetch(certificate, issuer);
        } catch (RuntimeException e) {
            return new Staple(new byte[0], new Status.Unavailable(e.toString(), clock.instant().plus(FAILURE_TTL)));
        }
    }

    private Staple fetch(X509Certificate certificate, X509Certificate issuer) {
        Instant now = clock.instant();
        Instant retry = now.plus(FAILURE_TTL);
        Optional<URI> responder = responder(certificate);
        if (responder.isEmpty()) {
            return none(new Status.Unavailable("the certificate names no HTTP OCSP responder", retry));
        }
        try {
            CertificateID id = new CertificateID(
                    new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                    new JcaX509CertificateHolder(issuer), certificate.getSerialNumber());
            byte[] request = new OCSPReqBuilder().addRequest(id).build().getEncoded();
            // RFC 6960 A.1: POST with the DER request, media types application/ocsp-request/-response.
            HttpResponse<byte[]> reply = http.send(HttpRequest.newBuilder(responder.get())
                            .timeout(TIMEOUT)
                            .header("Content-Type", "application/ocsp-request")
                            .header("Accept", "application/ocsp-response")
                            .POST(HttpRequest.BodyPublishers.ofByteArray(request))
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            if (reply.statusCode() != 200) {
                return none(unavailable(responder.get(), "HTTP status " + reply.statusCode(), retry));
            }
            if (reply.body().length > MAX_RESPONSE_BYTES) {
                return none(unavailable(responder.get(), "response larger than " + MAX_RESPONSE_BYTES + " bytes", retry));
            }
            Status status = interpret(new OCSPResp(reply.body()), id, issuer, now, retry, responder.get());
            return status instanceof Status.Unavailable ? none(status) : new Staple(reply.body(), status);
        } catch (IOException e) {
            return none(unavailable(responder.get(), e.toString(), retry));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return none(unavailable(responder.get(), "interrupted", retry));
        } catch (OCSPException | OperatorCreationException | CertificateEncodingException | RuntimeException e) {
            return none(unavailable(responder.get(), "malformed exchange: " + e.getMessage(), retry));
        }
    }

    private static Staple none(Status unavailable) {
        return new Staple(new byte[0], unavailable);
    }

    private Status interpret(OCSPResp response, CertificateID id, X509Certificate issuer, Instant now, Instant retry,
            URI responder) throws OCSPException {
        if (response.getStatus() != OCSPResp.SUCCESSFUL) {
            return unavailable(responder, "response status " + response.getStatus() + " (RFC 6960 §4.2.1)", retry);
        }
        if (!(response.getResponseObject() instanceof BasicOCSPResp basic)) {
            return unavailable(responder, "not a basic OCSP response", retry);
        }
        if (!signedByIssuerOrDelegate(basic, issuer)) {
            return unavailable(responder, "response not signed by the issuer or a responder it authorised", retry);
        }
        for (SingleResp single : basic.getResponses()) {
            if (!single.getCertID().equals(id)) continue;
            Instant thisUpdate = single.getThisUpdate().toInstant();
            if (thisUpdate.isAfter(now.plus(CLOCK_SKEW))) {
                return unavailable(responder, "response thisUpdate " + thisUpdate + " is in the future", retry);
            }
            Instant until;
            if (single.getNextUpdate() != null) {
                Instant next = single.getNextUpdate().toInstant();
                if (next.plus(CLOCK_SKEW).isBefore(now)) {
                    return unavailable(responder, "response expired at " + next + " (nextUpdate)", retry);
                }
                until = min(next, now.plus(MAX_TTL));
            } else {
                until = now.plus(NO_NEXT_UPDATE_TTL);
            }
            CertificateStatus status = single.getCertStatus();
            if (status == CertificateStatus.GOOD) return new Status.Good(until);
            if (status instanceof RevokedStatus revoked) {
                // Revocation is final: keep it as long as any answer is kept.
                return new Status.Revoked(revoked.getRevocationTime().toInstant(), now.plus(MAX_TTL));
            }
            return new Status.Unknown(until);
        }
        return unavailable(responder, "response does not cover the certificate asked about", retry);
    }

    /** RFC 6960 §4.2.2.2: the issuer itself, or a certificate it issued with id-kp-OCSPSigning. */
    private static boolean signedByIssuerOrDelegate(BasicOCSPResp basic, X509Certificate issuer) {
        if (verifies(basic, issuer.getPublicKey())) return true;
        for (X509CertificateHolder holder : basic.getCerts()) {
            try {
                X509Certificate delegate = new JcaX509CertificateConverter().getCertificate(holder);
                if (!delegate.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) continue;
                delegate.verify(issuer.getPublicKey());
                delegate.checkValidity();
                List<String> usages = delegate.getExtendedKeyUsage();
                if (usages == null || !usages.contains(KeyPurposeId.id_kp_OCSPSigning.getId())) continue;
                if (verifies(basic, delegate.getPublicKey())) return true;
            } catch (GeneralSecurityException e) {
                // Not a delegate of this issuer; try the next certificate.
            }
        }
        return false;
    }

    private static boolean verifies(BasicOCSPResp basic, PublicKey key) {
        try {
            return basic.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key));
        } catch (OCSPException | OperatorCreationException e) {
            return false;
        }
    }

    private static Status unavailable(URI responder, String reason, Instant retry) {
        log.debug("OCSP responder {} gave no usable answer: {}", responder, reason);
        return new Status.Unavailable("OCSP responder " + responder + ": " + reason, retry);
    }

    private static Key key(X509Certificate certificate) {
        return new Key(certificate.getIssuerX500Principal(), certificate.getSerialNumber());
    }

    private static Instant until(Status status) {
        return switch (status) {
            case Status.Good g -> g.until();
            case Status.Revoked r -> r.until();
            case Status.Unknown u -> u.until();
            case Status.Unavailable u -> u.until();
        };
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }
}
