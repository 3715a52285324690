package org.castellan.server.cli;

import java.util.concurrent.Callable;
import org.castellan.store.Alias;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "alias", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Manage aliases: addresses whose mail goes to another address.",
        subcommands = {AliasCommand.Add.class, AliasCommand.ListAliases.class, AliasCommand.Remove.class})
final class AliasCommand {

    @Command(name = "add", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Send mail for ALIAS to TARGET: a local account or another alias.",
                    "TARGET must be in a local domain: Castellan does not deliver outbound mail yet."})
    static final class Add implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(index = "0", paramLabel = "ALIAS") String alias;
        @Parameters(index = "1", paramLabel = "TARGET") String target;

        @Override
        public Integer call() throws Exception {
            var from = Admin.address(alias);
            var to = Admin.address(target);
            try (Admin admin = Admin.open(where)) {
                if (admin.store.getDomain(to.domain()).isEmpty()) {
                    // Mail for such an alias would be accepted and then bounce: nothing can carry it out.
                    throw new Failures.BadInput("target " + to + " is outside the local domains; Castellan does not"
                            + " deliver mail to other servers yet, so mail to " + from + " would bounce. Name a local"
                            + " account or alias ('castellan domain list' shows the local domains)");
                }
                admin.store.createAlias(from, to);
                System.out.println("alias " + from + " -> " + to + " added");
            }
            return Main.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "List aliases.")
    static final class ListAliases implements Callable<Integer> {
        @Mixin DataOptions where;
        @Option(names = "--domain", paramLabel = "DOMAIN", description = "Only aliases in this domain.") String domain;

        @Override
        public Integer call() throws Exception {
            try (Admin admin = Admin.open(where)) {
                for (Alias a : admin.store.listAliases()) {
                    if (domain == null || a.address().domain().equalsIgnoreCase(domain)) {
                        System.out.println(a.address() + "\t-> " + a.target());
                    }
                }
            }
            return Main.OK;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Remove an alias.")
    static final class Remove implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "ALIAS") String alias;

        @Override
        public Integer call() throws Exception {
            var address = Admin.address(alias);
            try (Admin admin = Admin.open(where)) {
                admin.store.deleteAlias(address);
                System.out.println("alias " + address + " removed");
            }
            return Main.OK;
        }
    }
}
