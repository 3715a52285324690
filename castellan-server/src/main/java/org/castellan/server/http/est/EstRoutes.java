package org.castellan.server.http.est;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.escrow.EscrowAuditLog;
import org.castellan.security.escrow.EscrowException;
import org.castellan.security.escrow.KeyEscrow;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.CertificationRequest;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.IssuedEntry;
import org.castellan.security.pki.PkiException;
import org.castellan.server.http.HttpAnswer;
import org.castellan.server.http.HttpCall;
import org.castellan.server.http.HttpRoutes;
import org.castellan.server.transport.Connection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enrollment over Secure Transport (RFC 7030) against the built-in CA: {@code cacerts},
 * {@code simpleenroll}, {@code simplereenroll}, {@code serverkeygen} and {@code csrattrs} under
 * {@code /.well-known/est/}, and under the labels {@code device/} and {@code user/} (RFC 7030
 * §3.2.2), which choose the issuing CA; without a label, device.
 *
 * <p>SECURITY. Trusts: the TLS handshake's verified client certificate (for a renewal, only if
 * the CA's index knows it and it is not revoked), AuthService's verdict on a password, and the
 * token store's on a token. Everything in a request is checked by {@link CertificationRequest}
 * (format, key, proof of possession) and {@link EnrollmentPolicy} (names) before the CA signs;
 * with {@code [enroll] approve}, a simpleenroll is signed only after the operator approved it
 * ({@link EnrollmentApprovals}). A key made here for an encryption-only certificate
 * ({@value #ENCRYPTION_LABEL}) is escrowed ({@link KeyEscrow}) before it is answered, and not
 * made at all without an escrow key.
 * Exposes: the CA certificates to anyone (they are public); certificates only to their owner.
 */
public final class EstRoutes {

    private static final Logger log = LoggerFactory.getLogger(EstRoutes.class);

    /** RFC 7030 §3.2.2. */
    public static final String BASE = "/.well-known/est/";
    /** The label (RFC 7030 §3.2.2) of encryption-only user certificates with escrowed keys. */
    public static final String ENCRYPTION_LABEL = "user-encryption/";

    private final CertificateAuthority ca;
    private final EstAuthentication authentication;
    private final EnrollmentPolicy policy;
    private final Executor blocking;
    private final Optional<EnrollmentApprovals> approvals;
    private final KeyEscrow escrow;

    /**
     * @param blocking runs the CA's signing and index writes, which touch the disk
     * @param approvals present when enrollments wait for the operator ({@code [enroll] approve})
     */
    public EstRoutes(CertificateAuthority ca, EstAuthentication authentication, EnrollmentPolicy policy, Executor blocking,
                     Optional<EnrollmentApprovals> approvals) {
        this.ca = ca;
        this.authentication = authentication;
        this.policy = policy;
        this.blocking = blocking;
        this.approvals = approvals;
        this.escrow = KeyEscrow.at(ca.directory().resolve(KeyEscrow.DIRECTORY));
    }

    /** Adds the EST resources to {@code routes}. */
    public void register(HttpRoutes routes) {
        for (String label : List.of("", "device/", "user/")) {
            CertificateKind kind = label.equals("user/") ? CertificateKind.USER : CertificateKind.DEVICE;
            routes.exact(HttpMethod.GET, BASE + label + "cacerts", call -> done(cacerts(kind)));
            routes.exact(HttpMethod.GET, BASE + label + "csrattrs", call -> done(csrattrs()));
            routes.exact(HttpMethod.POST, BASE + label + "simpleenroll", call -> enroll(call, kind, ServerKey.CLIENTS));
            routes.exact(HttpMethod.POST, BASE + label + "simplereenroll", call -> reenroll(call, kind));
            routes.exact(HttpMethod.POST, BASE + label + "serverkeygen", call -> enroll(call, kind, ServerKey.MADE_HERE));
        }
        // Encryption-only user certificates, whose keys the CA makes and escrows (docs/kms.md, "Key escrow").
        routes.exact(HttpMethod.GET, BASE + ENCRYPTION_LABEL + "cacerts", call -> done(cacerts(CertificateKind.USER)));
        routes.exact(HttpMethod.GET, BASE + ENCRYPTION_LABEL + "csrattrs", call -> done(csrattrs()));
        routes.exact(HttpMethod.POST, BASE + ENCRYPTION_LABEL + "serverkeygen",
                call -> enroll(call, CertificateKind.USER, ServerKey.MADE_HERE_FOR_ENCRYPTION));
    }

    /** RFC 7030 §4.1.3: the issuing CA and the root, which the client keeps as its trust anchor. */
    private HttpAnswer cacerts(CertificateKind kind) {
        return CertsOnly.answer(List.of(ca.caCertificate(kind), ca.rootCertificate()));
    }

    /**
     * RFC 7030 §4.5.2: a hint of what the CA likes best, ECDSA with SHA-256 on P-256 (its own
     * keys' algorithm); any key {@link CertificationRequest} accepts is signed all the same.
     */
    private static HttpAnswer csrattrs() {
        try {
            byte[] der = new DERSequence(X9ObjectIdentifiers.ecdsa_with_SHA256).getEncoded();
            return HttpAnswer.ok("application/csrattrs", Base64.getEncoder().encode(der))
                    .with("Content-Transfer-Encoding", "base64");
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot encode one OID", e);
        }
    }

    /**
     * Whose key is certified: the request's (simpleenroll) or one the CA makes (serverkeygen, RFC
     * 7030 §4.4), for the label's profile or for an encryption-only user certificate whose key is
     * escrowed before it is answered.
     */
    private enum ServerKey { CLIENTS, MADE_HERE, MADE_HERE_FOR_ENCRYPTION }

    /**
     * RFC 7030 §4.2.1 and §4.4: authenticated by a password or token; the request's key, or one the
     * CA makes, certified for its owner.
     */
    private CompletionStage<HttpAnswer> enroll(HttpCall call, CertificateKind kind, ServerKey whose) {
        byte[] body = call.body();
        return authentication.authenticate(call).thenComposeAsync(who -> {
            if (who.isEmpty()) {
                if (call.header(HttpHeaderNames.AUTHORIZATION) != null) {
                    log.info("{} enrollment refused: credentials not accepted", call.connection().logId());
                }
                return done(EstAuthentication.challenge());
            }
            Enrollee enrollee = who.get();
            noteLogin(call.connection(), enrollee.owner(), enrollee.token().isPresent() ? "ENROLLMENT-TOKEN" : "BASIC");
            if (enrollee.kind().isPresent() && enrollee.kind().get() != kind) {
                return done(HttpAnswer.text(HttpResponseStatus.FORBIDDEN, "this enrollment token is for a "
                        + enrollee.kind().get().caName() + " certificate; use " + BASE
                        + enrollee.kind().get().caName() + "/simpleenroll"));
            }
            if (whose == ServerKey.MADE_HERE_FOR_ENCRYPTION && escrow.currentKeyId().isEmpty()) {
                // Checked before a token is spent: a key meant to be recoverable is never made otherwise.
                log.info("{} enrollment refused: no escrow key for an encryption key", call.connection().logId());
                return done(HttpAnswer.text(HttpResponseStatus.FORBIDDEN, "encryption keys are made here only when they can"
                        + " be escrowed, and this server has no escrow key yet"));
            }
            if (whose != ServerKey.CLIENTS && approvals.isPresent()) {
                // A held request is found again by its key, and serverkeygen's request carries none that counts.
                return done(HttpAnswer.text(HttpResponseStatus.FORBIDDEN, "enrollments here wait for approval, which"
                        + " serverkeygen cannot; make a key and send its request to " + BASE + kind.caName() + "/simpleenroll"));
            }
            return done(issue(call.connection(), body, whose, r -> policy.decide(kind, enrollee.owner(), enrollee.device(), r),
                    () -> authentication.consume(enrollee), approvals));
        }, blocking);
    }

    /**
     * RFC 7030 §4.2.2: authenticated by the current certificate, presented in the TLS handshake,
     * which this CA issued, has not revoked and is still valid (the handshake checked the dates
     * and the CRL; the index is checked again here, since the CRL is re-read only when it changes).
     */
    private CompletionStage<HttpAnswer> reenroll(HttpCall call, CertificateKind kind) {
        Optional<X509Certificate> current = call.connection().clientTls().flatMap(Connection.TlsInfo::peer);
        if (current.isEmpty()) {
            return done(HttpAnswer.text(HttpResponseStatus.UNAUTHORIZED,
                    "A renewal needs the current certificate as the TLS client certificate"));
        }
        byte[] body = call.body();
        return CompletableFuture.supplyAsync(() -> {
            X509Certificate certificate = current.get();
            Optional<IssuedEntry> entry = ca.find(certificate.getSerialNumber());
            if (entry.isEmpty() || entry.get().kind() != kind
                    || !certificate.getIssuerX500Principal().equals(ca.caCertificate(kind).getSubjectX500Principal())) {
                return HttpAnswer.text(HttpResponseStatus.FORBIDDEN, "The client certificate is not a " + kind.caName()
                        + " certificate of this CA");
            }
            if (entry.get().revoked()) return HttpAnswer.text(HttpResponseStatus.FORBIDDEN, "The client certificate is revoked");
            EmailAddress owner = EmailAddress.of(entry.get().owner());
            noteLogin(call.connection(), owner, "CERTIFICATE");
            String name = kind == CertificateKind.USER ? owner.toString() : commonName(certificate);
            // A renewal is not held for approval: its certificate was approved once, and it keeps its names.
            return issue(call.connection(), body, ServerKey.CLIENTS, r -> policy.renew(kind, name, owner, r), () -> true,
                    Optional.empty());
        }, blocking);
    }

    private interface Deciding {
        EnrollmentPolicy.Decision decide(CertificationRequest request);
    }

    /**
     * On a blocking thread: the request checked, the policy applied, then {@code consume} (a
     * token is spent only by a request that would be signed, and by only one of two sent at
     * once), then the certificate signed. With {@code approvals}, a request is signed only once
     * the operator approved it, at the client's repeat of it.
     */
    private HttpAnswer issue(Connection connection, byte[] body, ServerKey whose, Deciding deciding,
                             java.util.function.BooleanSupplier consume, Optional<EnrollmentApprovals> approvals) {
        CertificationRequest request;
        var read = whose == ServerKey.CLIENTS ? CertificationRequest.read(body) : CertificationRequest.readForServerKey(body);
        switch (read) {
            case CertificationRequest.Refused r -> {
                log.info("{} enrollment refused: {}", connection.logId(), r.reason());
                return HttpAnswer.text(HttpResponseStatus.BAD_REQUEST, r.reason());
            }
            case CertificationRequest.Accepted a -> request = a.request();
        }
        switch (deciding.decide(request)) {
            case EnrollmentPolicy.Refuse r -> {
                log.info("{} enrollment refused: {}", connection.logId(), r.reason());
                return HttpAnswer.text(r.status(), r.reason());
            }
            case EnrollmentPolicy.Issue i -> {
                Optional<X509Certificate> recipient = Optional.empty();
                if (whose != ServerKey.CLIENTS) {
                    switch (ServerKeyAnswer.recipient(request, connection)) {
                        case ServerKeyAnswer.Refused r -> {
                            log.info("{} enrollment refused: {}", connection.logId(), r.reason());
                            return HttpAnswer.text(HttpResponseStatus.BAD_REQUEST, r.reason());
                        }
                        case ServerKeyAnswer.Recipient r -> recipient = r.certificate();
                    }
                }
                if (approvals.isEmpty()) return sign(connection, whose, i, request, consume, recipient);
                if (i.kind() == CertificateKind.DEVICE) {
                    // Before the operator sees it: an approval of a name the CA cannot use would be wasted.
                    try {
                        CertificateAuthority.requireDeviceName(i.name());
                    } catch (PkiException e) {
                        return refusedByCa(connection, e);
                    }
                }
                EnrollmentApprovals.Verdict verdict = approvals.get().check(i.owner(), i.kind().caName(), i.name(), request, body);
                if (!(verdict instanceof EnrollmentApprovals.Approved approved)) return held(connection, verdict);
                HttpAnswer signed = sign(connection, whose, i, request, consume, Optional.empty());
                // Not signed after all (the token spent meanwhile, the CA refusing): the approval stands for the next repeat.
                if (!signed.status().equals(HttpResponseStatus.OK)) approvals.get().release(approved.id());
                return signed;
            }
        }
    }

    /** Spends the token ({@code consume}), then signs; a server-made key goes to {@code recipient} when present. */
    private HttpAnswer sign(Connection connection, ServerKey whose, EnrollmentPolicy.Issue i, CertificationRequest request,
                            java.util.function.BooleanSupplier consume, Optional<X509Certificate> recipient) {
        if (!consume.getAsBoolean()) {
            return HttpAnswer.text(HttpResponseStatus.UNAUTHORIZED, "This enrollment token has been used");
        }
        try {
            if (whose == ServerKey.MADE_HERE_FOR_ENCRYPTION) {
                IssuedCertificate made = ca.issueUserEncryption(i.owner(), i.validity());
                try {
                    escrow.escrow(made.chain(), made.privateKey());
                    escrow.audit().append(new EscrowAuditLog.Entry(Instant.now(), i.owner().toString(), "escrow",
                            made.serialHex(), 0, "ok", "EST serverkeygen, to escrow key " + escrow.currentKeyId().orElse("-")));
                } catch (EscrowException e) {
                    // The key is not handed out: it would be an encryption key that cannot be recovered.
                    log.warn("{} certificate {} issued but its key not escrowed, so not answered: {}", connection.logId(),
                            made.serialHex(), e.getMessage());
                    return HttpAnswer.text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "the key could not be escrowed");
                }
                log.info("{} enrolled user encryption certificate {} with a key made and escrowed here for {}",
                        connection.logId(), made.serialHex(), i.owner());
                return ServerKeyAnswer.answer(made, recipient, ca);
            }
            if (whose == ServerKey.MADE_HERE) {
                IssuedCertificate made = i.kind() == CertificateKind.USER ? ca.issueUser(i.owner(), i.validity())
                        : ca.issueDevice(i.name(), i.owner(), i.validity());
                log.info("{} enrolled {} certificate {} with a key made here for {}", connection.logId(),
                        i.kind().caName(), made.serialHex(), i.owner());
                return ServerKeyAnswer.answer(made, recipient, ca);
            }
            List<X509Certificate> chain = ca.issueForKey(i.kind(), i.name(), i.owner(), request.publicKey(), i.validity());
            log.info("{} enrolled {} certificate {} for {}", connection.logId(), i.kind().caName(),
                    chain.get(0).getSerialNumber().toString(16), i.owner());
            return CertsOnly.answer(List.of(chain.get(0)));
        } catch (PkiException e) {
            return refusedByCa(connection, e);
        }
    }

    /** The CA's own refusals (a device name it cannot use) are about the request. */
    private static HttpAnswer refusedByCa(Connection connection, PkiException e) {
        log.info("{} enrollment refused by the CA: {}", connection.logId(), e.getMessage());
        return HttpAnswer.text(HttpResponseStatus.BAD_REQUEST, e.getMessage());
    }

    /** The answer to a request the approval queue holds or refused. */
    private static HttpAnswer held(Connection connection, EnrollmentApprovals.Verdict verdict) {
        return switch (verdict) {
            case EnrollmentApprovals.Wait w -> {
                log.info("{} enrollment {} waits for approval", connection.logId(), w.id());
                // RFC 7030 §4.2.3: 202 and Retry-After; the client repeats the same request then. No
                // body: Bouncy Castle's EST client closes a 202 unread and fails if a body was left in it.
                yield new HttpAnswer(HttpResponseStatus.ACCEPTED, HttpAnswer.TEXT, new byte[0], Map.of())
                        .with(HttpHeaderNames.RETRY_AFTER.toString(), Integer.toString(EnrollmentApprovals.RETRY_AFTER_SECONDS));
            }
            case EnrollmentApprovals.TooMany t -> {
                log.info("{} enrollment refused: too many waiting for approval", connection.logId());
                // RFC 6585 §4.
                yield HttpAnswer.text(HttpResponseStatus.TOO_MANY_REQUESTS, EnrollmentApprovals.MAX_PENDING_PER_ACCOUNT
                        + " enrollment requests of this account wait for approval already; repeat one of those");
            }
            case EnrollmentApprovals.Denied d -> {
                log.info("{} enrollment {} refused: denied by the operator", connection.logId(), d.id());
                yield HttpAnswer.text(HttpResponseStatus.FORBIDDEN, "enrollment request " + d.id() + " was denied"
                        + d.reason().map(r -> ": " + r).orElse(""));
            }
            case EnrollmentApprovals.Approved a -> throw new IllegalStateException("an approved request is signed, not held");
        };
    }

    /** For {@code castellan sessions}: who this connection enrolls for, recorded on its event loop. */
    private static void noteLogin(Connection connection, EmailAddress owner, String method) {
        connection.channel().eventLoop().execute(() -> connection.authenticated(owner.toString(), method));
    }

    private static String commonName(X509Certificate certificate) {
        var rdns = new org.bouncycastle.asn1.x500.X500Name(certificate.getSubjectX500Principal().getName())
                .getRDNs(org.bouncycastle.asn1.x500.style.BCStyle.CN);
        return rdns.length == 0 ? "" : rdns[0].getFirst().getValue().toString();
    }

    private static CompletionStage<HttpAnswer> done(HttpAnswer answer) {
        return CompletableFuture.completedFuture(answer);
    }
}
