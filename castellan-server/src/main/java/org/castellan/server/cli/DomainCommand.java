package org.castellan.server.cli;

import java.util.concurrent.Callable;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Domain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "domain", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Manage the mail domains this server receives mail for.",
        subcommands = {DomainCommand.Add.class, DomainCommand.ListDomains.class, DomainCommand.Remove.class})
final class DomainCommand {

    @Command(name = "add", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Add a domain.")
    static final class Add implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "DOMAIN") String name;

        @Override
        public Integer call() throws Exception {
            if (!EmailAddress.isValidDomain(name)) throw new Failures.BadInput("invalid domain name '" + name + "'");
            try (Admin admin = Admin.open(where)) {
                Domain d = admin.store.createDomain(name);
                System.out.println("domain " + d.name() + " added");
            }
            return Main.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "List the domains.")
    static final class ListDomains implements Callable<Integer> {
        @Mixin DataOptions where;

        @Override
        public Integer call() throws Exception {
            try (Admin admin = Admin.open(where)) {
                for (Domain d : admin.store.listDomains()) {
                    System.out.println(d.name() + "\t" + admin.store.listAccounts(d.name()).size() + " accounts");
                }
            }
            return Main.OK;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Remove a domain that has no accounts or aliases left.")
    static final class Remove implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "DOMAIN") String name;

        @Override
        public Integer call() throws Exception {
            try (Admin admin = Admin.open(where)) {
                admin.store.deleteDomain(name);
                System.out.println("domain " + name + " removed");
            }
            return Main.OK;
        }
    }
}
