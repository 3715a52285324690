package org.castellan.security.tls;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.castellan.security.pki.OcspClient;
import org.castellan.security.pki.OcspResponder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the OCSP responses that TLS listeners staple come from (RFC 6066 §8, status_request;
 * in TLS 1.3 the Certificate message's extension, RFC 8446 §4.4.2.1): for a certificate of the
 * built-in CA, its own {@link OcspResponder}, asked on every handshake (a look-up of a
 * pre-signed response), so a revocation shows in the next handshake; for any other certificate,
 * the responder its Authority Information Access names, asked through {@link OcspClient} off the
 * handshake, kept and asked again once half of the response's validity has passed.
 *
 * <p>Trusts: a fetched response only after {@link OcspClient}'s checks (signed by the issuer or
 * its delegate, about this certificate, current). Exposes: DER responses to the TLS engine.
 *
 * <p>Failure: never throws. Without a usable response a handshake goes on without a staple
 * (RFC 6066 §8 lets a server omit it); {@link #describe} says why, for {@code castellan audit}.
 * A response past its nextUpdate is never stapled: clients would fail the handshake on it.
 */
public final class OcspStapling {

    private static final Logger LOG = LoggerFactory.getLogger(OcspStapling.class);

    /** After a failed fetch, the responder is asked again after this long, not on every handshake. */
    public static final Duration RETRY = OcspClient.FAILURE_TTL;

    private final Optional<OcspResponder> builtIn;
    private final OcspClient client;
    private final Clock clock;
    private final Map<X509Certificate, Fetched> fetched = new ConcurrentHashMap<>();

    /** The last answer for an external certificate, when to ask again, and whether a fetch is running. */
    private record Fetched(Optional<byte[]> response, Instant expires, Instant refreshAt, String state, boolean running) {}

    /**
     * @param builtIn the built-in CA's responder, if there is a built-in CA
     */
    public OcspStapling(Optional<OcspResponder> builtIn, Clock clock) {
        this.builtIn = Objects.requireNonNull(builtIn, "builtIn");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.client = new OcspClient(clock);
    }

    /**
     * The response to staple for a server presenting {@code chain} (leaf first), if one is at
     * hand now. Never blocks: an external certificate's first handshakes go without while its
     * responder is asked.
     */
    public Optional<byte[]> staple(List<X509Certificate> chain) {
        X509Certificate leaf = chain.get(0);
        if (builtIn.isPresent()) {
            Optional<byte[]> own = builtIn.get().staple(leaf);
            if (own.isPresent()) return own;
        }
        if (chain.size() < 2 || OcspClient.responder(leaf).isEmpty()) return Optional.empty();
        Instant now = clock.instant();
        Fetched current = fetched.get(leaf);
        if (current == null || (!current.running() && !now.isBefore(current.refreshAt()))) refresh(chain, current);
        return current != null && now.isBefore(current.expires()) ? current.response() : Optional.empty();
    }

    /**
     * Where the staple for {@code chain} comes from and what it says, or why there is none:
     * asks an external responder now (blocking), for the audit.
     */
    public String describe(List<X509Certificate> chain) {
        X509Certificate leaf = chain.get(0);
        if (builtIn.isPresent() && builtIn.get().staple(leaf).isPresent()) return "from the built-in CA's OCSP responder";
        Optional<java.net.URI> responder = OcspClient.responder(leaf);
        if (responder.isEmpty()) return "none: the certificate names no OCSP responder (Authority Information Access)";
        if (chain.size() < 2) return "none: the certificate file holds no issuer certificate to ask " + responder.get() + " with";
        OcspClient.Staple staple = client.fetchStaple(leaf, chain.get(1));
        return switch (staple.status()) {
            case OcspClient.Status.Unavailable u -> "none: " + u.reason();
            case OcspClient.Status.Good g -> "from " + responder.get() + ": good";
            case OcspClient.Status.Revoked r -> "from " + responder.get() + ": REVOKED at " + r.at();
            case OcspClient.Status.Unknown u -> "from " + responder.get() + ": unknown to the responder";
        };
    }

    /** Asks the leaf's responder on a virtual thread; handshakes meanwhile use what is kept. */
    private void refresh(List<X509Certificate> chain, Fetched current) {
        X509Certificate leaf = chain.get(0);
        Fetched running = current == null
                ? new Fetched(Optional.empty(), Instant.MIN, Instant.MAX, "asking", true)
                : new Fetched(current.response(), current.expires(), Instant.MAX, current.state(), true);
        boolean mine = current == null ? fetched.putIfAbsent(leaf, running) == null : fetched.replace(leaf, current, running);
        if (!mine) return;
        Thread.ofVirtual().name("castellan-ocsp-staple").start(() -> {
            OcspClient.Staple staple = client.fetchStaple(leaf, chain.get(1));
            Instant now = clock.instant();
            Fetched next;
            if (staple.status() instanceof OcspClient.Status.Unavailable u) {
                // Keep serving the last response while it is valid: a responder down for a while
                // must not take the staple away before its nextUpdate.
                next = new Fetched(running.response(), running.expires(), now.plus(RETRY), u.reason(), false);
                LOG.warn("no fresh OCSP staple for {}: {}", leaf.getSubjectX500Principal().getName(), u.reason());
            } else {
                Instant until = until(staple.status());
                Instant refreshAt = now.plus(Duration.between(now, until).dividedBy(2));
                next = new Fetched(Optional.of(staple.response()), until, refreshAt, staple.status().toString(), false);
            }
            fetched.put(leaf, next);
        });
    }

    private static Instant until(OcspClient.Status status) {
        return switch (status) {
            case OcspClient.Status.Good g -> g.until();
            case OcspClient.Status.Revoked r -> r.until();
            case OcspClient.Status.Unknown u -> u.until();
            case OcspClient.Status.Unavailable u -> u.until();
        };
    }
}
