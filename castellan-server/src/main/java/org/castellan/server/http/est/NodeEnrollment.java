package org.castellan.server.http.est;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.bouncycastle.asn1.x509.GeneralName;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.CertificationRequest;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.security.pki.PkiException;
import org.castellan.server.http.HttpAnswer;
import org.castellan.server.http.HttpCall;
import org.castellan.server.http.HttpRoutes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A new node's certificate over EST (RFC 7030 §4.2.1 simpleenroll, §4.1 cacerts) under the label
 * {@value #LABEL} (§3.2.2), from the node CA: the join of docs/roles.md §4, so that a node key never
 * leaves the node that made it.
 *
 * <p>SECURITY. Trusts only a join token ({@link NodeJoinTokens}), as {@code Authorization: Bearer}
 * (RFC 6750 §2.1) or as HTTP Basic with the token's id as the user: no password, app password,
 * device or user token and no client certificate opens this route, and a join token opens no
 * other (the device and user routes take {@code et-} tokens only). The token names the node and
 * its role; a request naming anything else (another node URI, a CN that is not the node's name,
 * an address or a DNS name the operator did not give) is refused, never narrowed. The token is
 * spent just before the CA signs, so a replay gets nothing. Exposes: the node CA and root
 * certificates to anyone; a node certificate to the token's holder.
 */
public final class NodeEnrollment {

    private static final Logger log = LoggerFactory.getLogger(NodeEnrollment.class);

    /** The label of node certificates (RFC 7030 §3.2.2). */
    public static final String LABEL = "node/";

    private final CertificateAuthority ca;
    private final NodeJoinTokens tokens;
    private final Executor blocking;

    public NodeEnrollment(CertificateAuthority ca, NodeJoinTokens tokens, Executor blocking) {
        this.ca = ca;
        this.tokens = tokens;
        this.blocking = blocking;
    }

    /** Adds the node label's resources to {@code routes}. */
    public void register(HttpRoutes routes) {
        routes.exact(HttpMethod.GET, EstRoutes.BASE + LABEL + "cacerts", call -> CompletableFuture.completedFuture(
                CertsOnly.answer(List.of(ca.caCertificate(CertificateKind.NODE), ca.rootCertificate()))));
        routes.exact(HttpMethod.POST, EstRoutes.BASE + LABEL + "simpleenroll", this::enroll);
    }

    private CompletionStage<HttpAnswer> enroll(HttpCall call) {
        Optional<String> token = token(call.header(HttpHeaderNames.AUTHORIZATION));
        byte[] body = call.body();
        if (token.isEmpty()) return CompletableFuture.completedFuture(EstAuthentication.challenge());
        return CompletableFuture.supplyAsync(() -> {
            String logId = call.connection().logId();
            NodeJoinTokens.Grant grant;
            switch (tokens.check(token.get())) {
                case NodeJoinTokens.Refused r -> {
                    log.info("{} node enrollment refused: {}", logId, r.reason());
                    return HttpAnswer.text(HttpResponseStatus.UNAUTHORIZED, r.reason());
                }
                case NodeJoinTokens.Good g -> grant = g.grant();
            }
            CertificationRequest request;
            switch (CertificationRequest.read(body)) {
                case CertificationRequest.Refused r -> {
                    log.info("{} node enrollment of {} refused: {}", logId, grant.node(), r.reason());
                    return HttpAnswer.text(HttpResponseStatus.BAD_REQUEST, r.reason());
                }
                case CertificationRequest.Accepted a -> request = a.request();
            }
            Optional<String> wrong = wrongNames(grant, request);
            if (wrong.isPresent()) {
                log.info("{} node enrollment of {} refused: {}", logId, grant.node(), wrong.get());
                return HttpAnswer.text(HttpResponseStatus.FORBIDDEN, wrong.get());
            }
            if (!tokens.consume(grant.id())) {
                return HttpAnswer.text(HttpResponseStatus.UNAUTHORIZED, "this join token has been used; make another with"
                        + " castellan node add");
            }
            try {
                List<X509Certificate> chain = ca.issueNodeForKey(grant.node(), grant.dnsNames(), request.publicKey(),
                        grant.certificateValidity());
                log.info("{} node {} joined with token {}: certificate {}", logId, grant.node(), grant.id(),
                        chain.get(0).getSerialNumber().toString(16));
                return CertsOnly.answer(List.of(chain.get(0)));
            } catch (PkiException e) {
                log.info("{} node enrollment of {} refused by the CA: {}", logId, grant.node(), e.getMessage());
                return HttpAnswer.text(HttpResponseStatus.BAD_REQUEST, e.getMessage());
            }
        }, blocking);
    }

    /** The join token in an Authorization header: Bearer TOKEN, or Basic with the id as user and the secret as password. */
    static Optional<String> token(String header) {
        if (header == null) return Optional.empty();
        int space = header.indexOf(' ');
        if (space < 0) return Optional.empty();
        String scheme = header.substring(0, space);
        String credentials = header.substring(space + 1).strip();
        String token;
        if (scheme.equalsIgnoreCase("Bearer")) {
            token = credentials;
        } else if (scheme.equalsIgnoreCase("Basic")) {
            String pair;
            try {
                pair = new String(Base64.getDecoder().decode(credentials), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
            int colon = pair.indexOf(':');
            if (colon <= 0) return Optional.empty();
            token = pair.substring(0, colon) + EnrollmentTokens.SEPARATOR + pair.substring(colon + 1);
        } else {
            return Optional.empty();
        }
        return NodeJoinTokens.isJoinToken(token) ? Optional.of(token) : Optional.empty();
    }

    /** What in the request the token does not grant, if anything. */
    private static Optional<String> wrongNames(NodeJoinTokens.Grant grant, CertificationRequest request) {
        NodeIdentity node = grant.node();
        if (request.commonName().isPresent() && !request.commonName().get().equals(node.name())) {
            return Optional.of("this join token is for " + node.uri() + "; the request's CN must be " + node.name()
                    + " or absent, not " + request.commonName().get());
        }
        for (CertificationRequest.Name name : request.alternativeNames()) {
            if (name.tag() == GeneralName.uniformResourceIdentifier) {
                if (!name.value().equals(node.uri())) {
                    return Optional.of("this join token is for " + node.uri() + ", not " + name.value());
                }
            } else if (name.tag() == GeneralName.dNSName) {
                if (!grant.dnsNames().contains(name.value())) {
                    return Optional.of("the DNS name " + name.value() + " was not given to castellan node add " + node.name()
                            + " (--dns)");
                }
            } else {
                return Optional.of("a node certificate names its node and DNS names only");
            }
        }
        return Optional.empty();
    }
}
