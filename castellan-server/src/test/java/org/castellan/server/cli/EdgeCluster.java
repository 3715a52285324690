package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.DriverManager;
import java.sql.Statement;
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
    private final String database;
    final Castellan[] mailbox = new Castellan[2];
    final Path[] mailboxConfig = new Path[2];

    private EdgeCluster(Path tmp, Postgres postgres, String database) throws Exception {
        this.tmp = tmp;
        this.postgres = postgres;
        this.database = database;
        try (var c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + database);
        }
        base = tmp.resolve("base");
        Cli.Run init = Cli.raw(null, "init", "--data", base.toString(), "--hostname", "localhost", "--port-base", "0");
        assertThat(init.code()).as(init.err()).isZero();
        Files.writeString(base.resolve("postgres.pass"), postgres.password() + "\n");
        Files.setPosixFilePermissions(base.resolve("postgres.pass"), PosixFilePermissions.fromString("rw-------"));
        String text = Files.readString(base.resolve("castellan.toml"));
        Files.writeString(base.resolve("castellan.toml"), text.replace("\n# kind = \"embedded\"\n", store()));
        assertThat(Cli.raw(null, "domain", "add", "example.org", "--data", base.toString()).code()).isZero();
        addUser(ALICE);
        addUser(BOB);
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

    String store() {
        return "\nkind = \"postgres\"\nurl = \"postgres://127.0.0.1:" + postgres.port() + "/" + database + "\"\nuser = \""
                + postgres.user() + "\"\npassword-file = \"" + base.resolve("postgres.pass") + "\"\npool-size = 4\n";
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
        Path data = Files.createDirectories(tmp.resolve(name));
        Path file = data.resolve("castellan.toml");
        Files.writeString(file, "[server]\nhostname = \"localhost\"\ndata-dir = \"" + data + "\"\nrole = \"" + role + "\"\n"
                + "[store]" + store()
                + "[tls]\ncertificate = \"" + base.resolve("tls/chain.pem") + "\"\nkey = \"" + base.resolve("tls/key.pem")
                + "\"\npki-directory = \"" + base.resolve("pki") + "\"\n"
                + "[node]\ncertificate = \"" + nodeCertificate.resolve(IssuedCertificate.CHAIN_FILE) + "\"\nkey = \""
                + nodeCertificate.resolve(IssuedCertificate.KEY_FILE) + "\"\n"
                + tables + listeners);
        return file;
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
