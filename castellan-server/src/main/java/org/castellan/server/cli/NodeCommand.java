package org.castellan.server.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.IssuedEntry;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.security.pki.RevocationReason;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.Protocol;
import org.castellan.server.http.est.NodeJoinTokens;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan node}: the certificates of the nodes of an edge/mailbox deployment
 * (docs/roles.md §4), issued by the node CA. The CA's index is the list of nodes: a node is the
 * owner {@code castellan-node:<role>/<name>} of its certificates.
 *
 * <p>SECURITY: {@code add} makes a one-time join token (only its hash is kept) and prints it with
 * the root's fingerprint; the node makes its own key and fetches its certificate over EST
 * ({@link NodeJoin}), so the key never leaves it. With {@code --out}, as {@code castellan cert
 * issue}, the key is made here and written only into that directory (0700, files 0600), to be
 * carried to the node; the data directory keeps the certificate and the index entry.
 */
@Command(name = "node", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Node certificates for the edge/mailbox link, from the node CA (docs/roles.md).",
        subcommands = {NodeCommand.Add.class, NodeJoin.class, NodeCommand.ListNodes.class, NodeCommand.Revoke.class})
final class NodeCommand {

    /**
     * Node certificates are renewed by the operator (or, later, by the node over EST): 90 days, as
     * ACME CAs issue, keeps a stolen edge key short-lived without making renewal a yearly surprise.
     */
    static final int DEFAULT_DAYS = 90;

    @Command(name = "add", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Make a one-time join token for a new node: the node makes its key and fetches its",
                    "certificate over EST with it (castellan node join), so the key never travels. The",
                    "certificate is serverAuth and clientAuth, named by the URI castellan-node:ROLE/NAME and by",
                    "its DNS names (--dns). With --out, the certificate and key are made here and written there."})
    static final class Add implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "NAME", description = "The node's name: one DNS label in lower case (a-z, 0-9, '-').")
        String name;
        @Option(names = "--role", required = true, paramLabel = "edge|mailbox", description = "What the node does.")
        String role;
        @Option(names = "--dns", paramLabel = "HOST", description = "A DNS name of the node (repeatable).")
        List<String> dns = new ArrayList<>();
        @Option(names = "--days", paramLabel = "N", description = "Validity in days (default: " + DEFAULT_DAYS + ").")
        int days = DEFAULT_DAYS;
        @Option(names = "--hours", paramLabel = "N", description = "How long the join token is good for (default: 24).")
        int hours = (int) NodeJoinTokens.DEFAULT_VALIDITY.toHours();
        @Option(names = "--out", paramLabel = "DIR", description = "Instead of a join token: issue the certificate"
                + " here and write the node's key, chain and NAME.p12 into DIR (created 0700); carry them to the node,"
                + " then delete them.")
        Path out;
        @Option(names = "--passphrase-stdin", description = "With --out: read the PKCS#12 passphrase from the first line"
                + " of standard input (default: generate one and show it once).")
        boolean passphraseFromStdin;

        @Override
        public Integer call() throws Exception {
            NodeIdentity node = identity(name, role);
            CertCommand.IssueOptions options = new CertCommand.IssueOptions();
            options.days = days;
            options.out = out;
            options.passphraseFromStdin = passphraseFromStdin;
            Duration validity = options.validity();
            CastellanConfig config = where.load();
            CertificateAuthority ca = CertCommand.ca(config);
            Optional<IssuedEntry> current = current(ca, name, Instant.now());
            if (current.isPresent()) {
                throw new Failures.BadInput("node " + name + " already has a valid certificate, " + current.get().serialHex()
                        + " (" + current.get().owner() + "); revoke it first: castellan node revoke " + name);
            }
            if (out != null) {
                return CertCommand.issue(where, options, c -> c.issueNode(node, dns, validity), name, Optional.empty());
            }
            if (hours < 1 || hours > EnrollCommand.MAX_HOURS) {
                throw new Failures.BadInput("--hours must be from 1 to " + EnrollCommand.MAX_HOURS + ", not " + hours);
            }
            List<String> names = CertCommand.badInput(() -> dns.stream().map(CertificateAuthority::requireHostName).toList());
            var made = new NodeJoinTokens(ca.directory(), Clock.systemUTC()).make(node, names, validity, Duration.ofHours(hours));
            String fingerprint = NodeJoin.fingerprint(ca.rootCertificate());
            System.out.println("token: " + made.text());
            System.out.println("ca-fingerprint: " + fingerprint);
            System.out.println("join: castellan node join " + estUrl(config) + " " + made.text() + " --name " + name
                    + " --role " + node.role().label() + " --ca-fingerprint " + fingerprint + " --out DIR");
            System.err.println("join token " + made.grant().id() + " for " + node.uri() + ", good once until "
                    + made.grant().expiresAt() + "; the node's key stays on the node. Then name DIR/"
                    + IssuedCertificate.CHAIN_FILE + " and DIR/" + IssuedCertificate.KEY_FILE + " in its [node] table.");
            return Main.OK;
        }

        /** Where this server's EST is: its first HTTPS listener, or a placeholder naming what is missing. */
        private static String estUrl(CastellanConfig config) {
            return config.listeners().stream().filter(l -> l.protocol() == Protocol.HTTPS).findFirst()
                    .map(l -> "https://" + config.server().hostname() + ":" + l.port())
                    .orElse("https://" + config.server().hostname() + ":PORT-OF-AN-HTTPS-LISTENER");
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"List the nodes' certificates, oldest first, and the join tokens; then the local node's",
                    "links: on an edge, each mailbox node probed now; on a mailbox node, the live links per edge."})
    static final class ListNodes implements Callable<Integer> {
        @Mixin DataOptions where;

        @Override
        public Integer call() throws Exception {
            CastellanConfig config = where.load();
            if (!Files.isDirectory(config.tls().pkiDirectory())) {
                // An edge or mailbox node need not hold the CA: its links are still worth showing.
                System.out.println("no certificate authority in " + config.tls().pkiDirectory() + "; the node certificates"
                        + " are listed where castellan init made it");
                NodeLinks.print(config);
                return Main.OK;
            }
            CertificateAuthority ca = CertCommand.ca(config);
            Instant now = Instant.now();
            String format = "%-24s  %-7s  %-32s  %-41s  %s%n";
            System.out.printf(Locale.ROOT, format, "NAME", "ROLE", "SERIAL", "VALIDITY", "STATUS");
            for (IssuedEntry e : nodes(ca)) {
                NodeIdentity node = NodeIdentity.parse(e.owner()).orElseThrow();
                // ISO 8601 interval: one word, so that the columns stay split by spaces.
                System.out.printf(Locale.ROOT, format, node.name(), node.role().label(), e.serialHex(),
                        e.notBefore() + "/" + e.notAfter(), CertCommand.status(e, now));
            }
            List<NodeJoinTokens.Grant> tokens = new NodeJoinTokens(ca.directory(), Clock.systemUTC()).list();
            if (!tokens.isEmpty()) {
                System.out.println();
                String tokenFormat = "%-20s  %-40s  %-20s  %s%n";
                System.out.printf(Locale.ROOT, tokenFormat, "JOIN TOKEN", "FOR", "EXPIRES", "STATE");
                for (NodeJoinTokens.Grant t : tokens) {
                    System.out.printf(Locale.ROOT, tokenFormat, t.id(), t.node().uri(), t.expiresAt(),
                            t.used() ? "used" : t.expiresAt().isAfter(now) ? "unused" : "expired");
                }
            }
            NodeLinks.print(config);
            return Main.OK;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Revoke every certificate of a node that is not revoked yet, and rewrite the node CA's CRL.",
                    "A running mailbox node closes the node's live links within a second."})
    static final class Revoke implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "NAME", description = "The node's name, as 'node list' shows it.") String name;
        @Option(names = "--reason", paramLabel = "R", description = CertCommand.REASONS)
        String reason = RevocationReason.UNSPECIFIED.label();

        @Override
        public Integer call() throws Exception {
            RevocationReason why = CertCommand.badInput(() -> RevocationReason.fromLabel(reason));
            CertificateAuthority ca = CertCommand.ca(where.load());
            List<IssuedEntry> live = nodes(ca).stream().filter(e -> named(e, name) && !e.revoked()).toList();
            if (live.isEmpty()) {
                throw new Failures.BadInput("node " + name + " has no certificate to revoke; 'castellan node list' shows them");
            }
            for (IssuedEntry e : live) {
                IssuedEntry revoked = CertCommand.badInput(() -> ca.revoke(e.serial(), why));
                System.out.println("revoked node certificate " + revoked.serialHex() + " (" + revoked.owner() + ") for "
                        + why.label());
            }
            return Main.OK;
        }
    }

    private static NodeIdentity identity(String name, String role) {
        if (!NodeIdentity.isValidName(name)) {
            throw new Failures.BadInput("'" + name + "' is not a node name; use one DNS label in lower case: 1 to 63"
                    + " letters a-z, digits and '-', not starting or ending with '-'");
        }
        NodeIdentity.Role parsed = NodeIdentity.Role.fromLabel(role)
                .orElseThrow(() -> new Failures.BadInput("--role is edge or mailbox, not " + role));
        return new NodeIdentity(parsed, name);
    }

    /** The node certificates in the CA's index whose owner is a node URI. */
    private static List<IssuedEntry> nodes(CertificateAuthority ca) {
        return ca.issued().stream()
                .filter(e -> e.kind() == CertificateKind.NODE && NodeIdentity.parse(e.owner()).isPresent())
                .toList();
    }

    private static boolean named(IssuedEntry e, String name) {
        return NodeIdentity.parse(e.owner()).map(n -> n.name().equals(name)).orElse(false);
    }

    /** The node's certificate that is neither revoked nor expired, if any. */
    private static Optional<IssuedEntry> current(CertificateAuthority ca, String name, Instant now) {
        return nodes(ca).stream().filter(e -> named(e, name) && !e.revoked() && e.notAfter().isAfter(now)).findFirst();
    }
}
