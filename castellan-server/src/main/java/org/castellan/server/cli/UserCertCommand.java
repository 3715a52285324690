package org.castellan.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.CertificateFingerprint;
import org.castellan.store.Account;
import org.castellan.store.CertificateBinding;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan user cert}: bind a client certificate to an account by its SHA-256
 * fingerprint, for certificates that carry no address of the account (a smart card, a device, a
 * certificate from another CA). SASL EXTERNAL then logs the holder in to that account, and a
 * listener with {@code require-certificate-for-password = "same-account"} accepts it with that
 * account's password. The change applies to the running server at its next login.
 */
@Command(name = "cert", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Bind client certificates to an account by SHA-256 fingerprint: EXTERNAL logs the holder",
                "in to that account, and require-certificate-for-password = \"same-account\" accepts it.",
                "A certificate belongs to one account at most."},
        subcommands = {UserCertCommand.Bind.class, UserCertCommand.Unbind.class, UserCertCommand.ListBindings.class})
final class UserCertCommand {

    /** Which certificate: a PEM file, or its fingerprint as openssl prints it. */
    static final class Which {
        @Option(names = "--certificate", paramLabel = "FILE", description = "PEM file of the certificate (the first one in it).")
        Path file;
        @Option(names = "--fingerprint", paramLabel = "SHA256",
                description = "Its SHA-256 fingerprint: hex, colon-separated pairs as 'openssl x509 -noout -fingerprint -sha256' prints, or sha256:HEX as the auth log shows.")
        String fingerprint;

        String fingerprint() {
            return file != null ? CertificateFingerprint.sha256(read(file)) : parse(fingerprint);
        }
    }

    @Command(name = "bind", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Bind a client certificate to an account.")
    static final class Bind implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "ADDRESS") String address;
        @ArgGroup(multiplicity = "1") Which which;
        @Option(names = "--label", paramLabel = "L",
                description = "What the certificate is, e.g. \"smart card\" (default with --certificate: its subject).")
        String label;

        @Override
        public Integer call() throws Exception {
            EmailAddress a = Admin.address(address);
            String name = label;
            if (name == null && which.file != null) name = read(which.file).getSubjectX500Principal().getName();
            if (name == null) throw new Failures.BadInput("--label is needed with --fingerprint: say what the certificate is");
            String fingerprint = which.fingerprint();
            try (Admin admin = Admin.open(where)) {
                Account account = UserCommand.requireAccount(admin.store, a);
                admin.store.bindCertificate(account.id(), fingerprint, name);
                System.out.println("certificate sha256:" + fingerprint + " (" + name + ") bound to " + account.address());
            }
            return Main.OK;
        }
    }

    @Command(name = "unbind", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Remove a certificate's binding; its next EXTERNAL login fails unless it names an account itself.")
    static final class Unbind implements Callable<Integer> {
        @Mixin DataOptions where;
        @ArgGroup(multiplicity = "1") Which which;

        @Override
        public Integer call() throws Exception {
            String fingerprint = which.fingerprint();
            try (Admin admin = Admin.open(where)) {
                admin.store.unbindCertificate(fingerprint);
                System.out.println("certificate sha256:" + fingerprint + " unbound");
            }
            return Main.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "List bound certificates: fingerprint, account, creation time and label; all, or one account's.")
    static final class ListBindings implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(arity = "0..1", paramLabel = "ADDRESS") String address;

        @Override
        public Integer call() throws Exception {
            try (Admin admin = Admin.open(where)) {
                List<CertificateBinding> bindings;
                Map<Long, String> accounts = new HashMap<>();
                if (address != null) {
                    Account account = UserCommand.requireAccount(admin.store, Admin.address(address));
                    bindings = admin.store.listCertificateBindings(account.id());
                } else {
                    bindings = admin.store.listCertificateBindings();
                }
                String format = "%-71s %-32s %-24s %s%n";
                System.out.printf(Locale.ROOT, format, "FINGERPRINT", "ACCOUNT", "CREATED", "LABEL");
                for (CertificateBinding b : bindings) {
                    String owner = accounts.computeIfAbsent(b.accountId(), id -> admin.store.getAccount(id)
                            .map(x -> x.address().toString()).orElse("#" + id));
                    System.out.printf(Locale.ROOT, format, "sha256:" + b.fingerprint(), owner, b.createdAt(), b.label());
                }
            }
            return Main.OK;
        }
    }

    private static String parse(String fingerprint) {
        try {
            return CertificateFingerprint.parse(fingerprint);
        } catch (IllegalArgumentException e) {
            throw new Failures.BadInput(e.getMessage());
        }
    }

    /** The first certificate of a PEM (or DER) file. */
    static X509Certificate read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        } catch (IOException e) {
            throw new Failures.BadInput("cannot read " + file + ": " + e.getMessage());
        } catch (CertificateException e) {
            throw new Failures.BadInput(file + " holds no X.509 certificate in PEM or DER form: " + e.getMessage());
        }
    }
}
