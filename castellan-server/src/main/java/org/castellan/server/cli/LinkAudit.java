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

    private static void row(String name, String value) {
        System.out.printf("  %-22s %s%n", name + ":", value);
    }
}
