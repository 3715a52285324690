package org.castellan.security.escrow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.IssuedCertificate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The escrow directory: a key escrowed to a 3-of-5 escrow key, recovered, and every way recovery is refused.
 *
 * <p>The CA, the escrow key and alice's escrowed key are made once per class, since an RSA-3072
 * escrow key takes seconds to generate; each test works on its own copy of those files, permissions
 * included, the CA and the escrow opened from the copy.
 */
class KeyEscrowTest {

    @TempDir static Path made;
    static KeyEscrow.Created created;
    static IssuedCertificate alice;

    @TempDir Path tmp;
    CertificateAuthority ca;
    KeyEscrow escrow;

    @BeforeAll
    static void makeTheEscrow() {
        CertificateAuthority ca = CertificateAuthority.initialize(made.resolve("pki"), "Example");
        KeyEscrow escrow = KeyEscrow.at(made.resolve("pki").resolve(KeyEscrow.DIRECTORY));
        created = escrow.initialize(5, 3, false);
        alice = ca.issueUserEncryption(EmailAddress.of("alice@example.org"), Duration.ofDays(30));
        escrow.escrow(alice.chain(), alice.privateKey());
    }

    @BeforeEach
    void copyTheEscrow() throws IOException {
        copy(made.resolve("pki"), tmp.resolve("pki"));
        ca = CertificateAuthority.load(tmp.resolve("pki"));
        escrow = KeyEscrow.at(tmp.resolve("pki").resolve(KeyEscrow.DIRECTORY));
    }

    /** Copies a directory tree with each file's and directory's permissions. */
    private static void copy(Path from, Path to) throws IOException {
        try (var paths = Files.walk(from)) {
            for (Path p : paths.toList()) {
                Files.copy(p, to.resolve(from.relativize(p).toString()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
    }

    private List<String> lines(int... indexes) {
        List<String> out = new ArrayList<>();
        for (int i : indexes) out.add(created.shares().get(i - 1).format());
        return out;
    }

    @Test
    void filesArePrivateAndHoldNoShare() throws Exception {
        assertThat(Files.getPosixFilePermissions(escrow.directory())).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        Path file = escrow.keyFile(alice.certificate().getSerialNumber());
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        try (var files = Files.walk(escrow.directory())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String text = new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1);
                for (EscrowShare share : created.shares()) {
                    assertThat(text).as(f.toString()).doesNotContain(java.util.HexFormat.of().formatHex(share.bytes()));
                }
            }
        }
        assertThat(created.shares()).hasSize(5).allSatisfy(s -> assertThat(s.keyId()).isEqualTo(created.keyId()));
    }

    @Test
    void everyThreeOfTheFiveSharesRecoverTheKey() {
        for (int[] subset : ShamirTest.subsets(5, 3)) {
            KeyEscrow.Recovered recovered = escrow.recover(alice.certificate().getSerialNumber(), lines(subset));
            assertThat(recovered.key().getEncoded()).isEqualTo(alice.privateKey().getEncoded());
            assertThat(recovered.chain()).isEqualTo(alice.chain());
        }
    }

    @Test
    void twoSharesAreNotEnough() {
        assertThatThrownBy(() -> escrow.recover(alice.certificate().getSerialNumber(), lines(1, 4)))
                .isInstanceOf(EscrowException.class)
                .hasMessage("3 shares of escrow key " + created.keyId() + " are needed, 2 given");
    }

    @Test
    void aSharegivenTwiceIsRefused() {
        assertThatThrownBy(() -> escrow.recover(alice.certificate().getSerialNumber(), lines(2, 5, 2)))
                .isInstanceOf(EscrowException.class)
                .hasMessageContaining("shares 1 and 3 of those given are the same share (number 2)");
    }

    @Test
    void aTypingErrorIsNamedByItsPlace() {
        List<String> given = lines(1, 2, 3);
        String second = given.get(1);
        int at = second.lastIndexOf(':') - 3;
        char changed = second.charAt(at) == '0' ? '1' : '0';
        given.set(1, second.substring(0, at) + changed + second.substring(at + 1));
        assertThatThrownBy(() -> escrow.recover(alice.certificate().getSerialNumber(), given))
                .isInstanceOf(EscrowException.class)
                .hasMessageStartingWith("share 2 of those given is damaged: its check digits do not match");
    }

    @Test
    void aShareAlteredWithFreshCheckDigitsIsNamedToo() {
        EscrowShare third = created.shares().get(2);
        byte[] bytes = third.bytes().clone();
        bytes[7] ^= 0x10;
        List<String> given = lines(1, 2);
        given.add(new EscrowShare(third.keyId(), third.threshold(), third.index(), bytes).format());
        assertThatThrownBy(() -> escrow.recover(alice.certificate().getSerialNumber(), given))
                .isInstanceOf(EscrowException.class)
                .hasMessageStartingWith("share 3 of those given is damaged: it is not one of the shares made for escrow key");
    }

    @Test
    void sharesOfAnotherEscrowKeyAreRefused() {
        KeyEscrow other = KeyEscrow.at(tmp.resolve("other"));
        KeyEscrow.Created otherKey = other.initialize(5, 3, false);
        List<String> given = lines(1, 2);
        given.add(otherKey.shares().get(0).format());
        assertThatThrownBy(() -> escrow.recover(alice.certificate().getSerialNumber(), given))
                .isInstanceOf(EscrowException.class)
                .hasMessage("share 3 of those given belongs to escrow key " + otherKey.keyId() + ", not to " + created.keyId()
                        + ", the key this certificate was escrowed to");
    }

    @Test
    void signingKeysAreNeverEscrowed() {
        IssuedCertificate signing = ca.issueUser(EmailAddress.of("alice@example.org"), Duration.ofDays(30));
        assertThat(KeyEscrow.isEncryptionOnly(signing.certificate())).isFalse();
        assertThatThrownBy(() -> escrow.escrow(signing.chain(), signing.privateKey()))
                .isInstanceOf(EscrowException.class).hasMessageContaining("signing keys are never escrowed");
        assertThat(escrow.keyFile(signing.certificate().getSerialNumber())).doesNotExist();
        assertThatThrownBy(() -> escrow.recover(signing.certificate().getSerialNumber(), lines(1, 2, 3)))
                .isInstanceOf(EscrowException.class).hasMessageStartingWith("no key is escrowed for certificate");
    }

    @Test
    void onlyTheCertificatesOwnKeyIsEscrowedAndOnlyOnce() {
        IssuedCertificate bob = ca.issueUserEncryption(EmailAddress.of("bob@example.org"), Duration.ofDays(30));
        assertThatThrownBy(() -> escrow.escrow(bob.chain(), alice.privateKey()))
                .isInstanceOf(EscrowException.class).hasMessageContaining("is not the key of certificate");
        assertThatThrownBy(() -> escrow.escrow(alice.chain(), alice.privateKey()))
                .isInstanceOf(EscrowException.class).hasMessageContaining("already");
    }

    @Test
    void aSecondEscrowKeyNeedsReplaceAndTheFirstKeepsItsKeys() {
        assertThatThrownBy(() -> escrow.initialize(5, 3, false))
                .isInstanceOf(EscrowException.class).hasMessageContaining("an escrow key exists already");
        KeyEscrow.Created second = escrow.initialize(3, 2, true);
        assertThat(second.replaced()).contains(created.keyId());
        IssuedCertificate bob = ca.issueUserEncryption(EmailAddress.of("bob@example.org"), Duration.ofDays(30));
        escrow.escrow(bob.chain(), bob.privateKey());

        assertThat(escrow.recover(alice.certificate().getSerialNumber(), lines(3, 4, 5)).keyId()).isEqualTo(created.keyId());
        List<String> newShares = List.of(second.shares().get(0).format(), second.shares().get(2).format());
        assertThat(escrow.recover(bob.certificate().getSerialNumber(), newShares).key().getEncoded())
                .isEqualTo(bob.privateKey().getEncoded());
        assertThatThrownBy(() -> escrow.recover(alice.certificate().getSerialNumber(), newShares))
                .isInstanceOf(EscrowException.class).hasMessageContaining("belongs to escrow key " + second.keyId());
    }

    @Test
    void sharesAreTypedInGroupsAndAnyCase() {
        List<String> given = new ArrayList<>();
        for (String line : lines(1, 3, 5)) given.add("  " + line.toUpperCase(java.util.Locale.ROOT).replaceAll("(.{8})", "$1 ") + "\n");
        assertThat(escrow.recover(alice.certificate().getSerialNumber(), given).key().getEncoded())
                .isEqualTo(alice.privateKey().getEncoded());
    }

    @Test
    void readingALineThatIsNoShareNeverThrows() {
        assertThat(EscrowShare.parse("")).isInstanceOf(EscrowShare.Damaged.class);
        assertThat(EscrowShare.parse("hello")).isInstanceOf(EscrowShare.Damaged.class);
        assertThat(EscrowShare.parse("castellan-share-v1:zz")).isInstanceOf(EscrowShare.Damaged.class);
        String good = created.shares().get(0).format();
        for (int i = 0; i < good.length(); i++) {
            assertThat(EscrowShare.parse(good.substring(0, i))).as("prefix %d", i).isInstanceOf(EscrowShare.Damaged.class);
        }
        assertThat(EscrowShare.parse(good)).isEqualTo(new EscrowShare.Parsed(created.shares().get(0)));
    }
}
