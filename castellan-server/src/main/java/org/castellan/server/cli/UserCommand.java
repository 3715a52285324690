package org.castellan.server.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.Passwords;
import org.castellan.server.admin.AdminClient;
import org.castellan.store.Account;
import org.castellan.store.AppPassword;
import org.castellan.store.Mailbox;
import org.castellan.store.MailStore;
import org.castellan.store.Quota;
import org.castellan.store.StoreException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "user", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Manage user accounts.",
        subcommands = {UserCommand.Add.class, UserCommand.Passwd.class, UserCommand.ListUsers.class,
                UserCommand.Show.class, UserCommand.Remove.class, UserCommand.Place.class, UserMoveCommand.class, UserCommand.AppPasswords.class,
                UserCertCommand.class})
final class UserCommand {

    @Command(name = "add", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Create an account with INBOX, Drafts, Sent, Trash, Junk and Archive.",
                    "Without --password-stdin a random password is generated and shown once."})
    static final class Add implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "ADDRESS") String address;
        @Mixin PasswordOption password;
        @Option(names = "--quota", paramLabel = "SIZE", description = "Storage limit, e.g. 500M or 2G (default: none).")
        String quota;

        @Override
        public Integer call() throws Exception {
            EmailAddress a = Admin.address(address);
            OptionalLong limit = quota == null ? OptionalLong.empty() : OptionalLong.of(parseSize(quota));
            try (Admin admin = Admin.open(where)) {
                requireDomain(admin.store, a);
                password.use(admin.config.auth().passwordMinLength(), secret -> {
                    admin.store.createAccount(a, admin.secret(secret), limit);
                    System.out.println("user " + a + " added");
                });
            }
            return Main.OK;
        }
    }

    @Command(name = "passwd", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Set a new password (generated and shown once, unless --password-stdin).")
    static final class Passwd implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "ADDRESS") String address;
        @Mixin PasswordOption password;

        @Override
        public Integer call() throws Exception {
            EmailAddress a = Admin.address(address);
            try (Admin admin = Admin.open(where)) {
                Account account = requireAccount(admin.store, a);
                password.use(admin.config.auth().passwordMinLength(), secret -> {
                    admin.store.setCredential(account.id(), admin.secret(secret));
                    System.out.println("password of " + account.address() + " changed");
                });
            }
            return Main.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "List accounts.")
    static final class ListUsers implements Callable<Integer> {
        @Mixin DataOptions where;
        @Option(names = "--domain", paramLabel = "DOMAIN", description = "Only accounts in this domain.") String domain;

        @Override
        public Integer call() throws Exception {
            try (Admin admin = Admin.open(where)) {
                if (domain != null && admin.store.getDomain(domain.toLowerCase(Locale.ROOT)).isEmpty()) {
                    throw new Failures.BadInput("unknown domain " + domain + "; 'castellan domain list' shows the domains");
                }
                var accounts = domain == null ? admin.store.listAccounts() : admin.store.listAccounts(domain.toLowerCase(Locale.ROOT));
                for (Account a : accounts) System.out.println(a.address());
            }
            return Main.OK;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Show an account: quota, usage and mailboxes.")
    static final class Show implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "ADDRESS") String address;

        @Override
        public Integer call() throws Exception {
            EmailAddress a = Admin.address(address);
            try (Admin admin = Admin.open(where)) {
                Account account = requireAccount(admin.store, a);
                Quota q = admin.store.quota(account.id());
                System.out.println("address:   " + account.address());
                System.out.println("created:   " + account.createdAt());
                System.out.println("node:      " + admin.store.placement(account.id()).orElse("the edges' default node"));
                System.out.println("quota:     " + (q.limitBytes().isPresent() ? formatSize(q.limitBytes().getAsLong()) : "none"));
                System.out.println("used:      " + formatSize(q.usedBytes()) + " in " + q.usedMessages() + " messages");
                System.out.println("mailboxes:");
                for (Mailbox m : admin.store.listMailboxes(account.id())) {
                    var s = admin.store.status(m.id());
                    System.out.println("  " + m.name() + m.specialUse().map(u -> " (" + u + ")").orElse("")
                            + "  " + s.messages() + " messages, " + s.unseen() + " unseen");
                }
            }
            return Main.OK;
        }
    }

    @Command(name = "place", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Set the mailbox node that holds an account's mail, where edges relay its IMAP, POP3 and",
                    "submission sessions and its MX mail (docs/roles.md). Moves no mail: place an account before it has any."})
    static final class Place implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(index = "0", paramLabel = "ADDRESS") String address;
        @Parameters(index = "1", paramLabel = "NODE", arity = "0..1",
                description = "The node's name, as in castellan-node:mailbox/NAME; left out, the edges' default-node.")
        String node;

        @Override
        public Integer call() throws Exception {
            EmailAddress a = Admin.address(address);
            try (Admin admin = Admin.open(where)) {
                Account account = requireAccount(admin.store, a);
                admin.store.setPlacement(account.id(), java.util.Optional.ofNullable(node));
            }
            System.out.println(node == null ? a + " goes to the edges' default node" : a + " placed on node " + node);
            return Main.OK;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Delete an account with all its mailboxes and messages, and close its live sessions",
                    "on the running server."})
    static final class Remove implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "ADDRESS") String address;

        @Override
        public Integer call() throws Exception {
            EmailAddress a = Admin.address(address);
            try (Admin admin = Admin.open(where)) {
                Account account = requireAccount(admin.store, a);
                admin.store.deleteAccount(account.id());
                System.out.println("user " + account.address() + " removed");
                closeSessions(admin.config.server().adminSocket(), account.address());
            }
            return Main.OK;
        }

        /**
         * A removed account's sessions end with it: left open, a client would go on working on
         * mail that is gone. Without a running server there is nothing to close.
         */
        private static void closeSessions(Path socket, EmailAddress account) {
            if (!Files.exists(socket)) return;
            try {
                int closed = new AdminClient(socket).request(SessionsCommand.request("kick").put("account", account.toString()))
                        .path("closed").asInt();
                if (closed > 0) System.out.println("closed " + closed + " live session(s) of " + account);
            } catch (AdminClient.AdminException e) {
                System.err.println("warning: " + e.getMessage() + "; close the account's sessions with"
                        + " 'castellan sessions kick --account " + account + "'");
            }
        }
    }

    @Command(name = "app-password", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Manage app passwords: random passwords for one client, each good only for the",
                    "protocols of its scope (imap, pop3, smtp, enroll) and revocable on its own. SCRAM logins",
                    "use the main password only."},
            subcommands = {AppPasswords.Add.class, AppPasswords.ListAppPasswords.class, AppPasswords.Revoke.class})
    static final class AppPasswords {

        /** The protocols an app password can be scoped to: those with password logins, and certificate enrollment (docs/http.md). */
        static final Set<String> PROTOCOLS = Set.of("imap", "pop3", "smtp", "enroll");

        @Command(name = "add", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
                description = "Create an app password; it is generated and shown once.")
        static final class Add implements Callable<Integer> {
            @Mixin DataOptions where;
            @Parameters(paramLabel = "ADDRESS") String address;
            @Option(names = "--label", required = true, paramLabel = "L", description = "What the password is for, e.g. \"phone\".")
            String label;
            @Option(names = "--scope", required = true, paramLabel = "P[,P...]", split = ",",
                    description = "Protocols it may be used on: imap, pop3, smtp, enroll.")
            List<String> scope;

            @Override
            public Integer call() throws Exception {
                EmailAddress a = Admin.address(address);
                Set<String> protocols = scope(scope);
                try (Admin admin = Admin.open(where)) {
                    Account account = requireAccount(admin.store, a);
                    char[] password = appPassword(admin.store.listAppPasswords(account.id()));
                    try {
                        AppPassword created = admin.store.createAppPassword(account.id(), label, admin.secret(password),
                                Passwords.selector(password), protocols);
                        System.out.println("app password " + created.id() + " (" + created.label() + ") added to "
                                + account.address() + " for " + String.join(",", new TreeSet<>(created.scope())));
                        System.out.println("password: " + new String(password) + "   (shown once: save it now)");
                    } finally {
                        Arrays.fill(password, '\0');
                    }
                }
                return Main.OK;
            }
        }

        @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
                description = "List an account's app passwords: id, scope, creation time and label.")
        static final class ListAppPasswords implements Callable<Integer> {
            @Mixin DataOptions where;
            @Parameters(paramLabel = "ADDRESS") String address;

            @Override
            public Integer call() throws Exception {
                EmailAddress a = Admin.address(address);
                try (Admin admin = Admin.open(where)) {
                    Account account = requireAccount(admin.store, a);
                    String format = "%-6s %-16s %-24s %s%n";
                    System.out.printf(Locale.ROOT, format, "ID", "SCOPE", "CREATED", "LABEL");
                    for (AppPassword p : admin.store.listAppPasswords(account.id())) {
                        System.out.printf(Locale.ROOT, format, p.id(), String.join(",", new TreeSet<>(p.scope())),
                                p.createdAt(), p.label());
                    }
                }
                return Main.OK;
            }
        }

        @Command(name = "revoke", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
                description = "Delete an app password; the next login with it fails.")
        static final class Revoke implements Callable<Integer> {
            @Mixin DataOptions where;
            @Parameters(index = "0", paramLabel = "ADDRESS") String address;
            @Parameters(index = "1", paramLabel = "ID", description = "The id 'app-password list' shows.") long id;

            @Override
            public Integer call() throws Exception {
                EmailAddress a = Admin.address(address);
                try (Admin admin = Admin.open(where)) {
                    Account account = requireAccount(admin.store, a);
                    admin.store.revokeAppPassword(account.id(), id);
                    System.out.println("app password " + id + " of " + account.address() + " revoked");
                }
                return Main.OK;
            }
        }

        /** A new app password whose selector no other app password of the account has. */
        static char[] appPassword(List<AppPassword> existing) {
            Set<Optional<String>> taken = new HashSet<>();
            for (AppPassword p : existing) taken.add(p.selector());
            while (true) {
                char[] password = Passwords.generateAppPassword().toCharArray();
                if (!taken.contains(Passwords.selector(password))) return password;
                Arrays.fill(password, '\0');
            }
        }

        static Set<String> scope(List<String> names) {
            Set<String> protocols = new TreeSet<>();
            for (String n : names) {
                String p = n.trim().toLowerCase(Locale.ROOT);
                if (!PROTOCOLS.contains(p)) {
                    throw new Failures.BadInput("unknown protocol '" + n + "' in --scope: expected imap, pop3, smtp or enroll, comma-separated");
                }
                protocols.add(p);
            }
            return protocols;
        }
    }

    static void requireDomain(MailStore store, EmailAddress a) {
        if (store.getDomain(a.domain()).isEmpty()) {
            throw new Failures.BadInput("unknown domain " + a.domain() + " (add it first: castellan domain add " + a.domain() + ")");
        }
    }

    static Account requireAccount(MailStore store, EmailAddress a) {
        return store.getAccount(a).orElseThrow(() -> StoreException.notFound("no account " + a));
    }

    /** Parses 1234, 500K, 20M, 2G (powers of 1024). */
    static long parseSize(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        if (t.endsWith("K")) unit = 1L << 10;
        else if (t.endsWith("M")) unit = 1L << 20;
        else if (t.endsWith("G")) unit = 1L << 30;
        else if (t.endsWith("T")) unit = 1L << 40;
        String digits = unit == 1 ? t : t.substring(0, t.length() - 1);
        try {
            long n = Long.parseLong(digits);
            if (n < 0) throw new NumberFormatException();
            return Math.multiplyExact(n, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new Failures.BadInput("invalid size '" + text + "': expected a number with an optional K, M, G or T suffix");
        }
    }

    static String formatSize(long bytes) {
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int i = -1;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[i]);
    }
}
