package org.castellan.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.castellan.security.mailauth.Dmarc;
import org.castellan.security.rules.Cidr;
import org.castellan.security.rules.RuleAction;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.security.tls.TlsPolicy.Preset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigValidationTest {

    private static final Path FILE = Path.of("/etc/castellan/castellan.toml");

    private static final String SERVER = """
            [server]
            hostname = "mail.example.org"
            data-dir = "/var/lib/castellan"
            """;

    private static final String IMAP = """
            [[listener]]
            name = "imap"
            protocol = "imap"
            port = 143
            """;

    @Test
    void minimalFileGetsEveryDefault() throws ConfigException {
        CastellanConfig config = CastellanConfig.parse(SERVER, FILE);
        Path data = Path.of("/var/lib/castellan");
        assertThat(config.file()).isEqualTo(FILE);
        assertThat(config.server()).isEqualTo(new Server("mail.example.org", data, Role.ALL, Duration.ofSeconds(30),
                data.resolve("admin.sock")));
        assertThat(config.store()).isEqualTo(new Store(StoreKind.EMBEDDED, data.resolve("mail")));
        assertThat(config.tls()).isEqualTo(new Tls(Preset.INTERMEDIATE, data.resolve("tls/chain.pem"),
                data.resolve("tls/key.pem"), data.resolve("pki"), List.of()));
        // The most iterations Cyrus SASL's SCRAM client accepts (docs/authentication.md).
        assertThat(config.auth()).isEqualTo(new Auth(65_536));
        assertThat(config.log()).isEqualTo(new Log(LogFormat.TEXT, Optional.empty(), LogRotation.SIZE, 100L << 20, 10));
        assertThat(config.log().isDefault()).isTrue();
        assertThat(config.listeners()).isEmpty();
        assertThat(config.rules()).isEmpty();
    }

    @Test
    void readsThePublicUrlOfTheBuiltInCa() throws ConfigException {
        CastellanConfig config = CastellanConfig.parse(SERVER + "[tls]\npki-public-url = \"https://mail.example.org/\"\n", FILE);
        assertThat(config.tls().pkiPublicUrl()).contains(java.net.URI.create("https://mail.example.org/"));
        // RFC 5280 §4.2.1.13, RFC 6960 Appendix A.1: relying parties fetch these over plain http.
        assertThat(CastellanConfig.parse(SERVER + "[tls]\npki-public-url = \"http://mail.example.org\"\n", FILE)
                .tls().pkiPublicUrl()).contains(java.net.URI.create("http://mail.example.org"));
        assertThat(CastellanConfig.parse(SERVER, FILE).tls().pkiPublicUrl()).isEmpty();
    }

    @Test
    void readsTheObjectStoreTableAndLeavesBodiesInTheStoreWithoutABucket() throws ConfigException {
        CastellanConfig config = CastellanConfig.parse(SERVER + """
                [store.object-store]
                endpoint = "https://minio.example.org:9000"
                bucket = "castellan-mail"
                access-key-file = "s3/access"
                secret-key-file = "s3/secret"
                sse = "aws:kms"
                kms-key-id = "alias/castellan"
                inline-max = "64KB"
                """, FILE);
        Path data = Path.of("/var/lib/castellan");
        assertThat(config.objectStorage()).contains(new ObjectStorage(Optional.of(java.net.URI.create(
                "https://minio.example.org:9000")), "us-east-1", "castellan-mail", data.resolve("s3/access"),
                data.resolve("s3/secret"), true, Optional.of("aws:kms"), Optional.of("alias/castellan"), 64 * 1024));
        assertThat(CastellanConfig.parse(SERVER, FILE).objectStorage()).isEmpty();
        assertThat(CastellanConfig.parse(SERVER + "[store.object-store]\nregion = \"eu-west-1\"\n", FILE).objectStorage())
                .isEmpty();
    }

    @Test
    void readsTheLogTable() throws ConfigException {
        CastellanConfig config = CastellanConfig.parse(SERVER + """
                [log]
                format = "json"
                file = "log/castellan.log"
                rotate = "daily"
                max-size = "512KB"
                keep = 20
                """, FILE);
        assertThat(config.log()).isEqualTo(new Log(LogFormat.JSON,
                Optional.of(Path.of("/var/lib/castellan/log/castellan.log")), LogRotation.DAILY, 512 * 1024, 20));
        assertThat(CastellanConfig.parse(SERVER + "[log]\nmax-size = \"10GB\"\nfile = \"/var/log/c.log\"\n", FILE).log())
                .isEqualTo(new Log(LogFormat.TEXT, Optional.of(Path.of("/var/log/c.log")), LogRotation.SIZE,
                        10L << 30, 10));
    }

    @Test
    void readsTheSmtpTable() throws ConfigException {
        assertThat(CastellanConfig.parse(SERVER, FILE).smtp()).isEqualTo(Smtp.DEFAULTS)
                .isEqualTo(new Smtp(3, Duration.ofSeconds(1), 10, 30, Duration.ofHours(1)));
        CastellanConfig config = CastellanConfig.parse(SERVER + """
                [smtp]
                unknown-recipient-delay-after = 1
                unknown-recipient-delay = "250ms"
                unknown-recipient-limit = 4
                unknown-recipient-source-limit = 6
                unknown-recipient-window = "10m"
                """, FILE);
        assertThat(config.smtp()).isEqualTo(new Smtp(1, Duration.ofMillis(250), 4, 6, Duration.ofMinutes(10)));
    }

    @Test
    void readsTheDnsTable() throws ConfigException {
        assertThat(CastellanConfig.parse(SERVER, FILE).dns()).isEqualTo(Dns.DEFAULTS)
                .isEqualTo(new Dns(List.of(), Optional.empty(), true, Duration.ofSeconds(5)));
        CastellanConfig config = CastellanConfig.parse(SERVER + """
                [dns]
                resolvers = ["192.0.2.53", "192.0.2.54:5353", "2001:db8::53", "[2001:db8::54]:5353"]
                trust-anchor = "dns/root.ds"
                dnssec = false
                timeout = "1500ms"
                """, FILE);
        assertThat(config.dns()).isEqualTo(new Dns(List.of(new InetSocketAddress("192.0.2.53", 53),
                new InetSocketAddress("192.0.2.54", 5353), new InetSocketAddress("2001:db8::53", 53),
                new InetSocketAddress("2001:db8::54", 5353)), Optional.of(Path.of("/var/lib/castellan/dns/root.ds")),
                false, Duration.ofMillis(1500)));
    }

    @Test
    void readsTheMailAuthTable() throws ConfigException {
        assertThat(CastellanConfig.parse(SERVER, FILE).mailAuth()).isEqualTo(MailAuth.DEFAULTS)
                .isEqualTo(new MailAuth(true, Dmarc.Policy.REJECT, Dmarc.Policy.QUARANTINE, Duration.ofSeconds(20)));
        CastellanConfig config = CastellanConfig.parse(SERVER + """
                [mail-auth]
                enabled = false
                dmarc-reject = "quarantine"
                dmarc-quarantine = "none"
                dns-timeout = "30s"
                """, FILE);
        assertThat(config.mailAuth()).isEqualTo(new MailAuth(false, Dmarc.Policy.QUARANTINE, Dmarc.Policy.NONE, Duration.ofSeconds(30)));
        assertThatThrownBy(() -> CastellanConfig.parse(SERVER + "[mail-auth]\ndmarc-reject = \"drop\"\n", FILE))
                .hasMessageContaining("mail-auth.dmarc-reject");
    }

    @Test
    void readsTheKerberosTable() throws ConfigException {
        assertThat(CastellanConfig.parse(SERVER, FILE).kerberos()).isEqualTo(Kerberos.NONE);
        assertThat(Kerberos.NONE.settings()).isEmpty();
        CastellanConfig config = CastellanConfig.parse(SERVER + """
                [kerberos]
                keytab = "castellan.keytab"
                realm = "EXAMPLE.ORG"
                protocols = ["imap", "smtp"]
                smtp-principal = "smtp/relay.example.org@EXAMPLE.ORG"
                principals = ["alice/admin@EXAMPLE.ORG=alice@example.org"]
                realm-domain = "example.org"
                """, FILE);
        var settings = config.kerberos().settings().orElseThrow();
        assertThat(settings.keytab()).isEqualTo(Path.of("/var/lib/castellan/castellan.keytab"));
        // RFC 9051 §6.2.2 and RFC 4954 §4: the service names "imap" and "smtp"; POP3 is left out here.
        assertThat(settings.servicePrincipals()).isEqualTo(Map.of("imap", "imap/mail.example.org@EXAMPLE.ORG",
                "smtp", "smtp/relay.example.org@EXAMPLE.ORG"));
        assertThat(settings.accountName("alice/admin@EXAMPLE.ORG")).contains("alice@example.org");
        assertThat(settings.accountName("bob@EXAMPLE.ORG")).contains("bob@example.org");
        assertThat(CastellanConfig.parse(SERVER + "[kerberos]\nkeytab = \"k\"\nrealm = \"EXAMPLE.ORG\"\n", FILE)
                .kerberos().settings().orElseThrow().servicePrincipals())
                .containsEntry("pop3", "pop/mail.example.org@EXAMPLE.ORG");
        assertThatThrownBy(() -> CastellanConfig.parse(SERVER + "[kerberos]\nkeytab = \"k\"\n", FILE))
                .hasMessageContaining("kerberos.realm");
        assertThatThrownBy(() -> CastellanConfig.parse(SERVER
                + "[kerberos]\nkeytab = \"k\"\nrealm = \"EXAMPLE.ORG\"\nprincipals = [\"alice\"]\nprotocols = [\"pop\"]\n", FILE))
                .hasMessageContaining("kerberos.principals").hasMessageContaining("kerberos.protocols");
    }

    @Test
    void listenerDefaults() throws ConfigException {
        CastellanConfig config = CastellanConfig.parse(SERVER + IMAP, FILE);
        assertThat(config.listeners()).containsExactly(new Listener("imap", Protocol.IMAP, "0.0.0.0", 143,
                TlsMode.STARTTLS, ClientCertMode.NONE, false, List.of()));
        assertThat(config.usesTls()).isTrue();
    }

    @Test
    void readsEveryKey() throws ConfigException {
        String text = """
                # Every key set to something other than its default.
                [server]
                hostname = "MX1.example.org"
                data-dir = "data"          # relative to /etc/castellan
                role = "all"               # "mailbox" takes links only; "edge" is refused
                shutdown-grace = "250ms"
                admin-socket = "/run/castellan/admin.sock"

                [store]
                kind = "embedded"
                directory = "/srv/mail"

                [tls]
                preset = "modern"
                certificate = "certs/chain.pem"
                key = "certs/key.pem"
                pki-directory = "/srv/pki"
                client-ca-files = ["partner-ca.pem", "/etc/ssl/devices.pem"]

                [auth]
                scram-iterations = 4_096

                [[listener]]
                name = "imaps"
                protocol = "imap"
                address = "::"
                port = 993
                tls = "implicit"
                client-cert = "require"
                cleartext-auth = false
                proxy-from = ["10.0.0.0/8", "2001:DB8::/32"]

                [[listener]]
                name = "pop3-lan"
                protocol = "pop3"
                address = "localhost"
                port = 0
                tls = "none"
                cleartext-auth = true

                [[listener]]
                name = "submission"
                protocol = "submission"
                address = "192.0.2.10"
                port = 587
                client-cert = "request"

                [[rule]]
                cidr = "192.0.2.0/24"
                action = "deny"

                [[rule]]
                cidr = "::ffff:10.0.0.0/104"
                listeners = ["imaps", "submission"]
                action = "request-cert"
                """;
        CastellanConfig config = CastellanConfig.parse(text, FILE);
        Path data = Path.of("/etc/castellan/data");
        assertThat(config.server()).isEqualTo(new Server("MX1.example.org", data, Role.ALL, Duration.ofMillis(250),
                Path.of("/run/castellan/admin.sock")));
        assertThat(config.store()).isEqualTo(new Store(StoreKind.EMBEDDED, Path.of("/srv/mail")));
        assertThat(config.tls()).isEqualTo(new Tls(Preset.MODERN, data.resolve("certs/chain.pem"),
                data.resolve("certs/key.pem"), Path.of("/srv/pki"),
                List.of(data.resolve("partner-ca.pem"), Path.of("/etc/ssl/devices.pem"))));
        assertThat(config.auth().scramIterations()).isEqualTo(4096);
        assertThat(config.listeners()).containsExactly(
                new Listener("imaps", Protocol.IMAP, "::", 993, TlsMode.IMPLICIT, ClientCertMode.REQUIRE, false,
                        List.of("10.0.0.0/8", "2001:db8::/32")),
                new Listener("pop3-lan", Protocol.POP3, "localhost", 0, TlsMode.NONE, ClientCertMode.NONE, true,
                        List.of()),
                new Listener("submission", Protocol.SUBMISSION, "192.0.2.10", 587, TlsMode.STARTTLS,
                        ClientCertMode.REQUEST, false, List.of()));
        assertThat(config.rules()).containsExactly(
                new Rule(Cidr.parse("192.0.2.0/24"), List.of("*"), RuleAction.DENY),
                new Rule(Cidr.parse("10.0.0.0/8"), List.of("imaps", "submission"), RuleAction.REQUEST_CERT));
        assertThat(config.listener("pop3-lan").orElseThrow().acceptsCleartextCredentials()).isTrue();
        assertThat(config.listener("imaps").orElseThrow().acceptsCleartextCredentials()).isFalse();
    }

    @Test
    void connectionRulesFollowFileOrderAndListenerNames() throws ConfigException, UnknownHostException {
        String text = SERVER + IMAP + "tls = \"implicit\"\n" + """
                [[listener]]
                name = "smtp"
                protocol = "smtp"
                port = 25

                [[rule]]
                cidr = "192.0.2.7"
                action = "allow"

                [[rule]]
                cidr = "192.0.2.0/24"
                action = "deny"

                [[rule]]
                cidr = "0.0.0.0/0"
                listeners = ["imap"]
                action = "require-cert"
                """;
        var rules = CastellanConfig.parse(text, FILE).connectionRules();
        assertThat(rules.decide(InetAddress.getByName("192.0.2.7"), "smtp")).isEqualTo(RuleAction.ALLOW);
        assertThat(rules.decide(InetAddress.getByName("192.0.2.8"), "smtp")).isEqualTo(RuleAction.DENY);
        assertThat(rules.decide(InetAddress.getByName("203.0.113.1"), "imap")).isEqualTo(RuleAction.REQUIRE_CERT);
        assertThat(rules.decide(InetAddress.getByName("203.0.113.1"), "smtp")).isEqualTo(RuleAction.ALLOW);
        assertThat(rules.decide(InetAddress.getByName("2001:db8::1"), "imap")).isEqualTo(RuleAction.ALLOW);
    }

    @Test
    void portZeroMayRepeatAndPortsMayRepeatOnOtherAddresses() throws ConfigException {
        String text = SERVER + """
                [[listener]]
                name = "a"
                protocol = "imap"
                port = 0
                [[listener]]
                name = "b"
                protocol = "imap"
                port = 0
                [[listener]]
                name = "c"
                protocol = "smtp"
                address = "127.0.0.1"
                port = 2525
                [[listener]]
                name = "d"
                protocol = "smtp"
                address = "::1"
                port = 2525
                """;
        assertThat(CastellanConfig.parse(text, FILE).listeners()).hasSize(4);
    }

    /**
     * Each case is a whole file; the offending line ends with the comment "# <-" so the test knows
     * which line the message must name. Cases without the marker expect line 0.
     */
    static List<Arguments> invalid() {
        return List.of(
                Arguments.of(SERVER.replace("hostname =", "hostnme = \"x\" # <-\nhostname ="), "server.hostnme",
                        "unknown key (known keys in [server]: hostname, data-dir, role, shutdown-grace, admin-socket,"
                                + " max-connections)"),
                Arguments.of(SERVER + IMAP + "adress = \"::\" # <-\n", "listener[1].adress",
                        "unknown key (known keys in [[listener]]: name, protocol, address, port, tls, client-cert,"
                                + " cleartext-auth, accept-cleartext-risk, require-certificate-for-password, proxy-from,"
                                + " max-connections-per-address, max-connections-per-network, command-deadline, min-data-rate,"
                                + " edges)"),
                Arguments.of(SERVER + "[servre] # <-\n", "servre",
                        "unknown table (known tables: [server], [store], [store.object-store], [tls], [auth], [log], [smtp], [dns], [mail-auth],"
                                + " [kerberos], [enroll], [directory], [directory.publish], [outbound], [[outbound.route]], [[outbound.tls-policy]], [node], [edge], [[listener]],"
                                + " [[rule]], [[oauth-issuer]])"),
                Arguments.of(SERVER + "[[outbound.routes]] # <-\n", "outbound.routes[1]", "unknown table"),
                Arguments.of(SERVER + "[outbound.route] # <-\n", "outbound.route", "write [[outbound.route]], once per entry"),
                Arguments.of(SERVER + "[outbound.tls-policy] # <-\n", "outbound.tls-policy",
                        "write [[outbound.tls-policy]], once per entry"),
                Arguments.of("hostname = \"x\" # <-\n" + SERVER, "hostname", "keys must be inside a table"),
                Arguments.of(SERVER + "[listener] # <-\nname = \"x\"\n", "listener", "write [[listener]], once per entry"),
                Arguments.of(SERVER + "[[store]] # <-\n", "store", "write [store], once"),
                Arguments.of(SERVER + "role = 1 # <-\n", "server.role",
                        "expected one of \"all\", \"edge\", \"mailbox\", got 1"),
                Arguments.of(SERVER + "role = \"primary\" # <-\n", "server.role",
                        "expected one of \"all\", \"edge\", \"mailbox\", got \"primary\""),
                Arguments.of(SERVER + IMAP.replace("port = 143", "port = \"abc\" # <-"), "listener[1].port",
                        "expected an integer from 0 to 65535, got \"abc\""),
                Arguments.of(SERVER + IMAP.replace("port = 143", "port = 70000 # <-"), "listener[1].port",
                        "expected an integer from 0 to 65535, got 70000"),
                Arguments.of(SERVER + IMAP.replace("port = 143", "port = -1 # <-"), "listener[1].port",
                        "expected an integer from 0 to 65535, got -1"),
                Arguments.of(SERVER + IMAP + IMAP.replace("[[listener]]", "[[listener]] # <-")
                                .replace("port = 143\n", "").replace("name = \"imap\"", "name = \"imap2\""),
                        "listener[2].port", "missing; expected an integer from 0 to 65535"),
                Arguments.of("[server] # <-\ndata-dir = \"/d\"\n", "server.hostname",
                        "missing; expected a host name in double quotes"),
                Arguments.of(SERVER + IMAP + IMAP.replace("name = \"imap\"", "name = \"imap\" # <-")
                                .replace("143", "993"),
                        "listener[2].name", "duplicate listener name \"imap\" (first on line 5)"),
                Arguments.of(SERVER + IMAP + IMAP.replace("name = \"imap\"", "name = \"imap2\"")
                                .replace("port = 143", "port = 143 # <-"),
                        "listener[2].port", "address 0.0.0.0 port 143 is already used by listener[1] (line 7)"),
                Arguments.of(SERVER + IMAP.replace("port = 143", "port = 143\naddress = \"::0\"")
                                + IMAP.replace("name = \"imap\"", "name = \"b\"")
                                .replace("port = 143", "address = \"0:0::\"\nport = 143 # <-"),
                        "listener[2].port", "address 0:0:: port 143 is already used by listener[1]"),
                Arguments.of(SERVER + IMAP.replace("name = \"imap\"", "name = \"*\" # <-"), "listener[1].name",
                        "expected a name of letters, digits, - and _ in double quotes, such as \"imap\", got \"*\""),
                Arguments.of(SERVER + IMAP.replace("name = \"imap\"", "name = \"my imap\" # <-"), "listener[1].name",
                        "got \"my imap\""),
                Arguments.of(SERVER + IMAP + "address = \"mail.example.org\" # <-\n", "listener[1].address",
                        "expected an IP address or \"localhost\""),
                Arguments.of(SERVER + IMAP + "address = \"10.0.0.0/8\" # <-\n", "listener[1].address",
                        "expected an IP address or \"localhost\""),
                Arguments.of(SERVER + IMAP + "tls = \"none\"\nclient-cert = \"request\" # <-\n",
                        "listener[1].client-cert", "client-cert = \"request\" needs tls = \"starttls\" or \"implicit\""),
                Arguments.of(SERVER + IMAP + "client-cert = \"require\" # <-\n", "listener[1].client-cert",
                        "client-cert = \"require\" needs tls = \"implicit\", so that no greeting is sent before"),
                Arguments.of(SERVER + IMAP + "tls = \"none\"\nclient-cert = \"require\" # <-\n",
                        "listener[1].client-cert", "client-cert = \"require\" needs tls = \"implicit\""),
                // The plain-HTTP listener serves the CA's public objects only, never inside TLS (docs/http.md).
                Arguments.of(SERVER + IMAP.replace("\"imap\"\nport", "\"ldaps\"\nport") + "tls = \"starttls\" # <-\n",
                        "listener[1].tls", "protocol = \"ldaps\" needs tls = \"implicit\""),
                Arguments.of(SERVER + IMAP.replace("\"imap\"\nport", "\"ldap\"\nport") + "tls = \"none\" # <-\n",
                        "listener[1].tls", "protocol = \"ldap\" needs tls = \"starttls\""),
                Arguments.of(SERVER + "[directory]\nbase-dn = \"example.org\" # <-\n", "directory.base-dn",
                        "expected a distinguished name (RFC 4514)"),
                Arguments.of(SERVER + "[directory]\nsize-limit = 0 # <-\n", "directory.size-limit", "expected an integer from 1"),
                Arguments.of(SERVER + "[directory]\nanonymous = \"substring\" # <-\n", "directory.anonymous",
                        "expected one of \"exact\", \"none\""),
                Arguments.of(SERVER + "[directory.publish]\nurl = \"http://ldap.example.org\" # <-\nbind-dn = \"cn=x,dc=example,dc=org\"\n"
                        + "password-file = \"pw\"\nbase-dn = \"dc=example,dc=org\"\n", "directory.publish.url",
                        "expected \"ldaps://host[:port]\" or \"ldap://host[:port]\" (StartTLS)"),
                Arguments.of(SERVER + "[store.object-store] # <-\nbucket = \"mail\"\nsecret-key-file = \"s3.secret\"\n",
                        "store.object-store.access-key-file", "expected the file holding the access key id"),
                Arguments.of(SERVER + "[store.object-store] # <-\nbucket = \"mail\"\naccess-key-file = \"s3.access\"\n",
                        "store.object-store.secret-key-file", "expected the file holding the secret access key"),
                Arguments.of(SERVER + "[store.object-store]\nbucket = \"mail\"\naccess-key-file = \"a\"\nsecret-key-file = \"s\"\n"
                        + "sse = \"aes256\" # <-\n", "store.object-store.sse", "expected \"AES256\", \"aws:kms\" or \"\""),
                Arguments.of(SERVER + "[store.object-store]\nbucket = \"mail\"\naccess-key-file = \"a\"\nsecret-key-file = \"s\"\n"
                        + "kms-key-id = \"k1\" # <-\n", "store.object-store.kms-key-id", "a KMS key needs sse = \"aws:kms\""),
                Arguments.of(SERVER + "[store.object-store]\nbucket = \"mail\"\naccess-key-file = \"a\"\nsecret-key-file = \"s\"\n"
                        + "endpoint = \"minio:9000\" # <-\n", "store.object-store.endpoint", "expected \"https://host[:port]\""),
                Arguments.of(SERVER + "[store.object-store]\ninline-max = \"2MB\" # <-\n", "store.object-store.inline-max",
                        "to 1MB"),
                Arguments.of(SERVER + "[directory.publish] # <-\nurl = \"ldaps://ldap.example.org\"\nbind-dn = \"cn=x,dc=example,dc=org\"\n"
                        + "base-dn = \"dc=example,dc=org\"\n", "directory.publish.password-file", "expected the file holding"),
                Arguments.of(SERVER + IMAP.replace("\"imap\"\nport", "\"http\"\nport") + "tls = \"implicit\" # <-\n",
                        "listener[1].tls", "protocol = \"http\" needs tls = \"none\""),
                Arguments.of(SERVER + IMAP.replace("\"imap\"\nport", "\"http\"\nport") + "tls = \"starttls\" # <-\n",
                        "listener[1].tls", "protocol = \"http\" needs tls = \"none\""),
                Arguments.of(SERVER + IMAP + "tls = \"ssl\" # <-\n", "listener[1].tls", "got \"ssl\""),
                Arguments.of(SERVER + IMAP + "cleartext-auth = \"yes\" # <-\n", "listener[1].cleartext-auth",
                        "expected true or false, got \"yes\""),
                // Keys no other row gives a wrong value: each is refused with its line, none reaches a listener unread.
                Arguments.of(SERVER + IMAP + "client-cert = \"optional\" # <-\n", "listener[1].client-cert",
                        "expected one of \"none\", \"request\", \"require\", got \"optional\""),
                Arguments.of(SERVER + IMAP + "accept-cleartext-risk = 1 # <-\n", "listener[1].accept-cleartext-risk",
                        "expected true or false, got 1"),
                Arguments.of(SERVER + IMAP + "edges = \"192.0.2.10/32\" # <-\n", "listener[1].edges",
                        "expected an array of CIDRs on one line"),
                Arguments.of(SERVER + IMAP.replace("port = 143", "port = \"143\" # <-"), "listener[1].port",
                        "expected an integer from 0 to 65535, got \"143\""),
                Arguments.of(SERVER + "[tls]\nocsp = \"on\" # <-\n", "tls.ocsp",
                        "expected one of \"off\", \"soft-fail\", \"hard-fail\", got \"on\""),
                Arguments.of(SERVER + "[tls]\nprovider = \"openssl\" # <-\n", "tls.provider",
                        "expected one of \"boringssl\", \"jdk\", got \"openssl\""),
                Arguments.of(SERVER + "[mail-auth]\ndmarc-quarantine = \"drop\" # <-\n", "mail-auth.dmarc-quarantine",
                        "got \"drop\""),
                Arguments.of(SERVER + "[[outbound.route]]\ndomain = \"a.example\"\nnext-hop = \"relay.example:25\"\n"
                        + "tls = \"starttls\" # <-\n", "outbound.route[1].tls", "got \"starttls\""),
                Arguments.of(SERVER + IMAP + "proxy-from = [\"10.0.0.0/33\"] # <-\n", "listener[1].proxy-from",
                        "the prefix length after / must be a number from 0 to 32"),
                Arguments.of(SERVER + IMAP + "proxy-from = \"10.0.0.0/8\" # <-\n", "listener[1].proxy-from",
                        "expected an array of CIDRs on one line"),
                Arguments.of(SERVER + IMAP + "[[rule]]\ncidr = \"10.0.0.0/8\"\nlisteners = [\"imap\", \"pop\"] # <-\n"
                                + "action = \"deny\"\n",
                        "rule[1].listeners", "no listener named \"pop\" (listeners: imap)"),
                Arguments.of(SERVER + IMAP + "[[rule]]\ncidr = \"10.0.0.0/8\"\nlisteners = [] # <-\naction = \"deny\"\n",
                        "rule[1].listeners", "name at least one listener, or write [\"*\"] for all"),
                Arguments.of(SERVER + IMAP + "[[rule]]\ncidr = \"10.0.0.0/8\"\nlisteners = [\"*\", \"imap\"] # <-\n"
                                + "action = \"deny\"\n",
                        "rule[1].listeners", "write either [\"*\"] or listener names"),
                Arguments.of(SERVER + "[[rule]]\ncidr = \"10.0.0.1/8\" # <-\naction = \"deny\"\n",
                        "rule[1].cidr", "has bits set after the /8 prefix; did you mean 10.0.0.0/8?"),
                Arguments.of(SERVER + "[[rule]]\ncidr = \"mail.example.org\" # <-\naction = \"deny\"\n",
                        "rule[1].cidr", "expected a CIDR in double quotes"),
                Arguments.of(SERVER + "[[rule]] # <-\ncidr = \"10.0.0.0/8\"\n", "rule[1].action",
                        "missing; expected one of \"allow\", \"deny\", \"request-cert\", \"require-cert\""),
                Arguments.of(SERVER + "[[rule]]\ncidr = \"10.0.0.0/8\"\naction = \"block\" # <-\n", "rule[1].action",
                        "got \"block\""),
                Arguments.of(SERVER + IMAP.replace("port = 143", "port = 143\ntls = \"none\"")
                                + "[[rule]]\ncidr = \"::/0\"\nlisteners = [\"imap\"]\naction = \"request-cert\" # <-\n",
                        "rule[1].action", "listener \"imap\" has tls = \"none\", so no client certificate can be asked for"),
                Arguments.of(SERVER + IMAP + IMAP.replace("\"imap\"", "\"pop3\"").replace("143", "110")
                                + "[[rule]]\ncidr = \"::/0\"\naction = \"require-cert\" # <-\n",
                        "rule[1].action", "\"require-cert\" applies to listeners \"imap\", \"pop3\" without tls ="
                                + " \"implicit\", whose greeting would be sent before any certificate is checked"),
                Arguments.of(SERVER + IMAP + IMAP.replace("name = \"imap\"", "name = \"imaps\"")
                                .replace("143", "993\ntls = \"implicit\"")
                                + "[[rule]]\ncidr = \"::/0\"\nlisteners = [\"imaps\", \"imap\"]\n"
                                + "action = \"require-cert\" # <-\n",
                        "rule[1].action", "\"require-cert\" applies to listener \"imap\" without"),
                Arguments.of(SERVER + "shutdown-grace = \"30 seconds\" # <-\n", "server.shutdown-grace",
                        "expected a duration from 0s to 1h such as \"250ms\", \"30s\", \"5m\" or \"1h\", got \"30 seconds\""),
                Arguments.of(SERVER + "shutdown-grace = \"2h\" # <-\n", "server.shutdown-grace", "got \"2h\""),
                Arguments.of(SERVER + "shutdown-grace = \"-1s\" # <-\n", "server.shutdown-grace", "got \"-1s\""),
                Arguments.of(SERVER + "shutdown-grace = 30 # <-\n", "server.shutdown-grace", "got 30"),
                Arguments.of(SERVER.replace("\"mail.example.org\"", "\"mail_server.example.org\" # <-"),
                        "server.hostname", "got \"mail_server.example.org\""),
                Arguments.of(SERVER.replace("\"mail.example.org\"", "\"192.0.2.1\" # <-"),
                        "server.hostname", "got \"192.0.2.1\""),
                Arguments.of(SERVER.replace("\"mail.example.org\"", "\"-mail.example.org\" # <-"),
                        "server.hostname", "got \"-mail.example.org\""),
                Arguments.of(SERVER.replace("\"mail.example.org\"", "\"mail..example.org\" # <-"),
                        "server.hostname", "got \"mail..example.org\""),
                Arguments.of(SERVER.replace("\"mail.example.org\"", "\"" + "a".repeat(64) + ".org\" # <-"),
                        "server.hostname", "expected a host name"),
                Arguments.of(SERVER.replace("\"mail.example.org\"", "\"" + String.join(".", "a".repeat(63), "b".repeat(63),
                        "c".repeat(63), "d".repeat(62)) + "\" # <-"), "server.hostname", "expected a host name"),
                Arguments.of(SERVER + "[auth]\nfree-failures = 3\nblock-after = 3 # <-\n", "auth.block-after",
                        "block-after (3) must be larger than free-failures (3)"),
                Arguments.of(SERVER + "[dns]\nresolvers = [\"192.0.2.53:65536\"] # <-\n", "dns.resolvers",
                        "the port must be from 1 to 65535"),
                Arguments.of(SERVER + "[dns]\nresolvers = [\"[2001:db8::53\"] # <-\n", "dns.resolvers", "missing ]"),
                Arguments.of(SERVER + "[[outbound.route]]\ndomain = \"a.example\"\nnext-hop = \"relay.example:0\" # <-\n",
                        "outbound.route[1].next-hop", "expected \"host:port\""),
                Arguments.of(SERVER + "[auth]\nscram-iterations = 1000 # <-\n", "auth.scram-iterations",
                        "expected an integer from 4096 to 65536, got 1000"),
                Arguments.of(SERVER + "[auth]\nscram-iterations = 600000 # <-\n", "auth.scram-iterations",
                        "expected an integer from 4096 to 65536, got 600000"),
                Arguments.of(SERVER + "[store]\ndirectory = \"\" # <-\n", "store.directory",
                        "expected a path in double quotes, got \"\""),
                Arguments.of(SERVER + "[store]\nkind = \"postgresql\" # <-\n", "store.kind",
                        "expected one of \"embedded\", \"postgres\", got \"postgresql\""),
                Arguments.of(SERVER + "[tls]\nclient-ca-files = \"ca.pem\" # <-\n", "tls.client-ca-files",
                        "expected an array of paths on one line, such as [\"ca.pem\"], got \"ca.pem\""),
                Arguments.of(SERVER + "[tls]\npreset = \"old\" # <-\n", "tls.preset",
                        "expected one of \"modern\", \"intermediate\", got \"old\""),
                Arguments.of(SERVER + "[log]\nformat = \"xml\" # <-\n", "log.format",
                        "expected one of \"text\", \"json\", got \"xml\""),
                Arguments.of(SERVER + "[log]\nfile = \"/var/log/castellan/%d.log\" # <-\n", "log.file",
                        "a log file's path may not contain %"),
                Arguments.of(SERVER + "[log]\nfile = [\"a.log\"] # <-\n", "log.file",
                        "expected a path in double quotes, got [\"a.log\"]"),
                Arguments.of(SERVER + "[log]\nrotate = \"weekly\" # <-\n", "log.rotate",
                        "expected one of \"size\", \"daily\", got \"weekly\""),
                Arguments.of(SERVER + "[log]\nmax-size = \"10 MB\" # <-\n", "log.max-size",
                        "expected a size from 1KB to 10GB such as \"512KB\", \"100MB\" or \"1GB\", got \"10 MB\""),
                Arguments.of(SERVER + "[log]\nmax-size = \"512B\" # <-\n", "log.max-size", "got \"512B\""),
                Arguments.of(SERVER + "[log]\nmax-size = \"11GB\" # <-\n", "log.max-size", "got \"11GB\""),
                Arguments.of(SERVER + "[log]\nmax-size = 1048576 # <-\n", "log.max-size", "got 1048576"),
                Arguments.of(SERVER + "[log]\nkeep = 21 # <-\n", "log.keep", "expected an integer from 1 to 20, got 21"),
                Arguments.of(SERVER + "[log]\nkeep = 0 # <-\n", "log.keep", "expected an integer from 1 to 20, got 0"),
                Arguments.of(SERVER + "[smtp]\nunknown-recipient-delay-after = 10 # <-\n", "smtp.unknown-recipient-delay-after",
                        "unknown-recipient-delay-after (10) must be below unknown-recipient-limit (10)"),
                Arguments.of(SERVER + "[smtp]\nunknown-recipient-delay = \"2m\" # <-\n", "smtp.unknown-recipient-delay",
                        "expected a duration from 0s to 1m"),
                Arguments.of(SERVER + "[smtp]\nunknown-recipient-window = \"0s\" # <-\n", "smtp.unknown-recipient-window",
                        "expected a duration from 1s to 24h"),
                Arguments.of(SERVER + "[smtp]\nunknown-recipient-source-limit = 0 # <-\n", "smtp.unknown-recipient-source-limit",
                        "expected an integer from 1 to 100000, got 0"),
                Arguments.of(SERVER + "[dns]\nresolvers = [\"dns.example.net\"] # <-\n", "dns.resolvers",
                        "expected IP addresses with an optional port"),
                Arguments.of(SERVER + "[dns]\nresolvers = [\"192.0.2.53:0\"] # <-\n", "dns.resolvers",
                        "the port must be from 1 to 65535"),
                Arguments.of(SERVER + "[dns]\ntimeout = \"2h\" # <-\n", "dns.timeout",
                        "expected a duration from 100ms to 1m"),
                Arguments.of(SERVER + "[tls]\npki-public-url = \"ftp://mail.example.org\" # <-\n", "tls.pki-public-url",
                        "expected an http or https URL"),
                Arguments.of(SERVER + "[tls]\npki-public-url = \"http://user@mail.example.org\" # <-\n",
                        "tls.pki-public-url", "expected an http or https URL"),
                Arguments.of(SERVER + "[tls]\npki-public-url = \"https://mail.example.org/?x\" # <-\n",
                        "tls.pki-public-url", "expected an http or https URL"),
                Arguments.of(SERVER + "[log]\nlevel = \"debug\" # <-\n", "log.level",
                        "unknown key (known keys in [log]: format, file, rotate, max-size, keep)"));
    }

    @ParameterizedTest(name = "{1}: {2}")
    @MethodSource("invalid")
    void invalidValuesNameFileLineAndKey(String text, String key, String fragment) {
        int line = markedLine(text);
        assertThatThrownBy(() -> CastellanConfig.parse(text, FILE))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.problems()).as(e.getMessage()).hasSize(1);
                    assertThat(e.file()).isEqualTo(FILE.toString());
                    assertThat(e.line()).isEqualTo(line);
                    assertThat(e.key()).isEqualTo(key);
                    assertThat(e.getMessage())
                            .startsWith(FILE + (line > 0 ? ":" + line : "") + ": " + key + ": ")
                            .contains(fragment);
                });
    }

    /**
     * Values at the edges of their ranges are taken: a host name of 253 characters in labels of
     * 63 (RFC 1035 §2.3.4), ports 1 and 65535 of a resolver and a next hop, an IPv6 resolver with
     * and without its port, block-after one above free-failures, max-delay equal to first-delay,
     * and a network cap equal to the address cap. The first step beyond each is in
     * {@link #invalid()}.
     */
    @Test
    void valuesAtTheEdgesOfTheirRangesAreTaken() throws ConfigException {
        String longest = String.join(".", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61));
        CastellanConfig config = CastellanConfig.parse(SERVER.replace("mail.example.org", longest) + """
                [auth]
                free-failures = 3
                block-after = 4
                first-delay = "2s"
                max-delay = "2s"
                [dns]
                resolvers = ["192.0.2.53:1", "192.0.2.54:65535", "[2001:db8::53]:5353", "2001:db8::54"]
                [[outbound.route]]
                domain = "a.example"
                next-hop = ["relay.example:1", "relay.example:65535"]
                """ + IMAP + """
                max-connections-per-address = 5
                max-connections-per-network = 5
                """, FILE);
        assertThat(config.server().hostname()).isEqualTo(longest);
        assertThat(config.auth().blockAfter()).isEqualTo(4);
        assertThat(config.auth().maxDelay()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.dns().resolvers()).extracting(a -> a.getAddress().getHostAddress() + " " + a.getPort())
                .containsExactly("192.0.2.53 1", "192.0.2.54 65535", "2001:db8:0:0:0:0:0:53 5353", "2001:db8:0:0:0:0:0:54 53");
        assertThat(config.outbound().routes().getFirst().nextHops())
                .containsExactly(new Outbound.NextHop("relay.example", 1), new Outbound.NextHop("relay.example", 65535));
        assertThat(config.listeners().getFirst().limits().perNetwork()).isEqualTo(5);
    }

    @Test
    void reportsEveryProblemInLineOrder() {
        String text = """
                [server]
                hostname = "bad_name"
                data-dir = "/d"
                [[listener]]
                name = "imap"
                protocol = "imapx"
                port = 99999
                [[rule]]
                cidr = "10.0.0.0/8"
                listeners = ["imap"]
                action = "deny"
                colour = "blue"
                """;
        assertThatThrownBy(() -> CastellanConfig.parse(text, Path.of("castellan.toml")))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
                        "castellan.toml:2: server.hostname: expected a host name in double quotes, such as"
                                + " \"mail.example.org\", got \"bad_name\"",
                        "castellan.toml:6: listener[1].protocol: expected one of \"smtp\", \"submission\", \"imap\","
                                + " \"pop3\", \"https\", \"http\", \"ldaps\", \"ldap\", \"link\", got \"imapx\"",
                        "castellan.toml:7: listener[1].port: expected an integer from 0 to 65535, got 99999",
                        "castellan.toml:12: rule[1].colour: unknown key (known keys in [[rule]]: cidr, listeners,"
                                + " action)"));
    }

    @Test
    void syntaxErrorsComeFirstWithLines() {
        assertThatThrownBy(() -> CastellanConfig.parse(SERVER + "role = all\n", Path.of("castellan.toml")))
                .hasMessage("castellan.toml:4: server.role: expected a value: a \"string\" in double quotes, an"
                        + " integer, true, false or [\"strings\"]; got all");
    }

    @Test
    void missingServerTableNamesItsRequiredKeys() {
        assertThatThrownBy(() -> CastellanConfig.parse("[store]\n", Path.of("castellan.toml")))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.line()).isZero();
                    assertThat(e.key()).isEqualTo("server.hostname");
                    assertThat(e.problems()).containsExactly(
                            "castellan.toml: server.hostname: missing (there is no [server] table); expected a host"
                                    + " name in double quotes, such as \"mail.example.org\"",
                            "castellan.toml: server.data-dir: missing (there is no [server] table); expected a path"
                                    + " in double quotes");
                });
    }

    @Test
    void cleartextAuthWithoutTlsIsAllowedButVisible() throws ConfigException {
        CastellanConfig config = CastellanConfig.parse(SERVER + IMAP + "tls = \"none\"\ncleartext-auth = true\n", FILE);
        Listener imap = config.listeners().get(0);
        assertThat(imap.tls()).isEqualTo(TlsMode.NONE);
        assertThat(imap.acceptsCleartextCredentials()).isTrue();
        assertThat(config.usesTls()).isFalse();
    }

    @Test
    void requireCertRuleOnImplicitTlsListenersIsAccepted() throws ConfigException {
        String text = SERVER + IMAP.replace("143", "993\ntls = \"implicit\"")
                + "[[rule]]\ncidr = \"0.0.0.0/0\"\naction = \"require-cert\"\n";
        assertThat(CastellanConfig.parse(text, FILE).rules()).extracting(Rule::action)
                .containsExactly(RuleAction.REQUIRE_CERT);
    }

    @Test
    void everyDocumentedDefaultIsValid() throws ConfigException {
        // A listener and a rule with only their required keys exercise every optional default.
        String text = SERVER + IMAP + "[[rule]]\ncidr = \"::/0\"\naction = \"allow\"\n";
        CastellanConfig config = CastellanConfig.parse(text, FILE);
        assertThat(config.rules()).containsExactly(new Rule(Cidr.parse("::/0"), List.of("*"), RuleAction.ALLOW));
    }

    static int markedLine(String text) {
        List<String> lines = text.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).endsWith("# <-")) {
                return i + 1;
            }
        }
        return 0;
    }
}
