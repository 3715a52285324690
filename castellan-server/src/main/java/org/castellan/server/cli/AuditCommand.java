package org.castellan.server.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.castellan.security.auth.AuthContext;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.CertificateForPassword;
import org.castellan.security.auth.ChannelBinding;
import org.castellan.security.auth.ScramSecret;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.rules.RuleAction;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.StartChecks;
import org.castellan.server.StoreCredentials;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigKeys;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Rule;
import org.castellan.server.config.TlsMode;
import org.castellan.store.Account;
import org.castellan.store.MailStore;
import org.castellan.server.transport.ChannelBindings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code castellan audit}: a summary of the security options of the configuration, per listener,
 * without a running server, built from what the server itself runs: the start-time checks and
 * TLS policy of {@link StartChecks} (so a configuration that would not start fails here, exit 2,
 * naming file, line and key), AuthService's mechanism lists per listener and TLS version, the
 * policy's session resumption, and the accounts whose password secret SCRAM clients refuse. Exit
 * 1 when a listener takes credentials in cleartext without {@code accept-cleartext-risk}, a
 * private key is kept under {@code DATA/issued}, or the escrow audit log's hash chain is broken.
 */
@Command(name = "audit", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Summarise the security options of the configuration, per listener.",
                "Exit code 1 when a listener accepts cleartext credentials without accept-cleartext-risk = true,",
                "or a private key of an issued certificate is kept on the server, or the escrow audit log was edited;",
                "2 when the server would not start."})
final class AuditCommand implements Callable<Integer> {

    /** RFC 8996 deprecates TLS 1.0 and 1.1; 1.2 is the least a listener may allow. */
    static final String LEAST_TLS = "TLSv1.2";
    static final String TLS_1_2 = "TLSv1.2";

    @Mixin DataOptions where;

    @Override
    public Integer call() throws Exception {
        CastellanConfig config = where.load();
        // The server's own start-time checks: a configuration the audit passes is one that starts.
        Path pki = config.tls().pkiDirectory();
        Optional<CertificateAuthority> ca = Files.isDirectory(pki) ? Optional.of(CertificateAuthority.load(pki)) : Optional.empty();
        TlsPolicy tls = StartChecks.tlsPolicy(config, ca, false);
        Optional<TlsPolicy> linkTls = StartChecks.linkTlsPolicy(config, ca);
        StartChecks.logFile(config);
        TlsPolicy.Preset preset = tls.preset();
        String minimum = preset.protocols().stream().min(String::compareTo).orElseThrow();
        List<String> failures = new ArrayList<>();
        if (minimum.compareTo(LEAST_TLS) < 0) {
            failures.add("the TLS preset allows " + minimum + ", below " + LEAST_TLS + "; choose another [tls] preset");
        }
        System.out.println("Security options of " + config.file());
        System.out.println("TLS preset: " + ConfigKeys.choiceName(config.tls().preset()) + " (" + String.join(", ", preset.protocols())
                + "), provider " + ConfigKeys.choiceName(tls.provider()));
        // RFC 6066 §8: a certificate without a staple is still served; the audit says so.
        tls.stapling().forEach((subject, state) -> System.out.println("OCSP stapling for " + subject + ": " + state));
        StartChecks.ConnectionCeiling ceiling = StartChecks.connectionCeiling(config);
        List<String> warnings = new ArrayList<>(ConnectionCaps.serverWarnings(ceiling));
        System.out.println(ConnectionCaps.serverLine(ceiling));
        try (Admin admin = Admin.open(where);
             AuthService auth = new AuthService(new StoreCredentials(admin.store), AuthSettings.defaults(), Clock.systemUTC())) {
            for (Listener l : config.listeners()) {
                System.out.println();
                System.out.println("listener " + l.name());
                row("protocol", ConfigKeys.choiceName(l.protocol()));
                row("address", l.address() + ":" + l.port() + " (" + reach(l.address()) + ")");
                if (l.protocol() == org.castellan.server.config.Protocol.LINK) {
                    LinkAudit.rows(config, l, linkTls.orElseThrow(), ca.orElseThrow(), failures);
                    continue;
                }
                row("tls", ConfigKeys.choiceName(l.tls()) + (l.tls() == TlsMode.NONE ? "" : ", minimum " + minimum));
                row("client certificate", ConfigKeys.choiceName(l.clientCert()) + raisedBy(config, l));
                if (l.tls() != TlsMode.NONE) row("session resumption", resumption(tls, l, config));
                if (l.protocol() == org.castellan.server.config.Protocol.HTTP) {
                    row("logins", "none: only the built-in CA's public OCSP responder, CRLs and CA certificates"
                            + " (docs/http.md)");
                } else if (!l.protocol().takesLogins()) {
                    row("logins", "none: mail exchange from other servers takes no AUTH (RFC 4954 is for submission)");
                } else if (l.protocol() == org.castellan.server.config.Protocol.LDAPS
                        || l.protocol() == org.castellan.server.config.Protocol.LDAP) {
                    row("logins", (l.tls() == TlsMode.STARTTLS ? "before StartTLS nothing but the root DSE; after it, " : "")
                            + "simple bind inside TLS through AuthService (protocol ldap); without one, searches"
                            + " as [directory] anonymous = \"" + ConfigKeys.choiceName(config.directory().anonymous())
                            + "\" allows (docs/ldap.md)");
                    row("directory", "base DN " + config.directory().baseDn(config.server().hostname()) + ", at most "
                            + config.directory().sizeLimit() + " entries per search"
                            + config.directory().publish().map(p -> ", published to " + p.url()).orElse(""));
                } else if (l.protocol() == org.castellan.server.config.Protocol.HTTPS) {
                    row("logins", "per request inside TLS: HTTP Basic through AuthService (protocol enroll), an enrollment"
                            + " token, or the client certificate (docs/http.md)");
                } else {
                    row("before TLS", l.tls() == TlsMode.IMPLICIT ? "nothing: TLS from the first byte"
                            : mechanisms(auth.mechanisms(context(l, false, false))));
                    if (l.tls() == TlsMode.NONE) {
                        row("after TLS", "never: this listener offers no TLS");
                    } else {
                        // TLS 1.2 always has a channel binding (tls-server-end-point); TLS 1.3 has
                        // tls-exporter with BoringSSL (from the key log) and with JDK 25's TLS.
                        for (String version : preset.protocols()) {
                            boolean bound = version.equals(TLS_1_2) || ChannelBindings.tls13Binding(tls.provider());
                            row("after " + version.replace("TLSv", "TLS "), mechanisms(auth.mechanisms(context(l, true, bound)))
                                    + (certificatePossible(config, l) ? ", EXTERNAL with a verified client certificate" : ""));
                        }
                    }
                    row("password needs", passwordNeeds(l.certificateForPassword()));
                }
                String cleartext;
                if (!l.acceptsCleartextCredentials() || !l.protocol().takesLogins()) {
                    cleartext = "no";
                } else if (l.acceptCleartextRisk()) {
                    cleartext = "YES, risk accepted (accept-cleartext-risk = true)";
                } else {
                    cleartext = "YES";
                    failures.add("listener " + l.name() + " accepts credentials in cleartext; set cleartext-auth = false"
                            + " (or tls = \"implicit\"), or accept the risk with accept-cleartext-risk = true");
                }
                row("cleartext credentials", cleartext);
                row("connections", ConnectionCaps.perListener(l));
                if (l.protocol().takesLogins() && l.protocol() != org.castellan.server.config.Protocol.HTTPS
                        && l.protocol() != org.castellan.server.config.Protocol.LDAPS
                        && l.protocol() != org.castellan.server.config.Protocol.LDAP) row("login within", config.auth().loginTimeout().toSeconds()
                        + "s of accept, TLS handshake included ([auth] login-timeout)");
                if (l.protocol() == org.castellan.server.config.Protocol.SMTP
                        || l.protocol() == org.castellan.server.config.Protocol.SUBMISSION) {
                    row("slow senders", ConnectionCaps.smtpDeadlines(l));
                }
                warnings.addAll(ConnectionCaps.listenerWarnings(l, ceiling));
                List<Rule> rules = rules(config, l);
                row("rules", rules.isEmpty() ? "none: every address is allowed" : "first match of:");
                for (Rule r : rules) System.out.println("    " + r.cidr() + " -> " + ConfigKeys.choiceName(r.action()));
            }
            System.out.println();
            passwordSecrets(admin.store, config.auth().scramIterations());
        }
        if (config.edge().isPresent()) LinkAudit.edgeRows(config, ca, java.time.Instant.now(), failures);
        List<Path> keys = keysLeftOnTheServer(config);
        System.out.println();
        if (keys.isEmpty()) {
            System.out.println("issued keys: none kept on the server");
        } else {
            for (Path k : keys) {
                failures.add("private key " + k + " is kept on the server; hand it to its device or user and delete it");
            }
        }
        KmsCommand.auditEscrow(config, failures);
        if (!warnings.isEmpty()) System.out.println();
        warnings.forEach(w -> System.out.println("WARN: " + w));
        System.out.println();
        if (failures.isEmpty()) {
            System.out.println("result: no listener lets a credential cross the network in cleartext");
            return Main.OK;
        }
        failures.forEach(f -> System.out.println("FAIL: " + f));
        return Main.FAILURE;
    }

    /** Accounts named in full before the rest are only counted. */
    private static final int NAMED_ACCOUNTS = 10;

    /**
     * The accounts whose password secret SCRAM clients cannot use or that have another count than
     * configured: secrets made under an older default keep their count until re-derived
     * (docs/authentication.md). Informative: a secret's count is no leak, so it fails nothing.
     */
    private static void passwordSecrets(MailStore store, int configured) {
        List<String> refused = new ArrayList<>();
        int other = 0;
        List<Account> accounts = store.listAccounts();
        for (Account a : accounts) {
            int iterations;
            try {
                iterations = ScramSecret.parse(a.credential()).iterations();
            } catch (IllegalArgumentException unreadable) {
                refused.add(a.address() + " (unreadable: set it again)");
                continue;
            }
            if (iterations > ScramSecret.MAX_INTEROPERABLE_ITERATIONS) refused.add(a.address() + " (" + iterations + ")");
            else if (iterations != configured) other++;
        }
        row("password secrets", accounts.size() + " accounts, scram-iterations = " + configured
                + (other > 0 ? "; " + other + " at another count, re-derived at their next PLAIN or LOGIN login" : ""));
        if (refused.isEmpty()) return;
        row("SCRAM clients refuse", refused.size() + " accounts' secrets: more than " + ScramSecret.MAX_INTEROPERABLE_ITERATIONS
                + " iterations, which Cyrus SASL (mbsync) will not compute. Each is re-derived at the account's next PLAIN"
                + " or LOGIN login; or set it again with castellan user passwd:");
        refused.stream().limit(NAMED_ACCOUNTS).forEach(name -> System.out.println("    " + name));
        if (refused.size() > NAMED_ACCOUNTS) System.out.println("    and " + (refused.size() - NAMED_ACCOUNTS) + " more");
    }

    /** What a listener's address reaches, as Transport binds it. */
    static String reach(String address) {
        return switch (address) {
            case "0.0.0.0" -> "every IPv4 address, no IPv6";
            case "::" -> "every IPv6 address, and IPv4 too where the system maps it (Linux's default)";
            case "localhost" -> "127.0.0.1 only";
            default -> "this address only";
        };
    }

    /** Whether handshakes on this listener resume sessions, as the TLS policy decides per client-certificate mode. */
    private static String resumption(TlsPolicy tls, Listener l, CastellanConfig config) {
        boolean resumes = tls.resumesSessions(l.clientCert());
        if (!resumes) return "off: every connection verifies its client certificate and its revocation";
        return "TLS 1.3 session tickets (no client certificate is asked, so no check is skipped)"
                + (raisedBy(config, l).isEmpty() ? "" : "; off for addresses whose rules ask for a certificate");
    }

    /** Private keys under DATA/issued, where earlier versions left the keys of issued certificates. */
    private static List<Path> keysLeftOnTheServer(CastellanConfig config) throws IOException {
        Path issued = CertCommand.issuedRoot(config);
        if (!Files.isDirectory(issued)) return List.of();
        try (Stream<Path> walk = Files.walk(issued)) {
            return walk.filter(Files::isRegularFile).filter(AuditCommand::holdsPrivateKey).sorted().toList();
        }
    }

    private static boolean holdsPrivateKey(Path file) {
        String name = file.getFileName().toString();
        if (name.endsWith(".p12") || name.endsWith(".pfx") || name.equals(IssuedCertificate.KEY_FILE)) return true;
        try {
            return Files.readString(file).contains("PRIVATE KEY-----");
        } catch (IOException | java.io.UncheckedIOException notText) {
            return false;
        }
    }

    /** What require-certificate-for-password asks of a password login here, in the operator's words. */
    private static String passwordNeeds(CertificateForPassword policy) {
        return switch (policy) {
            case NO -> "nothing more: a password alone logs in (require-certificate-for-password = \"no\")";
            case ANY -> "a verified client certificate too, of any account (require-certificate-for-password = \"any\")";
            case SAME_ACCOUNT -> "a verified client certificate of the same account: an address it carries, the owner"
                    + " the built-in CA recorded, or a binding (castellan user cert bind)"
                    + " (require-certificate-for-password = \"same-account\")";
        };
    }

    private static void row(String name, String value) {
        System.out.printf("  %-22s %s%n", name + ":", value);
    }

    /**
     * What AuthService would see on this listener with or without TLS. The channel binding only
     * signals that one exists, for SCRAM-SHA-256-PLUS to be listed.
     */
    private static AuthContext context(Listener l, boolean tls, boolean bindable) {
        Optional<ChannelBinding> binding = tls && bindable
                ? Optional.of(new ChannelBinding(ChannelBinding.TLS_EXPORTER, new byte[32]))
                : Optional.empty();
        return new AuthContext(l.name(), ConfigKeys.choiceName(l.protocol()), InetAddress.getLoopbackAddress(), tls,
                l.cleartextAuth(), binding, Optional.empty());
    }

    private static String mechanisms(List<String> names) {
        return names.isEmpty() ? "no credentials accepted" : String.join(" ", names);
    }

    private static List<Rule> rules(CastellanConfig config, Listener l) {
        return config.rules().stream().filter(r -> r.appliesToAllListeners() || r.listeners().contains(l.name())).toList();
    }

    private static boolean certificatePossible(CastellanConfig config, Listener l) {
        return l.clientCert() != ClientCertMode.NONE || !raisedBy(config, l).isEmpty();
    }

    private static String raisedBy(CastellanConfig config, Listener l) {
        boolean raised = rules(config, l).stream()
                .anyMatch(r -> r.action() == RuleAction.REQUEST_CERT || r.action() == RuleAction.REQUIRE_CERT);
        return raised ? " (raised by rules for some addresses)" : "";
    }
}
