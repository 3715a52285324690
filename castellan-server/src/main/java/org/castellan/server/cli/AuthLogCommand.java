package org.castellan.server.cli;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.castellan.store.AuthAttempt;
import org.castellan.store.AuthLogStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code castellan auth-log}: the newest authentication attempts from the store's auth log. Reads
 * the store directly, so it works whether the server runs or not; attempts the running server has
 * not written yet (it batches them) appear a moment later.
 */
@Command(name = "auth-log", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Show the newest authentication attempts: time, remote address, listener, protocol,",
                "mechanism, account, result, reason, TLS version and client-certificate fingerprint."})
final class AuthLogCommand implements Callable<Integer> {

    /** A screenful by default; --limit asks for more. */
    static final int DEFAULT_LIMIT = 50;
    /** The store keeps at most this many anyway. */
    static final int MAX_LIMIT = AuthLogStore.AUTH_LOG_MAX_ROWS;

    @Mixin DataOptions where;
    @Option(names = "--account", paramLabel = "A", description = "Only attempts for this account.") String account;
    @Option(names = "--limit", paramLabel = "N", description = "How many attempts, newest first (default: " + DEFAULT_LIMIT + ").")
    int limit = DEFAULT_LIMIT;

    @Override
    public Integer call() throws Exception {
        if (limit < 1 || limit > MAX_LIMIT) throw new Failures.BadInput("--limit must be between 1 and " + MAX_LIMIT);
        Optional<String> who = account == null ? Optional.empty() : Optional.of(Admin.address(account).toString());
        try (Admin admin = Admin.open(where)) {
            AuthLogStore log = admin.store;
            List<AuthAttempt> attempts = log.listAuthAttempts(who, limit);
            // An address nobody has and nobody tried is most likely a typo; attempts naming an
            // address that has no account (guessing, a deleted account) are still shown.
            if (who.isPresent() && attempts.isEmpty() && admin.store.getAccount(Admin.address(who.get())).isEmpty()) {
                throw new Failures.BadInput("no account " + who.get() + " and no attempt naming it in the auth log;"
                        + " 'castellan user list' shows the accounts");
            }
            String format = "%-24s %-40s %-12s %-6s %-28s %-32s %-20s %-32s %-8s %s%n";
            System.out.printf(Locale.ROOT, format, "TIME", "REMOTE", "LISTENER", "PROTO", "MECHANISM", "ACCOUNT", "RESULT",
                    "REASON", "TLS", "CERTIFICATE");
            for (AuthAttempt a : attempts) {
                System.out.printf(Locale.ROOT, format, a.time(), a.remote(), a.listener(), a.protocol(), a.mechanism(),
                        a.account(), a.result(), a.reason().orElse("-"), a.tlsVersion().orElse("-"),
                        a.certificate().orElse("-"));
            }
        }
        return Main.OK;
    }
}
