package org.castellan.server.http.pki;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.CrlPublisher;
import org.castellan.security.pki.OcspResponder;
import org.castellan.server.http.HttpAnswer;
import org.castellan.server.http.HttpCall;
import org.castellan.server.http.HttpRoutes;

/**
 * The built-in CA's public revocation services on the HTTP layer (docs/kms.md), at the paths the
 * certificates it issues name in their AIA and CRL distribution point extensions
 * ({@code [tls] pki-public-url}):
 *
 * <ul>
 *   <li>{@code POST /ocsp} and {@code GET /ocsp/{base64}}: the OCSP responder (RFC 6960 Appendix
 *       A.1), answering {@code application/ocsp-response};
 *   <li>{@code GET /crl/<ca>-ca.crl}: the issuing CA's current CRL, DER (RFC 5280 §4.2.1.13);
 *   <li>{@code GET /ca/<ca>-ca.crt}: the issuing CA's certificate, DER (RFC 5280 §4.2.2.1,
 *       caIssuers).
 * </ul>
 *
 * <p>Nothing here asks who the client is: these objects are signed and public. Answers keep the
 * layer's {@code Cache-Control: no-store}, so that no cache between holds a "good" answer after a
 * revocation (which the responder shows at once). Signing and reading the index run on the
 * blocking executor, never on the event loop; an OCSP response signed already is answered on the
 * loop. An OCSP request that cannot be read gets the responder's own {@code malformedRequest}
 * answer with 200, as RFC 6960 §2.3 has it.
 */
public final class RevocationRoutes {

    public static final String OCSP = "/ocsp";
    public static final String CRL = "/crl/";
    public static final String CA = "/ca/";
    private static final String CA_SUFFIX = "-ca";

    private final OcspResponder responder;
    private final CrlPublisher crls;
    private final Executor blocking;

    public RevocationRoutes(OcspResponder responder, CrlPublisher crls, Executor blocking) {
        this.responder = responder;
        this.crls = crls;
        this.blocking = blocking;
    }

    public void register(HttpRoutes routes) {
        routes.exact(HttpMethod.POST, OCSP, call -> ocsp(call.body()));
        routes.prefix(HttpMethod.GET, OCSP + "/", call -> ocsp(OcspResponder.getRequest(call.path().substring(OCSP.length()))));
        routes.prefix(HttpMethod.GET, CRL, call -> published(call, CRL, ".crl", CrlPublisher.CRL_CONTENT_TYPE, crls::crl));
        routes.prefix(HttpMethod.GET, CA, call -> published(call, CA, ".crt", CrlPublisher.CERTIFICATE_CONTENT_TYPE,
                crls::caCertificate));
    }

    /**
     * The common request, about a certificate whose response is signed already, is answered here
     * on the event loop: a map look-up and a {@code stat} of the index, far cheaper than the two
     * hand-offs between threads it would otherwise take (castellan-bench/results/2026-12-07-ocsp.md).
     * Signing, and reading a changed index, go to the blocking executor.
     */
    private CompletionStage<HttpAnswer> ocsp(byte[] request) {
        Optional<byte[]> ready = responder.respondWithoutSigning(request);
        if (ready.isPresent()) return CompletableFuture.completedFuture(HttpAnswer.ok(OcspResponder.CONTENT_TYPE, ready.get()));
        return CompletableFuture.supplyAsync(() -> HttpAnswer.ok(OcspResponder.CONTENT_TYPE, responder.respond(request)), blocking);
    }

    /** {@code <prefix><ca>-ca<suffix>}: the object {@code read} gives for that issuing CA, or 404. */
    private CompletionStage<HttpAnswer> published(HttpCall call, String prefix, String suffix, String contentType,
                                                  Function<CertificateKind, byte[]> read) {
        Optional<CertificateKind> kind = kindOf(call.path().substring(prefix.length()), suffix);
        if (kind.isEmpty()) {
            return CompletableFuture.completedFuture(HttpAnswer.text(HttpResponseStatus.NOT_FOUND,
                    "No such file; the issuing CAs are server-ca, device-ca and user-ca"));
        }
        return CompletableFuture.supplyAsync(() -> HttpAnswer.ok(contentType, read.apply(kind.get())), blocking);
    }

    /** The issuing CA a file name such as {@code device-ca.crl} names. */
    static Optional<CertificateKind> kindOf(String file, String suffix) {
        if (!file.endsWith(CA_SUFFIX + suffix)) return Optional.empty();
        String name = file.substring(0, file.length() - CA_SUFFIX.length() - suffix.length());
        for (CertificateKind kind : CertificateKind.values()) {
            if (kind.caName().equals(name)) return Optional.of(kind);
        }
        return Optional.empty();
    }
}
