package org.castellan.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.castellan.security.auth.AuthLog;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.BatchingAuthLog;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateDirectory;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.CrlPublisher;
import org.castellan.security.pki.OcspResponder;
import org.castellan.security.pki.PkiException;
import org.castellan.security.tls.OcspStapling;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.server.admin.AdminServer;
import org.castellan.server.admin.CertificateWatcher;
import org.castellan.server.admin.RevocationWatcher;
import org.castellan.server.admin.SharedDirectory;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.Listener;
import org.castellan.server.dkim.DkimKeys;
import org.castellan.server.dns.DnsResolver;
import org.castellan.server.dns.MailRouting;
import org.castellan.server.dns.UnavailableResolver;
import org.castellan.server.http.HttpRoutes;
import org.castellan.server.http.HttpService;
import org.castellan.server.http.est.EnrollmentApprovals;
import org.castellan.server.http.est.EnrollmentPolicy;
import org.castellan.server.http.est.EstAuthentication;
import org.castellan.server.http.est.EstRoutes;
import org.castellan.server.http.est.NodeEnrollment;
import org.castellan.server.http.est.NodeJoinTokens;
import org.castellan.server.http.est.StoreEnrollmentTokens;
import org.castellan.server.http.pki.RevocationRoutes;
import org.castellan.server.imap.ImapService;
import org.castellan.server.ldap.DirectoryPublisher;
import org.castellan.server.ldap.DirectoryPublishing;
import org.castellan.server.ldap.LdapService;
import org.castellan.server.outbound.MtaStsFetcher;
import org.castellan.server.outbound.MtaStsPolicies;
import org.castellan.server.outbound.Notifier;
import org.castellan.server.outbound.OutboundEngine;
import org.castellan.server.outbound.TlsRptPost;
import org.castellan.server.outbound.TlsRptSender;
import org.castellan.server.pop3.Pop3Service;
import org.castellan.server.setup.Stores;
import org.castellan.server.smtp.SmtpLimits;
import org.castellan.server.smtp.SmtpService;
import org.castellan.server.transport.MessageSpool;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.server.config.Protocol;
import org.castellan.server.link.LinkService;
import org.castellan.server.transport.ProtocolService;
import org.castellan.server.transport.SessionRegistry;
import org.castellan.server.transport.Transport;
import org.castellan.store.AuthAttempt;
import org.castellan.store.MailStore;
import org.castellan.store.queue.OutboundQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Castellan server: the one place where the parts are wired together — store, TLS
 * policy, connection rules, session registry, transport, and a protocol service per listener.
 *
 * <p>SECURITY: every listener is bound through {@link Transport}, so every connection takes the
 * path accept → rules → TLS → session (docs/design.md §2); there is no second way in.
 */
public final class Castellan implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Castellan.class);
    /** Below the data directory: the spool files of messages on their way in. */
    public static final String SPOOL_DIRECTORY = "spool";
    /** Below the data directory: the MTA-STS policies kept across restarts (RFC 8461 §5.1). */
    public static final String MTA_STS_DIRECTORY = "mta-sts";
    /** How long fetching a domain's MTA-STS policy may take; RFC 8461 §3.3 leaves it to the sender. */
    static final Duration MTA_STS_FETCH_TIMEOUT = Duration.ofMinutes(1);
    /** How long POSTing a TLS report may take; RFC 8460 §5.4 leaves it to the sender. */
    static final Duration TLSRPT_POST_TIMEOUT = Duration.ofMinutes(1);

    private final CastellanConfig config;
    private final MailStore store;
    private final TlsPolicy tls;
    private final Transport transport;
    private final AuthService auth;
    /** Written to the store in the background; closed after AuthService, before the store. */
    private final BatchingAuthLog authLog;
    /** Store calls block (SQLite, blob files): protocol sessions run them here, never on an event loop. */
    private final ExecutorService blocking;
    private final Pop3Service pop3;
    private final SmtpService smtp;
    private final ImapService imap;
    /** The HTTPS listeners' one service: enrollment when the built-in CA exists (docs/http.md). */
    private final HttpService http;
    /** The plain-HTTP listeners' one service: the built-in CA's public objects only (docs/http.md). */
    private final HttpService plainHttp;
    /** The ldaps listeners' one service: the certificate directory (docs/kms.md). */
    private final LdapService ldap;
    /** The user certificates by address, when the built-in CA exists: served over LDAPS and published. */
    private final Optional<CertificateDirectory> certificateDirectory;
    /** Publishes them to [directory.publish]; started with the administration, when configured. */
    private DirectoryPublishing publishing;
    /** Sends queued mail to other domains; started once the listeners are bound, stopped before the store closes. */
    private final Optional<OutboundEngine> outbound;
    /** Sends the engine's daily TLS reports; started and stopped with the engine. */
    private final Optional<TlsRptSender> tlsReports;
    /** Started once the listeners are bound; closed first on shutdown. */
    private AdminServer admin;
    /** Delivery status notifications for the outbound queue; empty when the store keeps none. */
    private Optional<Notifier> notifier = Optional.empty();
    private RevocationWatcher revocations;
    /** The link listeners' TLS (node CA alone, TLS 1.3), when there are any; set once in {@link #start}. */
    private Optional<TlsPolicy> linkTls = Optional.empty();
    private RevocationWatcher linkRevocations;
    /** An edge's links, whose revocations it watches; null on other roles. */
    private org.castellan.server.link.EdgeRelay edgeRelay;
    /** Blocks and revocations to and from the other nodes on the same directory. */
    private SharedDirectory shared;
    /** Cluster-wide sessions, kicks and moves on a shared store (docs/roles.md §4). */
    private org.castellan.server.admin.ClusterRequests cluster;
    private CertificateWatcher linkCertificates;
    /** The link listeners' one service: relayed IMAP and POP3 sessions on a mailbox node (docs/roles.md §2). */
    private final LinkService link;
    private CertificateWatcher certificates;

    private Castellan(CastellanConfig config, MailStore store, TlsPolicy tls, Transport transport, AuthService auth,
                      BatchingAuthLog authLog, ExecutorService blocking, Path spool, Optional<CertificateAuthority> ca,
                      Optional<OcspResponder> responder) {
        this.config = config;
        this.store = store;
        this.tls = tls;
        this.transport = transport;
        this.auth = auth;
        this.authLog = authLog;
        this.blocking = blocking;
        Optional<Duration> loginTimeout = Optional.of(config.auth().loginTimeout());
        this.pop3 = new Pop3Service(store, auth, blocking, Pop3Service.AUTOLOGOUT, loginTimeout);
        this.imap = new ImapService(store, auth, blocking, ImapService.AUTOLOGOUT, config.server().hostname(),
                java.util.Set.copyOf(config.auth().submissionAccounts()), loginTimeout, spool);
        // One resolver answers the inbound checks and outbound MX routing (docs/outbound.md §3).
        DnsLookup dns = mailAuthDns(config);
        Optional<MailRouting> mx = dns instanceof MailRouting routing ? Optional.of(routing) : Optional.empty();
        // The embedded store is also the outbound queue (docs/outbound.md §2); an edge delivers none of it.
        this.outbound = outboundQueue().isPresent()
                ? Optional.of(new OutboundEngine(outboundQueue().get(), mx, config.outbound(),
                        config.outbound().hostname().orElse(config.server().hostname()), Clock.systemUTC())
                        .signWith(new DkimKeys(config.server().dataDir()))
                        .applyMtaSts(new MtaStsPolicies(dns, new MtaStsFetcher(Optional.empty(),
                                java.net.http.HttpClient.Builder.NO_PROXY, MTA_STS_FETCH_TIMEOUT),
                                config.server().dataDir().resolve(MTA_STS_DIRECTORY), Clock.systemUTC()), Optional.empty()))
                : Optional.empty();
        // The daily TLS reports of what the engine counted (docs/outbound.md §5, RFC 8460).
        this.tlsReports = outbound.map(engine -> new TlsRptSender(engine, dns, config.server().hostname(),
                new TlsRptPost(Optional.empty(), java.net.http.HttpClient.Builder.NO_PROXY, TLSRPT_POST_TIMEOUT),
                Clock.systemUTC(), TlsRptSender.MAX_DELAY));
        Optional<RevocationRoutes> revocation = revocationRoutes(ca, responder, blocking);
        this.http = new HttpService(httpRoutes(ca, revocation, auth, store, blocking,
                new EnrollmentPolicy(config.enroll().deviceValidity(), config.enroll().userValidity()),
                config.enroll().approve() ? Optional.of(new EnrollmentApprovals(store, Clock.systemUTC())) : Optional.empty()));
        // No AuthService reaches this table: nothing on a plain-HTTP listener asks who the client is.
        HttpRoutes publicRoutes = new HttpRoutes();
        revocation.ifPresent(routes -> routes.register(publicRoutes));
        this.plainHttp = HttpService.plain(publicRoutes);
        Optional<CertificateDirectory> directory = ca.map(authority -> new CertificateDirectory(authority, Clock.systemUTC()));
        this.certificateDirectory = directory;
        this.ldap = new LdapService(config.directory(), config.directory().baseDn(config.server().hostname()),
                () -> directory.map(CertificateDirectory::current).orElse(List.of()), auth, blocking);
        this.smtp = new SmtpService(config.server().hostname(), store, auth, blocking, Clock.systemUTC(), SmtpLimits.DEFAULTS,
                loginTimeout, spool, config.smtp(), config.mailAuth(), dns, outbound);
        this.link = new LinkService(Map.of("imap", imap, "pop3", pop3, LinkOpening.SUBMISSION, smtp, LinkOpening.MX, smtp,
                LinkOpening.HTTPS, http, LinkOpening.LDAP, ldap), config.clientRules(), tls::verifyPresented, blocking);
    }

    /**
     * What the HTTPS listeners serve, when there is a built-in CA: EST enrollment against it, and
     * its OCSP responder, CRLs and CA certificates (docs/kms.md).
     */
    private static HttpRoutes httpRoutes(Optional<CertificateAuthority> ca, Optional<RevocationRoutes> revocation,
                                         AuthService auth, MailStore store, ExecutorService blocking,
                                         EnrollmentPolicy policy, Optional<EnrollmentApprovals> approvals) {
        HttpRoutes routes = new HttpRoutes();
        var tokens = new StoreEnrollmentTokens(store, blocking, Clock.systemUTC());
        ca.ifPresent(authority -> new EstRoutes(authority, new EstAuthentication(auth, Optional.of(tokens)),
                policy, blocking, approvals).register(routes));
        // A new node's join (docs/roles.md §4): its own label and its own tokens.
        ca.ifPresent(authority -> new NodeEnrollment(authority, new NodeJoinTokens(authority.directory(), Clock.systemUTC()),
                blocking).register(routes));
        revocation.ifPresent(r -> r.register(routes));
        return routes;
    }

    /** The built-in CA's OCSP responder, CRLs and CA certificates, public and signed (docs/kms.md). */
    private static Optional<RevocationRoutes> revocationRoutes(Optional<CertificateAuthority> ca,
                                                               Optional<OcspResponder> responder, ExecutorService blocking) {
        if (ca.isEmpty() || responder.isEmpty()) return Optional.empty();
        return Optional.of(new RevocationRoutes(responder.get(), new CrlPublisher(ca.get(), Clock.systemUTC()), blocking));
    }

    /**
     * The server's one resolver (docs/outbound.md §3), shared by the inbound mail checks and
     * outbound routing: validating when {@code [dns] dnssec} is on. Without any resolver to ask,
     * the server still starts and every look-up fails temporarily.
     */
    static DnsLookup mailAuthDns(CastellanConfig config) {
        try {
            return DnsResolver.create(config.dns());
        } catch (IOException e) {
            log.error("DNS look-ups will fail until this is fixed: {}", e.getMessage());
            return new UnavailableResolver(e.getMessage());
        }
    }

    /**
     * Starts the server described by {@code config}. If the TLS files cannot be used or a listener
     * cannot bind, everything already started is stopped again and a
     * {@link StartChecks.StartFailure} names the file, line and key at fault.
     */
    public static Castellan start(CastellanConfig config) {
        MailStore store = Stores.open(config);
        Transport transport = null;
        AuthService auth = null;
        BatchingAuthLog authLog = null;
        ExecutorService blocking = null;
        Castellan server = null;
        try {
            // The built-in CA, when this data directory has one: its client CAs and CRLs for the
            // TLS policy, and its revocations for the watcher.
            Path pki = config.tls().pkiDirectory();
            Optional<CertificateAuthority> ca = Files.isDirectory(pki)
                    ? Optional.of(CertificateAuthority.load(pki, config.tls().pkiPublicUrl())) : Optional.empty();
            // One responder staples the CA's certificates on every listener and answers OCSP over HTTP.
            Optional<OcspResponder> responder = ca.flatMap(Castellan::responder);
            TlsPolicy tls = StartChecks.tlsPolicy(config, ca, responder, true);
            Optional<TlsPolicy> linkTls = StartChecks.linkTlsPolicy(config, ca);
            Path spool = spoolDirectory(config);
            log.info("TLS provider: {}", tls.provider());
            authLog = new BatchingAuthLog(attempts -> store.recordAuthAttempts(attempts.stream().map(Castellan::stored).toList()));
            auth = new AuthService(new StoreCredentials(store, ca), authSettings(config), Clock.systemUTC(), authLog,
                    config.oauthIssuers(), config.kerberos().settings());
            blocking = Executors.newVirtualThreadPerTaskExecutor();
            StartChecks.ConnectionCeiling ceiling = StartChecks.connectionCeiling(config);
            if (ceiling.lowered()) {
                log.warn("server.max-connections = {} is more than half the file-descriptor limit ({}): serving at most {}"
                        + " connections; raise LimitNOFILE (systemd) or ulimit -n to serve more", ceiling.configured(),
                        ceiling.descriptors().getAsLong(), ceiling.effective());
            }
            transport = new Transport(new SessionRegistry(), config.connectionRules(), tls, Clock.systemUTC(),
                    ceiling.effective());
            server = new Castellan(config, store, tls, transport, auth, authLog, blocking, spool, ca, responder);
            server.linkTls = linkTls;
            if (config.server().role() == org.castellan.server.config.Role.EDGE) server.relayToMailboxNodes(ca);
            for (Listener l : config.listeners()) {
                try {
                    if (l.protocol() == Protocol.LINK) {
                        transport.bind(l, server.link, linkTls.orElseThrow());
                    } else {
                        transport.bind(l, server.service(l));
                    }
                } catch (IllegalStateException e) {
                    throw new StartChecks.StartFailure(config, config.problem(config.listenerKey(l, "port"), e.getMessage()), e);
                }
            }
            server.startNotifier();
            server.startAdministration(ca);
            server.outbound.ifPresent(OutboundEngine::start);
            server.tlsReports.ifPresent(TlsRptSender::start);
            if (server.relayQueue != null) {
                server.relayNotifier.start();
                server.relayQueue.start();
            }
            return server;
        } catch (RuntimeException e) {
            if (server != null) server.stopAdministration();
            if (server != null) server.tlsReports.ifPresent(TlsRptSender::close);
            if (server != null) server.outbound.ifPresent(OutboundEngine::close);
            if (server != null) server.stopNotifier();
            if (server != null) server.closeRelayQueue();
            if (transport != null) transport.close();
            if (blocking != null) blocking.close();
            if (auth != null) auth.close();
            if (authLog != null) authLog.close();
            store.close();
            throw e;
        }
    }

    /**
     * On an edge (docs/roles.md §3): IMAP, POP3 and submission sessions go on at the account's
     * mailbox node after login, over links presenting the [node] certificate, and MX mail goes there
     * from the edge's relay queue. The store is open for the directory (accounts, credentials,
     * placements, aliases, domains, rules) and the auth log; no session of an edge opens a mailbox.
     * HTTPS and LDAPS, which need the CA and its directory, go to the default node from their first
     * byte; plain HTTP is served here, from what this data directory holds.
     */
    private void relayToMailboxNodes(Optional<CertificateAuthority> ca) {
        try {
            var relay = new org.castellan.server.link.EdgeRelay(config.edge().orElseThrow(),
                    config.nodeCertificate().orElseThrow(), store, blocking,
                    ca.map(authority -> authority.crlFile(CertificateKind.NODE)));
            imap.relayTo(relay);
            pop3.relayTo(relay);
            smtp.relayTo(relay);
            http.relayTo(relay);
            ldap.relayTo(relay);
            if (config.listeners().stream().anyMatch(l -> l.protocol() == Protocol.SMTP)) relayMail(relay);
            // A revoked mailbox node's live links close too, not only its next ones (docs/roles.md §6).
            edgeRelay = relay.watchRevocations(tls::revoked);
        } catch (org.castellan.security.tls.TlsConfigException e) {
            throw new StartChecks.StartFailure(config, config.problem("node.certificate", e.getMessage()), e);
        }
        log.info("edge: relaying IMAP, POP3, SMTP, HTTPS and LDAPS to mailbox nodes {} (default {})",
                config.edge().get().nodes().keySet(), config.edge().get().defaultNode());
    }

    /**
     * An edge's MX (docs/roles.md §3 and §5): the relay queue is an embedded store of its own in
     * {@code DATA/relay-queue}, on the edge's disk, so that it takes mail while the shared store's
     * mailbox part or the nodes cannot be reached; its delivery starts once the listeners are bound.
     */
    private void relayMail(org.castellan.server.link.EdgeRelay relay) {
        Path directory = config.server().dataDir().resolve(org.castellan.server.link.RelayQueue.DIRECTORY);
        relayQueueStore = org.castellan.store.embedded.EmbeddedMailStore.open(directory);
        relayQueue = new org.castellan.server.link.RelayQueue(relayQueueStore, relay, store, config.server().hostname(),
                Clock.systemUTC());
        // Bounces are made as the outbound queue's are, into the relay queue: its delivery takes them to the sender's node.
        relayNotifier = new Notifier(relayQueueStore, relayQueueStore, config.server().hostname(),
                config.outbound().delayWarning(), org.castellan.server.link.RelayQueue.MAX_LIFETIME, Clock.systemUTC());
        // On the queue's own thread, so the bounce it enqueues is leased at the queue's next look, at once.
        relayQueue.afterRecord(relayNotifier::runOnce);
        smtp.relayMailTo(relayQueueStore, relayQueue::wake);
        log.info("edge: MX mail waits in {} until its mailbox node takes it", directory);
    }

    /** Ends the delivery (its attempt under way is made again at the next start), then closes the queue. */
    private void closeRelayQueue() {
        if (relayQueue != null) relayQueue.close();
        if (relayNotifier != null) relayNotifier.close();
        relayNotifier = null;
        if (relayQueueStore != null) relayQueueStore.close();
        relayQueue = null;
        relayQueueStore = null;
    }

    /** An edge's MX relay queue and its delivery; null elsewhere. */
    private org.castellan.store.embedded.EmbeddedMailStore relayQueueStore;
    private org.castellan.server.link.RelayQueue relayQueue;
    private Notifier relayNotifier;

    /**
     * {@code DATA/spool}, where messages too large for memory wait while they arrive, ready for
     * use: the files a killed server left there are removed (docs/architecture.md).
     */
    private static Path spoolDirectory(CastellanConfig config) {
        Path spool = config.server().dataDir().resolve(SPOOL_DIRECTORY);
        int removed = MessageSpool.prepare(spool);
        if (removed > 0) log.info("removed {} temporary message file(s) that a stopped server left in {}", removed, spool);
        return spool;
    }

    /**
     * The admin socket, and — when the built-in CA exists — the watcher that enforces its
     * revocations on new handshakes and live sessions (docs/design.md §5.3); and the watcher that
     * puts a renewed server certificate into service without a restart.
     */
    private void startAdministration(Optional<CertificateAuthority> ca) {
        certificates = new CertificateWatcher(tls, config.tls().crlFiles(), sessions()).start();
        if (ca.isPresent()) revocations = new RevocationWatcher(ca.get(), tls, sessions(), Clock.systemUTC()).start();
        // A renewed server certificate reaches the links as it reaches every other listener.
        if (linkTls.isPresent()) linkCertificates = new CertificateWatcher(linkTls.get(), List.of(), sessions()).start();
        if (ca.isPresent() && linkTls.isPresent()) {
            linkRevocations = new RevocationWatcher(ca.get(), linkTls.get(), sessions(), Clock.systemUTC(),
                    List.of(CertificateKind.NODE)).start();
        }
        if (ca.isPresent() && certificateDirectory.isPresent() && config.directory().publish().isPresent()) {
            publishing = new DirectoryPublishing(new DirectoryPublisher(config.directory().publish().get(), ca.get(),
                    certificateDirectory.get()), certificateDirectory.get(), Clock.systemUTC()).start();
        }
        shared = new SharedDirectory(store, auth, Stream.concat(Stream.of(tls), linkTls.stream()).toList(),
                Stream.of(revocations, linkRevocations).filter(Objects::nonNull).toList(), ca, sessions(),
                Clock.systemUTC()).start();
        admin = AdminServer.start(config.server().adminSocket(), sessions(), auth, outboundQueue(),
                () -> notifier.ifPresent(Notifier::afterRecord), Clock.systemUTC(), () -> outbound.ifPresent(OutboundEngine::wake));
        if (edgeRelay != null) admin.answerLinks(edgeRelay::liveLinks);
        if (config.store().kind() == org.castellan.server.config.StoreKind.POSTGRES) {
            cluster = new org.castellan.server.admin.ClusterRequests(store,
                    org.castellan.server.admin.ClusterRequests.nodeName(config), config.server().role(), sessions(), admin, shared).start();
        }
    }

    /**
     * The outbound queue this node delivers from and reports on: the store's, except on an edge,
     * whose store access is the directory alone (docs/roles.md §5); the mailbox nodes deliver
     * what is queued there, and an edge's own mail waits in its relay queue.
     */
    private Optional<OutboundQueue> outboundQueue() {
        if (config.server().role() == org.castellan.server.config.Role.EDGE) return Optional.empty();
        return store instanceof OutboundQueue queue ? Optional.of(queue) : Optional.empty();
    }

    /** Bounces, success reports and delay warnings for the outbound queue (docs/outbound.md §4). */
    private void startNotifier() {
        notifier = outboundQueue().map(queue -> new Notifier(store, queue, config.server().hostname(),
                config.outbound().delayWarning(), config.outbound().giveUp(), Clock.systemUTC()).start());
        notifier.ifPresent(n -> outbound.ifPresent(engine -> engine.afterRecord(n::afterRecord)));
    }

    private void stopNotifier() {
        notifier.ifPresent(Notifier::close);
    }

    private void stopAdministration() {
        if (admin != null) admin.close();
        if (shared != null) shared.close();
        if (revocations != null) revocations.close();
        if (linkRevocations != null) linkRevocations.close();
        if (edgeRelay != null) edgeRelay.close();
        if (linkCertificates != null) linkCertificates.close();
        if (publishing != null) publishing.close();
        if (certificates != null) certificates.close();
    }

    /** An attempt as the store's auth log keeps it; the app password used, if any, is noted in the mechanism. */
    private static AuthAttempt stored(AuthLog.Attempt a) {
        String mechanism = a.mechanism() + a.appPassword().map(id -> " app-password=" + id).orElse("");
        return new AuthAttempt(a.time(), a.remote(), a.listener(), a.protocol(), mechanism,
                a.account().orElse(AuthAttempt.NO_ACCOUNT), a.result(), a.tlsVersion(),
                a.certificateSha256().map(h -> "sha256:" + h), a.reason());
    }

    /** AuthService's defaults, with the configured SCRAM cost and the configured per-host limiter numbers and caps. */
    static AuthSettings authSettings(CastellanConfig config) {
        AuthSettings d = AuthSettings.defaults();
        var a = config.auth();
        return new AuthSettings(a.scramIterations(), d.plainCacheSize(), a.freeFailures(), a.blockAfter(),
                d.networkFreeFailures(), d.networkBlockAfter(), a.firstDelay(), a.maxDelay(), a.blockDuration(),
                d.failureMemory(), d.maxTracked(), d.workerThreads(), a.maxInFlightPerHost(), a.maxInFlightPerAccount());
    }

    static TlsPolicy tlsPolicy(CastellanConfig config, Optional<CertificateAuthority> builtIn,
                               Optional<OcspResponder> responder, boolean refreshCrls) {
        var t = config.tls();
        // Client certificates are trusted from Castellan's own device and user CAs, plus any
        // bundles the operator names; never from the server CA, which only issues servers.
        List<Path> clientCas = new ArrayList<>();
        List<Path> crls = new ArrayList<>();
        if (builtIn.isPresent()) {
            CertificateAuthority ca = builtIn.get();
            // Never start on an expired CRL: every certificate of that CA would be refused.
            if (refreshCrls) RevocationWatcher.refreshStaleCrls(ca, Clock.systemUTC());
            for (CertificateKind kind : RevocationWatcher.CLIENT_KINDS) {
                clientCas.add(ca.caCertificateFile(kind));
                crls.add(ca.crlFile(kind));
            }
        }
        clientCas.addAll(t.clientCaFiles());
        crls.addAll(t.crlFiles());
        return TlsPolicy.builder(t.preset(), t.certificate(), t.key())
                .clientCaFiles(clientCas)
                .crlFiles(crls)
                .sniCertificates(t.sniCertificates())
                .ocsp(t.ocsp())
                // RFC 6066 §8 on every listener: the built-in CA's certificates from its own
                // responder, others from the responder their AIA names.
                .stapling(new OcspStapling(responder, Clock.systemUTC()))
                // "boringssl" is the default, which falls back to the JDK's TLS; only "jdk" is forced.
                .provider(t.provider() == TlsPolicy.Provider.JDK ? TlsPolicy.Provider.JDK : null)
                .build();
    }

    /**
     * The TLS of link listeners (docs/roles.md §2): TLS 1.3 only ({@link TlsPolicy.Preset#MODERN}),
     * client certificates trusted from the node CA alone with its CRL, so that no device, user or
     * operator-named CA opens a link. The server presents its node certificate ([node]) when it
     * has one, else its server certificate ([tls]). Empty when no listener is a link.
     *
     * @throws PkiException if there is a link listener but no built-in CA to trust
     */
    static Optional<TlsPolicy> linkTlsPolicy(CastellanConfig config, Optional<CertificateAuthority> builtIn) {
        if (config.listeners().stream().noneMatch(l -> l.protocol() == Protocol.LINK)) return Optional.empty();
        CertificateAuthority ca = builtIn.orElseThrow(() -> new PkiException("a protocol = \"link\" listener trusts the"
                + " built-in node CA, and " + config.tls().pkiDirectory() + " holds no CA; create it with castellan init"));
        var t = config.tls();
        Path certificate = config.nodeCertificate().map(n -> n.certificate()).orElse(t.certificate());
        Path key = config.nodeCertificate().map(n -> n.key()).orElse(t.key());
        return Optional.of(TlsPolicy.builder(TlsPolicy.Preset.MODERN, certificate, key)
                .clientCaFiles(List.of(ca.caCertificateFile(CertificateKind.NODE)))
                .crlFiles(List.of(ca.crlFile(CertificateKind.NODE)))
                .provider(t.provider() == TlsPolicy.Provider.JDK ? TlsPolicy.Provider.JDK : null)
                // docs/roles.md §2: an edge's next link resumes by ticket; its certificate is verified again.
                .resumeVerifiedSessions()
                .build());
    }

    /**
     * The built-in CA's OCSP responder, or none if its delegated responder certificate cannot be
     * issued or written: the listeners then serve without staples of their own CA's, and say so
     * in the audit, rather than not start.
     */
    static Optional<OcspResponder> responder(CertificateAuthority ca) {
        try {
            return Optional.of(OcspResponder.open(ca, Clock.systemUTC()));
        } catch (PkiException e) {
            log.warn("OCSP responder of the built-in CA unavailable, its certificates are served without staples: {}",
                    e.getMessage());
            return Optional.empty();
        }
    }

    private ProtocolService service(Listener listener) {
        return switch (listener.protocol()) {
            case SMTP, SUBMISSION -> smtp;
            case IMAP -> imap;
            case POP3 -> pop3;
            case HTTPS -> http;
            case HTTP -> plainHttp;
            case LDAPS, LDAP -> ldap;
            case LINK -> link;
        };
    }

    public CastellanConfig config() { return config; }

    public MailStore store() { return store; }

    /** On an edge, its end of the links to mailbox nodes; empty on other roles. */
    public Optional<org.castellan.server.link.EdgeRelay> edgeRelay() { return Optional.ofNullable(edgeRelay); }

    /** The delivery engine, when the store keeps an outbound queue. */
    public Optional<OutboundEngine> outbound() { return outbound; }

    public SessionRegistry sessions() { return transport.registry(); }

    public TlsPolicy tls() { return tls; }

    public AuthService auth() { return auth; }

    /** The outbound queue's notifier, when the store keeps a queue. */
    public Optional<Notifier> notifier() { return notifier; }

    /** Where each listener is bound, by listener name, in configuration order. */
    public Map<String, InetSocketAddress> addresses() { return transport.addresses(); }

    /** Connections the rules refused on a listener since start. */
    public long denied(String listener) { return transport.denied(listener); }

    /**
     * Graceful stop: no new connections, live sessions get {@code server.shutdown-grace} to
     * finish, then the store finishes its queued writes and closes.
     */
    @Override
    public void close() {
        log.info("shutting down");
        stopAdministration();
        try {
            transport.shutdown(config.server().shutdownGrace());
        } finally {
            stopNotifier();
            // Sessions are gone: no store call is queued any more once the executor has drained.
            blocking.close();
            // Attempts under way end; their leases lapse and the recipients are due again at the next start.
            tlsReports.ifPresent(TlsRptSender::close);
            outbound.ifPresent(OutboundEngine::close);
            closeRelayQueue();
            auth.close();
            authLog.close();
            store.close();
        }
        log.info("stopped");
    }
}
