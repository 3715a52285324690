package org.castellan.server.cli;

import java.time.Clock;
import java.util.concurrent.Callable;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateDirectory;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.ldap.DirectoryPublisher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code castellan directory publish}: brings the enterprise directory of {@code [directory.publish]}
 * up to date with the user CA (docs/kms.md): every address's entry gets its valid certificates and
 * loses the revoked and expired ones. Issuing and revoking publish at once; this command catches up
 * after the directory was unreachable, and may run as often as wanted.
 *
 * <p>SECURITY: reads the bind password from {@code password-file}; never prints it.
 */
@Command(name = "directory", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "The certificate directory: publish the user certificates to an enterprise directory.",
        subcommands = {DirectoryCommand.Publish.class})
final class DirectoryCommand {

    @Command(name = "publish", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Bring every user's entry in the [directory.publish] directory up to date: valid user"
                    + " certificates added, revoked and expired ones removed. Prints the counts; exits 1 if an address"
                    + " could not be published."})
    static final class Publish implements Callable<Integer> {
        @Mixin DataOptions where;

        @Override
        public Integer call() throws Exception {
            CastellanConfig config = where.load();
            DirectoryPublisher publisher = publisher(config, CertCommand.ca(config));
            if (publisher == null) {
                throw new Failures.BadInput("nothing to publish to: set url, bind-dn, password-file and base-dn in"
                        + " [directory.publish] of " + config.file());
            }
            DirectoryPublisher.Report r = publisher.publishAll();
            System.out.println("published to " + config.directory().publish().orElseThrow().url() + ": " + r.updated()
                    + " updated, " + r.unchanged() + " unchanged, " + r.noEntry() + " without an entry, " + r.ambiguous()
                    + " with several entries, " + r.failed() + " failed");
            r.problems().forEach(p -> System.out.println("  " + p));
            return r.failed() == 0 ? Main.OK : Main.FAILURE;
        }
    }

    /** The publisher of {@code config}, or null when it publishes nowhere. */
    static DirectoryPublisher publisher(CastellanConfig config, CertificateAuthority ca) {
        return config.directory().publish()
                .map(settings -> new DirectoryPublisher(settings, ca, new CertificateDirectory(ca, Clock.systemUTC())))
                .orElse(null);
    }

    /**
     * Publishes {@code address} after {@code cert issue} or {@code cert revoke} changed its
     * certificates, and says what happened. A failure never undoes the change: it is printed with
     * the command that catches up.
     */
    static void afterChange(CastellanConfig config, CertificateAuthority ca, String address) {
        DirectoryPublisher publisher = publisher(config, ca);
        if (publisher == null) return;
        try {
            DirectoryPublisher.Outcome outcome = publisher.publish(address);
            System.out.println("directory: " + switch (outcome) {
                case UPDATED -> "published to " + publisher.settings().url();
                case UNCHANGED -> "already up to date at " + publisher.settings().url();
                case NO_ENTRY -> "no entry (mail=" + address + ") under " + publisher.settings().baseDn() + "; nothing published";
                case AMBIGUOUS -> "several entries (mail=" + address + ") under " + publisher.settings().baseDn()
                        + "; nothing published";
            });
        } catch (com.unboundid.ldap.sdk.LDAPException e) {
            System.out.println("directory: not published to " + publisher.settings().url() + ": "
                    + DirectoryPublisher.describe(e) + "; run castellan directory publish once it is reachable");
        }
    }
}
