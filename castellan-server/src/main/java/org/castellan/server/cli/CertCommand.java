package org.castellan.server.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.CertificateFingerprint;
import org.castellan.security.auth.Passwords;
import org.castellan.security.escrow.EscrowException;
import org.castellan.security.escrow.KeyEscrow;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.IssuedEntry;
import org.castellan.security.pki.Pem;
import org.castellan.security.pki.PkiException;
import org.castellan.security.pki.RevocationReason;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.setup.Stores;
import org.castellan.store.Account;
import org.castellan.store.StoreException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan cert}: issue device and user certificates from the built-in CA, list, show and
 * revoke them. A revocation rewrites the issuing CA's CRL at once; a running server watches that
 * file and closes the live sessions of the certificate within a second.
 *
 * <p>SECURITY: private keys are written only into the directory the operator names with
 * {@code --out}, in files created 0600 (in a 0700 directory), and nowhere on the server's side:
 * the data directory keeps the certificate and the CA's index only, and for an encryption
 * certificate the escrowed copy that only the escrow key's shares open ({@link KmsCommand}). The PKCS#12 passphrase is
 * shown once, when it was generated, never logged.
 */
@Command(name = "cert", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Issue, list, show and revoke certificates of the built-in CA.",
        subcommands = {CertCommand.Issue.class, CertCommand.ListCerts.class, CertCommand.Show.class,
                CertCommand.Revoke.class})
final class CertCommand {

    /** A year: long enough not to burden users with renewals, short enough that a lost key expires. */
    static final int DEFAULT_DAYS = 365;
    /** The help of a --reason option: the CRL reason codes of RFC 5280 §5.3.1 that an operator gives. */
    static final String REASONS = "unspecified (default), key-compromise, affiliation-changed, superseded,"
            + " cessation-of-operation or privilege-withdrawn.";
    /** Leaves may not outlast their issuing CA (10 years) anyway; a larger number is a typo. */
    static final int MAX_DAYS = 3650;

    @Command(name = "issue", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Issue a certificate with a new key pair.",
            subcommands = {IssueDevice.class, IssueUser.class})
    static final class Issue {
    }

    /** Options every issue command shares. */
    static final class IssueOptions {
        @Option(names = "--days", paramLabel = "N", description = "Validity in days (default: " + DEFAULT_DAYS + ").")
        int days = DEFAULT_DAYS;

        @Option(names = "--out", paramLabel = "DIR", required = true, description = {"Where to write the private key"
                + " (key.pem, chain-and-key.pem, NAME.p12) and chain.pem, created 0700; hand them to the device or user,"
                + " then delete them.",
                "The server keeps only the certificate (DATA/issued/SERIAL/chain.pem) and the CA's index."})
        Path out;

        @Option(names = "--passphrase-stdin", description = "Read the PKCS#12 passphrase from the first line of"
                + " standard input (default: generate one and show it once).")
        boolean passphraseFromStdin;

        Duration validity() {
            if (days < 1 || days > MAX_DAYS) {
                throw new Failures.BadInput("--days must be from 1 to " + MAX_DAYS + ", not " + days);
            }
            return Duration.ofDays(days);
        }
    }

    @Command(name = "device", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Issue a device certificate (TLS client authentication) from the device CA.",
                    "The owner is recorded in the CA's index, not in the certificate, and the certificate is bound",
                    "to the owner's account (as 'user cert bind' does), so SASL EXTERNAL logs it in at once."})
    static final class IssueDevice implements Callable<Integer> {
        @Mixin DataOptions where;
        @Mixin IssueOptions options;
        @Parameters(paramLabel = "NAME", description = "Device name: letters, digits, '.', '_' or '-'.") String name;
        @Option(names = "--owner", paramLabel = "ACCOUNT", required = true,
                description = "The account the device belongs to (must exist); the certificate is bound to it.") String owner;

        @Override
        public Integer call() throws Exception {
            Duration validity = options.validity();
            EmailAddress account = existingAccount(where, owner);
            return issue(where, options, ca -> ca.issueDevice(name, account, validity), name, Optional.of(account));
        }
    }

    @Command(name = "user", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Issue a user certificate (TLS client authentication and S/MIME) from the user CA.")
    static final class IssueUser implements Callable<Integer> {
        @Mixin DataOptions where;
        @Mixin IssueOptions options;
        @Parameters(paramLabel = "ADDRESS", description = "The account's address (must exist).") String address;
        @Option(names = "--usage", paramLabel = "U", description = {"all (default): TLS client authentication and S/MIME"
                + " signing and encryption;", "encryption: S/MIME encryption only (keyAgreement), its key escrowed"
                + " (castellan kms escrow init first)."})
        UserUsage usage = UserUsage.ALL;
        @Option(names = "--without-escrow", description = "With --usage encryption: issue although there is no escrow key"
                + " (the key is then lost with the user's copy).")
        boolean withoutEscrow;

        @Override
        public Integer call() throws Exception {
            Duration validity = options.validity();
            EmailAddress account = existingAccount(where, address);
            if (usage == UserUsage.ENCRYPTION) {
                return issue(where, options, escrowed(where.load(), account, validity, withoutEscrow), account.toString(),
                        Optional.empty());
            }
            // The certificate names the address (rfc822Name), which EXTERNAL maps without a binding.
            int code = issue(where, options, ca -> ca.issueUser(account, validity), account.toString(), Optional.empty());
            CastellanConfig config = where.load();
            DirectoryCommand.afterChange(config, ca(config), account.toString());
            return code;
        }
    }

    /** The profiles of a user certificate. */
    enum UserUsage { ALL, ENCRYPTION }

    /**
     * Issues an encryption-only user certificate and escrows its key before anything is written
     * for the user (docs/kms.md, "Key escrow"). Without an escrow key it refuses, unless
     * {@code withoutEscrow}: a key that was meant to be recoverable must not silently be otherwise.
     */
    private static Issuing escrowed(CastellanConfig config, EmailAddress account, Duration validity, boolean withoutEscrow) {
        KeyEscrow escrow = KmsCommand.escrow(config);
        boolean escrowing = escrow.currentKeyId().isPresent();
        if (!escrowing && !withoutEscrow) {
            throw new Failures.BadInput("there is no escrow key for the key of an encryption certificate; make one with"
                    + " 'castellan kms escrow init --shares 5 --threshold 3', or add --without-escrow");
        }
        return ca -> {
            IssuedCertificate issued = ca.issueUserEncryption(account, validity);
            if (escrowing) {
                try {
                    Path file = escrow.escrow(issued.chain(), issued.privateKey());
                    KmsCommand.record(escrow, "escrow", issued.serialHex(), 0, "ok", "castellan cert issue, to escrow key "
                            + escrow.currentKeyId().orElseThrow());
                    System.out.println("escrowed: " + file);
                } catch (EscrowException e) {
                    throw new PkiException("certificate " + issued.serialHex() + " was issued but its key could not be"
                            + " escrowed, so it is not handed out (revoke the certificate): " + e.getMessage());
                }
            }
            return issued;
        };
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "List every certificate the CA issued, oldest first.")
    static final class ListCerts implements Callable<Integer> {
        @Mixin DataOptions where;

        @Override
        public Integer call() throws Exception {
            CertificateAuthority ca = ca(where.load());
            Instant now = Instant.now();
            System.out.printf(Locale.ROOT, "%-32s  %-6s  %-7s  %-20s  %s%n", "SERIAL", "KIND", "STATUS", "EXPIRES", "SUBJECT");
            for (IssuedEntry e : ca.issued()) {
                System.out.printf(Locale.ROOT, "%-32s  %-6s  %-7s  %-20s  %s%n", e.serialHex(), e.kind().caName(),
                        status(e, now), e.notAfter(), e.subject());
            }
            return Main.OK;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Show one certificate of the CA's index.")
    static final class Show implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "SERIAL", description = "The serial number in hex, as 'cert list' shows it.") String serial;

        @Override
        public Integer call() throws Exception {
            BigInteger number = serial(serial);
            CertificateAuthority ca = ca(where.load());
            IssuedEntry e = ca.find(number).orElseThrow(() -> unknown(serial));
            System.out.println("serial:     " + e.serialHex());
            System.out.println("kind:       " + e.kind().caName());
            System.out.println("subject:    " + e.subject());
            System.out.println("owner:      " + e.owner());
            System.out.println("not before: " + e.notBefore());
            System.out.println("not after:  " + e.notAfter());
            System.out.println("status:     " + status(e, Instant.now()));
            e.revocation().ifPresent(r -> System.out.println("revoked:    " + r.time() + " (" + r.reason().label() + ")"));
            return Main.OK;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Revoke a certificate and rewrite its CA's CRL.",
                    "A running server refuses it at the next handshake and closes its live sessions."})
    static final class Revoke implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "SERIAL", description = "The serial number in hex.") String serial;
        @Option(names = "--reason", paramLabel = "R", description = REASONS)
        String reason = RevocationReason.UNSPECIFIED.label();

        @Override
        public Integer call() throws Exception {
            BigInteger number = serial(serial);
            RevocationReason why = badInput(() -> RevocationReason.fromLabel(reason));
            CastellanConfig config = where.load();
            CertificateAuthority ca = ca(config);
            if (ca.find(number).isEmpty()) throw unknown(serial);
            IssuedEntry revoked = badInput(() -> ca.revoke(number, why));
            System.out.println("revoked " + revoked.kind().caName() + " certificate " + revoked.serialHex()
                    + " (" + revoked.subject() + ") for " + why.label());
            // The certificate directory stops listing it at once; an enterprise directory is told now.
            if (revoked.kind() == CertificateKind.USER) DirectoryCommand.afterChange(config, ca, revoked.owner());
            return Main.OK;
        }
    }

    @FunctionalInterface
    interface Issuing {
        IssuedCertificate issue(CertificateAuthority ca);
    }

    /** @param bindTo the account to bind the certificate to by fingerprint, for certificates that name none */
    static int issue(DataOptions where, IssueOptions options, Issuing issuing, String name,
                             Optional<EmailAddress> bindTo) throws Exception {
        CastellanConfig config = where.load();
        char[] passphrase = options.passphraseFromStdin ? readPassphrase() : Passwords.generate().toCharArray();
        try {
            CertificateAuthority ca = ca(config);
            IssuedCertificate issued = badInput(() -> issuing.issue(ca));
            Path dir = options.out;
            issued.writeTo(dir);
            // The server keeps the public certificate only: a private key left on the server is
            // one more copy to steal, and the server never needs it (castellan audit reports any).
            Pem.writeCertificates(issuedDirectory(config, issued.serialHex()).resolve(IssuedCertificate.CHAIN_FILE),
                    issued.chain());
            Path p12 = dir.resolve(fileName(name) + ".p12");
            writePkcs12(p12, issued, passphrase);
            System.out.println("issued " + issued.kind().caName() + " certificate " + issued.serialHex());
            System.out.println("subject:  " + issued.certificate().getSubjectX500Principal().getName());
            System.out.println("expires:  " + issued.certificate().getNotAfter().toInstant());
            System.out.println("files:    " + dir.resolve(IssuedCertificate.CHAIN_FILE) + ", "
                    + dir.resolve(IssuedCertificate.KEY_FILE) + ", " + dir.resolve(IssuedCertificate.CHAIN_AND_KEY_FILE)
                    + ", " + p12);
            System.out.println("kept:     " + issuedDirectory(config, issued.serialHex()).resolve(IssuedCertificate.CHAIN_FILE)
                    + " (the certificate only; the server keeps no copy of the private key)");
            if (!options.passphraseFromStdin) {
                // The line holds the passphrase alone after the label, so that it can be cut out whole.
                System.out.println("passphrase: " + new String(passphrase));
                System.out.println("            (the PKCS#12 passphrase is shown once: save it now)");
            }
            if (bindTo.isPresent()) bind(where, issued, bindTo.get());
            return Main.OK;
        } finally {
            Arrays.fill(passphrase, '\0');
        }
    }

    /**
     * Binds the new certificate to its owner's account by SHA-256 fingerprint, labelled with its
     * subject as {@code user cert bind --certificate} would, so that EXTERNAL maps it without a
     * second command. The files are already written: a failure says how to bind it by hand.
     */
    private static void bind(DataOptions where, IssuedCertificate issued, EmailAddress owner) throws Exception {
        String fingerprint = CertificateFingerprint.sha256(issued.certificate());
        String label = issued.certificate().getSubjectX500Principal().getName();
        try (Admin admin = Admin.open(where)) {
            Account account = UserCommand.requireAccount(admin.store, owner);
            admin.store.bindCertificate(account.id(), fingerprint, label);
            System.out.println("bound:    sha256:" + fingerprint + " to " + account.address()
                    + " (SASL EXTERNAL logs in as this account)");
        } catch (StoreException e) {
            throw new Failures.BadInput("certificate " + issued.serialHex() + " was issued but not bound to " + owner
                    + " (" + e.getMessage() + "); bind it with: castellan user cert bind " + owner + " --fingerprint sha256:"
                    + fingerprint + " --label '" + label + "'");
        }
    }

    /**
     * Writes the key and chain as PKCS#12 (the JDK's default protection: PBES2 with AES-256 and an
     * HMAC-SHA-256 MAC, which OpenSSL 1.1.1 and later, curl and current mail clients read). The
     * file is created 0600 before the key goes into it.
     */
    static void writePkcs12(Path file, IssuedCertificate issued, char[] passphrase) throws IOException {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry(issued.certificate().getSubjectX500Principal().getName(), Pem.complete(issued.privateKey()), passphrase,
                    issued.chain().toArray(new Certificate[0]));
            Files.deleteIfExists(file);
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                store.store(out, passphrase);
            }
        } catch (FileAlreadyExistsException e) {
            throw new IOException(file + " appeared while it was being written; issue the certificate again", e);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot write the PKCS#12 file " + file + ": " + e.getMessage(), e);
        }
    }

    /** The directory {@code issued/SERIAL} under the data directory (0700), where the public certificate stays. */
    static Path issuedDirectory(CastellanConfig config, String serialHex) throws IOException {
        Path dir = issuedRoot(config).resolve(serialHex);
        Files.createDirectories(dir.getParent());
        if (!Files.isDirectory(dir)) {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        return dir;
    }

    /** Where certificates issued by {@code castellan cert issue} are kept: {@code DATA/issued}. */
    static Path issuedRoot(CastellanConfig config) {
        return config.server().dataDir().resolve("issued");
    }

    private static String fileName(String name) {
        return name.replaceAll("[^A-Za-z0-9._@-]", "_");
    }

    private static EmailAddress existingAccount(DataOptions where, String text) throws Exception {
        EmailAddress address = Admin.address(text);
        CastellanConfig config = where.load();
        try (var store = Stores.open(config)) {
            if (store.getAccount(address).isEmpty()) {
                throw new Failures.BadInput("no account " + address + " (create it first: castellan user add " + address + ")");
            }
        }
        return address;
    }

    static CertificateAuthority ca(CastellanConfig config) {
        Path dir = config.tls().pkiDirectory();
        if (!Files.isDirectory(dir)) {
            throw new Failures.BadInput("no certificate authority in " + dir + "; create it with 'castellan init'");
        }
        return CertificateAuthority.load(dir, config.tls().pkiPublicUrl());
    }

    static String status(IssuedEntry e, Instant now) {
        if (e.revoked()) return "revoked";
        return e.notAfter().isBefore(now) ? "expired" : "valid";
    }

    static BigInteger serial(String text) {
        if (text == null || !text.matches("(?i)[0-9a-f]{1,40}")) {
            throw new Failures.BadInput("'" + text + "' is not a serial number; give it in hex as 'castellan cert list' shows it");
        }
        return new BigInteger(text, 16);
    }

    private static Failures.BadInput unknown(String serial) {
        return new Failures.BadInput("no certificate with serial " + serial.toLowerCase(Locale.ROOT)
                + " was issued by this CA; 'castellan cert list' shows them");
    }

    @FunctionalInterface
    interface PkiCall<T> {
        T call();
    }

    /** A PKI refusal caused by what the operator typed (a bad name, a reason, a validity) is bad input. */
    static <T> T badInput(PkiCall<T> call) {
        try {
            return call.call();
        } catch (PkiException e) {
            throw new Failures.BadInput(e.getMessage());
        }
    }

    private static char[] readPassphrase() {
        try {
            String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            if (line == null || line.isEmpty()) throw new Failures.BadInput("no passphrase on standard input");
            return line.toCharArray();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
