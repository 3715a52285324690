package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.castellan.server.testing.RawHttps;
import org.castellan.testkit.Slapd;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Publishing the user CA's certificates to an enterprise directory ({@code [directory.publish]}):
 * a real OpenLDAP slapd (Debian's, started by the test) holding people entries, reached over
 * StartTLS with its certificate verified. {@code castellan cert issue user} adds the certificate to
 * the entry's {@code userCertificate;binary} (RFC 4523 §2.1), {@code cert revoke} removes it and
 * leaves a certificate from another issuer alone; with slapd down, issuing still succeeds and
 * {@code castellan directory publish} catches up once it is back, idempotently. The entry is found
 * by an equality filter, so an address holding a filter wildcard changes nobody else's entry.
 */
class DirectoryPublishTest {

    private static final String SUFFIX = "dc=example,dc=org";
    private static final String PEOPLE = "ou=people," + SUFFIX;
    private static final String ALICE = LiveServer.ACCOUNT;

    @TempDir Path tmp;
    TestPki pki;
    Slapd slapd;
    Cli cli;

    @BeforeEach
    void start() throws Exception {
        pki = TestPki.create(Files.createDirectories(tmp.resolve("test-pki")));
        slapd = Slapd.start(SUFFIX);
        slapd.add("dn: " + PEOPLE + "\nobjectClass: organizationalUnit\nou: people\n");
        slapd.add(person("alice", ALICE));
        slapd.add(person("xavier", "xavier@example.org"));
        Files.writeString(tmp.resolve("directory.pw"), slapd.rootPassword() + "\n");
        cli = Cli.init(tmp.resolve("data"), ALICE);
        Path config = cli.data.resolve("castellan.toml");
        Files.writeString(config, withPublishing(Files.readString(config)));
    }

    /** The configuration {@code text} with [directory.publish] set to the slapd, over StartTLS. */
    private String withPublishing(String text) {
        // The template has the table, its keys commented out: the settings go right under its header.
        assertThat(text).contains("[directory.publish]\n");
        return text.replace("[directory.publish]\n", String.join("\n", "[directory.publish]",
                "url = \"" + slapd.url() + "\"", "bind-dn = \"" + slapd.rootDn() + "\"",
                "password-file = \"" + tmp.resolve("directory.pw") + "\"", "base-dn = \"" + PEOPLE + "\"",
                "ca-file = \"" + slapd.certificateFile() + "\"", ""));
    }

    @AfterEach
    void stop() {
        if (slapd != null) slapd.close();
    }

    @Test
    void issuingAddsTheCertificateAndRevokingRemovesOnlyIt() throws Exception {
        // A certificate another CA issued to alice, which publishing must never touch.
        byte[] foreign = pki.client().certificate().getEncoded();
        slapd.modify("dn: cn=alice," + PEOPLE + "\nchangetype: modify\nadd: userCertificate;binary\nuserCertificate;binary:: "
                + Base64.getEncoder().encodeToString(foreign) + "\n");

        Cli.Run issue = issueUser(ALICE);
        assertThat(issue.out()).contains("directory: published to " + slapd.url());
        String serial = serial(issue);
        List<X509Certificate> published = certificates(ALICE);
        assertThat(published).extracting(c -> c.getSerialNumber().toString(16)).containsExactlyInAnyOrder(serial,
                pki.client().certificate().getSerialNumber().toString(16));

        Cli.Run revoke = cli.admin("cert", "revoke", serial);
        assertThat(revoke.code()).as(revoke.err()).isZero();
        assertThat(revoke.out()).contains("directory: published to");
        assertThat(certificates(ALICE)).extracting(X509Certificate::getEncoded).containsExactly(foreign);
        assertThat(certificates("xavier@example.org")).isEmpty();
    }

    @Test
    void publishCatchesUpAfterTheDirectoryWasDown() throws Exception {
        slapd.stop();
        Cli.Run issue = issueUser(ALICE);
        assertThat(issue.code()).as("issuing never waits for the directory").isZero();
        assertThat(issue.out()).contains("directory: not published to " + slapd.url())
                .contains("run castellan directory publish");
        slapd.start();
        assertThat(certificates(ALICE)).isEmpty();

        Cli.Run publish = cli.admin("directory", "publish");
        assertThat(publish.code()).as(publish.out() + publish.err()).isZero();
        assertThat(publish.out()).contains("1 updated, 0 unchanged");
        assertThat(certificates(ALICE)).extracting(c -> c.getSerialNumber().toString(16)).containsExactly(serial(issue));
        assertThat(cli.admin("directory", "publish").out()).contains("0 updated, 1 unchanged");

        slapd.stop();
        assertThat(cli.admin("cert", "revoke", serial(issue)).out()).contains("directory: not published");
        Cli.Run unreachable = cli.admin("directory", "publish");
        assertThat(unreachable.code()).isEqualTo(Main.FAILURE);
        assertThat(unreachable.out()).contains("1 failed");
        slapd.start();
        assertThat(cli.admin("directory", "publish").out()).contains("1 updated");
        assertThat(certificates(ALICE)).isEmpty();
    }

    @Test
    void anAddressWithFilterCharactersChangesNobodyElsesEntry() throws Exception {
        // RFC 5322 allows '*' in a local part; pasted into a filter it would be a wildcard matching xavier.
        String starred = "x*@example.org";
        Cli.Run user = cli.withStdin(Cli.Pop3Password.VALUE + "\n", "user", "add", starred, "--password-stdin");
        assertThat(user.code()).as(user.err()).isZero();
        Cli.Run issue = issueUser(starred);
        assertThat(issue.out()).contains("directory: no entry (mail=" + starred + ")");
        assertThat(certificates("xavier@example.org")).isEmpty();
        Cli.Run publish = cli.admin("directory", "publish");
        assertThat(publish.out()).contains("0 updated").contains("1 without an entry");
        assertThat(certificates("xavier@example.org")).isEmpty();
    }

    @Test
    void theRunningServerPublishesACertificateIssuedByEnrollment() throws Exception {
        try (LiveServer live = LiveServer.start(tmp.resolve("live"), "", this::withPublishing);
             RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            var csr = EstEnrollmentTest.csr("CN=" + ALICE, EstEnrollmentTest.ecKeys(), ALICE);
            RawHttps.Response enrolled = http.exchange(EstEnrollmentTest.post("/.well-known/est/user/simpleenroll",
                    EstEnrollmentTest.base64(csr.getEncoded()), EstEnrollmentTest.basic(ALICE, Cli.Pop3Password.VALUE)));
            assertThat(enrolled.status()).as(enrolled.text()).isEqualTo(200);
            // Nothing but the server itself publishes here: no command line runs.
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(certificates(ALICE)).hasSize(1));
            assertThat(certificates(ALICE).getFirst().getSubjectX500Principal().getName()).contains("CN=" + ALICE);
        }
    }

    private Cli.Run issueUser(String address) {
        Cli.Run r = cli.withStdin(LiveServer.P12_PASSPHRASE + "\n", "cert", "issue", "user", address, "--passphrase-stdin",
                "--out", tmp.resolve("handed-over").resolve(address).toString());
        assertThat(r.code()).as(r.err()).isZero();
        return r;
    }

    private static String serial(Cli.Run issue) {
        Matcher m = Pattern.compile("certificate ([0-9a-f]+)").matcher(issue.out());
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    /** The certificates in the entry of {@code address}, as ldapsearch prints them from slapd. */
    private List<X509Certificate> certificates(String address) throws Exception {
        String ldif = slapd.search("(mail=" + address + ")", "userCertificate;binary");
        assertThat(ldif).as("the entry exists").contains("dn: ");
        List<X509Certificate> out = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^userCertificate;binary:: (\\S+)$").matcher(ldif);
        while (m.find()) {
            out.add((X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(m.group(1)))));
        }
        return out;
    }

    private static String person(String cn, String mail) {
        return "dn: cn=" + cn + "," + PEOPLE + "\nobjectClass: inetOrgPerson\ncn: " + cn + "\nsn: " + cn + "\nmail: " + mail + "\n";
    }
}
