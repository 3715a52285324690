package org.castellan.server.cli;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.castellan.security.pki.CertificateKind;
import org.castellan.server.http.est.EstRoutes;
import org.castellan.server.http.est.StoreEnrollmentTokens;
import org.castellan.store.Account;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "enroll", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Certificate enrollment over HTTPS (EST, RFC 7030; docs/http.md).",
        subcommands = {EnrollCommand.Token.class})
final class EnrollCommand {

    /** A token lasts at most this: one handed over and forgotten must not stay good for long. */
    static final int MAX_HOURS = 30 * 24;

    @Command(name = "token", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Make a one-time enrollment token for one device of an account and print it, once.",
                    "The device enrolls with it as HTTP Basic (user: the part before the dot, password: the part",
                    "after it) or as 'Authorization: Bearer TOKEN'. Only a hash of it is kept."})
    static final class Token implements Callable<Integer> {
        @Mixin DataOptions where;
        @Option(names = "--owner", required = true, paramLabel = "ADDRESS", description = "The account the certificate belongs to.")
        String owner;
        @Option(names = "--device", required = true, paramLabel = "NAME",
                description = "The device's name: the CN of a device certificate (letters, digits, '.', '_', '-').")
        String device;
        @Option(names = "--kind", paramLabel = "device|user", description = "The certificate: device (default) or user.")
        String kind = "device";
        @Option(names = "--hours", paramLabel = "N", description = "How long the token is good for (default: 24).")
        int hours = (int) StoreEnrollmentTokens.DEFAULT_VALIDITY.toHours();

        @Override
        public Integer call() throws Exception {
            var address = Admin.address(owner);
            CertificateKind certificate = switch (kind) {
                case "device" -> CertificateKind.DEVICE;
                case "user" -> CertificateKind.USER;
                default -> throw new Failures.BadInput("--kind is device or user, not " + kind);
            };
            if (hours < 1 || hours > MAX_HOURS) throw new Failures.BadInput("--hours must be from 1 to " + MAX_HOURS + ", not " + hours);
            try (Admin admin = Admin.open(where)) {
                Account account = admin.store.getAccount(address)
                        .orElseThrow(() -> new Failures.BadInput("no account " + address + "; add it with castellan user add"));
                var made = StoreEnrollmentTokens.make(admin.store, account, device, certificate, Duration.ofHours(hours),
                        Clock.systemUTC());
                System.out.println(made.text());
                System.err.println("token " + made.token().id() + " for a " + certificate.caName() + " certificate of "
                        + address + " (device " + device + "), good once until " + made.token().expiresAt() + "; enroll at "
                        + EstRoutes.BASE + certificate.caName() + "/simpleenroll");
            }
            return Main.OK;
        }
    }
}
