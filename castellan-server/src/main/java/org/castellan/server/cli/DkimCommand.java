package org.castellan.server.cli;

import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import org.castellan.security.mailauth.DkimAlgorithm;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.dkim.DkimKeys;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code castellan dkim}: make, rotate and list the DKIM keys of the mail domains (RFC 6376,
 * RFC 8463). Each command prints the TXT records to publish.
 *
 * <p>SECURITY: private keys stay in DATA/dkim (0700 directories, 0600 files) and are never printed.
 */
@Command(name = "dkim", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Make, rotate and list the DKIM signing keys of the mail domains.",
        subcommands = {DkimCommand.Keygen.class, DkimCommand.Rotate.class, DkimCommand.ListKeys.class})
final class DkimCommand {

    /** Which keys keygen makes. */
    enum Algorithms {
        RSA(EnumSet.of(DkimAlgorithm.RSA_SHA256)),
        ED25519(EnumSet.of(DkimAlgorithm.ED25519_SHA256)),
        /** RFC 8463 §4: sign with both until every verifier knows Ed25519. */
        BOTH(EnumSet.allOf(DkimAlgorithm.class));

        final Set<DkimAlgorithm> algorithms;

        Algorithms(Set<DkimAlgorithm> algorithms) {
            this.algorithms = algorithms;
        }
    }

    @Command(name = "keygen", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Make the first DKIM keys of a domain: RSA-2048 and Ed25519 by default (RFC 8463 §4).",
                    "Prints the TXT records to publish; the keys stay in DATA/dkim/DOMAIN."})
    static final class Keygen implements Callable<Integer> {
        @Mixin DataOptions where;
        @Option(names = "--domain", paramLabel = "DOMAIN", required = true, description = "A mail domain of this server.")
        String domain;
        @Option(names = "--algorithm", paramLabel = "A", description = "rsa, ed25519 or both (default: both).")
        Algorithms algorithm = Algorithms.BOTH;

        @Override
        public Integer call() throws Exception {
            DkimKeys keys = keys(where, domain);
            List<DkimKeys.Selector> made = badInput(() -> keys.generate(domain, algorithm.algorithms, Instant.now()));
            System.out.println("made DKIM keys for " + made.get(0).domain() + "; publish these TXT records:");
            made.forEach(s -> System.out.println(zoneLine(s)));
            return Main.OK;
        }
    }

    @Command(name = "rotate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Make new active selectors for a domain, of the algorithms it has; the old ones are retired.",
                    "Publish the new TXT records at once; keep the retired ones published for "
                            + "7 days (castellan dkim list says until when), then remove them."})
    static final class Rotate implements Callable<Integer> {
        @Mixin DataOptions where;
        @Option(names = "--domain", paramLabel = "DOMAIN", required = true, description = "A domain with DKIM keys.")
        String domain;

        @Override
        public Integer call() throws Exception {
            DkimKeys keys = keys(where, domain);
            Instant now = Instant.now();
            List<DkimKeys.Selector> made = badInput(() -> keys.rotate(domain, now));
            System.out.println("new active selectors for " + made.get(0).domain() + "; publish these TXT records now:");
            made.forEach(s -> System.out.println(zoneLine(s)));
            for (DkimKeys.Selector s : keys.list(domain)) {
                if (s.retired().isPresent() && s.published(now)) {
                    System.out.println("retired " + s.selector() + ": keep its record published until "
                            + s.retired().get().plus(DkimKeys.RETIRED_PUBLISHED));
                }
            }
            return Main.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"List the DKIM selectors, tab-separated: domain, selector, algorithm, created, state and",
                    "the TXT record. State: active, published-until=TIME (retired) or unpublish (retired, remove the record)."})
    static final class ListKeys implements Callable<Integer> {
        @Mixin DataOptions where;
        @Option(names = "--domain", paramLabel = "DOMAIN", description = "Only this domain.")
        String domain;

        @Override
        public Integer call() throws Exception {
            CastellanConfig config = where.load();
            DkimKeys keys = new DkimKeys(config.server().dataDir());
            List<DkimKeys.Selector> selectors = domain == null ? keys.list() : badInput(() -> keys.list(domain));
            Instant now = Instant.now();
            System.out.println(String.join("\t", "DOMAIN", "SELECTOR", "ALGORITHM", "CREATED", "STATE", "TXT"));
            for (DkimKeys.Selector s : selectors) {
                System.out.println(String.join("\t", s.domain(), s.selector(), s.algorithm().tag(), s.created().toString(),
                        state(s, now), s.record()));
            }
            return Main.OK;
        }
    }

    static String state(DkimKeys.Selector s, Instant now) {
        if (s.active()) return "active";
        return s.published(now) ? "published-until=" + s.retired().get().plus(DkimKeys.RETIRED_PUBLISHED) : "unpublish";
    }

    /** A zone-file line for the selector's record, its text in strings of at most 255 octets (RFC 1035 §3.3.14). */
    static String zoneLine(DkimKeys.Selector s) {
        return s.dnsName() + ". IN TXT " + DnsCommand.txtStrings(s.record());
    }

    /** The keys of the data directory, after checking that {@code domain} is one of the server's mail domains. */
    private static DkimKeys keys(DataOptions where, String domain) throws Exception {
        try (Admin admin = Admin.open(where)) {
            String d = domain.toLowerCase(Locale.ROOT);
            if (admin.store.getDomain(d).isEmpty()) {
                throw new Failures.BadInput("no mail domain " + d + " (add it first: castellan domain add " + d + ")");
            }
            return new DkimKeys(admin.config.server().dataDir());
        }
    }

    @FunctionalInterface
    interface KeysCall<T> {
        T call();
    }

    /** A refusal of DkimKeys (a bad domain, keys that exist already, none to rotate) is bad input. */
    static <T> T badInput(KeysCall<T> call) {
        try {
            return call.call();
        } catch (IllegalArgumentException e) {
            throw new Failures.BadInput(e.getMessage());
        }
    }
}
