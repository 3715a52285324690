package org.castellan.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.security.pki.Pem;
import org.castellan.server.admin.AdminClient;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.Edge;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Outbound;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.Role;
import org.castellan.server.link.LinkService;

/**
 * The links part of {@code castellan node list} (docs/roles.md §4): on an edge, each mailbox node
 * of {@code [edge] nodes} probed now — a TLS 1.3 handshake with this edge's node certificate and
 * the node's greeting, timed — with the TLS version and cipher and the node certificate's name and
 * dates, and the running edge's links to it carrying a session (LIVE) and kept open for the next (IDLE), from its admin socket's {@code links}; on a mailbox node, the live link sessions of the running server per edge, from its admin
 * socket.
 *
 * <p>SECURITY: a probe is a link as the edge would open it, trusting the node CA of its own chain
 * alone; it sends no opening line, so it asserts nobody, and the node closes it (or the probe
 * does) after the greeting. It reads the [node] key, as the server does: run it as the server's user.
 */
final class NodeLinks {

    /** A healthy node greets within milliseconds; past this the probe says it is not answering. */
    static final int PROBE_TIMEOUT_MILLIS = 10_000;

    private NodeLinks() {}

    /** Prints the local node's links, if it is an edge or a mailbox node. */
    static void print(CastellanConfig config) {
        if (config.server().role() == Role.EDGE && config.edge().isPresent() && config.nodeCertificate().isPresent()) {
            System.out.println();
            String format = "%-16s  %-22s  %-6s  %-8s  %-4s  %-4s  %-8s  %-24s  %-24s  %-20s  %s%n";
            System.out.printf(Locale.ROOT, format, "LINK TO", "ADDRESS", "HEALTH", "TIME", "LIVE", "IDLE", "TLS", "CIPHER",
                    "NODE CERTIFICATE", "NOT BEFORE", "NOT AFTER / REASON");
            Edge edge = config.edge().get();
            Map<String, Long> live = liveLinks(config, false);
            Map<String, Long> idle = liveLinks(config, true);
            for (Map.Entry<String, Outbound.NextHop> n : new TreeMap<>(edge.nodes()).entrySet()) {
                Probe p = probe(config, n.getKey(), n.getValue());
                String count = live == null ? "-" : Long.toString(live.getOrDefault(n.getKey(), 0L));
                String kept = idle == null ? "-" : Long.toString(idle.getOrDefault(n.getKey(), 0L));
                if (p.failure() != null) {
                    System.out.printf(Locale.ROOT, format, n.getKey(), n.getValue(), "down", p.millis() + "ms", count, kept,
                            "-", "-", "-", "-", p.failure());
                } else {
                    System.out.printf(Locale.ROOT, format, n.getKey(), n.getValue(), "ok", p.millis() + "ms", count, kept,
                            p.protocol(), p.cipher(), p.peer().getSerialNumber().toString(16),
                            p.peer().getNotBefore().toInstant(), p.peer().getNotAfter().toInstant());
                }
            }
            if (live == null) System.out.println("(LIVE: no running server answers at " + config.server().adminSocket() + ")");
        } else if (config.server().role() == Role.MAILBOX) {
            System.out.println();
            Set<String> links = config.listeners().stream().filter(l -> l.protocol() == Protocol.LINK).map(Listener::name)
                    .collect(Collectors.toSet());
            JsonNode answer;
            try {
                answer = new AdminClient(config.server().adminSocket()).request(SessionsCommand.request("sessions"));
            } catch (AdminClient.AdminException e) {
                System.out.println("LINKS FROM EDGES: not counted, no running server answers at " + config.server().adminSocket());
                return;
            }
            Map<String, Long> perEdge = new TreeMap<>();
            for (JsonNode s : answer.path("sessions")) {
                if (!links.contains(s.path("listener").asText())) continue;
                perEdge.merge(commonName(s.path("certificateSubject").asText("?")), 1L, Long::sum);
            }
            System.out.printf(Locale.ROOT, "%-24s  %s%n", "LINKS FROM EDGE", "LIVE SESSIONS");
            perEdge.forEach((edge, count) -> System.out.printf(Locale.ROOT, "%-24s  %d%n", edge, count));
            if (perEdge.isEmpty()) System.out.println("(no live link sessions)");
        }
    }

    /**
     * The running edge's live links per node (its admin socket's {@code links}), those carrying a
     * session or, with {@code idle}, those kept open for the next (docs/roles.md §2); null when no
     * server answers.
     */
    private static Map<String, Long> liveLinks(CastellanConfig config, boolean idle) {
        try {
            JsonNode answer = new AdminClient(config.server().adminSocket()).request(SessionsCommand.request("links"));
            Map<String, Long> perNode = new TreeMap<>();
            for (JsonNode l : answer.path("links")) {
                if (l.path("idle").asBoolean() == idle) perNode.merge(l.path("node").asText(), 1L, Long::sum);
            }
            return perNode;
        } catch (AdminClient.AdminException e) {
            return null;
        }
    }

    /** What one probe found: a failure's reason, or the handshake's parameters and the node's certificate. */
    record Probe(long millis, String failure, String protocol, String cipher, X509Certificate peer) {}

    /** A link opened to {@code node} as the edge would, up to the greeting, then closed. */
    static Probe probe(CastellanConfig config, String node, Outbound.NextHop at) {
        long start = System.nanoTime();
        try (SSLSocket socket = (SSLSocket) context(config).getSocketFactory().createSocket()) {
            socket.setEnabledProtocols(new String[] {"TLSv1.3"}); // docs/roles.md §2: the link is TLS 1.3 only
            socket.setSoTimeout(PROBE_TIMEOUT_MILLIS);
            socket.connect(new InetSocketAddress(at.host(), at.port()), PROBE_TIMEOUT_MILLIS);
            socket.startHandshake();
            X509Certificate peer = (X509Certificate) socket.getSession().getPeerCertificates()[0];
            NodeIdentity expected = new NodeIdentity(NodeIdentity.Role.MAILBOX, node);
            var named = CertificateAuthority.nodeIdentity(peer);
            if (!named.equals(java.util.Optional.of(expected))) {
                return failed(start, "its certificate names " + named.map(NodeIdentity::uri).orElse("no node") + ", not "
                        + expected.uri());
            }
            String greeting = line(socket.getInputStream());
            if (!greeting.startsWith(LinkService.GREETING + " ")) {
                return failed(start, greeting.isEmpty() ? "it closed the link without a greeting (does it list this edge?)"
                        : "no link greeting");
            }
            return new Probe(millis(start), null, socket.getSession().getProtocol(), socket.getSession().getCipherSuite(), peer);
        } catch (IOException | java.security.GeneralSecurityException | RuntimeException e) {
            return failed(start, e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    private static Probe failed(long start, String why) {
        return new Probe(millis(start), why, null, null, null);
    }

    private static long millis(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }

    /** TLS with the [node] certificate, trusting the node CA of its chain alone, as the edge's links do. */
    private static SSLContext context(CastellanConfig config) throws java.security.GeneralSecurityException, IOException {
        var files = config.nodeCertificate().orElseThrow();
        List<X509Certificate> chain = Pem.readCertificates(files.certificate());
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("node", Pem.readPrivateKey(files.key()), new char[0], chain.toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        for (int i = 1; i < chain.size(); i++) trust.setCertificateEntry("ca" + i, chain.get(i));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
    }

    /** One line up to LF, at most {@link org.castellan.protocol.link.LinkOpening#MAX_LINE} octets; empty at end of stream. */
    private static String line(InputStream in) throws IOException {
        StringBuilder text = new StringBuilder();
        for (int c; (c = in.read()) >= 0 && c != '\n' && text.length() < org.castellan.protocol.link.LinkOpening.MAX_LINE; ) {
            text.append((char) c);
        }
        return new String(text.toString().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.US_ASCII).strip();
    }

    private static String commonName(String subject) {
        var m = java.util.regex.Pattern.compile("(?:^|,)\\s*CN=([^,]+)").matcher(subject);
        return m.find() ? m.group(1) : subject;
    }
}
