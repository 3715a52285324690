package org.castellan.security.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertStore;
import java.security.cert.CertificateFactory;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.castellan.protocol.mail.EmailAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {

    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4";
    private static final int SAN_RFC822 = 1;
    private static final int SAN_DNS = 2;
    private static final int SAN_IP = 7;
    private static final Duration YEAR = Duration.ofDays(365);

    @TempDir Path temp;

    @Test
    void initializeCreatesRootAndFourIssuingCasWithOwnerOnlyKeys() throws Exception {
        Path dir = temp.resolve("pki");
        CertificateAuthority ca = CertificateAuthority.initialize(dir, "Example Org");

        assertThat(permissions(dir)).isEqualTo("rwx------");
        for (String base : List.of("root", "server-ca", "device-ca", "user-ca", "node-ca")) {
            assertThat(permissions(dir.resolve(base + ".key"))).as(base + ".key").isEqualTo("rw-------");
            assertThat(Files.readString(dir.resolve(base + ".crt"))).startsWith("-----BEGIN CERTIFICATE-----");
        }
        for (CertificateKind kind : CertificateKind.values()) {
            assertThat(ca.crlFile(kind)).exists().hasFileName(kind.caName() + "-ca.crl");
            X509Certificate issuing = ca.caCertificate(kind);
            issuing.verify(ca.rootCertificate().getPublicKey());
            assertThat(issuing.getBasicConstraints()).isZero();
            assertThat(issuing.getKeyUsage()[5]).as("keyCertSign").isTrue();
            assertThat(issuing.getKeyUsage()[6]).as("cRLSign").isTrue();
            assertThat(issuing.getSigAlgName()).isEqualTo("SHA256withECDSA");
            assertThat(issuing.getExtensionValue("2.5.29.14")).as("subjectKeyIdentifier").isNotNull();
            assertThat(issuing.getExtensionValue("2.5.29.35")).as("authorityKeyIdentifier").isNotNull();
            assertThat(issuing.getSubjectX500Principal().getName()).contains("O=Example Org");
        }
        assertThat(ca.rootCertificate().getBasicConstraints()).isGreaterThanOrEqualTo(0);
    }

    @Test
    void initializeTwiceReusesWhatExistsAndFillsInWhatIsMissing() throws Exception {
        Path dir = temp.resolve("pki");
        CertificateAuthority.initialize(dir, "Example Org");
        byte[] root = Files.readAllBytes(dir.resolve("root.crt"));
        byte[] serverKey = Files.readAllBytes(dir.resolve("server-ca.key"));
        Files.delete(dir.resolve("user-ca.crt"));
        Files.delete(dir.resolve("user-ca.key"));

        CertificateAuthority again = CertificateAuthority.initialize(dir, "Other Org");

        assertThat(Files.readAllBytes(dir.resolve("root.crt"))).isEqualTo(root);
        assertThat(Files.readAllBytes(dir.resolve("server-ca.key"))).isEqualTo(serverKey);
        assertThat(again.caCertificate(CertificateKind.USER).getSubjectX500Principal().getName())
                .as("new issuing CA takes the organization of the existing root")
                .contains("O=Example Org");
        again.caCertificate(CertificateKind.USER).verify(again.rootCertificate().getPublicKey());
    }

    @Test
    void initializeNarrowsAnOpenDirectory() throws Exception {
        Path dir = Files.createDirectory(temp.resolve("open"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        CertificateAuthority.initialize(dir, "Example Org");
        assertThat(permissions(dir)).isEqualTo("rwx------");
    }

    @Test
    void initializeRefusesACertificateWithoutItsKey() throws Exception {
        Path dir = temp.resolve("pki");
        CertificateAuthority.initialize(dir, "Example Org");
        Files.delete(dir.resolve("device-ca.key"));
        assertThatThrownBy(() -> CertificateAuthority.initialize(dir, "Example Org"))
                .isInstanceOf(PkiException.class)
                .hasMessageContaining("device-ca.key is missing");
    }

    @Test
    void loadNamesTheMissingFile() throws Exception {
        Path dir = temp.resolve("pki");
        CertificateAuthority.initialize(dir, "Example Org");
        Files.delete(dir.resolve("user-ca.key"));
        assertThatThrownBy(() -> CertificateAuthority.load(dir))
                .isInstanceOf(PkiException.class)
                .hasMessageContaining("user-ca.key");
        assertThatThrownBy(() -> CertificateAuthority.load(temp.resolve("nowhere")))
                .isInstanceOf(PkiException.class)
                .hasMessageContaining("nowhere")
                .hasMessageContaining("does not exist");
    }

    @Test
    void loadRefusesAKeyThatIsNotTheCertificates() throws Exception {
        Path dir = temp.resolve("pki");
        CertificateAuthority.initialize(dir, "Example Org");
        Files.copy(dir.resolve("server-ca.key"), dir.resolve("device-ca.key"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> CertificateAuthority.load(dir))
                .isInstanceOf(PkiException.class)
                .hasMessageContaining("device-ca.key is not the private key");
    }

    @Test
    void serverCertificateChainsToTheRootAndCarriesItsNames() throws Exception {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        IssuedCertificate issued = ca.issueServer(List.of("mail.example.org", "*.example.org"),
                List.of(InetAddress.getByName("192.0.2.7"), InetAddress.getByName("::1")), YEAR);

        IssuedCertificate.Files files = issued.writeTo(temp.resolve("tls"));
        assertThat(permissions(files.key())).isEqualTo("rw-------");
        List<X509Certificate> chain = Pem.readCertificates(files.chain());
        assertThat(chain).containsExactly(issued.certificate(), ca.caCertificate(CertificateKind.SERVER));
        assertThat(Pem.readPrivateKey(files.key())).isEqualTo(issued.privateKey());

        validate(chain, ca.rootCertificate(), List.of());
        X509Certificate leaf = issued.certificate();
        assertThat(leaf.getExtendedKeyUsage()).containsExactly(SERVER_AUTH);
        assertThat(leaf.getKeyUsage()[0]).as("digitalSignature").isTrue();
        assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
        assertThat(leaf.getSubjectAlternativeNames()).containsExactlyInAnyOrder(
                List.of(SAN_DNS, "mail.example.org"), List.of(SAN_DNS, "*.example.org"),
                List.of(SAN_IP, "192.0.2.7"), List.of(SAN_IP, "0:0:0:0:0:0:0:1"));
        assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=mail.example.org,O=Example Org");
    }

    /** DNS names are the same in any case (RFC 4343 §3): names given in capitals are written in lower case, as the CN is. */
    @Test
    void serverNamesGivenInCapitalsAreWrittenInLowerCase() throws Exception {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        X509Certificate leaf = ca.issueServer(List.of("Mail.Example.ORG", "*.Example.org"), List.of(), YEAR).certificate();
        assertThat(leaf.getSubjectAlternativeNames()).containsExactlyInAnyOrder(
                List.of(SAN_DNS, "mail.example.org"), List.of(SAN_DNS, "*.example.org"));
        assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=mail.example.org,O=Example Org");
    }

    @Test
    void deviceAndUserCertificatesHaveClientProfiles() throws Exception {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        EmailAddress alice = EmailAddress.of("alice@example.org");

        IssuedCertificate device = ca.issueDevice("alice-laptop", alice, YEAR);
        validate(device.chain(), ca.rootCertificate(), List.of());
        assertThat(device.certificate().getExtendedKeyUsage()).containsExactly(CLIENT_AUTH);
        assertThat(device.certificate().getSubjectAlternativeNames()).isNull();
        assertThat(device.certificate().getIssuerX500Principal())
                .isEqualTo(ca.caCertificate(CertificateKind.DEVICE).getSubjectX500Principal());

        IssuedCertificate user = ca.issueUser(alice, YEAR);
        validate(user.chain(), ca.rootCertificate(), List.of());
        assertThat(user.certificate().getExtendedKeyUsage()).containsExactlyInAnyOrder(CLIENT_AUTH, EMAIL_PROTECTION);
        assertThat(user.certificate().getSubjectAlternativeNames())
                .containsExactly(List.of(SAN_RFC822, "alice@example.org"));
        assertThat(user.certificate().getIssuerX500Principal())
                .isEqualTo(ca.caCertificate(CertificateKind.USER).getSubjectX500Principal());

        assertThat(ca.issued()).extracting(IssuedEntry::kind, IssuedEntry::owner).containsExactly(
                org.assertj.core.groups.Tuple.tuple(CertificateKind.DEVICE, "alice@example.org"),
                org.assertj.core.groups.Tuple.tuple(CertificateKind.USER, "alice@example.org"));
    }

    private static final int SAN_URI = 6;

    @Test
    void nodeCertificatesServeBothEndsOfTheLinkAndNameTheNodeByUri() throws Exception {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        NodeIdentity node = new NodeIdentity(NodeIdentity.Role.MAILBOX, "mbox-1");

        IssuedCertificate issued = ca.issueNode(node, List.of("MBOX-1.internal.example.org"), Duration.ofDays(90));

        X509Certificate leaf = issued.certificate();
        validate(issued.chain(), ca.rootCertificate(), List.of());
        assertThat(leaf.getIssuerX500Principal()).isEqualTo(ca.caCertificate(CertificateKind.NODE).getSubjectX500Principal());
        assertThat(ca.caCertificate(CertificateKind.NODE).getSubjectX500Principal())
                .isNotEqualTo(ca.caCertificate(CertificateKind.DEVICE).getSubjectX500Principal());
        assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH, CLIENT_AUTH);
        assertThat(leaf.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(leaf.getSubjectAlternativeNames()).containsExactly(
                List.of(SAN_DNS, "mbox-1.internal.example.org"), List.of(SAN_URI, "castellan-node:mailbox/mbox-1"));
        assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=mbox-1,O=Example Org");
        assertThat(Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()))
                .isEqualTo(Duration.ofDays(90).plusHours(1));
        assertThat(CertificateAuthority.nodeIdentity(leaf)).contains(node);
        assertThat(ca.issued()).extracting(IssuedEntry::kind, IssuedEntry::owner).containsExactly(
                org.assertj.core.groups.Tuple.tuple(CertificateKind.NODE, "castellan-node:mailbox/mbox-1"));

        assertThat(CertificateAuthority.nodeIdentity(ca.issueDevice("laptop", EmailAddress.of("a@example.org"), YEAR)
                .certificate())).as("a device certificate names no node").isEmpty();
        assertThatThrownBy(() -> ca.issueNode(node, List.of("not a name"), YEAR))
                .isInstanceOf(PkiException.class).hasMessageContaining("'not a name' is not a DNS name");
    }

    @Test
    void aNodeCertificateIsRevokedInTheNodeCasOwnCrl() throws Exception {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        IssuedCertificate edge = ca.issueNode(new NodeIdentity(NodeIdentity.Role.EDGE, "edge-a"), List.of(), YEAR);

        ca.revoke(edge.certificate().getSerialNumber(), RevocationReason.KEY_COMPROMISE);

        X509CRL crl = Pem.readCrl(ca.crlFile(CertificateKind.NODE));
        crl.verify(ca.caCertificate(CertificateKind.NODE).getPublicKey());
        assertThat(crl.isRevoked(edge.certificate())).isTrue();
        assertThat(Pem.readCrl(ca.crlFile(CertificateKind.DEVICE)).getRevokedCertificates()).isNull();
        assertThatThrownBy(() -> validate(edge.chain(), ca.rootCertificate(), List.of(crl)))
                .isInstanceOf(CertPathValidatorException.class).hasMessageContaining("revoked");
    }

    /** A data directory made before the node CA existed gets it on opening, without castellan init. */
    @Test
    void loadingADirectoryFromBeforeTheNodeCaFillsItIn() throws Exception {
        Path dir = temp.resolve("pki");
        CertificateAuthority.initialize(dir, "Example Org");
        byte[] deviceCa = Files.readAllBytes(dir.resolve("device-ca.crt"));
        for (String file : List.of("node-ca.crt", "node-ca.key", "node-ca.crl")) Files.delete(dir.resolve(file));

        CertificateAuthority ca = CertificateAuthority.load(dir);

        assertThat(Files.readAllBytes(dir.resolve("device-ca.crt"))).isEqualTo(deviceCa);
        ca.caCertificate(CertificateKind.NODE).verify(ca.rootCertificate().getPublicKey());
        assertThat(permissions(dir.resolve("node-ca.key"))).isEqualTo("rw-------");
        assertThat(ca.crlFile(CertificateKind.NODE)).exists();
        assertThat(CertificateAuthority.load(dir).caCertificate(CertificateKind.NODE))
                .as("made once").isEqualTo(ca.caCertificate(CertificateKind.NODE));
    }

    @Test
    void aMissingNodeCaWithTheRootKeyOfflineIsNamed() throws Exception {
        Path dir = temp.resolve("pki");
        CertificateAuthority.initialize(dir, "Example Org");
        for (String file : List.of("node-ca.crt", "node-ca.key", "node-ca.crl", "root.key")) Files.delete(dir.resolve(file));

        assertThatThrownBy(() -> CertificateAuthority.load(dir))
                .isInstanceOf(PkiException.class)
                .hasMessageContaining("node-ca.crt is missing")
                .hasMessageContaining("root.key is not here");
    }

    @Test
    void serialsAreRandomPositive128BitAndIndexed() {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        Set<BigInteger> serials = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            BigInteger serial = ca.issueDevice("d" + i, EmailAddress.of("bob@example.org"), YEAR)
                    .certificate().getSerialNumber();
            assertThat(serial.signum()).isPositive();
            assertThat(serial.bitLength()).isEqualTo(128);
            serials.add(serial);
        }
        assertThat(serials).hasSize(5);
        CertificateAuthority reloaded = CertificateAuthority.load(temp.resolve("pki"));
        assertThat(reloaded.issued()).extracting(IssuedEntry::serial).containsExactlyInAnyOrderElementsOf(serials);
    }

    /**
     * The server's CA and {@code castellan cert revoke} are two instances over one directory: what
     * one writes, the other sees at its next look, and its next issuance keeps it.
     */
    @Test
    void anIndexChangedByAnotherInstanceIsSeenAndKept() {
        Path dir = temp.resolve("pki");
        CertificateAuthority server = CertificateAuthority.initialize(dir, "Example Org");
        EmailAddress bob = EmailAddress.of("bob@example.org");
        BigInteger laptop = server.issueDevice("laptop", bob, YEAR).certificate().getSerialNumber();
        assertThat(server.find(laptop).orElseThrow().revoked()).isFalse();

        CertificateAuthority cli = CertificateAuthority.load(dir);
        cli.revoke(laptop, RevocationReason.KEY_COMPROMISE);
        BigInteger phone = cli.issueDevice("phone", bob, YEAR).certificate().getSerialNumber();

        assertThat(server.find(laptop).orElseThrow().revoked()).isTrue();
        assertThat(server.find(phone)).isPresent();
        BigInteger tablet = server.issueDevice("tablet", bob, YEAR).certificate().getSerialNumber();
        assertThat(CertificateAuthority.load(dir).issued()).extracting(IssuedEntry::serial).containsExactly(laptop, phone, tablet);
        assertThat(CertificateAuthority.load(dir).find(laptop).orElseThrow().revoked()).isTrue();
    }

    @Test
    void revocationAppearsInTheCrlWithItsReasonAndFailsValidation() throws Exception {
        Path dir = temp.resolve("pki");
        CertificateAuthority ca = CertificateAuthority.initialize(dir, "Example Org");
        EmailAddress alice = EmailAddress.of("alice@example.org");
        IssuedCertificate kept = ca.issueDevice("desktop", alice, YEAR);
        IssuedCertificate lost = ca.issueDevice("phone", alice, YEAR);
        BigInteger firstCrlNumber = crlNumber(Pem.readCrl(ca.crlFile(CertificateKind.DEVICE)));

        IssuedEntry entry = ca.revoke(lost.certificate().getSerialNumber(), RevocationReason.KEY_COMPROMISE);

        assertThat(entry.revoked()).isTrue();
        X509CRL crl = Pem.readCrl(dir.resolve("device-ca.crl"));
        crl.verify(ca.caCertificate(CertificateKind.DEVICE).getPublicKey());
        assertThat(crl.getNextUpdate()).isAfter(crl.getThisUpdate());
        assertThat(crlNumber(crl)).isGreaterThan(firstCrlNumber);
        X509CRLEntry listed = crl.getRevokedCertificate(lost.certificate());
        assertThat(listed).isNotNull();
        assertThat(listed.getRevocationReason()).isEqualTo(java.security.cert.CRLReason.KEY_COMPROMISE);
        assertThat(crl.isRevoked(kept.certificate())).isFalse();
        assertThat(Pem.readCrl(ca.crlFile(CertificateKind.USER)).getRevokedCertificates())
                .as("other issuing CAs' CRLs are unaffected").isNull();

        validate(kept.chain(), ca.rootCertificate(), List.of(crl));
        assertThatThrownBy(() -> validate(lost.chain(), ca.rootCertificate(), List.of(crl)))
                .isInstanceOf(CertPathValidatorException.class)
                .hasMessageContaining("revoked");

        CertificateAuthority reloaded = CertificateAuthority.load(dir);
        assertThat(reloaded.find(lost.certificate().getSerialNumber()).orElseThrow().revocation())
                .hasValueSatisfying(r -> assertThat(r.reason()).isEqualTo(RevocationReason.KEY_COMPROMISE));
        assertThatThrownBy(() -> reloaded.revoke(lost.certificate().getSerialNumber(), RevocationReason.SUPERSEDED))
                .isInstanceOf(PkiException.class).hasMessageContaining("already revoked");
        assertThatThrownBy(() -> reloaded.revoke(BigInteger.TEN, RevocationReason.SUPERSEDED))
                .isInstanceOf(PkiException.class).hasMessageContaining("no certificate with serial a");
    }

    /**
     * Each reason an operator may give, in any case and with '_' for '-', reaches the CRL entry as
     * its own code of RFC 5280 §5.3.1 (unspecified may be left out, as §5.3.1 advises) and the index
     * as itself; anything else is refused naming the reasons.
     */
    @Test
    void everyReasonReachesTheCrlAsItsOwnCodeAndTheIndexAsItself() throws Exception {
        Path dir = temp.resolve("pki");
        CertificateAuthority ca = CertificateAuthority.initialize(dir, "Example Org");
        EmailAddress alice = EmailAddress.of("alice@example.org");
        java.util.Map<String, java.security.cert.CRLReason> codes = new java.util.LinkedHashMap<>();
        codes.put("unspecified", java.security.cert.CRLReason.UNSPECIFIED);
        codes.put("KEY-COMPROMISE", java.security.cert.CRLReason.KEY_COMPROMISE);
        codes.put("affiliation_changed", java.security.cert.CRLReason.AFFILIATION_CHANGED);
        codes.put("Superseded", java.security.cert.CRLReason.SUPERSEDED);
        codes.put("cessation-of-operation", java.security.cert.CRLReason.CESSATION_OF_OPERATION);
        codes.put("privilege-withdrawn", java.security.cert.CRLReason.PRIVILEGE_WITHDRAWN);
        java.util.Map<String, IssuedCertificate> issued = new java.util.LinkedHashMap<>();
        for (String label : codes.keySet()) {
            IssuedCertificate c = ca.issueDevice("device-" + issued.size(), alice, YEAR);
            issued.put(label, c);
            ca.revoke(c.certificate().getSerialNumber(), RevocationReason.fromLabel(label));
        }
        X509CRL crl = Pem.readCrl(ca.crlFile(CertificateKind.DEVICE));
        CertificateAuthority reloaded = CertificateAuthority.load(dir);
        for (var e : issued.entrySet()) {
            java.security.cert.CRLReason code = crl.getRevokedCertificate(e.getValue().certificate()).getRevocationReason();
            if (codes.get(e.getKey()) == java.security.cert.CRLReason.UNSPECIFIED) {
                assertThat(code).as(e.getKey()).isIn(null, java.security.cert.CRLReason.UNSPECIFIED);
            } else {
                assertThat(code).as(e.getKey()).isEqualTo(codes.get(e.getKey()));
            }
            assertThat(reloaded.find(e.getValue().certificate().getSerialNumber()).orElseThrow().revocation())
                    .as(e.getKey()).hasValueSatisfying(r -> assertThat(r.reason().label())
                            .isEqualTo(e.getKey().toLowerCase(java.util.Locale.ROOT).replace('_', '-')));
        }
        assertThatThrownBy(() -> RevocationReason.fromLabel("ca-compromise")).isInstanceOf(PkiException.class)
                .hasMessage("'ca-compromise' is not a revocation reason; expected one of unspecified, key-compromise,"
                        + " affiliation-changed, superseded, cessation-of-operation, privilege-withdrawn");
    }

    @Test
    void badRequestsAreRefusedWithTheReason() {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        EmailAddress alice = EmailAddress.of("alice@example.org");
        assertThatThrownBy(() -> ca.issueServer(List.of(), List.of(), YEAR))
                .isInstanceOf(PkiException.class).hasMessageContaining("at least one DNS name");
        assertThatThrownBy(() -> ca.issueServer(List.of("bad name"), List.of(), YEAR))
                .isInstanceOf(PkiException.class).hasMessageContaining("'bad name' is not a DNS name");
        assertThatThrownBy(() -> ca.issueDevice("bad\tname", alice, YEAR))
                .isInstanceOf(PkiException.class).hasMessageContaining("is not a device name");
        assertThatThrownBy(() -> ca.issueDevice("laptop", alice, Duration.ofDays(365 * 40)))
                .isInstanceOf(PkiException.class).hasMessageContaining("would outlast the device CA");
        assertThatThrownBy(() -> ca.issueUser(alice, Duration.ZERO))
                .isInstanceOf(PkiException.class).hasMessageContaining("must be positive");
        assertThat(ca.issued()).isEmpty();
    }

    /**
     * RFC 5280 §4.2.1.6: a dNSName is an IA5String in the preferred name syntax, so an IDN goes in its
     * xn-- form (RFC 5890 §2.3.2.1) and a U-label is refused; names are kept in lower case (RFC 4343 §3).
     */
    @Test
    void hostNamesAreAsciiAndLowerCase() {
        assertThat(CertificateAuthority.requireHostName("*.Mail.Example.ORG")).isEqualTo("*.mail.example.org");
        assertThat(CertificateAuthority.requireHostName("xn--exmple-cua.org")).isEqualTo("xn--exmple-cua.org");
        for (String bad : List.of("exämple.org", "*.exämple.org", "", "*.", "mail example.org")) {
            assertThatThrownBy(() -> CertificateAuthority.requireHostName(bad)).as(bad)
                    .isInstanceOf(PkiException.class).hasMessageContaining("is not a DNS name for a TLS certificate");
        }
    }

    /** RFC 5280 §4.2.1.6: an rfc822Name is an IA5String; a user certificate for a non-ASCII address is refused, not mangled. */
    @Test
    void userCertificatesNeedAnAsciiAddress() {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        assertThatThrownBy(() -> ca.issueUser(EmailAddress.of("jösé@example.org"), YEAR))
                .isInstanceOf(PkiException.class).hasMessageContaining("is not an ASCII address");
        assertThatThrownBy(() -> ca.issueUser(EmailAddress.of("jose@exämple.org"), YEAR))
                .isInstanceOf(PkiException.class).hasMessageContaining("is not an ASCII address");
        assertThat(ca.issued()).isEmpty();
    }

    @Test
    void pemErrorsNameTheFile() throws Exception {
        Path notPem = Files.writeString(temp.resolve("notes.txt"), "hello\n");
        assertThatThrownBy(() -> Pem.readCertificates(notPem))
                .isInstanceOf(PkiException.class).hasMessageContaining("notes.txt holds no PEM certificate");
        assertThatThrownBy(() -> Pem.readPrivateKey(notPem))
                .isInstanceOf(PkiException.class).hasMessageContaining("notes.txt holds no PEM private key");
        assertThatThrownBy(() -> Pem.readCrl(temp.resolve("absent.crl")))
                .isInstanceOf(PkiException.class).hasMessageContaining("absent.crl does not exist");
    }

    @Test
    void withAPublicUrlIssuedCertificatesNameTheirOcspResponderIssuerAndCrl() throws Exception {
        Path dir = temp.resolve("pki");
        CertificateAuthority.initialize(dir, "Example Org");
        CertificateAuthority ca = CertificateAuthority.load(dir, Optional.of(URI.create("https://mail.example.org:8443/pki/")));
        IssuedCertificate server = ca.issueServer(List.of("mail.example.org"), List.of(), YEAR);
        IssuedCertificate user = ca.issueUser(EmailAddress.of("alice@example.org"), YEAR);

        String text = x509Text(server.certificate());
        assertThat(text).contains("Authority Information Access:")
                .contains("OCSP - URI:https://mail.example.org:8443/pki/ocsp")
                .contains("CA Issuers - URI:https://mail.example.org:8443/pki/ca/server-ca.crt")
                .contains("X509v3 CRL Distribution Points:")
                .contains("URI:https://mail.example.org:8443/pki/crl/server-ca.crl");
        assertThat(x509Text(user.certificate())).contains("URI:https://mail.example.org:8443/pki/crl/user-ca.crl")
                .contains("CA Issuers - URI:https://mail.example.org:8443/pki/ca/user-ca.crt");

        // Without one, nothing points anywhere.
        assertThat(x509Text(CertificateAuthority.load(dir).issueServer(List.of("mail.example.org"), List.of(), YEAR)
                .certificate())).doesNotContain("Authority Information Access").doesNotContain("CRL Distribution");
    }

    @Test
    void aPublicUrlMustBeHttpOrHttps() {
        for (String bad : List.of("https:///ocsp", "https://user@mail.example.org", "https://mail.example.org/?q",
                "ftp://mail.example.org", "http:///ocsp", "http://user@mail.example.org", "http://mail.example.org/#f",
                "mail.example.org")) {
            assertThatThrownBy(() -> CertificateAuthority.requirePublicUrl(URI.create(bad)))
                    .as(bad).isInstanceOf(PkiException.class).hasMessageContaining("http://host");
        }
        assertThat(CertificateAuthority.requirePublicUrl(URI.create("https://mail.example.org"))).isNotNull();
        // RFC 5280 §4.2.1.13 and RFC 6960 Appendix A.1: relying parties fetch CRLs and OCSP over plain http.
        assertThat(CertificateAuthority.requirePublicUrl(URI.create("http://mail.example.org"))).isNotNull();
        assertThat(CertificateAuthority.requirePublicUrl(URI.create("http://mail.example.org:8080/pki"))).isNotNull();
    }

    private Path x509File(X509Certificate certificate) {
        Path file = temp.resolve("c-" + certificate.getSerialNumber().toString(16) + ".pem");
        Pem.writeCertificates(file, List.of(certificate));
        return file;
    }

    private String x509Text(X509Certificate certificate) throws Exception {
        return OcspResponderTest.openssl("x509", "-in", x509File(certificate), "-noout", "-text").out();
    }

    private static void validate(List<X509Certificate> chain, X509Certificate root, List<X509CRL> crls)
            throws Exception {
        PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        parameters.setRevocationEnabled(!crls.isEmpty());
        if (!crls.isEmpty()) {
            List<Object> store = new ArrayList<>(crls);
            // The root's own CRL is not published; only the leaf's issuer is checked here.
            java.security.cert.PKIXRevocationChecker checker = (java.security.cert.PKIXRevocationChecker)
                    CertPathValidator.getInstance("PKIX").getRevocationChecker();
            checker.setOptions(Set.of(java.security.cert.PKIXRevocationChecker.Option.ONLY_END_ENTITY,
                    java.security.cert.PKIXRevocationChecker.Option.PREFER_CRLS,
                    java.security.cert.PKIXRevocationChecker.Option.NO_FALLBACK));
            parameters.addCertPathChecker(checker);
            parameters.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(store)));
        }
        CertPathValidator.getInstance("PKIX").validate(
                CertificateFactory.getInstance("X.509").generateCertPath(chain), parameters);
    }

    private static BigInteger crlNumber(X509CRL crl) {
        byte[] value = crl.getExtensionValue("2.5.29.20");
        return org.bouncycastle.asn1.ASN1Integer.getInstance(
                org.bouncycastle.asn1.ASN1OctetString.getInstance(value).getOctets()).getValue();
    }

    private static String permissions(Path path) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }
}
