package org.castellan.server.cli;

import java.util.List;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigKeys;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Role;
import org.castellan.server.config.TlsMode;

/**
 * {@code castellan audit}'s rows for a link listener (docs/roles.md §2): what the TLS policy the
 * server would build actually does, checked against the link's invariants — TLS 1.3 only, a
 * node certificate required, the node CA its only trust anchor, a list of edges, on a mailbox
 * node. The configuration reader already refuses the weaker settings; these checks would catch
 * a policy that drifted from them.
 */
final class LinkAudit {

    private LinkAudit() {}

    /** Prints the link's rows and adds a failure for each invariant that does not hold. */
    static void rows(CastellanConfig config, Listener l, TlsPolicy link, CertificateAuthority ca, List<String> failures) {
        TlsPolicy.Description d = link.describe();
        String nodeCa = ca.caCertificate(CertificateKind.NODE).getSubjectX500Principal().getName();
        row("logins", "none: the peers are nodes, named by their certificate's castellan-node:edge/<name>");
        row("link TLS", String.join(", ", d.protocols()) + (d.protocols().equals(List.of("TLSv1.3")) ? " only" : ""));
        row("node certificate", ConfigKeys.choiceName(l.clientCert()) + ", pinned to " + String.join("; ",
                d.clientCertificateAnchors()) + " (" + d.crls() + " CRL)");
        row("edges", l.edges().isEmpty() ? "none" : String.join(", ", l.edges())
                + "; every other address is refused before TLS");
        row("session resumption", link.resumesSessions(l.clientCert())
                ? "TLS 1.3 session tickets: a resumed edge certificate is verified again against the node CA's CRL,"
                        + " and a CRL change replaces the ticket keys"
                : "off: every link verifies the edge's certificate and its revocation");
        String name = "listener " + l.name() + " (link)";
        if (!d.protocols().equals(List.of("TLSv1.3"))) {
            failures.add(name + " allows " + d.protocols() + "; the link is TLS 1.3 only");
        }
        if (l.tls() != TlsMode.IMPLICIT || l.clientCert() != ClientCertMode.REQUIRE) {
            failures.add(name + " does not require a node certificate from the first byte; set tls = \"implicit\" and"
                    + " client-cert = \"require\"");
        }
        if (!d.clientCertificateAnchors().equals(List.of(nodeCa))) {
            failures.add(name + " trusts " + d.clientCertificateAnchors() + "; it must trust the node CA (" + nodeCa
                    + ") alone");
        }
        if (l.edges().isEmpty()) failures.add(name + " lists no edges");
        if (config.server().role() != Role.MAILBOX) failures.add(name + " is on a node of role "
                + ConfigKeys.choiceName(config.server().role()) + "; only a mailbox node takes links");
    }

    /**
     * Prints an edge's link settings (docs/roles.md §2): TLS 1.3, the node CA its links trust
     * alone, its own node certificate's name and dates, and the mailbox nodes; adds a failure
     * for a certificate that does not name an edge, has expired or is not yet valid, or whose
     * issuer is not the built-in node CA.
     */
    static void edgeRows(CastellanConfig config, java.util.Optional<CertificateAuthority> ca, java.time.Instant now,
                         List<String> failures) {
        var edge = config.edge().orElseThrow();
        var node = config.nodeCertificate().orElseThrow();
        System.out.println();
        System.out.println("edge links");
        row("link TLS", String.join(", ", TlsPolicy.Preset.MODERN.protocols()) + " only");
        List<java.security.cert.X509Certificate> chain;
        try {
            chain = org.castellan.security.pki.Pem.readCertificates(node.certificate());
        } catch (org.castellan.security.pki.PkiException e) {
            failures.add("node.certificate " + node.certificate() + " cannot be read: " + e.getMessage());
            return;
        }
        var leaf = chain.get(0);
        String issuer = chain.size() > 1 ? chain.get(1).getSubjectX500Principal().getName() : "none";
        row("node CA", "pinned: " + issuer + ", the issuer in " + node.certificate().getFileName());
        var named = CertificateAuthority.nodeIdentity(leaf);
        row("node certificate", named.map(n -> n.uri()).orElse("no node name") + ", serial "
                + leaf.getSerialNumber().toString(16) + ", valid " + leaf.getNotBefore().toInstant() + " to "
                + leaf.getNotAfter().toInstant());
        java.util.List<String> nodes = new java.util.ArrayList<>(); // by name: the configuration's map keeps no order
        new java.util.TreeMap<>(edge.nodes()).forEach((name, hop) -> nodes.add(name + " at " + hop + (name.equals(edge.defaultNode()) ? " (default)" : "")));
        row("mailbox nodes", String.join(", ", nodes) + "; each must present castellan-node:mailbox/<name>");
        row("placement", "the directory's, else " + edge.defaultNode());
        row("session resumption", "each node's last TLS session, by ticket; a resumed link is checked as a new one"
                + " (the node's name, the node CA's CRL)");
        // docs/roles.md §5: the one mail an edge holds at rest, and where.
        boolean mx = config.listeners().stream().anyMatch(l -> l.protocol() == org.castellan.server.config.Protocol.SMTP);
        row("MX relay queue", mx ? config.server().dataDir().resolve(org.castellan.server.link.RelayQueue.DIRECTORY)
                + " (this edge's disk), delivered to the recipients' nodes" : "none: no smtp listener");
        if (named.isEmpty() || named.get().role() != org.castellan.security.pki.NodeIdentity.Role.EDGE) {
            failures.add("node.certificate names " + named.map(n -> n.uri()).orElse("no node") + "; an edge presents"
                    + " castellan-node:edge/<name> (castellan node add NAME --role edge)");
        }
        if (now.isAfter(leaf.getNotAfter().toInstant()) || now.isBefore(leaf.getNotBefore().toInstant())) {
            failures.add("node.certificate is not valid now (" + leaf.getNotBefore().toInstant() + " to "
                    + leaf.getNotAfter().toInstant() + "); issue another with castellan node add");
        }
        if (chain.size() < 2) {
            failures.add("node.certificate holds no issuing CA after the certificate; use the chain.pem castellan node add wrote");
        } else if (ca.isPresent() && !chain.get(1).equals(ca.get().caCertificate(CertificateKind.NODE))) {
            failures.add("node.certificate was not issued by this data directory's node CA ("
                    + ca.get().caCertificate(CertificateKind.NODE).getSubjectX500Principal().getName() + ")");
        }
    }

    private static void row(String name, String value) {
        System.out.printf("  %-22s %s%n", name + ":", value);
    }
}
