package org.castellan.server.cli;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.castellan.security.pki.CertificateKind;
import org.castellan.server.http.est.EnrollmentApprovals;
import org.castellan.server.http.est.EstRoutes;
import org.castellan.server.http.est.StoreEnrollmentTokens;
import org.castellan.store.Account;
import org.castellan.store.EnrollmentRequest;
import org.castellan.store.MailStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "enroll", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Certificate enrollment over HTTPS (EST, RFC 7030; docs/http.md).",
        subcommands = {EnrollCommand.Token.class, EnrollCommand.Pending.class, EnrollCommand.Approve.class,
                EnrollCommand.Deny.class})
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

    @Command(name = "pending", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"List the enrollment requests waiting for approval ([enroll] approve = true), oldest first."})
    static final class Pending implements Callable<Integer> {
        @Mixin DataOptions where;

        @Override
        public Integer call() throws Exception {
            try (Admin admin = Admin.open(where)) {
                Map<Long, String> accounts = new HashMap<>();
                String format = "%-11s %-32s %-6s %-24s %-8s %s%n";
                System.out.printf(Locale.ROOT, format, "ID", "ACCOUNT", "KIND", "DEVICE", "KEY", "REQUESTED");
                for (EnrollmentRequest r : admin.store.listEnrollmentRequests(EnrollmentRequest.State.PENDING)) {
                    String owner = accounts.computeIfAbsent(r.accountId(), id -> admin.store.getAccount(id)
                            .map(x -> x.address().toString()).orElse("#" + id));
                    System.out.printf(Locale.ROOT, format, r.id(), owner, r.kind(), r.device(), r.keyType(), r.requestedAt());
                }
            }
            return Main.OK;
        }
    }

    @Command(name = "approve", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Approve a waiting enrollment request: the device's next repeat of it gets the certificate."})
    static final class Approve implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "ID", description = "The request's id, as enroll pending lists it.") String id;

        @Override
        public Integer call() throws Exception {
            return decide(where, id, store -> EnrollmentApprovals.approve(store, id, Clock.systemUTC()),
                    "approved " + id + "; the certificate is issued when the device asks again");
        }
    }

    @Command(name = "deny", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Deny a waiting enrollment request: the device's next repeat of it is refused (403)."})
    static final class Deny implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "ID", description = "The request's id, as enroll pending lists it.") String id;
        @Option(names = "--reason", paramLabel = "TEXT", description = "Told to the device with the refusal.")
        String reason;

        @Override
        public Integer call() throws Exception {
            if (reason != null && (reason.length() > MAX_REASON || reason.chars().anyMatch(Character::isISOControl))) {
                throw new Failures.BadInput("--reason is one line of at most " + MAX_REASON + " characters");
            }
            return decide(where, id, store -> EnrollmentApprovals.deny(store, id, reason, Clock.systemUTC()), "denied " + id);
        }
    }

    /** A reason goes into an HTTP response body for the device: one line, short. */
    static final int MAX_REASON = 200;

    /** Approves or denies a pending request; a request not pending is the operator's mistake, named. */
    private static int decide(DataOptions where, String id, java.util.function.Predicate<MailStore> decision, String done)
            throws Exception {
        try (Admin admin = Admin.open(where)) {
            if (!decision.test(admin.store)) {
                throw new Failures.BadInput(admin.store.findEnrollmentRequest(id)
                        .map(r -> "enrollment request " + id + " is " + r.state().sqlName() + ", not pending")
                        .orElse("no enrollment request " + id + "; castellan enroll pending lists them"));
            }
            System.out.println(done);
        }
        return Main.OK;
    }
}
