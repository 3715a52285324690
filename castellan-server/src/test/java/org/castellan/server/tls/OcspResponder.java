package org.castellan.server.tls;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.ocsp.BasicOCSPResponse;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.ocsp.OCSPResponse;
import org.bouncycastle.asn1.ocsp.OCSPResponseStatus;
import org.bouncycastle.asn1.ocsp.ResponseBytes;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.Req;
import org.bouncycastle.cert.ocsp.RespID;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.UnknownStatus;

/**
 * A real OCSP responder (RFC 6960, HTTP POST of A.1) for an {@link ExternalCa}, on 127.0.0.1 and
 * a port the system picks: it answers "good" for every certificate except those marked revoked
 * or unknown, signed by the CA itself (or by a delegated responder), with nextUpdate
 * {@link #validity} after now.
 */
final class OcspResponder implements AutoCloseable {

    enum Answer { GOOD, REVOKED, UNKNOWN }

    private final ExternalCa ca;
    private final HttpServer http;
    private final Map<BigInteger, Answer> answers = new ConcurrentHashMap<>();
    private final AtomicInteger requests = new AtomicInteger();
    private volatile Duration validity = Duration.ofHours(1);
    private final AtomicInteger waiting = new AtomicInteger();
    private volatile CountDownLatch held = new CountDownLatch(0);
    /** Signs the answers instead of the CA, sending its certificate along; null for the CA itself. */
    private volatile ExternalCa.Issued signer;
    private volatile boolean malformed;

    OcspResponder(ExternalCa ca) {
        this.ca = ca;
        try {
            http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        http.createContext("/", exchange -> {
            requests.incrementAndGet();
            byte[] body;
            try (exchange) {
                OCSPReq request = new OCSPReq(exchange.getRequestBody().readAllBytes());
                waiting.incrementAndGet();
                held.await();
                waiting.decrementAndGet();
                body = respond(request);
                exchange.getResponseHeaders().add("Content-Type", "application/ocsp-response");
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            } catch (Exception e) {
                exchange.sendResponseHeaders(500, -1);
            }
        });
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.start();
    }

    URI uri() {
        return URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/ocsp");
    }

    void answer(BigInteger serial, Answer answer) {
        answers.put(serial, answer);
    }

    /** How long each answer is valid for (its nextUpdate after thisUpdate). */
    void validity(Duration validity) {
        this.validity = validity;
    }

    int requests() {
        return requests.get();
    }

    /** Requests wait unanswered from now until {@link #release}. */
    void hold() {
        held = new CountDownLatch(1);
    }

    /** From now on answers are signed with {@code delegate}'s key (RFC 6960 §4.2.2.2 delegation). */
    void signedBy(ExternalCa.Issued delegate) {
        this.signer = delegate;
    }

    /**
     * From now on each answer's signature is zeros and its {@code certs} (RFC 6960 §4.2.1) holds an
     * INTEGER where certificates belong: well-formed DER, but no OCSP response.
     */
    void malformed() {
        this.malformed = true;
    }

    void release() {
        held.countDown();
    }

    /** Requests received and not yet answered. */
    int waiting() {
        return waiting.get();
    }

    private byte[] respond(OCSPReq request) throws Exception {
        ExternalCa.Issued delegate = signer;
        X509CertificateHolder issuer = new JcaX509CertificateHolder(delegate == null ? ca.certificate() : delegate.certificate());
        BasicOCSPRespBuilder builder = new BasicOCSPRespBuilder(new RespID(issuer.getSubject()));
        Instant now = Instant.now();
        for (Req req : request.getRequestList()) {
            CertificateStatus status = switch (answers.getOrDefault(req.getCertID().getSerialNumber(), Answer.GOOD)) {
                case GOOD -> CertificateStatus.GOOD;
                case REVOKED -> new RevokedStatus(Date.from(now.minusSeconds(1)), CRLReason.keyCompromise);
                case UNKNOWN -> new UnknownStatus();
            };
            builder.addResponse(req.getCertID(), status, Date.from(now.minusSeconds(1)),
                    Date.from(now.plus(validity)));
        }
        var basic = builder.build(ExternalCa.signer(delegate == null ? ca.privateKey() : delegate.key()),
                new X509CertificateHolder[] {issuer},
                Date.from(now));
        if (malformed) {
            BasicOCSPResponse signed = BasicOCSPResponse.getInstance(basic.getEncoded());
            BasicOCSPResponse broken = new BasicOCSPResponse(signed.getTbsResponseData(), signed.getSignatureAlgorithm(),
                    new DERBitString(new byte[signed.getSignature().getOctets().length]), new DERSequence(new ASN1Integer(1)));
            return new OCSPResponse(new OCSPResponseStatus(OCSPResponseStatus.SUCCESSFUL),
                    new ResponseBytes(OCSPObjectIdentifiers.id_pkix_ocsp_basic, new DEROctetString(broken))).getEncoded();
        }
        return new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, basic).getEncoded();
    }

    @Override
    public void close() {
        http.stop(0);
    }
}
