package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import org.castellan.security.mailauth.DkimAlgorithm;
import org.castellan.server.dkim.DkimKeys;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan dkim keygen|rotate|list} on a data directory made as an operator makes one. */
class DkimCommandTest {

    @TempDir Path tmp;
    Cli cli;
    String month;

    @BeforeEach
    void init() {
        cli = Cli.init(tmp.resolve("data"), "alice@example.org");
        month = "c" + YearMonth.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMM"));
    }

    @Test
    void keygenMakesAnRsaAndAnEd25519SelectorWithPrivateFilesAndPrintsTheRecords() throws Exception {
        Cli.Run r = cli.admin("dkim", "keygen", "--domain", "example.org");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains(month + "._domainkey.example.org. IN TXT \"v=DKIM1; k=rsa; p=MII")
                .contains(month + "e._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; p=");
        Path dir = cli.data.resolve("dkim/example.org");
        assertThat(Files.getPosixFilePermissions(dir)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        for (String key : List.of(month + ".key", month + "e.key")) {
            assertThat(Files.getPosixFilePermissions(dir.resolve(key))).as(key).isEqualTo(PosixFilePermissions.fromString("rw-------"));
            assertThat(Files.readString(dir.resolve(key))).startsWith("-----BEGIN PRIVATE KEY-----");
        }

        List<String[]> rows = rows(cli.admin("dkim", "list"));
        assertThat(rows).extracting(f -> f[1] + " " + f[2] + " " + f[4])
                .containsExactly(month + " rsa-sha256 active", month + "e ed25519-sha256 active");
        assertThat(rows).allSatisfy(f -> assertThat(f[0]).isEqualTo("example.org"));
        assertThat(rows.get(0)[5]).startsWith("v=DKIM1; k=rsa; p=").hasSizeGreaterThan(255);
        assertThat(r.out()).contains("\" \""); // the RSA record is split into strings of at most 255 octets

        assertThat(new DkimKeys(cli.data).signingKeys("example.org")).extracting(k -> k.algorithm())
                .containsExactly(DkimAlgorithm.RSA_SHA256, DkimAlgorithm.ED25519_SHA256);
    }

    /**
     * A domain name is the same in any case (RFC 4343 §3): the commands find a mail domain named in
     * capitals, and refuse an unknown one by the name the store keeps, in lower case (docs/store.md).
     */
    @Test
    void aDomainNamedInCapitalsIsTheMailDomain() {
        Cli.Run unknown = cli.admin("dkim", "keygen", "--domain", "Example.COM");
        assertThat(unknown.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(unknown.err()).contains("no mail domain example.com (add it first: castellan domain add example.com)");
        Cli.Run r = cli.admin("dkim", "keygen", "--domain", "Example.ORG");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains(month + "._domainkey.example.org. IN TXT");
        assertThat(rows(cli.admin("dkim", "list", "--domain", "EXAMPLE.org"))).extracting(f -> f[1])
                .containsExactly(month, month + "e");
    }

    @Test
    void keygenRefusesAnUnknownDomainAndADomainWithKeys() {
        Cli.Run unknown = cli.admin("dkim", "keygen", "--domain", "example.com");
        assertThat(unknown.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(unknown.err()).contains("castellan domain add example.com");
        assertThat(cli.admin("dkim", "keygen", "--domain", "example.org", "--algorithm", "ed25519").code()).isZero();
        Cli.Run again = cli.admin("dkim", "keygen", "--domain", "example.org");
        assertThat(again.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(again.err()).contains("castellan dkim rotate --domain example.org");
        assertThat(rows(cli.admin("dkim", "list", "--domain", "example.org"))).extracting(f -> f[2]).containsExactly("ed25519-sha256");
    }

    @Test
    void rotateMakesNewActiveSelectorsAndKeepsTheOldPublishedWithoutTheirPrivateKeys() throws Exception {
        assertThat(cli.admin("dkim", "rotate", "--domain", "example.org").code()).isEqualTo(Main.BAD_INPUT);
        assertThat(cli.admin("dkim", "keygen", "--domain", "example.org").code()).isZero();
        Cli.Run r = cli.admin("dkim", "rotate", "--domain", "example.org");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains(month + "-2._domainkey.example.org. IN TXT").contains(month + "-2e._domainkey.example.org. IN TXT")
                .contains("retired " + month + ": keep its record published until");

        List<String[]> rows = rows(cli.admin("dkim", "list", "--domain", "example.org"));
        assertThat(rows).extracting(f -> f[1]).containsExactly(month, month + "e", month + "-2", month + "-2e");
        assertThat(rows.subList(0, 2)).allSatisfy(f -> assertThat(f[4]).startsWith("published-until="));
        assertThat(rows.subList(2, 4)).allSatisfy(f -> assertThat(f[4]).isEqualTo("active"));
        Instant until = Instant.parse(rows.get(0)[4].substring("published-until=".length()));
        assertThat(until).isAfter(Instant.now().plus(DkimKeys.RETIRED_PUBLISHED).minusSeconds(3600));

        Path dir = cli.data.resolve("dkim/example.org");
        assertThat(dir.resolve(month + ".key")).doesNotExist();
        assertThat(dir.resolve(month + "-2.key")).exists();
        assertThat(new DkimKeys(cli.data).signingKeys("example.org")).extracting(k -> k.selector())
                .containsExactly(month + "-2", month + "-2e");
        // Past the grace period the retired selectors are no longer published.
        assertThat(new DkimKeys(cli.data).published("example.org", until.plusSeconds(1))).extracting(DkimKeys.Selector::selector)
                .containsExactly(month + "-2", month + "-2e");
    }

    /** The rows of {@code dkim list} below its header, split at tabs. */
    static List<String[]> rows(Cli.Run r) {
        assertThat(r.code()).as(r.err()).isZero();
        String[] lines = r.out().split("\n");
        assertThat(lines[0]).isEqualTo("DOMAIN\tSELECTOR\tALGORITHM\tCREATED\tSTATE\tTXT");
        return Arrays.stream(lines).skip(1).map(l -> l.split("\t")).toList();
    }
}
