package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.DriverManager;
import java.sql.Statement;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.testkit.Postgres;

/**
 * What the nodes of an edge/mailbox test share (docs/roles.md): one `castellan init` whose CA (with
 * the node CA) and server certificate serve every node, its store a database of one PostgreSQL,
 * the domain example.org and some accounts; and each node's configuration beside it.
 *
 * @param base the data directory of the `castellan init`
 * @param store the [store] table's keys that reach the shared database
 */
record SharedBase(Path base, String store) {

    /** {@code castellan init} in {@code tmp/base}, switched to a new database {@code database}, with {@code accounts}. */
    static SharedBase init(Path tmp, Postgres postgres, String database, String password, String... accounts)
            throws Exception {
        try (var c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + database);
        }
        Path base = tmp.resolve("base");
        Cli.Run init = Cli.raw(null, "init", "--data", base.toString(), "--hostname", "localhost", "--port-base", "0");
        assertThat(init.code()).as(init.err()).isZero();
        Files.writeString(base.resolve("postgres.pass"), postgres.password() + "\n");
        Files.setPosixFilePermissions(base.resolve("postgres.pass"), PosixFilePermissions.fromString("rw-------"));
        String store = "\nkind = \"postgres\"\nurl = \"postgres://127.0.0.1:" + postgres.port() + "/" + database + "\"\nuser = \""
                + postgres.user() + "\"\npassword-file = \"" + base.resolve("postgres.pass") + "\"\npool-size = 4\n";
        String text = Files.readString(base.resolve("castellan.toml"));
        Files.writeString(base.resolve("castellan.toml"), text.replace("\n# kind = \"embedded\"\n", store));
        assertThat(Cli.raw(null, "domain", "add", "example.org", "--data", base.toString()).code()).isZero();
        for (String account : accounts) {
            Cli.Run user = Cli.raw(password + "\n", "user", "add", account, "--password-stdin", "--data", base.toString());
            assertThat(user.code()).as(user.err()).isZero();
        }
        return new SharedBase(base, store);
    }

    /**
     * A node's configuration in {@code tmp/name}: its own data directory; the store, CA and server
     * certificate shared; the node certificate from {@code nodeCertificate}'s chain and key files.
     */
    Path nodeConfig(Path tmp, String name, String role, Path nodeCertificate, String tables, String listeners)
            throws IOException {
        Path data = Files.createDirectories(tmp.resolve(name));
        Path file = data.resolve("castellan.toml");
        Files.writeString(file, "[server]\nhostname = \"localhost\"\ndata-dir = \"" + data + "\"\nrole = \"" + role + "\"\n"
                + "[store]" + store
                + "[tls]\ncertificate = \"" + base.resolve("tls/chain.pem") + "\"\nkey = \"" + base.resolve("tls/key.pem")
                + "\"\npki-directory = \"" + base.resolve("pki") + "\"\n"
                + "[node]\ncertificate = \"" + nodeCertificate.resolve(IssuedCertificate.CHAIN_FILE) + "\"\nkey = \""
                + nodeCertificate.resolve(IssuedCertificate.KEY_FILE) + "\"\n"
                + tables + listeners);
        return file;
    }
}
