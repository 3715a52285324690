package org.castellan.server.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.castellan.security.escrow.EscrowAuditLog;
import org.castellan.security.escrow.EscrowException;
import org.castellan.security.escrow.EscrowShare;
import org.castellan.security.escrow.KeyEscrow;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.server.config.CastellanConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan kms}: the key escrow of the built-in CA (docs/kms.md, "Key escrow").
 * {@code kms escrow init} makes the escrow key and prints its shares once; {@code kms escrow
 * import} escrows the key of an encryption certificate made elsewhere; {@code kms recover} takes
 * shares on standard input and writes the escrowed key of one certificate as PKCS#12.
 *
 * <p>SECURITY: shares are printed only by {@code init}, never stored or logged; recovered keys go
 * only into the file named with {@code --out} (0600), protected by a password from a file or the
 * terminal, never from the command line (where {@code ps} shows it). Every recovery attempt is
 * appended to the escrow's audit log before the command ends, and a recovery whose record cannot be
 * written writes no key.
 */
@Command(name = "kms", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "The key management server: key escrow and recovery.",
        subcommands = {KmsCommand.Escrow.class, KmsCommand.Recover.class})
final class KmsCommand {

    /** A PKCS#12 password shorter than this is refused: the file leaves the server. */
    static final int MIN_PASSWORD = 8;

    @Command(name = "escrow", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Make the escrow key, or escrow a key made elsewhere.", subcommands = {EscrowInit.class, EscrowImport.class})
    static final class Escrow {
    }

    @Command(name = "init", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Make the escrow key and print its private half as shares, once.",
                    "Keys of encryption certificates are escrowed to it; THRESHOLD of the shares recover one."})
    static final class EscrowInit implements Callable<Integer> {
        @Mixin DataOptions where;
        @Option(names = "--shares", paramLabel = "N", required = true, description = "How many shares to make (2 to 255).")
        int shares;
        @Option(names = "--threshold", paramLabel = "M", required = true, description = "How many shares recover a key (2 to N).")
        int threshold;
        @Option(names = "--replace", description = {"Make a new escrow key although one exists. Keys escrowed to the old one",
                "stay recoverable with the old shares only; keys escrowed from now on need the new ones."})
        boolean replace;

        @Override
        public Integer call() throws Exception {
            KeyEscrow escrow = escrow(where.load());
            KeyEscrow.Created created;
            try {
                created = escrow.initialize(shares, threshold, replace);
            } catch (EscrowException e) {
                throw new Failures.BadInput(e.getMessage());
            }
            record(escrow, "init", "-", 0, "ok", "escrow key " + created.keyId() + ", " + threshold + " of " + shares
                    + created.replaced().map(old -> ", replacing " + old).orElse(""));
            created.replaced().ifPresent(old -> System.out.println("WARNING: escrow key " + old + " is replaced. Keys escrowed"
                    + " to it stay recoverable only with ITS shares: keep them."));
            System.out.println("escrow key " + created.keyId() + ": " + threshold + " of these " + shares
                    + " shares recover an escrowed key.");
            System.out.println("Give each share to a different person; they are shown only now and kept nowhere.");
            System.out.println("Recovery: castellan kms recover SERIAL --out FILE.p12, with " + threshold
                    + " holders each typing or pasting their share.");
            System.out.println();
            for (EscrowShare share : created.shares()) {
                System.out.println("share " + share.index() + ": " + share.format());
            }
            return Main.OK;
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Escrow the key of an encryption certificate made elsewhere, from a PKCS#12 file.",
                    "The certificate must encrypt and not sign (keyUsage keyEncipherment or keyAgreement alone)."})
    static final class EscrowImport implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "FILE.p12", description = "The key and its certificate chain.") Path file;
        @Option(names = "--password-file", paramLabel = "FILE", description = {"Read the PKCS#12 password from the first line"
                + " of FILE (default: ask on the terminal)."})
        Path passwordFile;

        @Override
        public Integer call() throws Exception {
            KeyEscrow escrow = escrow(where.load());
            char[] password = password(passwordFile, false);
            try {
                KeyStore store = KeyStore.getInstance("PKCS12");
                try (var in = Files.newInputStream(file)) {
                    store.load(in, password);
                } catch (IOException e) {
                    throw new Failures.BadInput(file + " cannot be read as PKCS#12 with this password: " + e.getMessage());
                }
                for (String alias : java.util.Collections.list(store.aliases())) {
                    if (!store.isKeyEntry(alias)) continue;
                    List<X509Certificate> chain = new ArrayList<>();
                    for (var c : store.getCertificateChain(alias)) chain.add((X509Certificate) c);
                    String serial = chain.get(0).getSerialNumber().toString(16);
                    Path escrowed;
                    try {
                        escrowed = escrow.escrow(chain, (PrivateKey) store.getKey(alias, password));
                    } catch (EscrowException e) {
                        throw new Failures.BadInput(e.getMessage());
                    }
                    record(escrow, "escrow", serial, 0, "ok", "castellan kms escrow import of " + file.toAbsolutePath()
                            + ", to escrow key " + escrow.currentKeyId().orElseThrow());
                    System.out.println("escrowed the key of certificate " + serial + " ("
                            + chain.get(0).getSubjectX500Principal().getName() + "): " + escrowed);
                    return Main.OK;
                }
                throw new Failures.BadInput(file + " holds no private key");
            } finally {
                Arrays.fill(password, '\0');
            }
        }
    }

    @Command(name = "recover", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Recover the escrowed key of a certificate as PKCS#12.",
                    "Reads the shares the key needs from standard input, one per line (an empty line ends early).",
                    "Every attempt is written to the escrow audit log, which 'castellan audit' shows."})
    static final class Recover implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "SERIAL", description = "The certificate's serial number in hex, as 'cert list' shows it.")
        String serial;
        @Option(names = "--out", paramLabel = "FILE", required = true, description = "The PKCS#12 file to write (0600).")
        Path out;
        @Option(names = "--password-file", paramLabel = "FILE", description = {"Read the PKCS#12 password from the first line"
                + " of FILE (default: ask on the terminal).", "Never give it on the command line."})
        Path passwordFile;

        @Override
        public Integer call() throws Exception {
            BigInteger number = CertCommand.serial(serial);
            KeyEscrow escrow = escrow(where.load());
            int needed;
            try {
                // Before the password and the shares are asked for: is there anything to recover?
                needed = escrow.threshold(number);
            } catch (EscrowException e) {
                throw refused(escrow, number, 0, e);
            }
            char[] password = password(passwordFile, true);
            try {
                List<String> lines = new ArrayList<>();
                KeyEscrow.Recovered recovered;
                try {
                    lines = shares(needed);
                    recovered = escrow.recover(number, lines);
                } catch (EscrowException e) {
                    throw refused(escrow, number, lines.size(), e);
                }
                // The record first: a key recovered without its record is what the log exists to prevent.
                record(escrow, "recover", number.toString(16), lines.size(), "ok", "escrow key " + recovered.keyId()
                        + ", written to " + out.toAbsolutePath());
                CertCommand.writePkcs12(out, new IssuedCertificate(CertificateKind.USER, recovered.chain().get(0),
                        recovered.chain(), recovered.key()), password);
                System.out.println("recovered the key of certificate " + number.toString(16) + " ("
                        + recovered.chain().get(0).getSubjectX500Principal().getName() + ") into " + out);
                System.out.println("recorded in " + escrow.audit().file());
                return Main.OK;
            } finally {
                Arrays.fill(password, '\0');
            }
        }

        /** Records a refused recovery and says why to the operator. */
        private static Failures.BadInput refused(KeyEscrow escrow, BigInteger serial, int shares, EscrowException e) {
            String why = e.getMessage();
            if (!Files.exists(escrow.keyFile(serial))) {
                why += "; only keys of encryption certificates are escrowed, never signing keys";
            }
            record(escrow, "recover", serial.toString(16), shares, "refused", why);
            return new Failures.BadInput(why);
        }

        /**
         * {@code threshold} share lines, or fewer when an empty line or the end of input comes
         * first; the prompts go to standard error, so that they reach the terminal and never a
         * file the output is redirected to.
         */
        private static List<String> shares(int threshold) throws IOException {
            System.err.println(threshold + " shares are needed: each holder types or pastes theirs on a line"
                    + " (an empty line ends early).");
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            List<String> lines = new ArrayList<>();
            while (lines.size() < threshold) {
                System.err.print("share " + (lines.size() + 1) + " of " + threshold + ": ");
                System.err.flush();
                String line = in.readLine();
                if (line == null || line.isBlank()) break;
                lines.add(line);
            }
            System.err.println();
            return lines;
        }
    }

    /** The escrow of the configured CA: {@code PKI/escrow}. */
    static KeyEscrow escrow(CastellanConfig config) {
        return KeyEscrow.at(config.tls().pkiDirectory().resolve(KeyEscrow.DIRECTORY));
    }

    /** Appends one line to the escrow audit log, naming the operating-system user who ran the command. */
    static void record(KeyEscrow escrow, String event, String serial, int shares, String outcome, String detail) {
        escrow.audit().append(new EscrowAuditLog.Entry(Instant.now(), System.getProperty("user.name"), event, serial, shares,
                outcome, detail));
    }

    /**
     * For {@code castellan audit}: the escrow key, how many keys are escrowed, every recovery
     * attempt in the audit log, and as failures each place where the log's chain is broken.
     */
    static void auditEscrow(CastellanConfig config, List<String> failures) throws IOException {
        KeyEscrow escrow = escrow(config);
        if (escrow.currentKeyId().isEmpty()) {
            System.out.println("key escrow: no escrow key (castellan kms escrow init); encryption keys are not escrowed");
        } else {
            Path keys = escrow.keyFile(BigInteger.ONE).getParent();
            long count;
            try (var files = Files.list(keys)) {
                count = files.filter(f -> f.getFileName().toString().endsWith(".p7m")).count();
            } catch (NoSuchFileException e) {
                count = 0;
            }
            System.out.println("key escrow: escrow key " + escrow.currentKeyId().get() + ", " + count + " keys escrowed");
        }
        EscrowAuditLog.Reading reading = escrow.audit().read();
        List<EscrowAuditLog.Entry> recoveries = reading.entries().stream().filter(e -> e.event().equals("recover")).toList();
        System.out.println("escrow recoveries: " + (recoveries.isEmpty() ? "none" : recoveries.size() + ", from "
                + escrow.audit().file()));
        for (EscrowAuditLog.Entry e : recoveries) {
            System.out.println("    " + e.time() + "  " + e.user() + "  certificate " + e.serial() + "  " + e.shares()
                    + " shares  " + e.outcome() + ": " + e.detail());
        }
        for (String finding : reading.findings()) {
            failures.add("the escrow audit log has been tampered with: " + finding);
        }
    }

    /**
     * A PKCS#12 password: the first line of {@code file}, or typed on the terminal (twice, and at
     * least {@link #MIN_PASSWORD} characters, for a file being {@code made}).
     */
    static char[] password(Path file, boolean made) throws IOException {
        char[] password;
        if (file != null) {
            try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line = reader.readLine();
                password = line == null ? new char[0] : line.toCharArray();
            } catch (NoSuchFileException e) {
                throw new Failures.BadInput("the password file " + file + " does not exist");
            }
        } else {
            Console console = System.console();
            if (console == null) {
                throw new Failures.BadInput("no terminal to ask for the PKCS#12 password on; give --password-file FILE");
            }
            password = console.readPassword("Password of the PKCS#12 file: ");
            if (password == null) throw new Failures.BadInput("no password given");
            if (made) {
                char[] again = console.readPassword("The same again: ");
                boolean same = Arrays.equals(password, again);
                if (again != null) Arrays.fill(again, '\0');
                if (!same) throw new Failures.BadInput("the two passwords differ");
            }
        }
        if (made && password.length < MIN_PASSWORD) {
            Arrays.fill(password, '\0');
            throw new Failures.BadInput("the PKCS#12 password needs at least " + MIN_PASSWORD + " characters");
        }
        return password;
    }
}
