package org.castellan.server.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.Pem;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.TlsMode;
import org.castellan.server.dkim.DkimKeys;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code castellan dns --domain D}: every DNS record a mail domain needs, as zone-file lines with
 * comments: MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, SRV for client autodiscovery and TLSA. Reads
 * the configuration, the DKIM keys and the server certificate; changes nothing.
 */
@Command(name = "dns", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Print the DNS records a mail domain needs, as zone-file lines with comments:",
                "MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, SRV (RFC 6186, RFC 8314) and TLSA (RFC 7672)."})
final class DnsCommand implements Callable<Integer> {

    /** RFC 1035 §3.3.14: a TXT record is character-strings of at most 255 octets each. */
    static final int MAX_TXT_STRING = 255;
    /** RFC 8461 §3.2: a week, long enough to outlast an attack on DNS, short enough to change mode. */
    static final int MTA_STS_MAX_AGE = 604_800;
    /** RFC 8461 §3.1: the policy id is 1 to 32 letters and digits. */
    private static final int MTA_STS_ID_LENGTH = 20;

    @Mixin DataOptions where;
    @Option(names = "--domain", paramLabel = "DOMAIN", required = true, description = "The mail domain.")
    String domain;

    /** One SRV service name of RFC 6186 or RFC 8314, and the listeners that provide it. */
    private record Service(String name, Protocol protocol, TlsMode tls, String rfc) {
    }

    private static final List<Service> SERVICES = List.of(
            new Service("_submissions", Protocol.SUBMISSION, TlsMode.IMPLICIT, "RFC 8314 §5.1"),
            new Service("_submission", Protocol.SUBMISSION, TlsMode.STARTTLS, "RFC 6186 §3.1"),
            new Service("_imaps", Protocol.IMAP, TlsMode.IMPLICIT, "RFC 6186 §3.2"),
            new Service("_imap", Protocol.IMAP, TlsMode.STARTTLS, "RFC 6186 §3.2"),
            new Service("_pop3s", Protocol.POP3, TlsMode.IMPLICIT, "RFC 6186 §3.3"),
            new Service("_pop3", Protocol.POP3, TlsMode.STARTTLS, "RFC 6186 §3.3"));

    @Override
    public Integer call() throws Exception {
        String d = domain.toLowerCase(Locale.ROOT);
        if (!EmailAddress.isValidDomain(d)) throw new Failures.BadInput("invalid domain name '" + domain + "'");
        CastellanConfig config = where.load();
        String host = config.server().hostname();
        List<String> out = new ArrayList<>();
        out.add("; DNS records for the mail domain " + d + ", from castellan dns at " + Instant.now());
        out.add("; " + host + " itself needs A and AAAA records with the server's addresses, and a PTR for each.");
        out.add("");
        out.add("; MX (RFC 5321 §5.1): mail for " + d + " goes to this server.");
        out.add(d + ". IN MX 10 " + host + ".");
        out.add("");
        out.add("; SPF (RFC 7208): only the MX hosts send mail for " + d + "; list other senders before -all.");
        out.add(d + ". IN TXT " + txtStrings("v=spf1 mx -all"));
        out.add("");
        dkim(out, config, d);
        out.add("; DMARC (RFC 7489): a start. Read the aggregate reports for a few weeks, then raise p= to reject.");
        out.add("; Make dmarc-reports@" + d + " an account or an alias (castellan alias add).");
        out.add("_dmarc." + d + ". IN TXT " + txtStrings("v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@" + d));
        out.add("");
        mtaSts(out, d, host);
        out.add("; TLS-RPT (RFC 8460): where senders report TLS failures; make tls-reports@" + d + " exist.");
        out.add("_smtp._tls." + d + ". IN TXT " + txtStrings("v=TLSRPTv1; rua=mailto:tls-reports@" + d));
        out.add("");
        srv(out, config, d, host);
        tlsa(out, config, host);
        out.forEach(System.out::println);
        return Main.OK;
    }

    private static void dkim(List<String> out, CastellanConfig config, String d) {
        List<DkimKeys.Selector> published = new DkimKeys(config.server().dataDir()).published(d, Instant.now());
        out.add("; DKIM (RFC 6376, RFC 8463): the public keys of the published selectors.");
        if (published.isEmpty()) out.add("; " + d + " has no DKIM keys yet: make them with castellan dkim keygen --domain " + d);
        for (DkimKeys.Selector s : published) {
            if (!s.active()) out.add("; " + s.selector() + " is retired: remove it after " + s.retired().get().plus(DkimKeys.RETIRED_PUBLISHED));
            out.add(DkimCommand.zoneLine(s));
        }
        out.add("");
    }

    private static void mtaSts(List<String> out, String d, String host) {
        String policy = "version: STSv1\nmode: testing\nmx: " + host + "\nmax_age: " + MTA_STS_MAX_AGE + "\n";
        out.add("; MTA-STS (RFC 8461): senders that support it require TLS to the MX. The id changes with the policy.");
        out.add("_mta-sts." + d + ". IN TXT " + txtStrings("v=STSv1; id=" + policyId(policy)));
        out.add("; Serve this policy as text/plain at https://mta-sts." + d + "/.well-known/mta-sts.txt (RFC 8461 §3.3),");
        out.add("; with a certificate valid for mta-sts." + d + ". Senders then require " + host + " to have a certificate");
        out.add("; from a public CA (RFC 8461 §4.2): with the built-in CA's keep mode: testing. Once TLS reports are");
        out.add("; clean, change mode to enforce:");
        for (String line : policy.split("\n")) out.add(";   " + line);
        out.add("");
    }

    private static void srv(List<String> out, CastellanConfig config, String d, String host) {
        out.add("; SRV for mail client autodiscovery (RFC 6186, RFC 8314): priority weight port target.");
        out.add("; A service this server does not offer is marked unavailable with target \".\" (RFC 6186 §4).");
        for (Service service : SERVICES) {
            Optional<Listener> listener = config.listeners().stream()
                    .filter(l -> l.protocol() == service.protocol() && l.tls() == service.tls() && l.port() != 0).findFirst();
            String name = service.name() + "._tcp." + d + ". IN SRV ";
            out.add(listener.map(l -> name + "0 1 " + l.port() + " " + host + ".").orElse(name + "0 0 0 ."));
        }
        out.add("");
    }

    private static void tlsa(List<String> out, CastellanConfig config, String host) {
        out.add("; TLSA (RFC 7672, DANE for SMTP): 3 1 1 = the SHA-256 of the server certificate's public key.");
        out.add("; Only with DNSSEC on the zone of " + host + "; before the server's key changes, publish the new");
        out.add("; record beside this one (RFC 7671 §8.1).");
        if (!Files.isReadable(config.tls().certificate())) {
            out.add("; no server certificate at " + config.tls().certificate() + ": no TLSA record");
            return;
        }
        X509Certificate certificate = Pem.readCertificate(config.tls().certificate());
        out.add("_25._tcp." + host + ". IN TLSA 3 1 1 " + HexFormat.of().formatHex(sha256(certificate.getPublicKey().getEncoded())));
    }

    /** The text as quoted character-strings of at most {@link #MAX_TXT_STRING} octets; verifiers join them (RFC 6376 §3.6.2.2). */
    static String txtStrings(String text) {
        List<String> strings = new ArrayList<>();
        for (int i = 0; i < text.length(); i += MAX_TXT_STRING) {
            strings.add("\"" + text.substring(i, Math.min(text.length(), i + MAX_TXT_STRING)) + "\"");
        }
        return String.join(" ", strings);
    }

    /** An id that changes exactly when the policy does. */
    private static String policyId(String policy) {
        return HexFormat.of().formatHex(sha256(policy.getBytes(StandardCharsets.US_ASCII))).substring(0, MTA_STS_ID_LENGTH);
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
