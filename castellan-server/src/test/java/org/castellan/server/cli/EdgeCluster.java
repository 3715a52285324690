package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.testkit.Postgres;

/**
 * Two mailbox nodes on one testkit PostgreSQL, sharing one {@code castellan init}'s CA and server
 * certificate (docs/roles.md, docs/administration.md "An edge and two mailbox nodes"): alice has
 * no placement (the default node, mailbox-1), bob is placed on mailbox-2. Tests start edges with
 * {@link #config} and {@link #edgeTable}, and stop and start nodes through {@link #mailbox}.
 */
final class EdgeCluster implements AutoCloseable {

    static final String ALICE = "alice@example.org";
    static final String BOB = "bob@example.org";
    static final String PASSWORD = "correct horse battery";

    final Path tmp;
    final Path base;
    final Postgres postgres;
    final CertificateAuthority ca;
    final Castellan[] mailbox = new Castellan[2];
    final Path[] mailboxConfig = new Path[2];

    private final SharedBase shared;

    private EdgeCluster(Path tmp, Postgres postgres, String database) throws Exception {
        this.tmp = tmp;
        this.postgres = postgres;
        shared = SharedBase.init(tmp, postgres, database, PASSWORD, ALICE, BOB);
        base = shared.base();
        ca = CertificateAuthority.load(base.resolve("pki"));
    }

    /** A PostgreSQL with database {@code database}, the accounts, and both mailbox nodes running with bob placed. */
    static EdgeCluster start(Path tmp, String database) throws Exception {
        Postgres postgres = Postgres.start();
        EdgeCluster cluster;
        try {
            cluster = new EdgeCluster(tmp, postgres, database);
        } catch (Exception | AssertionError e) {
            postgres.close();
            throw e;
        }
        try {
            for (int i = 0; i < 2; i++) {
                String name = "mailbox-" + (i + 1);
                cluster.mailboxConfig[i] = cluster.config(name, "mailbox",
                        cluster.nodeCertificate(new NodeIdentity(NodeIdentity.Role.MAILBOX, name), Duration.ofDays(90)), "",
                        "[[listener]]\nname = \"link\"\nprotocol = \"link\"\naddress = \"127.0.0." + (i + 2) + "\"\nport = 0\n"
                                + "tls = \"implicit\"\nclient-cert = \"require\"\nedges = [\"127.0.0.0/8\"]\n");
                cluster.mailbox[i] = Castellan.start(CastellanConfig.load(cluster.mailboxConfig[i]));
                // Restarted on the same port, as an operator's configuration would have it.
                String written = Files.readString(cluster.mailboxConfig[i]);
                Files.writeString(cluster.mailboxConfig[i], written.replace("port = 0", "port = " + cluster.linkPort(i)));
            }
            Cli.Run place = Cli.raw(null, "user", "place", BOB, "mailbox-2", "--data", cluster.base.toString());
            assertThat(place.code()).as(place.err()).isZero();
        } catch (Exception | AssertionError e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /** Adds an account with {@link #PASSWORD} through the command line ({@code user add}), with {@code options}. */
    void addUser(String account, String... options) {
        List<String> args = new java.util.ArrayList<>(List.of("user", "add", account, "--password-stdin", "--data", base.toString()));
        args.addAll(List.of(options));
        Cli.Run user = Cli.raw(PASSWORD + "\n", args.toArray(String[]::new));
        assertThat(user.code()).as(user.err()).isZero();
    }

    /** A node certificate from the node CA, written where a [node] table names it; returns its directory. */
    Path nodeCertificate(NodeIdentity node, Duration validity) {
        IssuedCertificate issued = ca.issueNode(node, List.of("localhost"), validity);
        Path out = tmp.resolve("certs").resolve(node.role().name().toLowerCase() + "-" + node.name() + "-" + validity.toSeconds());
        issued.writeTo(out);
        return out;
    }

    /** A node's configuration: its own data directory; the store, CA and server certificate shared. */
    Path config(String name, String role, Path nodeCertificate, String tables, String listeners) throws IOException {
        return shared.nodeConfig(tmp, name, role, nodeCertificate, tables, listeners);
    }

    /** An edge's [edge] table naming both nodes, mailbox-1 the default. */
    String edgeTable() {
        return "[edge]\nnodes = [\"mailbox-1=127.0.0.2:" + linkPort(0) + "\", \"mailbox-2=127.0.0.3:" + linkPort(1)
                + "\"]\ndefault-node = \"mailbox-1\"\n";
    }

    /** Node {@code node}'s link port: its listener's while it runs, else the one its configuration keeps. */
    int linkPort(int node) {
        if (mailbox[node] != null) return mailbox[node].addresses().get("link").getPort();
        try {
            return Integer.parseInt(Files.readString(mailboxConfig[node]).replaceAll("(?s).*\nport = (\\d+)\n.*", "$1"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        for (Castellan m : mailbox) if (m != null) m.close();
        postgres.close();
    }
}
