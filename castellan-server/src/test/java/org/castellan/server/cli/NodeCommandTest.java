package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Collections;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.NodeIdentity;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan node add | list | revoke} on a real data directory. */
class NodeCommandTest {

    private static final String PASSPHRASE = "node pass phrase";

    @TempDir Path tmp;
    Cli cli;

    @BeforeEach
    void init() {
        cli = Cli.init(tmp.resolve("data"), "alice@example.org");
    }

    private Cli.Run add(String... args) {
        String[] all = new String[args.length + 4];
        all[0] = "node";
        all[1] = "add";
        System.arraycopy(args, 0, all, 2, args.length);
        all[args.length + 2] = "--passphrase-stdin";
        all[args.length + 3] = "--out=" + tmp.resolve("carry").resolve(args[0]);
        return cli.withStdin(PASSPHRASE + "\n", all);
    }

    @Test
    void addIssuesANodeCertificateForTheNodeToCarryAway() throws Exception {
        Cli.Run r = add("edge-1", "--role", "edge", "--dns", "edge-1.example.org");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("issued node certificate", "subject:  CN=edge-1,O=Castellan");

        Path p12 = tmp.resolve("carry/edge-1/edge-1.p12");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p12))).isEqualTo("rw-------");
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(p12)) {
            store.load(in, PASSPHRASE.toCharArray());
        }
        X509Certificate leaf = (X509Certificate) store.getCertificate(Collections.list(store.aliases()).get(0));
        assertThat(CertificateAuthority.nodeIdentity(leaf)).contains(new NodeIdentity(NodeIdentity.Role.EDGE, "edge-1"));
        assertThat(Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()))
                .as("90 days by default, plus the hour of backdating").isEqualTo(Duration.ofDays(90).plusHours(1));
        assertThat(leaf.getSubjectAlternativeNames()).contains(java.util.List.of(2, "edge-1.example.org"));
        assertThat(Files.list(cli.data).map(p -> p.getFileName().toString())).doesNotContain("nodes");
    }

    @Test
    void listShowsEachNodeWithRoleSerialExpiryAndStatusAndRevokeTakesItOut() {
        assertThat(add("edge-1", "--role", "edge").code()).isZero();
        assertThat(add("mbox-1", "--role", "mailbox", "--days", "30").code()).isZero();

        String list = cli.admin("node", "list").out().replaceAll(" +", " ");
        assertThat(list).containsPattern("edge-1 edge [0-9a-f]{32} \\S+ valid")
                .containsPattern("mbox-1 mailbox [0-9a-f]{32} \\S+ valid");

        Cli.Run again = add("edge-1", "--role", "edge");
        assertThat(again.code()).isNotZero();
        assertThat(again.err()).contains("node edge-1 already has a valid certificate", "castellan node revoke edge-1");

        Cli.Run revoke = cli.admin("node", "revoke", "edge-1", "--reason", "key-compromise");
        assertThat(revoke.code()).as(revoke.err()).isZero();
        assertThat(revoke.out()).contains("revoked node certificate", "castellan-node:edge/edge-1", "key-compromise");
        assertThat(cli.admin("node", "list").out().replaceAll(" +", " ")).containsPattern("edge-1 edge [0-9a-f]{32} \\S+ revoked");
        assertThat(cli.admin("node", "revoke", "edge-1").err()).contains("node edge-1 has no certificate to revoke");
        assertThat(add("edge-1", "--role", "edge").code()).as("a revoked node can be given a new certificate").isZero();
    }

    @Test
    void badNamesAndRolesAreRefusedWithTheExpectedForm() {
        Cli.Run upper = add("Edge1", "--role", "edge");
        assertThat(upper.code()).isNotZero();
        assertThat(upper.err()).contains("'Edge1' is not a node name; use one DNS label in lower case");
        assertThat(add("edge_1", "--role", "edge").err()).contains("is not a node name");
        assertThat(add("-edge", "--role", "edge").code()).isNotZero();
        Cli.Run role = add("edge-1", "--role", "all");
        assertThat(role.code()).isNotZero();
        assertThat(role.err()).contains("--role is edge or mailbox, not all");
        assertThat(add("edge-1", "--role", "edge", "--dns", "bad name").err()).contains("'bad name' is not a DNS name");
    }
}
