package org.castellan.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code castellan} command line. Exit codes: 0 success, 1 runtime failure, 2 bad usage or
 * bad input (an invalid address, an existing user, an unknown domain, a configuration error).
 */
@Command(name = "castellan",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Castellan secure mail server.",
        subcommands = {
                QuickstartCommand.class,
                InitCommand.class,
                ServeCommand.class,
                DomainCommand.class,
                UserCommand.class,
                AliasCommand.class,
                CertCommand.class,
                KmsCommand.class,
                EnrollCommand.class,
                NodeCommand.class,
                DirectoryCommand.class,
                DkimCommand.class, DnsCommand.class,
                SessionsCommand.class,
                BlocksCommand.class,
                QueueCommand.class,
                AuthLogCommand.class,
                AuditCommand.class,
                BackupCommand.class,
                RestoreCommand.class,
                StoreCommand.class,
                CommandLine.HelpCommand.class,
        })
public final class Main implements Runnable {

    public static final int OK = 0;
    public static final int FAILURE = 1;
    public static final int BAD_INPUT = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs one command line and returns its exit code (tests call this in-process). */
    public static int run(String... args) {
        return new CommandLine(new Main())
                .setExecutionExceptionHandler(new Failures())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .execute(args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (try --help)");
    }

    /** The version from the distribution jar's manifest; "dev" when run from classes. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"castellan " + version()};
        }
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
