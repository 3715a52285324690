package org.castellan.security.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.internal.tcnative.SSL;
import io.netty.util.concurrent.ImmediateExecutor;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertStore;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.PKIXRevocationChecker;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.security.auth.x500.X500Principal;
import org.castellan.security.pki.OcspClient;
import org.castellan.security.pki.Pem;
import org.castellan.security.pki.PkiException;
import org.castellan.security.tls.internal.CachingTrustManager;
import org.castellan.security.tls.internal.CertificateSelector;
import org.castellan.security.tls.internal.ExporterKeyLog;
import org.castellan.security.tls.internal.ExportingSslHandler;
import org.castellan.security.tls.internal.IssuerSplitTrustManager;
import org.castellan.security.tls.internal.OcspTrustManager;
import org.castellan.security.tls.internal.RecordingTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one TLS configuration of a Castellan node: protocol versions, cipher suites, the server's
 * certificate and key (and further certificates chosen by the client's SNI server name), and the
 * trust anchors (and optionally CRLs and OCSP) for client certificates. Built once at start;
 * implicit TLS, STARTTLS and every listener take their handlers from it. The CRLs
 * ({@link #reloadCrls}) and the server certificates and keys ({@link #reloadCertificate}) can be
 * re-read while it is in use; each reload applies to later handshakes only.
 *
 * <p>Trusts: the certificate and key files given, and for client certificates only the CA
 * certificates given (no system trust store). Exposes: server {@link SslContext}s for each
 * {@link ClientCertMode}, what the client presented, via {@link #peerVerification}, and with
 * BoringSSL each TLS 1.3 connection's {@code tls-exporter} channel binding, via {@link #tlsExporter}:
 * derived from the exporter secret BoringSSL's key log hands over during the handshake, which is
 * zeroed at once and never logged or written anywhere.
 *
 * <p>Provider: BoringSSL through netty-tcnative when it loads, else the JDK's TLS with the same
 * protocols and cipher suites (one WARN line says why). Where a client certificate is asked for,
 * session resumption is off with both (BoringSSL: no session cache and no tickets; JDK: each
 * session is invalidated once its handshake is done), so every such connection verifies its
 * client certificate, and its revocation, anew — unless the policy is built with
 * {@link Builder#resumeVerifiedSessions} (the links between nodes), whose resumed certificates are
 * verified again and whose ticket keys a CRL reload or a new revocation made elsewhere replaces.
 * Where none is asked for, BoringSSL resumes TLS 1.3 sessions by ticket (RFC 8446 §2.2): nothing
 * about the client is verified, so nothing is skipped, and the ticket keys of that context open no
 * session of another. Take handlers from
 * {@link #newServerHandler} (or {@link #newHandler} for the default certificate only): a handler
 * made directly from {@link #context} would allow TLS 1.3 resumption with BoringSSL.
 *
 * <p>OCSP ({@link OcspMode}): a client certificate whose Authority Information Access names an
 * HTTP OCSP responder is checked there after PKIX accepts it; the HTTP exchange runs as a
 * delegated task on the policy's own threads, never on an event loop.
 *
 * <p>OCSP stapling ({@link Builder#stapling}, RFC 6066 §8): with BoringSSL each handshake
 * carries the response {@link OcspStapling} has for the certificate served, when it has one; a
 * certificate without one is served without. The JDK's TLS can only staple responses it fetches
 * itself (a JVM-wide switch), so with the JDK provider nothing is stapled ({@link #stapling}).
 *
 * <p>Failure: {@link Builder#build()} throws {@link TlsConfigException} naming
 * the file at fault (missing, not PEM, key not matching the certificate) or the setting that
 * cannot be honoured; {@link #context} and {@link #newHandler} throw {@link IllegalStateException}
 * for a client-certificate mode that needs trust anchors when none were configured.
 */
public final class TlsPolicy {

    private static final Logger LOG = LoggerFactory.getLogger(TlsPolicy.class);
    private static final java.security.SecureRandom TICKET_KEYS = new java.security.SecureRandom();

    /** A client that stalls mid-handshake must not hold a connection (and its memory) for long. */
    public static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;

    static final String TLS_1_3 = "TLSv1.3";
    static final String TLS_1_2 = "TLSv1.2";

    /** RFC 8446 §9.1 mandatory AES-128-GCM, plus AES-256-GCM and ChaCha20 (RFC 8446 B.4). */
    static final List<String> TLS13_CIPHERS = List.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");
    /**
     * TLS 1.2: forward-secret ECDHE with AEAD only (RFC 9325 §4.2): no CBC (padding oracles,
     * Lucky13), no static RSA key exchange (no forward secrecy, ROBOT).
     */
    static final List<String> TLS12_CIPHERS = List.of(
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    /**
     * Named protocol/cipher combinations, after Mozilla's server-side TLS recommendations: the
     * {@code [tls] preset} (configuration values {@code "modern"}, {@code "intermediate"}).
     */
    public enum Preset {
        /** TLS 1.3 only: for listeners whose clients are all current. */
        MODERN(List.of(TLS_1_3), TLS13_CIPHERS),
        /** TLS 1.2 and 1.3, ECDHE + AEAD only: the default, for mail clients of the last decade. */
        INTERMEDIATE(List.of(TLS_1_3, TLS_1_2), concat(TLS13_CIPHERS, TLS12_CIPHERS));

        private final List<String> protocols;
        private final List<String> ciphers;

        Preset(List<String> protocols, List<String> ciphers) {
            this.protocols = protocols;
            this.ciphers = ciphers;
        }

        public List<String> protocols() {
            return protocols;
        }

        public List<String> ciphers() {
            return ciphers;
        }
    }

    /**
     * Whether and how the server asks for a client certificate: a listener's {@code client-cert}
     * (configuration values {@code "none"}, {@code "request"}, {@code "require"}).
     */
    public enum ClientCertMode {
        /** Does not ask. */
        NONE,
        /** Asks; a certificate that does not verify is ignored, and the connection goes on. */
        REQUEST,
        /**
         * Asks; without a certificate that verifies (from a trusted CA) the handshake fails before
         * any protocol byte: the device gate.
         */
        REQUIRE
    }

    /**
     * What OCSP does for a client certificate whose issuer names a responder (certificates without
     * one are not affected). A "revoked" answer is always refused.
     */
    public enum OcspMode {
        /** Not asked. */
        OFF,
        /** Asked; a responder that cannot be reached or gives no usable answer lets the certificate pass, logged. */
        SOFT_FAIL,
        /** Asked; without a usable "good" answer the certificate is refused. */
        HARD_FAIL
    }

    /**
     * The TLS implementation: the one in use, and the {@code [tls] provider} (configuration values
     * {@code "boringssl"}, {@code "jdk"}).
     */
    public enum Provider {
        /**
         * BoringSSL through netty-tcnative: the default, which falls back to the JDK's TLS, with a
         * warning, when it cannot load; forced with {@link Builder#provider}, the build fails instead.
         * TLS 1.3 connections get the {@code tls-exporter} channel binding (RFC 9266) from the key
         * log ({@link #tlsExporter}).
         */
        BORINGSSL,
        /**
         * The JDK's own TLS: slower handshakes; on JDK 25 and later its sessions export keying
         * material, so TLS 1.3 connections get the {@code tls-exporter} channel binding (RFC 9266).
         */
        JDK
    }

    /**
     * What the policy offers, for logs, {@code castellan audit} and operators.
     *
     * @param clientCertificateAnchors subjects of the CAs trusted for client certificates
     * @param serverNames the SNI names with a certificate of their own (the default serves the rest)
     */
    public record Description(Provider provider, Preset preset, List<String> protocols, List<String> cipherSuites,
            List<String> clientCertificateAnchors, int crls, OcspMode ocsp, List<String> serverNames) {
        @Override
        public String toString() {
            return provider + " " + preset + " protocols=" + protocols + " ciphers=" + cipherSuites
                    + " client-CAs=" + clientCertificateAnchors + " CRLs=" + crls + " OCSP=" + ocsp
                    + " SNI=" + serverNames;
        }
    }

    /**
     * The contexts of new handshakes: the default certificate's, and those of each SNI name
     * (exact names, and {@code *.example.org} for one label), one per client-certificate mode.
     */
    private record Served(Map<ClientCertMode, SslContext> fallback,
            Map<String, Map<ClientCertMode, SslContext>> byName, Map<SslContext, List<X509Certificate>> chains) {

        Map<ClientCertMode, SslContext> forName(String hostname) {
            if (hostname == null || byName.isEmpty()) return fallback;
            String name = hostname.toLowerCase(Locale.ROOT);
            if (name.endsWith(".")) name = name.substring(0, name.length() - 1);
            Map<ClientCertMode, SslContext> exact = byName.get(name);
            if (exact != null) return exact;
            // RFC 9525 §6.3: a wildcard stands for exactly one whole left-most label.
            int dot = name.indexOf('.');
            if (dot > 0) {
                Map<ClientCertMode, SslContext> wildcard = byName.get("*" + name.substring(dot));
                if (wildcard != null) return wildcard;
            }
            return fallback;
        }
    }

    private final Builder settings;
    private final Preset preset;
    private final Provider provider;
    /** The contexts of new handshakes; replaced as a whole by {@link #reloadCertificate()}. */
    private volatile Served served;
    private final RecordingTrustManager verifier;
    private final RecordingTrustManager requiring;
    private final List<X509Certificate> anchors;
    private final List<Path> crlFiles;
    /** The CRLs in force; replaced as a whole by {@link #reloadCrls()}. */
    private volatile List<X509CRL> crls;
    /** Null when OCSP is off. */
    private final OcspClient ocsp;
    /**
     * Runs the handshake steps that verify a client certificate when OCSP may block on HTTP, so
     * that an event loop never waits for a responder. Virtual threads: a waiting check costs no
     * platform thread.
     */
    private final ExecutorService verifications;
    /** Null when nothing is stapled. */
    private final OcspStapling stapling;
    /**
     * Serials revoked on other nodes, by issuer (docs/kms.md, "Revocation across nodes"): refused
     * as the CRLs' are, though no CRL of this node lists them. Replaced as a whole.
     */
    private volatile Map<X500Principal, Set<BigInteger>> revokedElsewhere = Map.of();

    private TlsPolicy(Builder settings, Provider provider, Served served,
            RecordingTrustManager verifier, RecordingTrustManager requiring, List<X509Certificate> anchors,
            List<Path> crlFiles, List<X509CRL> crls, OcspClient ocsp, ExecutorService verifications) {
        this.settings = settings;
        this.preset = settings.preset;
        this.provider = provider;
        this.served = served;
        this.verifier = verifier;
        this.requiring = requiring;
        this.anchors = anchors;
        this.crlFiles = crlFiles;
        this.crls = crls;
        this.ocsp = ocsp;
        this.verifications = verifications;
        this.stapling = settings.stapling;
        if (verifier != null) verifier.alsoRefuse(this::revokedElsewhere);
        if (requiring != null) requiring.alsoRefuse(this::revokedElsewhere);
    }

    /** Starts a policy from a preset, the server's PEM chain (leaf first) and its PEM private key. */
    public static Builder builder(Preset preset, Path chainFile, Path keyFile) {
        return new Builder(preset, chainFile, keyFile);
    }

    /** Collects the optional parts of a policy. */
    public static final class Builder {
        private final Preset preset;
        private final Path chainFile;
        private final Path keyFile;
        private List<Path> clientCaFiles = List.of();
        private List<Path> crlFiles = List.of();
        private List<Path> sniCertificates = List.of();
        private OcspMode ocspMode = OcspMode.OFF;
        private Clock clock = Clock.systemUTC();
        private Provider provider;
        private OcspStapling stapling;
        private boolean resumeVerified;

        private Builder(Preset preset, Path chainFile, Path keyFile) {
            this.preset = Objects.requireNonNull(preset, "preset");
            this.chainFile = Objects.requireNonNull(chainFile, "chainFile");
            this.keyFile = Objects.requireNonNull(keyFile, "keyFile");
        }

        /** PEM files with the CA certificates trusted for client certificates (each may hold several). */
        public Builder clientCaFiles(List<Path> files) {
            this.clientCaFiles = List.copyOf(files);
            return this;
        }

        /**
         * PEM CRLs of those CAs, each signed by one of them. When given, a client certificate is
         * refused unless its issuer has a current CRL here that does not list it: revocation is
         * checked, not guessed. The one exception is a certificate issued directly by a trusted CA
         * that has no CRL here at all (an operator's own CA, which publishes none to Castellan):
         * it is verified without a revocation check. {@link TlsPolicy#reloadCrls()} re-reads these
         * files for every later handshake.
         */
        public Builder crlFiles(List<Path> files) {
            this.crlFiles = List.copyOf(files);
            return this;
        }

        /**
         * Further server certificates, chosen by the server name the client sends (SNI, RFC 6066
         * §3): each path is a PEM file holding a chain (leaf first) and the leaf's private key, or
         * a directory of such {@code *.pem} files. A certificate serves the DNS names of its
         * subjectAltName, exactly or by a {@code *.} wildcard; a client that sends no name, or one
         * that none matches, gets the default certificate. {@link TlsPolicy#reloadCertificate()}
         * re-reads them with the default one.
         */
        public Builder sniCertificates(List<Path> paths) {
            this.sniCertificates = List.copyOf(paths);
            return this;
        }

        /** Whether client certificates are checked with their issuer's OCSP responder; off by default. */
        public Builder ocsp(OcspMode mode) {
            this.ocspMode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * The clock OCSP answers (thisUpdate, nextUpdate) and remembered verifications are judged
         * by; the system's by default.
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Staples OCSP responses from {@code stapling} to every handshake (RFC 6066 §8), with the
         * BoringSSL provider; by default none.
         */
        public Builder stapling(OcspStapling stapling) {
            this.stapling = stapling;
            return this;
        }

        /** Forces a provider; by default BoringSSL if it loads, else the JDK. */
        public Builder provider(Provider provider) {
            this.provider = provider;
            return this;
        }

        /**
         * TLS 1.3 resumption by session ticket (RFC 8446 §2.2) even where a client certificate is
         * required, for the links between nodes (docs/roles.md §2): a resumed session's
         * certificate chain is verified again against the CRLs in force ({@link #peerVerification}),
         * and {@link TlsPolicy#reloadCrls} and a new revocation given to
         * {@link TlsPolicy#revokeElsewhere} replace the ticket keys, so that no ticket issued before
         * a revocation resumes after it. Off by default: every such connection then makes a full
         * handshake.
         */
        public Builder resumeVerifiedSessions() {
            this.resumeVerified = true;
            return this;
        }

        /**
         * Reads the files and builds an {@link SslContext} per client-certificate mode.
         *
         * @throws TlsConfigException naming the file or setting at fault
         */
        public TlsPolicy build() {
            return TlsPolicy.build(this);
        }
    }

    private static TlsPolicy build(Builder b) {
        List<ServerIdentity> identities = readIdentities(b);
        List<X509Certificate> anchors = new ArrayList<>();
        for (Path file : b.clientCaFiles) anchors.addAll(read(() -> Pem.readCertificates(file), "client CA"));
        if (!b.crlFiles.isEmpty() && anchors.isEmpty()) {
            throw new TlsConfigException("CRLs are configured but no client CA files: CRLs only apply to client"
                    + " certificates; add the CA files or remove the CRLs");
        }
        List<X509CRL> crls = new ArrayList<>();
        for (Path file : b.crlFiles) crls.add(verifiedCrl(read(() -> Pem.readCrl(file), "CRL"), file, anchors));

        Provider provider = choose(b.provider);
        OcspClient ocsp = b.ocspMode == OcspMode.OFF ? null : new OcspClient(b.clock);
        RecordingTrustManager verifier = null;
        RecordingTrustManager requiring = null;
        if (!anchors.isEmpty()) {
            X509ExtendedTrustManager pkix = clientTrustManager(anchors, crls, ocsp, b);
            verifier = new RecordingTrustManager(pkix, true);
            requiring = new RecordingTrustManager(pkix, false);
        }
        Served served = served(b, provider, identities, verifier, requiring);
        ExecutorService verifications = ocsp == null ? null : Executors.newVirtualThreadPerTaskExecutor();
        TlsPolicy policy = new TlsPolicy(b, provider, served, verifier, requiring, List.copyOf(anchors),
                b.crlFiles, List.copyOf(crls), ocsp, verifications);
        LOG.info("TLS policy: {}", policy.describe());
        return policy;
    }

    /**
     * A server certificate chain (leaf first), the private key of its leaf, where they came from,
     * and the SNI names it serves (none for the default certificate).
     */
    private record ServerIdentity(List<X509Certificate> chain, PrivateKey key, String source, List<String> names) {}

    /** The default identity first, then one per SNI certificate file. */
    private static List<ServerIdentity> readIdentities(Builder b) {
        List<ServerIdentity> identities = new ArrayList<>();
        identities.add(readIdentity(b.chainFile, b.keyFile, false));
        for (Path file : sniFiles(b.sniCertificates)) identities.add(readIdentity(file, file, true));
        Map<String, String> owner = new LinkedHashMap<>();
        for (ServerIdentity identity : identities) {
            for (String name : identity.names()) {
                String previous = owner.putIfAbsent(name, identity.source());
                if (previous != null) {
                    throw new TlsConfigException("the server name " + name + " is in two SNI certificates, "
                            + previous + " and " + identity.source() + "; keep it in one of them");
                }
            }
        }
        return List.copyOf(identities);
    }

    /** The SNI certificate files: each file named, and each {@code *.pem} file of each directory named, sorted. */
    private static List<Path> sniFiles(List<Path> paths) {
        List<Path> files = new ArrayList<>();
        for (Path path : paths) {
            if (!Files.isDirectory(path)) {
                files.add(path);
                continue;
            }
            try (Stream<Path> listing = Files.list(path)) {
                listing.filter(f -> f.getFileName().toString().endsWith(".pem") && Files.isRegularFile(f))
                        .sorted().forEach(files::add);
            } catch (IOException e) {
                throw new TlsConfigException("the SNI certificate directory " + path + " cannot be listed: " + e, e);
            }
        }
        return files;
    }

    /**
     * Reads the chain and key and proves that the key belongs to the leaf by signing with it: a
     * half-written or mismatched pair is refused here, before any context is built from it.
     */
    private static ServerIdentity readIdentity(Path chainFile, Path keyFile, boolean sni) {
        String what = sni ? "SNI certificate" : "server certificate chain";
        List<X509Certificate> chain = read(() -> Pem.readCertificates(chainFile), what);
        PrivateKey key = read(() -> Pem.readPrivateKey(keyFile), sni ? "SNI certificate's private key" : "server private key");
        if (chain.isEmpty()) {
            throw new TlsConfigException("the TLS " + what + " " + chainFile + " holds no certificate");
        }
        if (!keyMatches(key, chain.get(0))) {
            throw new TlsConfigException("the TLS private key in " + keyFile + " does not belong to the first"
                    + " certificate of " + chainFile + "; install the key and certificate of one pair (leaf first)");
        }
        String source = sni ? chainFile.toString() : chainFile + " and " + keyFile;
        List<String> names = sni ? dnsNames(chain.get(0), chainFile) : List.of();
        return new ServerIdentity(List.copyOf(chain), key, source, names);
    }

    /** The leaf's subjectAltName DNS names, lower case: the names it may serve (RFC 9525 §6.3). */
    private static List<String> dnsNames(X509Certificate leaf, Path file) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> alternatives = leaf.getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> entry : alternatives) {
                    // GeneralName dNSName is tag 2 (RFC 5280 §4.2.1.6).
                    if (Integer.valueOf(2).equals(entry.get(0)) && entry.get(1) instanceof String name) {
                        names.add(name.toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            throw new TlsConfigException("the SNI certificate " + file + " has an unreadable subjectAltName: "
                    + e.getMessage(), e);
        }
        if (names.isEmpty()) {
            throw new TlsConfigException("the SNI certificate " + file + " names no DNS name in its subjectAltName,"
                    + " so no client could select it; issue it for the host names it should serve");
        }
        return List.copyOf(names);
    }

    private static Served served(Builder b, Provider provider, List<ServerIdentity> identities,
            RecordingTrustManager verifier, RecordingTrustManager requiring) {
        Map<ClientCertMode, SslContext> fallback = null;
        Map<String, Map<ClientCertMode, SslContext>> byName = new LinkedHashMap<>();
        Map<SslContext, List<X509Certificate>> chains = new IdentityHashMap<>();
        for (ServerIdentity identity : identities) {
            Map<ClientCertMode, SslContext> contexts = serverContexts(b, provider, identity, verifier, requiring);
            contexts.values().forEach(c -> chains.put(c, identity.chain()));
            // The first handshake of an externally issued certificate finds its staple being fetched.
            if (b.stapling != null) b.stapling.staple(identity.chain());
            if (fallback == null) fallback = contexts;
            for (String name : identity.names()) byName.put(name, contexts);
        }
        return new Served(fallback, Map.copyOf(byName), Collections.unmodifiableMap(chains));
    }

    /** Signs a fixed text with {@code key} and checks the signature with the certificate's public key. */
    private static boolean keyMatches(PrivateKey key, X509Certificate leaf) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            case "Ed448" -> "Ed448";
            // Other key types: the TLS provider's own check in serverContext is the only one.
            default -> null;
        };
        if (algorithm == null) return true;
        try {
            byte[] probe = "castellan key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(leaf.getPublicKey());
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static Map<ClientCertMode, SslContext> serverContexts(Builder b, Provider provider,
            ServerIdentity identity, RecordingTrustManager verifier, RecordingTrustManager requiring) {
        Map<ClientCertMode, SslContext> contexts = new EnumMap<>(ClientCertMode.class);
        contexts.put(ClientCertMode.NONE, serverContext(b, provider, identity, ClientAuth.NONE, null));
        if (verifier != null) {
            contexts.put(ClientCertMode.REQUEST, serverContext(b, provider, identity, ClientAuth.OPTIONAL, verifier));
            contexts.put(ClientCertMode.REQUIRE, serverContext(b, provider, identity, ClientAuth.REQUIRE, requiring));
        }
        return Map.copyOf(contexts);
    }

    private static Provider choose(Provider requested) {
        if (requested == Provider.JDK) return Provider.JDK;
        if (OpenSsl.isAvailable()) return Provider.BORINGSSL;
        Throwable cause = OpenSsl.unavailabilityCause();
        if (requested == Provider.BORINGSSL) {
            throw new TlsConfigException("the OpenSSL (BoringSSL) TLS provider was requested but cannot be loaded: "
                    + cause + "; install netty-tcnative-boringssl-static for this platform or choose the JDK provider",
                    cause);
        }
        LOG.warn("BoringSSL (netty-tcnative) is not available, using the JDK's TLS with the same protocols and"
                + " ciphers: {}", cause == null ? "unknown reason" : cause.toString());
        return Provider.JDK;
    }

    private static SslContext serverContext(Builder b, Provider provider, ServerIdentity identity,
            ClientAuth clientAuth, TrustManager trustManager) {
        try {
            SslContextBuilder builder = SslContextBuilder.forServer(identity.key(), identity.chain())
                    .sslProvider(provider == Provider.BORINGSSL ? SslProvider.OPENSSL : SslProvider.JDK)
                    .protocols(b.preset.protocols())
                    .ciphers(b.preset.ciphers(), SupportedCipherSuiteFilter.INSTANCE)
                    .clientAuth(clientAuth);
            if (trustManager != null) builder.trustManager(trustManager);
            // RFC 6066 §8: the server answers status_request with the staple set per engine.
            if (provider == Provider.BORINGSSL && b.stapling != null && OpenSsl.isOcspSupported()) builder.enableOcsp(true);
            if (provider == Provider.BORINGSSL && trustManager != null && b.ocspMode != OcspMode.OFF) {
                // Certificate verification may wait for an OCSP responder: make it a delegated
                // task, which newHandler runs on the policy's executor instead of the event loop.
                builder.option(OpenSslContextOption.USE_TASKS, true);
            }
            SslContext context = builder.build();
            // RFC 9266: netty-tcnative has no exporter; the key log yields each TLS 1.3 connection's.
            if (context instanceof ReferenceCountedOpenSslContext openSsl) ExporterKeyLog.install(openSsl);
            if (context instanceof ReferenceCountedOpenSslContext openSsl && clientAuth != ClientAuth.NONE) {
                // No resumption where a client certificate is asked for: a resumed session skips
                // certificate verification, so a revoked client certificate would keep working.
                // This stops TLS 1.2's session cache; TLS 1.3 tickets are switched off per engine
                // in newHandler.
                openSsl.sessionContext().setSessionCacheEnabled(false);
            }
            if (context.cipherSuites().isEmpty()) {
                throw new TlsConfigException("none of the " + b.preset + " cipher suites is available in the "
                        + provider + " TLS provider; use the other provider or preset");
            }
            return context;
        } catch (SSLException | IllegalArgumentException e) {
            throw new TlsConfigException("cannot build a TLS context from " + identity.source()
                    + ": " + e.getMessage() + " (check that the key belongs to the first certificate of the chain)", e);
        }
    }

    /** A CRL is used only if one of the trusted CAs signed it: a stray or forged file changes nothing. */
    private static X509CRL verifiedCrl(X509CRL crl, Path file, List<X509Certificate> anchors) {
        for (X509Certificate anchor : anchors) {
            if (!anchor.getSubjectX500Principal().equals(crl.getIssuerX500Principal())) continue;
            try {
                crl.verify(anchor.getPublicKey());
                return crl;
            } catch (GeneralSecurityException e) {
                // Another anchor may carry the same name with another key; try them all.
            }
        }
        throw new TlsConfigException("the CRL " + file + " (issuer " + crl.getIssuerX500Principal() + ") is not signed"
                + " by any of the client CAs; name the CRL of one of the client CA files");
    }

    /**
     * PKIX with CRLs ({@link #trustManager}), its successes remembered for a few minutes (never
     * past a CRL's nextUpdate; a CRL reload builds a new one), then OCSP when it is on.
     */
    private static X509ExtendedTrustManager clientTrustManager(List<X509Certificate> anchors, List<X509CRL> crls,
            OcspClient ocsp, Builder b) {
        Instant notAfter = Instant.MAX;
        for (X509CRL crl : crls) {
            if (crl.getNextUpdate() != null && crl.getNextUpdate().toInstant().isBefore(notAfter)) {
                notAfter = crl.getNextUpdate().toInstant();
            }
        }
        X509ExtendedTrustManager pkix = new CachingTrustManager(trustManager(anchors, crls), b.clock, notAfter);
        if (ocsp == null) return pkix;
        return new OcspTrustManager(pkix, ocsp, b.ocspMode == OcspMode.HARD_FAIL, anchors);
    }

    /**
     * PKIX with the CRLs for certificates whose issuer has one or is not itself a trust anchor,
     * and PKIX without revocation for those issued directly by an anchor that has no CRL (see
     * {@link Builder#crlFiles}). Each half trusts only its own anchors, so a certificate cannot
     * escape the revocation check by choosing the other half.
     */
    private static X509ExtendedTrustManager trustManager(List<X509Certificate> anchors, List<X509CRL> crls) {
        if (crls.isEmpty()) return pkixTrustManager(anchors, crls);
        Set<X500Principal> withCrl = new HashSet<>();
        for (X509CRL crl : crls) withCrl.add(crl.getIssuerX500Principal());
        List<X509Certificate> unchecked = anchors.stream()
                .filter(a -> !withCrl.contains(a.getSubjectX500Principal())).toList();
        List<X509Certificate> checked = anchors.stream()
                .filter(a -> withCrl.contains(a.getSubjectX500Principal())).toList();
        if (unchecked.isEmpty()) return pkixTrustManager(anchors, crls);
        if (checked.isEmpty()) return pkixTrustManager(unchecked, List.of());
        Set<X500Principal> uncheckedNames = new HashSet<>();
        for (X509Certificate a : unchecked) uncheckedNames.add(a.getSubjectX500Principal());
        return new IssuerSplitTrustManager(pkixTrustManager(checked, crls), pkixTrustManager(unchecked, List.of()),
                uncheckedNames);
    }

    private static X509ExtendedTrustManager pkixTrustManager(List<X509Certificate> anchors, List<X509CRL> crls) {
        try {
            Set<TrustAnchor> trustAnchors = new HashSet<>();
            for (X509Certificate anchor : anchors) trustAnchors.add(new TrustAnchor(anchor, null));
            PKIXBuilderParameters parameters = new PKIXBuilderParameters(trustAnchors, null);
            parameters.setRevocationEnabled(false);
            if (!crls.isEmpty()) {
                // Only the client's own certificate is checked, only against the CRLs given, and
                // a missing or stale CRL fails closed: no network fetches from a handshake.
                PKIXRevocationChecker checker =
                        (PKIXRevocationChecker) CertPathValidator.getInstance("PKIX").getRevocationChecker();
                checker.setOptions(Set.of(PKIXRevocationChecker.Option.ONLY_END_ENTITY,
                        PKIXRevocationChecker.Option.PREFER_CRLS, PKIXRevocationChecker.Option.NO_FALLBACK));
                parameters.addCertPathChecker(checker);
                parameters.addCertStore(CertStore.getInstance("Collection",
                        new CollectionCertStoreParameters(crls)));
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
            factory.init(new CertPathTrustManagerParameters(parameters));
            for (TrustManager manager : factory.getTrustManagers()) {
                if (manager instanceof X509ExtendedTrustManager x509) return x509;
            }
            throw new TlsConfigException("the JDK's PKIX trust manager factory returned no X.509 trust manager");
        } catch (GeneralSecurityException e) {
            throw new TlsConfigException("cannot build the client certificate trust manager: " + e.getMessage(), e);
        }
    }

    /**
     * A client context for Castellan's own outbound connections (edge to mailbox, tests): trusts
     * only the CA certificates in {@code trustedCaFiles}, verifies the server's host name, and
     * presents the certificate in {@code chainFile}/{@code keyFile} when both are given (null for
     * none). Create handlers with {@code newHandler(allocator, host, port)} so that the host name
     * is both sent (SNI) and checked.
     *
     * @throws TlsConfigException naming the file at fault
     */
    public static SslContext clientContext(Preset preset, List<Path> trustedCaFiles, Path chainFile, Path keyFile) {
        if (trustedCaFiles.isEmpty()) {
            throw new TlsConfigException("a client TLS context needs at least one trusted CA file");
        }
        if ((chainFile == null) != (keyFile == null)) {
            throw new TlsConfigException("a client certificate needs both its chain file and its key file");
        }
        List<X509Certificate> trusted = new ArrayList<>();
        for (Path file : trustedCaFiles) trusted.addAll(read(() -> Pem.readCertificates(file), "trusted CA"));
        Provider provider = OpenSsl.isAvailable() ? Provider.BORINGSSL : Provider.JDK;
        try {
            SslContextBuilder builder = SslContextBuilder.forClient()
                    .sslProvider(provider == Provider.BORINGSSL ? SslProvider.OPENSSL : SslProvider.JDK)
                    .protocols(preset.protocols())
                    .ciphers(preset.ciphers(), SupportedCipherSuiteFilter.INSTANCE)
                    .trustManager(trusted)
                    // RFC 9525 §6: the presented identity must match the name we connected to.
                    .endpointIdentificationAlgorithm("HTTPS");
            if (chainFile != null) {
                builder.keyManager(read(() -> Pem.readPrivateKey(keyFile), "client private key"),
                        read(() -> Pem.readCertificates(chainFile), "client certificate chain"));
            }
            return builder.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new TlsConfigException("cannot build a client TLS context: " + e.getMessage(), e);
        }
    }

    /**
     * The client context of an edge's links to mailbox nodes (docs/roles.md §2): TLS 1.3
     * ({@link Preset#MODERN}), presenting the node certificate in {@code chainFile}/{@code keyFile},
     * and trusting the CA that issued it — the node CA, the certificates after the leaf in
     * {@code chainFile} — alone, so that no server, device or user certificate is ever taken for a
     * node. Host names are not checked: a node is known by the {@code castellan-node:} URI of its
     * certificate, which the caller checks after the handshake.
     *
     * @throws TlsConfigException naming the file at fault, or if the chain holds no issuing CA
     */
    public static SslContext nodeClientContext(Path chainFile, Path keyFile) {
        List<X509Certificate> chain = read(() -> Pem.readCertificates(chainFile), "node certificate chain");
        if (chain.size() < 2) {
            throw new TlsConfigException(chainFile + " holds no issuing CA after the node certificate; use the chain.pem"
                    + " castellan node add wrote");
        }
        Provider provider = OpenSsl.isAvailable() ? Provider.BORINGSSL : Provider.JDK;
        try {
            return SslContextBuilder.forClient()
                    .sslProvider(provider == Provider.BORINGSSL ? SslProvider.OPENSSL : SslProvider.JDK)
                    .protocols(Preset.MODERN.protocols())
                    .ciphers(Preset.MODERN.ciphers(), SupportedCipherSuiteFilter.INSTANCE)
                    .trustManager(chain.subList(1, chain.size()))
                    // Netty checks host names by default; a node is named by its URI, not its address.
                    .endpointIdentificationAlgorithm(null)
                    .keyManager(read(() -> Pem.readPrivateKey(keyFile), "node private key"), chain)
                    .build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new TlsConfigException("cannot build the link's client TLS context: " + e.getMessage(), e);
        }
    }

    /**
     * The server context for {@code mode}, for callers that need Netty's context itself (ALPN,
     * SNI mapping). Handlers for connections come from {@link #newHandler}, which also switches
     * off TLS 1.3 session resumption.
     */
    public SslContext context(ClientCertMode mode) {
        return context(served.fallback(), mode);
    }

    private static SslContext context(Map<ClientCertMode, SslContext> contexts, ClientCertMode mode) {
        SslContext context = contexts.get(mode);
        if (context == null) {
            throw new IllegalStateException("client certificate mode " + mode + " needs client CA files in the TLS"
                    + " policy; none are configured");
        }
        return context;
    }

    /** A handler for a server channel doing implicit TLS (the first bytes are a ClientHello). */
    public SslHandler newHandler(ByteBufAllocator allocator, ClientCertMode mode) {
        return newHandler(allocator, mode, false);
    }

    /**
     * The TLS handler for a server connection: like {@link #newHandler(ByteBufAllocator,
     * ClientCertMode, boolean)} when there are no SNI certificates; otherwise a handler that reads
     * the ClientHello's server name and then replaces itself, under the same pipeline name, with
     * the {@link SslHandler} of the matching certificate (or the default one). Either way the
     * pipeline holds an {@link SslHandler} by the time the handshake completes.
     *
     * @throws IllegalStateException as {@link #context}
     */
    public ChannelHandler newServerHandler(ByteBufAllocator allocator, ClientCertMode mode, boolean startTls) {
        Served now = served;
        context(now.fallback(), mode); // fail here, not after the ClientHello, for a mode without anchors
        if (now.byName().isEmpty()) return handler(now, context(now.fallback(), mode), allocator, mode, startTls);
        // The STARTTLS reply passes the selector before any ClientHello arrives, so the SslHandler
        // that replaces it never needs to let a plaintext write through.
        return new CertificateSelector(host -> context(now.forName(host), mode),
                context -> handler(now, context, allocator, mode, false), HANDSHAKE_TIMEOUT_MILLIS);
    }

    /**
     * A handler for a server channel. For STARTTLS pass {@code startTls = true} and add the handler
     * before writing the reply that tells the client to start TLS: that one reply leaves in
     * plaintext, everything after it is encrypted, and nothing received before it reaches the
     * handshake (RFC 3207 §4.2, RFC 9051 §6.2.1, RFC 2595 §4).
     */
    public SslHandler newHandler(ByteBufAllocator allocator, ClientCertMode mode, boolean startTls) {
        Served now = served;
        return handler(now, context(now.fallback(), mode), allocator, mode, startTls);
    }

    private SslHandler handler(Served now, SslContext context, ByteBufAllocator allocator, ClientCertMode mode,
            boolean startTls) {
        SSLEngine engine = context.newEngine(allocator);
        if (stapling != null && engine instanceof ReferenceCountedOpenSslEngine openSsl && OpenSsl.isOcspSupported()) {
            List<X509Certificate> chain = now.chains().get(context);
            if (chain != null) stapling.staple(chain).ifPresent(openSsl::setOcspResponse);
        }
        if (engine instanceof ReferenceCountedOpenSslEngine openSsl && mode != ClientCertMode.NONE && !settings.resumeVerified) {
            // Netty turns TLS 1.3 session tickets back on for every new engine (unless the JVM-wide
            // jdk.tls.server.enableSessionTicketExtension is false); a resumed session would skip
            // client certificate verification, so switch them off again before the handshake.
            SSL.setOptions(openSsl.sslPointer(), SSL.SSL_OP_NO_TICKET);
        }
        // Only a client-certificate check may wait on OCSP; everything else stays on the event
        // loop, where a handshake costs no thread hop.
        boolean offLoop = verifications != null && mode != ClientCertMode.NONE;
        Executor tasks = offLoop ? verifications : ImmediateExecutor.INSTANCE;
        SslHandler handler = engine instanceof ReferenceCountedOpenSslEngine openSsl
                ? new ExportingSslHandler(engine, startTls, tasks, ExporterKeyLog.expect(openSsl))
                : new SslHandler(engine, startTls, tasks);
        handler.setHandshakeTimeout(HANDSHAKE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        if (provider == Provider.JDK && mode != ClientCertMode.NONE && !settings.resumeVerified) {
            // The JDK offers no switch against resumption; a session invalidated once its
            // handshake is done cannot be resumed, so the next connection verifies afresh.
            handler.handshakeFuture().addListener(done -> {
                if (done.isSuccess()) handler.engine().getSession().invalidate();
            });
        }
        return handler;
    }

    /**
     * The {@code tls-exporter} channel binding (RFC 9266) of a TLS 1.3 connection whose
     * {@code handler} came from a policy with the BoringSSL provider, once its handshake has
     * succeeded; empty otherwise (the JDK provider's sessions export it themselves).
     */
    public static Optional<byte[]> tlsExporter(SslHandler handler) {
        return handler instanceof ExportingSslHandler exporting ? exporting.tlsExporter() : Optional.empty();
    }

    /** Whether TLS 1.3 connections with the BoringSSL provider get {@link #tlsExporter} values. */
    public static boolean exportsWithBoringSsl() {
        return ExporterKeyLog.available();
    }

    /**
     * What became of the client certificate on {@code session}: none, verified, or rejected (the
     * last only in REQUEST mode; REQUIRE fails the handshake instead).
     */
    public PeerVerification peerVerification(SSLSession session) {
        Object recorded = session.getValue(RecordingTrustManager.SESSION_KEY);
        // BoringSSL hands every certificate presented in a full handshake to the trust manager,
        // and resumes no session where one was asked for: no record means no certificate. Asking
        // the session instead throws (with a stack trace) on every handshake without one.
        if (recorded == null && provider == Provider.BORINGSSL && !settings.resumeVerified) return new PeerVerification.None();
        X509Certificate[] presented = peerCertificates(session);
        if (presented.length == 0) return new PeerVerification.None();
        if (recorded instanceof PeerVerification.Verified verified
                && verified.leaf().equals(presented[0])) {
            return verified;
        }
        if (recorded instanceof PeerVerification.Rejected rejected) return rejected;
        // A resumed session (the JDK, or BoringSSL resuming verified sessions) carries certificates
        // but no record: verify them now, against the CRLs in force.
        if (verifier == null) return new PeerVerification.Rejected(List.of(presented), "no client CA configured");
        return verifier.verify(presented);
    }

    /**
     * What becomes of {@code chain} (leaf first), presented to another server and asserted to this
     * one: the client certificate an edge relays on a link (docs/roles.md §3), checked as a
     * handshake here would check it: trust anchors, dates, clientAuth, CRLs, revocations elsewhere
     * and, when on, OCSP (so it may block on HTTP: call it off any event loop).
     */
    public PeerVerification verifyPresented(List<X509Certificate> chain) {
        if (chain.isEmpty()) return new PeerVerification.None();
        if (verifier == null) return new PeerVerification.Rejected(chain, "no client CA configured");
        return verifier.verify(chain.toArray(new X509Certificate[0]));
    }

    /** The client's verified certificate, if it presented one that verified. */
    public Optional<X509Certificate> verifiedPeer(SSLSession session) {
        return peerVerification(session) instanceof PeerVerification.Verified v ? Optional.of(v.leaf()) : Optional.empty();
    }

    /**
     * Re-reads the CRL files this policy was built with; every later handshake, in every mode,
     * verifies against them. If a file is missing, unreadable or not signed by a client CA, the
     * CRLs in force stay as they were and one WARN line names the file.
     *
     * @return whether the new CRLs are in force
     */
    public synchronized boolean reloadCrls() {
        if (crlFiles.isEmpty()) return true;
        List<X509CRL> fresh = new ArrayList<>();
        try {
            for (Path file : crlFiles) fresh.add(verifiedCrl(read(() -> Pem.readCrl(file), "CRL"), file, anchors));
        } catch (TlsConfigException e) {
            LOG.warn("CRLs not reloaded, the previous ones stay in force: {}", e.getMessage());
            return false;
        }
        X509ExtendedTrustManager pkix = clientTrustManager(anchors, fresh, ocsp, settings);
        verifier.replaceDelegate(pkix);
        requiring.replaceDelegate(pkix);
        crls = List.copyOf(fresh);
        if (settings.resumeVerified) replaceTicketKeys();
        LOG.info("reloaded {} CRLs", fresh.size());
        return true;
    }

    /** New random ticket keys for every context served: no ticket issued until now resumes. */
    private void replaceTicketKeys() {
        Served now = served;
        List<Map<ClientCertMode, SslContext>> all = new ArrayList<>(now.byName().values());
        all.add(now.fallback());
        for (Map<ClientCertMode, SslContext> contexts : all) {
            for (SslContext context : contexts.values()) {
                if (!(context instanceof ReferenceCountedOpenSslContext openSsl)) continue;
                byte[] name = new byte[OpenSslSessionTicketKey.NAME_SIZE];
                byte[] hmac = new byte[OpenSslSessionTicketKey.HMAC_KEY_SIZE];
                byte[] aes = new byte[OpenSslSessionTicketKey.AES_KEY_SIZE];
                TICKET_KEYS.nextBytes(name);
                TICKET_KEYS.nextBytes(hmac);
                TICKET_KEYS.nextBytes(aes);
                openSsl.sessionContext().setTicketKeys(new OpenSslSessionTicketKey(name, hmac, aes));
            }
        }
    }

    /**
     * Whether the handshake of {@code handler} resumed an earlier session (RFC 8446 §2.2); false
     * with the JDK provider, which does not tell.
     */
    public static boolean resumed(SslHandler handler) {
        return handler.engine() instanceof ReferenceCountedOpenSslEngine openSsl && SSL.isSessionReused(openSsl.sslPointer());
    }

    /**
     * Re-reads the server certificate chain and key files this policy was built with, and the SNI
     * certificates, and if every one is a matching pair serves every later handshake, in every
     * mode, with them; connections already established keep the certificate they were made with.
     * If a file is missing, not PEM, half-written or a key does not belong to its certificate, the
     * certificates in force stay as they were (all of them) and one WARN line names the file: a
     * server never serves a broken pair.
     *
     * @return whether the new certificates are in force
     */
    public synchronized boolean reloadCertificate() {
        Served fresh;
        List<ServerIdentity> identities;
        try {
            identities = readIdentities(settings);
            fresh = served(settings, provider, identities, verifier, requiring);
        } catch (TlsConfigException e) {
            LOG.warn("TLS certificates not reloaded, the previous ones stay in use: {}", e.getMessage());
            return false;
        }
        served = fresh;
        for (ServerIdentity identity : identities) {
            X509Certificate leaf = identity.chain().get(0);
            LOG.info("reloaded the TLS certificate {} (serial {}, valid until {}) from {}",
                    leaf.getSubjectX500Principal().getName(), leaf.getSerialNumber().toString(16),
                    leaf.getNotAfter().toInstant(), identity.source());
        }
        return true;
    }

    /**
     * The server certificate chain and key files, in that order, then each SNI certificate
     * directory and file as they are now, for a watcher of their changes (a directory's own
     * modification time changes when a file is added or removed).
     */
    public List<Path> certificateFiles() {
        List<Path> files = new ArrayList<>(List.of(settings.chainFile, settings.keyFile));
        for (Path path : settings.sniCertificates) if (Files.isDirectory(path)) files.add(path);
        try {
            files.addAll(sniFiles(settings.sniCertificates));
        } catch (TlsConfigException unlisted) {
            // The directory's own stamp shows the change; the reload names the problem.
        }
        return List.copyOf(files);
    }

    /**
     * Whether {@code certificate} is known to be revoked without asking anyone: a CRL in force
     * from its issuer lists it, or a cached OCSP answer says so. Used to close the live sessions
     * of a certificate that was revoked after its handshake.
     */
    public boolean revoked(X509Certificate certificate) {
        if (revokedElsewhere(certificate)) return true;
        for (X509CRL crl : crls) {
            if (crl.getIssuerX500Principal().equals(certificate.getIssuerX500Principal()) && crl.isRevoked(certificate)) {
                return true;
            }
        }
        return ocsp != null && ocsp.cached(certificate).orElse(null) instanceof OcspClient.Status.Revoked;
    }

    /**
     * Refuses, from the next handshake on, the certificates of {@code serials} by issuer besides
     * those the CRLs list: the revocations other nodes made (docs/kms.md, "Revocation across
     * nodes"). Replaces the ones given before; {@link #revoked} answers with them too.
     */
    public void revokeElsewhere(Map<X500Principal, Set<BigInteger>> serials) {
        Map<X500Principal, Set<BigInteger>> copy = new HashMap<>();
        serials.forEach((issuer, set) -> copy.put(issuer, Set.copyOf(set)));
        Map<X500Principal, Set<BigInteger>> before = revokedElsewhere;
        revokedElsewhere = Map.copyOf(copy);
        // As at a CRL reload: no ticket issued before a revocation resumes, whichever way it became known.
        boolean added = copy.entrySet().stream()
                .anyMatch(e -> !before.getOrDefault(e.getKey(), Set.of()).containsAll(e.getValue()));
        if (added && settings.resumeVerified) replaceTicketKeys();
    }

    private boolean revokedElsewhere(X509Certificate certificate) {
        Set<BigInteger> serials = revokedElsewhere.get(certificate.getIssuerX500Principal());
        return serials != null && serials.contains(certificate.getSerialNumber());
    }

    /**
     * Like {@link #revoked}, but also asks the OCSP responder when OCSP is on, the leaf names
     * one and no current answer is cached (each answer is kept until its nextUpdate). Blocks on
     * HTTP: call it off any event loop. Only a "revoked" answer counts; an unreachable responder
     * does not end a session that was accepted.
     *
     * @param chain the verified chain, leaf first
     */
    public boolean revokedNow(List<X509Certificate> chain) {
        X509Certificate leaf = chain.get(0);
        if (revoked(leaf)) return true;
        if (ocsp == null || OcspClient.responder(leaf).isEmpty()) return false;
        return OcspTrustManager.issuerOf(leaf, chain.toArray(new X509Certificate[0]), anchors)
                .map(issuer -> ocsp.check(leaf, issuer) instanceof OcspClient.Status.Revoked)
                .orElse(false);
    }

    /**
     * Where the OCSP staple of each server certificate (the default one first, then each SNI one)
     * comes from, or why there is none, keyed by its subject; asks external responders now, so
     * call it off any event loop (it is for {@code castellan audit}).
     */
    public Map<String, String> stapling() {
        Map<String, String> states = new LinkedHashMap<>();
        Served now = served;
        List<List<X509Certificate>> chains = new ArrayList<>();
        chains.add(now.chains().get(now.fallback().get(ClientCertMode.NONE)));
        for (Map<ClientCertMode, SslContext> contexts : now.byName().values()) {
            List<X509Certificate> chain = now.chains().get(contexts.get(ClientCertMode.NONE));
            if (!chains.contains(chain)) chains.add(chain);
        }
        for (List<X509Certificate> chain : chains) {
            String name = chain.get(0).getSubjectX500Principal().getName();
            if (stapling == null) {
                states.put(name, "none: stapling is off");
            } else if (provider != Provider.BORINGSSL || !OpenSsl.isOcspSupported()) {
                states.put(name, "none: the JDK's TLS cannot staple a response of Castellan's choosing");
            } else {
                states.put(name, stapling.describe(chain));
            }
        }
        return states;
    }

    /**
     * Whether handshakes in {@code mode} resume earlier sessions: TLS 1.3 tickets where no client
     * certificate is asked for; where one is, only with {@link Builder#resumeVerifiedSessions},
     * whose resumed certificates are verified again, otherwise never.
     */
    public boolean resumesSessions(ClientCertMode mode) {
        return mode == ClientCertMode.NONE || settings.resumeVerified;
    }

    public OcspMode ocsp() {
        return settings.ocspMode;
    }

    public Provider provider() {
        return provider;
    }

    public Preset preset() {
        return preset;
    }

    /** Protocols, the cipher suites actually enabled, and the client CAs, for logs and audits. */
    public Description describe() {
        Served now = served;
        SslContext none = now.fallback().get(ClientCertMode.NONE);
        return new Description(provider, preset, preset.protocols(), List.copyOf(none.cipherSuites()),
                anchors.stream().map(a -> a.getSubjectX500Principal().getName()).toList(), crls.size(),
                settings.ocspMode, now.byName().keySet().stream().sorted().toList());
    }

    private static X509Certificate[] peerCertificates(SSLSession session) {
        try {
            java.security.cert.Certificate[] certificates = session.getPeerCertificates();
            X509Certificate[] x509 = new X509Certificate[certificates.length];
            for (int i = 0; i < certificates.length; i++) {
                if (!(certificates[i] instanceof X509Certificate c)) return new X509Certificate[0];
                x509[i] = c;
            }
            return x509;
        } catch (SSLPeerUnverifiedException none) {
            return new X509Certificate[0];
        }
    }

    @FunctionalInterface
    private interface Read<T> {
        T read();
    }

    private static <T> T read(Read<T> reader, String what) {
        try {
            return reader.read();
        } catch (PkiException e) {
            throw new TlsConfigException("the TLS " + what + " cannot be used: " + e.getMessage(), e);
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return List.copyOf(all);
    }
}
