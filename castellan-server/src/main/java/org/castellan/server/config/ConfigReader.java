package org.castellan.server.config;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.CertificateForPassword;
import org.castellan.security.auth.oauth.OAuthIssuer;
import org.castellan.security.mailauth.Dmarc;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.PkiException;
import org.castellan.security.rules.Cidr;
import org.castellan.security.rules.RuleAction;
import org.castellan.server.config.ConfigException.Problem;
import org.castellan.server.config.ConfigKeys.Key;
import org.castellan.server.config.ConfigKeys.Section;
import org.castellan.server.config.internal.TomlDocument;
import org.castellan.server.config.internal.TomlDocument.Entry;
import org.castellan.server.config.internal.TomlDocument.Table;
import org.castellan.server.config.internal.TomlDocument.Value;
import org.castellan.server.config.internal.TomlParser;
import org.castellan.store.objects.ObjectStoreSettings;

/**
 * Turns a parsed file into validated records. Every problem is collected, so the operator fixes
 * them all in one pass; records are built only when there is none.
 */
final class ConfigReader {

    private static final int MAX_HOSTNAME = 253; // RFC 1035 §2.3.4, less the root's trailing dot
    private static final int MAX_LABEL = 63; // RFC 1035 §2.3.4
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?");
    /** Listener names appear in rules, logs and session tables: a short token, never "*". */
    private static final Pattern LISTENER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
    /** Nine digits bound the count so the multiplication below cannot overflow. */
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");
    private static final Map<String, Long> DURATION_UNITS =
            Map.of("ms", 1L, "s", 1000L, "m", 60_000L, "h", 3_600_000L, "d", 86_400_000L);
    /** Nine digits of gigabytes still fit a long. */
    private static final Pattern SIZE = Pattern.compile("(\\d{1,9})(KB|MB|GB)");
    private static final Map<String, Long> SIZE_UNITS = Map.of("KB", 1L << 10, "MB", 1L << 20, "GB", 1L << 30);
    private static final int MAX_GOT = 80;
    /** The wildcards as {@code Cidr.toString()} writes single addresses. */
    private static final String IPV4_ANY = Cidr.parse("0.0.0.0").toString();
    private static final String IPV6_ANY = Cidr.parse("::").toString(); // longer values are cut in messages; the line number finds them

    /** The configuration and the line of every key and table that was written. */
    record Result(CastellanConfig config, Map<String, Integer> lines) {}

    private final Path file;
    private final Path configDir;
    private final List<Problem> problems = new ArrayList<>();
    private final Map<String, Integer> lines = new HashMap<>();

    private ConfigReader(Path file) {
        this.file = file;
        Path parent = file.toAbsolutePath().normalize().getParent();
        this.configDir = parent != null ? parent : file.toAbsolutePath().getRoot();
    }

    static Result read(String text, Path file) throws ConfigException {
        TomlDocument document = TomlParser.parse(text, file.toString());
        ConfigReader reader = new ConfigReader(file);
        CastellanConfig config = reader.build(document);
        if (!reader.problems.isEmpty()) {
            List<Problem> sorted = new ArrayList<>(reader.problems);
            sorted.sort(Comparator.comparingInt(Problem::line));
            throw new ConfigException(file.toString(), sorted);
        }
        return new Result(config, Map.copyOf(reader.lines));
    }

    private CastellanConfig build(TomlDocument document) {
        Map<Section, Table> single = new EnumMap<>(Section.class);
        List<Table> listenerTables = new ArrayList<>();
        List<Table> ruleTables = new ArrayList<>();
        List<Table> issuerTables = new ArrayList<>();
        List<Table> routeTables = new ArrayList<>();
        List<Table> tlsPolicyTables = new ArrayList<>();
        for (Table table : document.tables()) {
            if (table.name().isEmpty()) {
                table.entries().values().forEach(e -> problem(e.line(), e.key(),
                        "keys must be inside a table; put it under the right one, such as [server]"));
                continue;
            }
            Optional<Section> section = Section.byName(table.name());
            if (section.isEmpty()) {
                problem(table.line(), table.prefix(), "unknown table (known tables: " + String.join(", ",
                        Arrays.stream(Section.values()).map(Section::header).toList()) + ")");
                continue;
            }
            Section s = section.get();
            if (s.array() != table.array()) {
                problem(table.line(), table.name(), "write " + s.header() + (s.array() ? ", once per entry" : ", once"));
                continue;
            }
            for (Entry entry : table.entries().values()) {
                if (ConfigKeys.find(s, entry.key()).isEmpty()) {
                    problem(entry.line(), table.path(entry.key()), "unknown key (known keys in " + s.header() + ": "
                            + String.join(", ", ConfigKeys.of(s).stream().map(Key::name).toList()) + ")");
                }
            }
            switch (s) {
                case LISTENER -> listenerTables.add(table);
                case RULE -> ruleTables.add(table);
                case OAUTH_ISSUER -> issuerTables.add(table);
                case OUTBOUND_ROUTE -> routeTables.add(table);
                case OUTBOUND_TLS_POLICY -> tlsPolicyTables.add(table);
                default -> single.put(s, table);
            }
        }

        Fields server = new Fields(Section.SERVER, single.get(Section.SERVER));
        String hostname = server.hostname("hostname");
        Path dataDir = server.path("data-dir", configDir);
        Path base = dataDir != null ? dataDir : configDir;
        Role role = server.choice("role", Role.class);
        Duration shutdownGrace = server.duration("shutdown-grace");
        Path adminSocket = server.path("admin-socket", base);
        Long maxConnections = server.integer("max-connections");

        Fields store = new Fields(Section.STORE, single.get(Section.STORE));
        StoreKind kind = store.choice("kind", StoreKind.class);
        Path storeDirectory = store.path("directory", base);
        Optional<ObjectStorage> objectStorage = readObjectStorage(new Fields(Section.STORE_OBJECT_STORE,
                single.get(Section.STORE_OBJECT_STORE)), base);
        Optional<Store.Postgres> postgres = readPostgres(store, kind, base);

        Fields tls = new Fields(Section.TLS, single.get(Section.TLS));
        TlsPolicy.Preset preset = tls.choice("preset", TlsPolicy.Preset.class);
        Path certificate = tls.path("certificate", base);
        Path key = tls.path("key", base);
        Path pkiDirectory = tls.path("pki-directory", base);
        Optional<URI> pkiPublicUrl = pkiPublicUrl(tls);
        List<Path> clientCaFiles = tls.paths("client-ca-files", base);
        List<Path> crlFiles = tls.paths("crl-files", base);
        List<Path> sniCertificates = tls.paths("sni-certificates", base);
        TlsPolicy.OcspMode ocsp = tls.choice("ocsp", TlsPolicy.OcspMode.class);
        TlsPolicy.Provider provider = tls.choice("provider", TlsPolicy.Provider.class);

        Fields auth = new Fields(Section.AUTH, single.get(Section.AUTH));
        Long scramIterations = auth.integer("scram-iterations");
        Long freeFailures = auth.integer("free-failures");
        Long blockAfter = auth.integer("block-after");
        Duration firstDelay = auth.duration("first-delay");
        Duration maxDelay = auth.duration("max-delay");
        Duration blockDuration = auth.duration("block-duration");
        List<String> submissionAccounts = auth.strings("submission-accounts");
        for (String account : submissionAccounts == null ? List.<String>of() : submissionAccounts) {
            var parsed = org.castellan.protocol.mail.EmailAddress.parse(account);
            if (!parsed.ok()) auth.problem("submission-accounts", parsed.error());
        }
        Long passwordMinLength = auth.integer("password-min-length");
        Duration loginTimeout = auth.duration("login-timeout");
        Long maxInFlightPerHost = auth.integer("max-in-flight-per-host");
        Long maxInFlightPerAccount = auth.integer("max-in-flight-per-account");
        if (freeFailures != null && blockAfter != null && blockAfter <= freeFailures) {
            auth.problem("block-after", "block-after (" + blockAfter + ") must be larger than free-failures ("
                    + freeFailures + "), or no failure would ever be delayed before the block");
        }
        if (firstDelay != null && maxDelay != null && maxDelay.compareTo(firstDelay) < 0) {
            auth.problem("max-delay", "max-delay must not be shorter than first-delay; raise max-delay or lower first-delay");
        }

        Fields logTable = new Fields(Section.LOG, single.get(Section.LOG));
        LogFormat logFormat = logTable.choice("format", LogFormat.class);
        Optional<Path> logFile = logTable.optionalPath("file", base);
        if (logFile != null && logFile.filter(f -> f.toString().contains("%")).isPresent()) {
            // Logback reads % in a rolled file's name as a pattern (%i, %d).
            logTable.problem("file", "a log file's path may not contain %; choose another name");
            logFile = null;
        }
        LogRotation logRotation = logTable.choice("rotate", LogRotation.class);
        Long logMaxSize = logTable.size("max-size");
        Long logKeep = logTable.integer("keep");

        Fields smtpTable = new Fields(Section.SMTP, single.get(Section.SMTP));
        Long delayAfter = smtpTable.integer("unknown-recipient-delay-after");
        Duration unknownDelay = smtpTable.duration("unknown-recipient-delay");
        Long unknownLimit = smtpTable.integer("unknown-recipient-limit");
        Long sourceLimit = smtpTable.integer("unknown-recipient-source-limit");
        Duration unknownWindow = smtpTable.duration("unknown-recipient-window");
        if (delayAfter != null && unknownLimit != null && delayAfter >= unknownLimit) {
            smtpTable.problem("unknown-recipient-delay-after", "unknown-recipient-delay-after (" + delayAfter
                    + ") must be below unknown-recipient-limit (" + unknownLimit + "), or no reply would be delayed"
                    + " before the session ends; to never delay, set unknown-recipient-delay = \"0s\"");
        }

        Fields dnsTable = new Fields(Section.DNS, single.get(Section.DNS));
        List<InetSocketAddress> resolvers = new ArrayList<>();
        for (String resolver : Optional.ofNullable(dnsTable.strings("resolvers")).orElse(List.of())) {
            try {
                resolvers.add(Dns.parseResolver(resolver));
            } catch (IllegalArgumentException e) {
                dnsTable.problem("resolvers", "expected IP addresses with an optional port, such as [\"192.0.2.53\","
                        + " \"[2001:db8::53]:5353\"]: " + e.getMessage());
            }
        }
        Optional<Path> trustAnchor = dnsTable.optionalPath("trust-anchor", base);
        Boolean dnssec = dnsTable.bool("dnssec");
        Duration dnsTimeout = dnsTable.duration("timeout");
        Fields mailAuthTable = new Fields(Section.MAIL_AUTH, single.get(Section.MAIL_AUTH));
        Boolean mailAuthEnabled = mailAuthTable.bool("enabled");
        Dmarc.Policy dmarcReject = mailAuthTable.choice("dmarc-reject", Dmarc.Policy.class);
        Dmarc.Policy dmarcQuarantine = mailAuthTable.choice("dmarc-quarantine", Dmarc.Policy.class);
        Duration mailAuthDnsTimeout = mailAuthTable.duration("dns-timeout");
        Kerberos kerberos = readKerberos(new Fields(Section.KERBEROS, single.get(Section.KERBEROS)), hostname, base);
        Fields enrollTable = new Fields(Section.ENROLL, single.get(Section.ENROLL));
        Duration deviceValidity = enrollTable.duration("device-validity");
        Duration userValidity = enrollTable.duration("user-validity");
        Boolean enrollApprove = enrollTable.bool("approve");
        Fields directoryTable = new Fields(Section.DIRECTORY, single.get(Section.DIRECTORY));
        String directoryBase = directoryTable.str(directoryTable.key("base-dn"));
        if (directoryBase != null && !directoryBase.isEmpty() && !com.unboundid.ldap.sdk.DN.isValidDN(directoryBase)) {
            directoryTable.problem("base-dn", "expected a distinguished name (RFC 4514) such as \"dc=example,dc=org\","
                    + " or \"\" for one made from server.hostname");
        }
        Directory.Anonymous directoryAnonymous = directoryTable.choice("anonymous", Directory.Anonymous.class);
        Long directorySizeLimit = directoryTable.integer("size-limit");
        Optional<Directory.Publish> publish = readPublish(new Fields(Section.DIRECTORY_PUBLISH,
                single.get(Section.DIRECTORY_PUBLISH)), base);
        Outbound outbound = readOutbound(new Fields(Section.OUTBOUND, single.get(Section.OUTBOUND)), routeTables, base);
        if (outbound != null) outbound = readTlsPolicies(outbound, tlsPolicyTables, base);

        Map<String, Listener> listeners = new LinkedHashMap<>();
        boolean listenersComplete = readListeners(listenerTables, listeners, role);
        List<Rule> rules = new ArrayList<>();
        for (Table table : ruleTables) {
            Rule rule = readRule(new Fields(Section.RULE, table), listeners, listenersComplete);
            if (rule != null) {
                rules.add(rule);
            }
        }
        List<OAuthIssuer> issuers = readIssuers(issuerTables, base);
        Optional<NodeCertificate> nodeCertificate = readNodeCertificate(new Fields(Section.NODE, single.get(Section.NODE)),
                role, base);
        Optional<Edge> edge = readEdge(new Fields(Section.EDGE, single.get(Section.EDGE)), role, base);
        if (!problems.isEmpty()) {
            return null;
        }
        return new CastellanConfig(file.toAbsolutePath().normalize(),
                new Server(hostname, dataDir, role, shutdownGrace, adminSocket, maxConnections.intValue()),
                new Store(kind, storeDirectory, postgres),
                new Tls(preset, certificate, key, pkiDirectory, clientCaFiles, crlFiles, sniCertificates, ocsp, provider,
                        pkiPublicUrl),
                new Auth(scramIterations.intValue(), freeFailures.intValue(), blockAfter.intValue(), firstDelay, maxDelay,
                        blockDuration, passwordMinLength.intValue(), submissionAccounts, loginTimeout,
                        maxInFlightPerHost.intValue(), maxInFlightPerAccount.intValue()),
                new Log(logFormat, logFile, logRotation, logMaxSize, logKeep.intValue()),
                new Smtp(delayAfter.intValue(), unknownDelay, unknownLimit.intValue(), sourceLimit.intValue(), unknownWindow),
                new Dns(resolvers, trustAnchor, dnssec, dnsTimeout),
                new MailAuth(mailAuthEnabled, dmarcReject, dmarcQuarantine, mailAuthDnsTimeout), kerberos,
                outbound, List.copyOf(listeners.values()), rules, issuers, lines, new Enroll(deviceValidity, userValidity, enrollApprove),
                new Directory(directoryBase, directoryAnonymous, directorySizeLimit.intValue(), publish), objectStorage, edge, nodeCertificate);
    }

    /**
     * The {@code [edge]} table (docs/roles.md §2): required with {@code role = "edge"}, a problem
     * on any other role; null after a problem.
     */
    private Optional<Edge> readEdge(Fields f, Role role, Path base) {
        if (role != Role.EDGE) {
            if (f.table.line() > 0) {
                ConfigReader.this.problem(f.table.line(), f.table.prefix(),
                        "[edge] belongs to role = \"edge\" only; remove it, or set role = \"edge\" in [server]");
            }
            return Optional.empty();
        }
        List<String> written = f.strings("nodes");
        String defaultNode = f.str(f.key("default-node"));
        Duration openingTimeout = f.duration("opening-timeout");
        if (written == null || defaultNode == null || openingTimeout == null) {
            return null;
        }
        Map<String, Outbound.NextHop> nodes = new LinkedHashMap<>();
        for (String entry : written) {
            Optional<Map.Entry<String, Outbound.NextHop>> node = edgeNode(entry);
            if (node.isEmpty()) {
                f.problem("nodes", "expected \"NAME=HOST:PORT\" such as \"mailbox-1=10.0.0.2:7993\" (NAME a DNS label,"
                        + " as in castellan-node:mailbox/NAME), got \"" + entry + "\"");
                return null;
            }
            if (nodes.put(node.get().getKey(), node.get().getValue()) != null) {
                f.problem("nodes", "node " + node.get().getKey() + " is named twice; name each node once");
                return null;
            }
        }
        if (nodes.isEmpty()) {
            f.problem("nodes", "an edge needs at least one mailbox node, such as [\"mailbox-1=10.0.0.2:7993\"]");
            return null;
        }
        if (!nodes.containsKey(defaultNode)) {
            f.problem("default-node", "expected one of the nodes (" + String.join(", ", nodes.keySet()) + "), got \""
                    + defaultNode + "\"");
            return null;
        }
        return Optional.of(new Edge(nodes, defaultNode, openingTimeout));
    }

    /** The {@code [node]} table: both paths or neither, and both on an edge; null after a problem. */
    private Optional<NodeCertificate> readNodeCertificate(Fields f, Role role, Path base) {
        Optional<Path> certificate = f.optionalPath("certificate", base);
        Optional<Path> key = f.optionalPath("key", base);
        if (certificate == null || key == null) return null;
        if (certificate.isEmpty() && role == Role.EDGE) {
            f.problem("certificate", "an edge presents its node certificate on every link: set certificate and key to"
                    + " the files castellan node add NAME --role edge --out DIR wrote");
            return null;
        }
        if (certificate.isPresent() != key.isPresent()) {
            f.problem(certificate.isPresent() ? "key" : "certificate", "expected both certificate and key, or neither");
            return null;
        }
        return certificate.map(c -> new NodeCertificate(c, key.get()));
    }

    /** {@code NAME=HOST:PORT}, NAME a DNS label as in a node certificate's URI; empty if it is not that. */
    static Optional<Map.Entry<String, Outbound.NextHop>> edgeNode(String entry) {
        int eq = entry.indexOf('=');
        if (eq < 1) return Optional.empty();
        String name = entry.substring(0, eq);
        if (!name.matches("[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")) return Optional.empty();
        String hostPort = entry.substring(eq + 1);
        int colon = hostPort.lastIndexOf(':');
        if (colon < 1 || colon == hostPort.length() - 1) return Optional.empty();
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        if (host.isEmpty() || !hostPort.substring(colon + 1).matches("[0-9]{1,5}")) return Optional.empty();
        int port = Integer.parseInt(hostPort.substring(colon + 1));
        if (port < 1 || port > 65535) return Optional.empty();
        if (!isHostname(host) && host.indexOf(':') < 0 && !host.matches("[0-9.]+")) return Optional.empty();
        return Optional.of(Map.entry(name, new Outbound.NextHop(host, port)));
    }

    /**
     * The {@code [store.object-store]} table: empty without a bucket; null after a problem. With a
     * bucket both key files are required, and sse is one S3 defines.
     */
    private static Optional<ObjectStorage> readObjectStorage(Fields f, Path base) {
        String endpoint = f.str(f.key("endpoint"));
        String region = f.str(f.key("region"));
        String bucket = f.str(f.key("bucket"));
        Optional<Path> accessKeyFile = f.optionalPath("access-key-file", base);
        Optional<Path> secretKeyFile = f.optionalPath("secret-key-file", base);
        Boolean pathStyle = f.bool("path-style");
        String sse = f.str(f.key("sse"));
        String kmsKeyId = f.str(f.key("kms-key-id"));
        Long inlineMax = f.size("inline-max");
        if (endpoint == null || region == null || bucket == null || accessKeyFile == null || secretKeyFile == null
                || pathStyle == null || sse == null || kmsKeyId == null || inlineMax == null) {
            return null;
        }
        if (bucket.isEmpty()) return Optional.empty();
        boolean ok = true;
        URI uri = null;
        if (!endpoint.isEmpty()) {
            try {
                uri = new URI(endpoint);
            } catch (URISyntaxException e) {
                // reported below
            }
            if (uri == null || uri.getHost() == null || uri.getScheme() == null
                    || !(uri.getScheme().equals("https") || uri.getScheme().equals("http"))) {
                f.problem("endpoint", "expected \"https://host[:port]\" (or http on a trusted network), or \"\" for AWS S3");
                ok = false;
            }
        }
        if (accessKeyFile.isEmpty()) {
            f.problem("access-key-file", "expected the file holding the access key id");
            ok = false;
        }
        if (secretKeyFile.isEmpty()) {
            f.problem("secret-key-file", "expected the file holding the secret access key");
            ok = false;
        }
        if (!sse.isEmpty() && !ObjectStorage.SSE_VALUES.contains(sse)) {
            f.problem("sse", "expected \"AES256\", \"aws:kms\" or \"\"");
            ok = false;
        }
        if (!kmsKeyId.isEmpty() && !sse.equals(ObjectStoreSettings.SSE_KMS)) {
            f.problem("kms-key-id", "a KMS key needs sse = \"aws:kms\"");
            ok = false;
        }
        if (!ok) return null;
        return Optional.of(new ObjectStorage(Optional.ofNullable(uri), region, bucket, accessKeyFile.get(),
                secretKeyFile.get(), pathStyle, Optional.of(sse).filter(s -> !s.isEmpty()),
                Optional.of(kmsKeyId).filter(s -> !s.isEmpty()), inlineMax.intValue()));
    }

    /** The PostgreSQL keys of {@code [store] kind = "postgres"} (docs/configuration.md). */
    static final List<String> POSTGRES_KEYS = List.of("url", "user", "password-file", "pool-size");

    /**
     * The connection of a postgres store; empty for the embedded store, whose table must not
     * carry PostgreSQL keys (they would silently do nothing); null after a problem.
     */
    private static Optional<Store.Postgres> readPostgres(Fields f, StoreKind kind, Path base) {
        String url = f.str(f.key("url"));
        String user = f.str(f.key("user"));
        Optional<Path> passwordFile = f.optionalPath("password-file", base);
        Long poolSize = f.integer("pool-size");
        if (kind != StoreKind.POSTGRES) {
            boolean ok = true;
            for (String key : POSTGRES_KEYS) {
                if (f.table.entries().containsKey(key)) {
                    f.problem(key, key + " applies to kind = \"postgres\" only; remove it, or set kind = \"postgres\"");
                    ok = false;
                }
            }
            return ok ? Optional.empty() : null;
        }
        boolean ok = url != null && user != null && passwordFile != null && poolSize != null; // else reported
        String jdbcUrl = null;
        if (url == null) {
            // reported
        } else if (url.isEmpty()) {
            f.problem("url", "kind = \"postgres\" needs the database, such as url = \"postgres://db.example.org/castellan\"");
            ok = false;
        } else if (Store.Postgres.jdbcUrl(url).isEmpty()) {
            f.problem("url", "expected \"jdbc:postgresql://host[:port]/database\" or \"postgres://host[:port]/database\""
                    + " without a user or password in it (those are user and password-file), got \"" + url + "\"");
            ok = false;
        } else {
            jdbcUrl = Store.Postgres.jdbcUrl(url).orElseThrow();
        }
        if (user != null && user.isEmpty()) {
            f.problem("user", "kind = \"postgres\" needs the role to log in as, such as user = \"castellan\"");
            ok = false;
        }
        if (passwordFile != null && passwordFile.isPresent()) {
            String why = secretFileProblem(passwordFile.get(), "a password");
            if (why != null) {
                f.problem("password-file", why);
                ok = false;
            }
        }
        return ok ? Optional.of(new Store.Postgres(jdbcUrl, user, passwordFile, poolSize.intValue())) : null;
    }

    /**
     * Why a file holding a secret ({@code holds}: "a password", "a secret key") cannot be used:
     * missing, unreadable, or open to others than its owner; null when fine.
     */
    static String secretFileProblem(Path file, String holds) {
        if (!Files.isRegularFile(file)) return file + " does not exist or is not a file";
        if (!Files.isReadable(file)) return file + " is not readable by this user; give it to the server's user (chmod 600)";
        try {
            Set<PosixFilePermission> open = EnumSet.copyOf(Files.getPosixFilePermissions(file));
            open.retainAll(EnumSet.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
                    PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
                    PosixFilePermission.OTHERS_EXECUTE));
            if (!open.isEmpty()) {
                return file + " holds " + holds + " but other users may access it (" + PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(file)) + "); chmod 600 " + file;
            }
        } catch (UnsupportedOperationException | java.io.IOException e) {
            return null; // no POSIX permissions here (or none readable): nothing more to check
        }
        return null;
    }

    /**
     * The {@code [directory.publish]} table: empty without a url; null after a problem. Every
     * other key is then required, and the URL must name TLS (ldaps, or ldap with StartTLS).
     */
    private static Optional<Directory.Publish> readPublish(Fields f, Path base) {
        String url = f.str(f.key("url"));
        String bindDn = f.str(f.key("bind-dn"));
        Optional<Path> passwordFile = f.optionalPath("password-file", base);
        String baseDn = f.str(f.key("base-dn"));
        Optional<Path> caFile = f.optionalPath("ca-file", base);
        if (url == null || bindDn == null || passwordFile == null || baseDn == null || caFile == null) return null;
        if (url.isEmpty()) return Optional.empty();
        URI uri = null;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            // reported below
        }
        boolean ok = true;
        if (uri == null || uri.getHost() == null || uri.getScheme() == null
                || !(uri.getScheme().equalsIgnoreCase("ldaps") || uri.getScheme().equalsIgnoreCase("ldap"))
                || (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/"))
                || uri.getRawQuery() != null || uri.getRawUserInfo() != null) {
            f.problem("url", "expected \"ldaps://host[:port]\" or \"ldap://host[:port]\" (StartTLS), or \"\" to publish nothing");
            ok = false;
        }
        if (!com.unboundid.ldap.sdk.DN.isValidDN(bindDn) || bindDn.isEmpty()) {
            f.problem("bind-dn", "expected the DN to bind as (RFC 4514), such as \"cn=castellan,dc=example,dc=org\"");
            ok = false;
        }
        if (passwordFile.isEmpty()) {
            f.problem("password-file", "expected the file holding bind-dn's password");
            ok = false;
        }
        if (!com.unboundid.ldap.sdk.DN.isValidDN(baseDn) || baseDn.isEmpty()) {
            f.problem("base-dn", "expected the DN under which people's entries are, such as \"ou=people,dc=example,dc=org\"");
            ok = false;
        }
        return ok ? Optional.of(new Directory.Publish(uri, bindDn, passwordFile.get(), baseDn, caFile)) : null;
    }

    /** The [[oauth-issuer]] tables; each issuer once. */
    private List<OAuthIssuer> readIssuers(List<Table> tables, Path base) {
        List<OAuthIssuer> issuers = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (Table table : tables) {
            Fields f = new Fields(Section.OAUTH_ISSUER, table);
            String issuer = f.httpsUrl("issuer");
            String jwks = f.str(f.key("jwks-uri"));
            if (jwks != null && !jwks.isEmpty() && f.httpsUrl("jwks-uri") == null) jwks = null;
            String audience = f.str(f.key("audience"));
            if (audience != null && audience.isEmpty()) {
                f.problem("audience", "must not be empty: name this server as the issuer's tokens do in aud");
                audience = null;
            }
            String claim = f.str(f.key("account-claim"));
            if (claim != null && claim.isEmpty()) {
                f.problem("account-claim", "must not be empty; \"email\" names the account by address");
                claim = null;
            }
            String domain = f.str(f.key("account-domain"));
            if (domain != null && !domain.isEmpty() && !isHostname(domain)) {
                f.problem("account-domain", "expected a domain such as \"example.org\", got \"" + domain + "\"");
                domain = null;
            }
            String scope = f.str(f.key("required-scope"));
            Boolean untyped = f.bool("untyped-jwt");
            Optional<Path> caFile = f.optionalPath("ca-file", base);
            Duration minRefresh = f.duration("min-refresh");
            if (issuer != null) {
                Integer first = seen.putIfAbsent(issuer, f.lineOf("issuer"));
                if (first != null) {
                    f.problem("issuer", "issuer " + issuer + " is already configured on line " + first);
                    issuer = null;
                }
            }
            if (issuer != null && jwks != null && audience != null && claim != null && domain != null && scope != null
                    && untyped != null && caFile != null && minRefresh != null) {
                issuers.add(new OAuthIssuer(issuer, jwks.isEmpty() ? Optional.empty() : Optional.of(URI.create(jwks)),
                        audience, claim, domain.isEmpty() ? Optional.empty() : Optional.of(domain),
                        scope.isEmpty() ? Optional.empty() : Optional.of(scope), untyped, caFile, minRefresh));
            }
        }
        return List.copyOf(issuers);
    }

    /** The {@code [kerberos]} table; null after a problem. */
    /** {@code [tls] pki-public-url}: empty, or an http or https URL (CertificateAuthority.requirePublicUrl). */
    private static Optional<URI> pkiPublicUrl(Fields tls) {
        String text = tls.str(tls.key("pki-public-url"));
        if (text == null || text.isEmpty()) return Optional.empty();
        try {
            return Optional.of(CertificateAuthority.requirePublicUrl(new URI(text)));
        } catch (URISyntaxException | PkiException e) {
            tls.problem("pki-public-url", "expected an http or https URL such as \"http://mail.example.org\" (a host, an"
                    + " optional port and path, no query), or \"\" for none");
            return Optional.empty();
        }
    }

    private Kerberos readKerberos(Fields f, String hostname, Path base) {
        Optional<Path> keytab = f.optionalPath("keytab", base);
        String realm = f.str(f.key("realm"));
        List<String> protocols = f.strings("protocols");
        List<String> principalEntries = f.strings("principals");
        String realmDomain = f.str(f.key("realm-domain"));
        if (keytab == null || realm == null || protocols == null || principalEntries == null || realmDomain == null) {
            return null;
        }
        if (keytab.isEmpty()) return Kerberos.NONE;
        boolean ok = true;
        if (realm.isEmpty() || realm.contains("@") || realm.contains("/") || realm.contains(" ")) {
            f.problem("realm", "expected the users' Kerberos realm, such as \"EXAMPLE.ORG\", with keytab set");
            ok = false;
        }
        for (String protocol : protocols) {
            if (!Kerberos.PROTOCOLS.contains(protocol)) {
                f.problem("protocols", "expected some of \"imap\", \"pop3\" and \"smtp\", got \"" + protocol + "\"");
                ok = false;
            }
        }
        Map<String, String> services = new LinkedHashMap<>();
        for (String protocol : Kerberos.PROTOCOLS) {
            String key = protocol + "-principal";
            String written = f.str(f.key(key));
            if (written == null) return null;
            String principal = written.isEmpty() ? Kerberos.serviceName(protocol) + "/" + hostname + "@" + realm : written;
            if (!principal.matches("[^@/\\s]+/[^@/\\s]+@[^@/\\s]+")) {
                f.problem(key, "expected a service principal such as \"" + Kerberos.serviceName(protocol)
                        + "/mail.example.org@EXAMPLE.ORG\", got \"" + principal + "\"");
                ok = false;
            }
            services.put(protocol, principal);
        }
        Map<String, String> principals = new LinkedHashMap<>();
        for (String entry : principalEntries) {
            int eq = entry.lastIndexOf('=');
            String account = eq < 0 ? "" : entry.substring(eq + 1).strip();
            if (eq <= 0 || !EmailAddress.parse(account).ok()) {
                f.problem("principals", "expected \"principal=account\" such as \"alice@EXAMPLE.ORG=alice@example.org\","
                        + " got \"" + entry + "\"");
                ok = false;
            } else {
                principals.put(entry.substring(0, eq).strip(), account);
            }
        }
        if (!realmDomain.isEmpty() && !isHostname(realmDomain)) {
            f.problem("realm-domain", "expected a mail domain such as \"example.org\", got \"" + realmDomain + "\"");
            ok = false;
        }
        if (!ok || hostname == null) return null;
        return new Kerberos(keytab, realm, protocols, services, principals,
                realmDomain.isEmpty() ? Optional.empty() : Optional.of(realmDomain));
    }

    /** The {@code [outbound]} table and its routes; null after a problem. */
    private Outbound readOutbound(Fields f, List<Table> routeTables, Path base) {
        String hostname = f.str(f.key("hostname"));
        if (hostname != null && !hostname.isEmpty() && !isHostname(hostname)) {
            f.problem("hostname", "expected a host name such as \"mail.example.org\", or \"\" for server.hostname");
            hostname = null;
        }
        List<Duration> durations = new ArrayList<>();
        for (String name : List.of("connect-timeout", "greeting-timeout", "mail-timeout", "rcpt-timeout", "data-timeout",
                "data-block-timeout", "data-done-timeout", "retry-initial", "retry-max", "give-up", "delay-warning")) {
            durations.add(f.duration(name));
        }
        Long connections = f.integer("max-connections-per-destination");
        Long messages = f.integer("max-messages-per-connection");
        if (durations.get(7) != null && durations.get(8) != null && durations.get(8).compareTo(durations.get(7)) < 0) {
            f.problem("retry-max", "retry-max must not be shorter than retry-initial; raise retry-max or lower retry-initial");
            return null;
        }
        List<Outbound.Route> routes = new ArrayList<>();
        Map<String, Integer> domains = new HashMap<>();
        for (Table table : routeTables) {
            Fields r = new Fields(Section.OUTBOUND_ROUTE, table);
            String domain = r.str(r.key("domain"));
            if (domain != null && !domain.equals(Outbound.Route.ANY_DOMAIN) && !isHostname(domain)) {
                r.problem("domain", "expected a domain such as \"example.net\", or \"*\" for every domain");
                domain = null;
            }
            if (domain != null) {
                Integer first = domains.putIfAbsent(domain.toLowerCase(java.util.Locale.ROOT), r.lineOf("domain"));
                if (first != null) {
                    r.problem("domain", "a route for \"" + domain + "\" is already on line " + first + "; only the first"
                            + " would ever be used");
                    domain = null;
                }
            }
            List<Outbound.NextHop> hops = r.nextHops("next-hop");
            OutboundTls tls = r.choice("tls", OutboundTls.class);
            Optional<Path> caFile = r.optionalPath("ca-file", base);
            if (caFile != null && caFile.isPresent() && tls != null && tls != OutboundTls.VERIFY_NAME) {
                r.problem("ca-file", "ca-file is used only with tls = \"verify-name\"; remove it or set that tls");
                caFile = null;
            }
            if (domain != null && hops != null && tls != null && caFile != null) {
                routes.add(new Outbound.Route(domain, hops, tls, caFile));
            }
        }
        if (hostname == null || durations.contains(null) || connections == null || messages == null
                || routes.size() != routeTables.size()) {
            return null;
        }
        return new Outbound(hostname.isEmpty() ? Optional.empty() : Optional.of(hostname), durations.get(0), durations.get(1),
                durations.get(2), durations.get(3), durations.get(4), durations.get(5), durations.get(6), durations.get(7),
                durations.get(8), durations.get(9), durations.get(10), connections.intValue(), messages.intValue(), routes);
    }

    /**
     * The {@code [[outbound.tls-policy]]} entries added to {@code outbound}; null after a problem. A
     * domain named twice, or one a static route serves, is an error: the entry could never apply.
     */
    private Outbound readTlsPolicies(Outbound outbound, List<Table> tables, Path base) {
        List<Outbound.TlsPolicy> policies = new ArrayList<>();
        Map<String, Integer> domains = new HashMap<>();
        for (Table table : tables) {
            Fields p = new Fields(Section.OUTBOUND_TLS_POLICY, table);
            String domain = p.str(p.key("domain"));
            if (domain != null && !isHostname(domain)) {
                p.problem("domain", "expected a domain such as \"example.net\"");
                domain = null;
            }
            if (domain != null) {
                String d = domain;
                Integer first = domains.putIfAbsent(domain.toLowerCase(java.util.Locale.ROOT), p.lineOf("domain"));
                Optional<Outbound.Route> route = outbound.routes().stream().filter(r -> r.matches(d)).findFirst();
                if (first != null) {
                    p.problem("domain", "a tls-policy for \"" + domain + "\" is already on line " + first
                            + "; write one entry per domain");
                    domain = null;
                } else if (route.isPresent()) {
                    Integer line = lines.get("outbound.route[" + (outbound.routes().indexOf(route.get()) + 1) + "]");
                    p.problem("domain", "mail for \"" + domain + "\" goes by the [[outbound.route]] for \""
                            + route.get().domain() + "\"" + (line == null ? "" : " on line " + line)
                            + ", whose tls applies instead; set the tls there or remove this entry");
                    domain = null;
                }
            }
            OutboundTls tls = p.choice("tls", OutboundTls.class);
            Optional<Path> caFile = p.optionalPath("ca-file", base);
            if (caFile != null && caFile.isPresent() && tls != null && tls != OutboundTls.VERIFY_NAME) {
                p.problem("ca-file", "ca-file is used only with tls = \"verify-name\"; remove it or set that tls");
                caFile = null;
            }
            if (domain != null && tls != null && caFile != null) policies.add(new Outbound.TlsPolicy(domain, tls, caFile));
        }
        return policies.size() == tables.size() ? outbound.withTlsPolicies(policies) : null;
    }

    /** Reads every listener into {@code out}; returns false if any could not be read at all. */
    private boolean readListeners(List<Table> tables, Map<String, Listener> out, Role role) {
        boolean complete = true;
        Map<String, Integer> nameLines = new HashMap<>();
        Map<String, String> boundBy = new LinkedHashMap<>();
        for (Table table : tables) {
            Fields f = new Fields(Section.LISTENER, table);
            String name = f.listenerName("name");
            Protocol protocol = f.choice("protocol", Protocol.class);
            String address = f.address("address");
            Long port = f.integer("port");
            TlsMode tls = f.choice("tls", TlsMode.class);
            ClientCertMode clientCert = f.choice("client-cert", ClientCertMode.class);
            Boolean cleartextAuth = f.bool("cleartext-auth");
            Boolean acceptCleartextRisk = f.bool("accept-cleartext-risk");
            CertificateForPassword certificateForPassword =
                    f.choice("require-certificate-for-password", CertificateForPassword.class);
            List<Cidr> proxyFrom = f.cidrs("proxy-from");
            List<Cidr> edges = f.cidrs("edges");
            ConnectionLimits limits = connectionLimits(f, protocol);
            if (protocol != null) checkLink(f, protocol, tls, clientCert, edges, proxyFrom);
            if (protocol != null) checkRole(f, protocol, role);
            if (name != null) {
                Integer first = nameLines.putIfAbsent(name, f.lineOf("name"));
                if (first != null) {
                    f.problem("name", "duplicate listener name \"" + name + "\" (first on line " + first
                            + "); give each listener its own name");
                    name = null;
                }
            }
            if (tls == TlsMode.NONE && clientCert == ClientCertMode.REQUEST) {
                f.problem("client-cert", "client-cert = \"request\" needs tls = \"starttls\" or \"implicit\";"
                        + " a certificate is only seen in a TLS handshake");
            } else if (tls != null && tls != TlsMode.IMPLICIT && clientCert == ClientCertMode.REQUIRE) {
                // The device gate promises that nothing is sent before the certificate is checked;
                // a plaintext greeting before STARTTLS would break that promise.
                f.problem("client-cert", "client-cert = \"require\" needs tls = \"implicit\", so that no"
                        + " greeting is sent before the certificate is checked");
            }
            if (protocol == Protocol.HTTPS && tls != null && tls != TlsMode.IMPLICIT) {
                // HTTP has no STARTTLS (RFC 2817's Upgrade is unused by browsers and EST clients), and a
                // plain-HTTP listener would carry passwords and enrollment tokens in the clear (RFC 7030 §3.2.3).
                f.problem("tls", "protocol = \"https\" needs tls = \"implicit\"; HTTP is served only inside TLS");
            }
            if (protocol == Protocol.LDAPS && tls != null && tls != TlsMode.IMPLICIT) {
                // RFC 4513 §3.1.3 and RFC 8314's reasoning: TLS from the first byte, so no bind or search
                // ever travels in the clear.
                f.problem("tls", "protocol = \"ldaps\" needs tls = \"implicit\"; the directory is served only inside TLS");
            }
            if (protocol == Protocol.LDAP && tls != null && tls != TlsMode.STARTTLS) {
                // RFC 4513 §3: the plain-LDAP port serves the directory only after StartTLS; implicit TLS is "ldaps".
                f.problem("tls", "protocol = \"ldap\" needs tls = \"starttls\"; the directory is served only inside"
                        + " TLS, and protocol = \"ldaps\" starts with it");
            }
            if (protocol == Protocol.HTTP && tls != null && tls != TlsMode.NONE) {
                // The plain-HTTP listener publishes the CA's signed objects where relying parties fetch
                // them, over http (RFC 5280 §4.2.1.13, RFC 6960 Appendix A.1); HTTP inside TLS is "https".
                f.problem("tls", "protocol = \"http\" needs tls = \"none\"; it serves only the CA's public objects"
                        + " over plain HTTP, and protocol = \"https\" is HTTP inside TLS");
            }
            if (certificateForPassword != null && certificateForPassword != CertificateForPassword.NO
                    && clientCert == ClientCertMode.NONE) {
                f.problem("require-certificate-for-password", "require-certificate-for-password = \""
                        + ConfigKeys.choiceName(certificateForPassword) + "\" needs client-cert = \"request\" or"
                        + " \"require\"; without either no certificate is ever asked for, so no password could log in");
            }
            if (address != null && port != null && port != 0) {
                String here = f.table.prefix() + " (line " + f.lineOf("port") + ")";
                for (Map.Entry<String, String> taken : boundBy.entrySet()) {
                    String[] other = taken.getKey().split(" ");
                    if (Long.parseLong(other[1]) != port || !overlap(bindAddress(address), other[0])) continue;
                    if (other[0].equals(bindAddress(address))) {
                        f.problem("port", "address " + address + " port " + port + " is already used by " + taken.getValue()
                                + "; two listeners cannot bind the same address and port");
                    } else {
                        f.problem("port", "address " + address + " port " + port + " overlaps " + taken.getValue()
                                + ", which binds " + other[0] + " port " + port + "; " + OVERLAP_HINT);
                    }
                    break;
                }
                boundBy.putIfAbsent(bindAddress(address) + " " + port, here);
            }
            if (name == null || protocol == null || address == null || port == null || tls == null
                    || clientCert == null || cleartextAuth == null || proxyFrom == null || acceptCleartextRisk == null
                    || certificateForPassword == null || limits == null || edges == null) {
                complete = false;
                continue;
            }
            out.put(name, new Listener(name, protocol, address, port.intValue(), tls, clientCert, cleartextAuth,
                    proxyFrom.stream().map(Cidr::toString).toList(), acceptCleartextRisk, certificateForPassword, limits,
                    edges.stream().map(Cidr::toString).toList()));
        }
        return complete;
    }

    /**
     * docs/roles.md §1: a mailbox node never accepts an end user's (or another mail server's)
     * connection, and only a mailbox node takes links; a node of role all has none, its edge and
     * mailbox halves being one process.
     */
    /** The client protocols an edge relays to the mailbox nodes (docs/roles.md §3). */
    private static final java.util.Set<Protocol> EDGE_RELAYS = java.util.EnumSet.of(Protocol.IMAP, Protocol.POP3,
            Protocol.SUBMISSION, Protocol.SMTP, Protocol.HTTPS, Protocol.LDAPS);

    private static void checkRole(Fields f, Protocol protocol, Role role) {
        if (role == Role.MAILBOX && protocol.servesClients()) {
            f.problem("protocol", "protocol = \"" + ConfigKeys.choiceName(protocol) + "\" is a client listener, and"
                    + " role = \"mailbox\" takes no clients: only protocol = \"link\" (and \"http\"); serve clients"
                    + " from an edge, or use role = \"all\"");
        } else if (role == Role.EDGE && protocol.servesClients() && !EDGE_RELAYS.contains(protocol)) {
            // An edge writes no mailbox: only what it relays may be served there (docs/roles.md §3). LDAP's
            // StartTLS would start TLS on the link rather than with the client: an edge relays LDAPS only.
            f.problem("protocol", "protocol = \"" + ConfigKeys.choiceName(protocol) + "\" is not relayed by an edge in"
                    + " this version: role = \"edge\" serves \"imap\", \"pop3\", \"submission\", \"smtp\","
                    + " \"https\" and \"ldaps\" (and \"http\"); use \"ldaps\", or serve it from a node of role = \"all\"");
        } else if (protocol == Protocol.LINK && role != null && role != Role.MAILBOX) {
            f.problem("protocol", "protocol = \"link\" needs role = \"mailbox\" in [server]: with role = \""
                    + ConfigKeys.choiceName(role) + "\" no node takes links");
        }
    }

    /**
     * The link's invariants (docs/roles.md §2): TLS from the first byte, a node certificate
     * required, and a list of the edges' addresses; nothing weaker is accepted, so a mistake
     * stops the server instead of opening the mailbox tier. {@code edges} belongs to the link alone.
     */
    private static void checkLink(Fields f, Protocol protocol, TlsMode tls, ClientCertMode clientCert,
            List<Cidr> edges, List<Cidr> proxyFrom) {
        if (protocol != Protocol.LINK) {
            if (edges != null && !edges.isEmpty()) {
                f.problem("edges", "edges applies only to a protocol = \"link\" listener; remove it here");
            }
            return;
        }
        if (tls != null && tls != TlsMode.IMPLICIT) {
            f.problem("tls", "protocol = \"link\" needs tls = \"implicit\": the link is TLS 1.3 from the first byte");
        }
        if (clientCert != null && clientCert != ClientCertMode.REQUIRE) {
            f.problem("client-cert", "protocol = \"link\" needs client-cert = \"require\": an edge proves itself with"
                    + " its node certificate before anything is sent, and \"" + ConfigKeys.choiceName(clientCert)
                    + "\" would let a peer without one in");
        }
        if (edges != null && edges.isEmpty()) {
            f.problem("edges", "protocol = \"link\" needs edges, the addresses of the edge nodes, such as"
                    + " edges = [\"192.0.2.10/32\"]; without them no edge could connect");
        }
        if (proxyFrom != null && !proxyFrom.isEmpty()) {
            // A PROXY header would let the sender choose the address the edges list is checked against.
            f.problem("proxy-from", "protocol = \"link\" takes no proxy-from: edges connect directly, and a PROXY"
                    + " header would choose the address that edges is checked against");
        }
    }

    /**
     * A listener's caps on one client's connections and its SMTP deadlines; the SMTP keys are
     * refused on listeners of other protocols, where they would silently do nothing.
     */
    private ConnectionLimits connectionLimits(Fields f, Protocol protocol) {
        Long perAddress = f.integer("max-connections-per-address");
        Long perNetwork = f.integer("max-connections-per-network");
        Duration commandDeadline = f.duration("command-deadline");
        Long minDataRate = f.integer("min-data-rate");
        if (protocol == Protocol.IMAP || protocol == Protocol.POP3 || protocol == Protocol.HTTPS || protocol == Protocol.HTTP
                || protocol == Protocol.LDAPS || protocol == Protocol.LDAP) {
            for (String smtpOnly : List.of("command-deadline", "min-data-rate")) {
                if (f.table.entries().containsKey(smtpOnly)) {
                    f.problem(smtpOnly, smtpOnly + " applies to protocol \"smtp\" and \"submission\" only; remove it here");
                }
            }
        }
        if (perAddress != null && perNetwork != null && perAddress != 0 && perNetwork != 0 && perNetwork < perAddress) {
            f.problem("max-connections-per-network", "max-connections-per-network (" + perNetwork + ") is below"
                    + " max-connections-per-address (" + perAddress + "), and a network holds that address; raise it,"
                    + " or set it to 0 for no cap");
            return null;
        }
        if (perAddress == null || perNetwork == null || commandDeadline == null || minDataRate == null) return null;
        if (protocol == Protocol.LINK) {
            // Every session an edge relays is a link from the edge's one address: a client's cap would starve it.
            if (!f.table.entries().containsKey("max-connections-per-address")) perAddress = (long) ConnectionLimits.DEFAULT_LINKS_PER_EDGE;
            if (!f.table.entries().containsKey("max-connections-per-network")) perNetwork = (long) ConnectionLimits.DEFAULT_LINKS_PER_EDGE;
        }
        return new ConnectionLimits(perAddress.intValue(), perNetwork.intValue(), commandDeadline, minDataRate.intValue());
    }

    private Rule readRule(Fields f, Map<String, Listener> listeners, boolean listenersComplete) {
        Cidr cidr = f.cidr("cidr");
        List<String> names = f.strings("listeners");
        RuleAction action = f.choice("action", RuleAction.class);
        if (names != null) {
            if (names.isEmpty()) {
                f.problem("listeners", "name at least one listener, or write [\"*\"] for all");
                names = null;
            } else if (names.contains(Rule.ALL_LISTENERS) && names.size() > 1) {
                f.problem("listeners", "\"*\" already means every listener; write either [\"*\"] or listener names");
                names = null;
            }
        }
        if (names != null && !names.contains(Rule.ALL_LISTENERS)) {
            for (String name : names) {
                Listener listener = listeners.get(name);
                if (listener == null && listenersComplete) {
                    f.problem("listeners", "no listener named \"" + name + "\" (listeners: "
                            + (listeners.isEmpty() ? "none" : String.join(", ", listeners.keySet())) + ")");
                } else if (listener != null && listener.tls() == TlsMode.NONE && action == RuleAction.REQUEST_CERT) {
                    f.problem("action", "listener \"" + name + "\" has tls = \"none\", so no client certificate"
                            + " can be asked for; give it tls = \"starttls\" or \"implicit\"");
                }
            }
        }
        if (names != null && action == RuleAction.REQUIRE_CERT) {
            // As for client-cert = "require": nothing may be sent before the certificate is checked.
            List<String> named = names;
            List<String> unfit = listeners.values().stream()
                    .filter(l -> named.contains(Rule.ALL_LISTENERS) || named.contains(l.name()))
                    .filter(l -> l.tls() != TlsMode.IMPLICIT)
                    .map(Listener::name)
                    .toList();
            if (!unfit.isEmpty()) {
                f.problem("action", "\"require-cert\" applies to listener" + (unfit.size() > 1 ? "s " : " ")
                        + String.join(", ", unfit.stream().map(n -> "\"" + n + "\"").toList())
                        + " without tls = \"implicit\", whose greeting would be sent before any certificate is"
                        + " checked; list only listeners with tls = \"implicit\" in listeners");
            }
        }
        if (cidr == null || names == null || action == null) {
            return null;
        }
        return new Rule(cidr, names, action);
    }

    private static final String OVERLAP_HINT = "two listeners cannot bind the same port on the same address, nor on an"
            + " address and the wildcard (0.0.0.0 covers every IPv4 address, :: every IPv6 address and, on Linux by"
            + " default, every IPv4 one too); give one of them another port";

    /** The address a listener binds, canonical: "localhost" binds 127.0.0.1 (Transport). */
    private static String bindAddress(String address) {
        return Cidr.parse(address.equals("localhost") ? "127.0.0.1" : address).toString();
    }

    /**
     * Whether sockets on these two canonical addresses (same port) would collide: the same
     * address, a wildcard and an address of its family, or the IPv6 wildcard, which is dual-stack
     * (net.ipv6.bindv6only = 0 is Linux's default), and any IPv4 address.
     */
    static boolean overlap(String a, String b) {
        if (a.equals(b)) return true;
        return covers(a, b) || covers(b, a);
    }

    private static boolean covers(String wildcard, String other) {
        boolean otherIpv4 = !other.contains(":");
        if (wildcard.equals(IPV4_ANY)) return otherIpv4;
        return wildcard.equals(IPV6_ANY);
    }

    private void problem(int line, String key, String message) {
        problems.add(new Problem(line, key, message));
    }

    /** Typed access to one table's keys; a getter records a problem and returns null on a bad value. */
    private final class Fields {
        final Section section;
        final Table table;

        Fields(Section section, Table table) {
            this.section = section;
            this.table = table != null ? table : new Table(section.tomlName(), false, 0, 0, Map.of());
            if (this.table.line() > 0) {
                lines.put(this.table.prefix(), this.table.line());
            }
        }

        int lineOf(String name) {
            Entry entry = table.entries().get(name);
            return entry != null ? entry.line() : table.line();
        }

        void problem(String name, String message) {
            ConfigReader.this.problem(lineOf(name), table.path(name), message);
        }

        private Key key(String name) {
            return ConfigKeys.find(section, name)
                    .orElseThrow(() -> new IllegalStateException("key " + name + " is missing from ConfigKeys"));
        }

        /** The written value, or the documented default; null (after a problem) if required and absent. */
        private Value raw(Key key) {
            Entry entry = table.entries().get(key.name());
            if (entry != null) {
                lines.put(table.path(key.name()), entry.line());
                return entry.value();
            }
            if (key.required()) {
                problem(key.name(), "missing" + (table.line() == 0 ? " (there is no " + section.header() + " table)" : "")
                        + "; expected " + key.expected());
                return null;
            }
            return TomlParser.parseValue(key.defaultValue());
        }

        private <T> T bad(Key key, Value value) {
            String got = value.toToml();
            problem(key.name(), "expected " + key.expected() + ", got "
                    + (got.length() > MAX_GOT ? got.substring(0, MAX_GOT) + "..." : got));
            return null;
        }

        /** An absolute https URL with a host (RFC 9110 §4.2.2). */
        String httpsUrl(String name) {
            Key key = key(name);
            String value = str(key);
            if (value == null) {
                return null;
            }
            try {
                URI uri = new URI(value);
                if ("https".equals(uri.getScheme()) && uri.getHost() != null && uri.getRawUserInfo() == null
                        && uri.getRawFragment() == null) {
                    return value;
                }
            } catch (URISyntaxException e) {
                // reported below with the expected form
            }
            problem(name, "expected an https URL such as \"https://id.example.org\", got \"" + value + "\"");
            return null;
        }

        private String str(Key key) {
            Value value = raw(key);
            if (value == null) {
                return null;
            }
            return value instanceof TomlDocument.Str s ? s.value() : bad(key, value);
        }

        String hostname(String name) {
            Key key = key(name);
            String host = str(key);
            return host == null || isHostname(host) ? host : bad(key, raw(key));
        }

        String listenerName(String name) {
            Key key = key(name);
            String value = str(key);
            return value == null || LISTENER_NAME.matcher(value).matches() ? value : bad(key, raw(key));
        }

        String address(String name) {
            Key key = key(name);
            String value = str(key);
            if (value == null || value.equals("localhost")) {
                return value;
            }
            try {
                if (value.indexOf('/') < 0) {
                    Cidr.parse(value);
                    return value;
                }
            } catch (IllegalArgumentException e) {
                // reported below with the expected form
            }
            return bad(key, raw(key));
        }

        Path path(String name, Path base) {
            Key key = key(name);
            String value = str(key);
            return value == null ? null : toPath(key, value, base);
        }

        private Path toPath(Key key, String value, Path base) {
            try {
                if (!value.isEmpty()) {
                    return base.resolve(value).normalize();
                }
            } catch (InvalidPathException e) {
                // reported below with the expected form
            }
            return bad(key, new TomlDocument.Str(value));
        }

        /** A path, or empty when the value is "" (the key's way of saying "none"). */
        Optional<Path> optionalPath(String name, Path base) {
            Key key = key(name);
            String value = str(key);
            if (value == null) {
                return null;
            }
            if (value.isEmpty()) {
                return Optional.empty();
            }
            Path path = toPath(key, value, base);
            return path == null ? null : Optional.of(path);
        }

        /** Bytes, from a whole number of KB, MB or GB (powers of 1024). */
        Long size(String name) {
            return scaled(key(name), SIZE, SIZE_UNITS);
        }

        Long integer(String name) {
            Key key = key(name);
            Value value = raw(key);
            if (value == null) {
                return null;
            }
            if (value instanceof TomlDocument.Int i && i.value() >= key.min() && i.value() <= key.max()) {
                return i.value();
            }
            return bad(key, value);
        }

        Boolean bool(String name) {
            Key key = key(name);
            Value value = raw(key);
            if (value == null) {
                return null;
            }
            return value instanceof TomlDocument.Bool b ? b.value() : bad(key, value);
        }

        Duration duration(String name) {
            Long millis = scaled(key(name), DURATION, DURATION_UNITS);
            return millis == null ? null : Duration.ofMillis(millis);
        }

        /**
         * A string of a whole number and a unit, as {@code pattern} matches them, times the unit's
         * value in {@code units}; null, after a problem, when it is not one or out of the key's range.
         */
        private Long scaled(Key key, Pattern pattern, Map<String, Long> units) {
            String value = str(key);
            if (value == null) {
                return null;
            }
            Matcher m = pattern.matcher(value);
            if (m.matches()) {
                long amount = Long.parseLong(m.group(1)) * units.get(m.group(2));
                if (amount >= key.min() && amount <= key.max()) {
                    return amount;
                }
            }
            return bad(key, raw(key));
        }

        <E extends Enum<E>> E choice(String name, Class<E> type) {
            Key key = key(name);
            String value = str(key);
            if (value == null) {
                return null;
            }
            for (E constant : type.getEnumConstants()) {
                if (ConfigKeys.choiceName(constant).equals(value) && key.choices().contains(value)) {
                    return constant;
                }
            }
            return bad(key, raw(key));
        }

        Cidr cidr(String name) {
            Key key = key(name);
            String value = str(key);
            if (value == null) {
                return null;
            }
            try {
                return Cidr.parse(value);
            } catch (IllegalArgumentException e) {
                problem(name, "expected " + key.expected() + ": " + e.getMessage());
                return null;
            }
        }

        List<String> strings(String name) {
            Key key = key(name);
            Value value = raw(key);
            if (value == null) {
                return null;
            }
            return value instanceof TomlDocument.StrArray a ? a.values() : bad(key, value);
        }

        List<Path> paths(String name, Path base) {
            List<String> values = strings(name);
            if (values == null) {
                return null;
            }
            List<Path> paths = values.stream().map(v -> toPath(key(name), v, base)).toList();
            return paths.contains(null) ? null : paths;
        }

        /** {@code "host:port"} or an array of them; an IPv6 address in brackets ({@code "[2001:db8::1]:25"}). */
        List<Outbound.NextHop> nextHops(String name) {
            Key key = key(name);
            Value value = raw(key);
            if (value == null) return null;
            List<String> written = value instanceof TomlDocument.Str s ? List.of(s.value())
                    : value instanceof TomlDocument.StrArray a ? a.values() : null;
            if (written == null || written.isEmpty()) return bad(key, value);
            List<Outbound.NextHop> hops = new ArrayList<>();
            for (String hop : written) {
                Matcher m = NEXT_HOP.matcher(hop);
                String host = m.matches() ? (m.group(1) != null ? m.group(1) : m.group(2)) : null;
                boolean valid = host != null && (m.group(1) != null ? isIpv6(host) : isHostname(host) || isIpv4(host));
                int port = valid ? Integer.parseInt(m.group(3)) : 0;
                if (!valid || port < 1 || port > Listener.MAX_PORT) return bad(key, value);
                hops.add(new Outbound.NextHop(host, port));
            }
            return hops;
        }

        List<Cidr> cidrs(String name) {
            Key key = key(name);
            List<String> values = strings(name);
            if (values == null) {
                return null;
            }
            List<Cidr> cidrs = new ArrayList<>();
            for (String value : values) {
                try {
                    cidrs.add(Cidr.parse(value));
                } catch (IllegalArgumentException e) {
                    problem(name, "expected " + key.expected() + ": " + e.getMessage());
                    return null;
                }
            }
            return cidrs;
        }
    }

    /** {@code host:port} or {@code [IPv6]:port}. */
    private static final Pattern NEXT_HOP = Pattern.compile("(?:\\[([0-9A-Fa-f:.]+)\\]|([^\\[\\]:]+)):(\\d{1,5})");

    private static boolean isIpv6(String host) {
        try {
            return host.contains(":") && Cidr.parse(host) != null;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean isIpv4(String host) {
        try {
            return host.matches("\\d{1,3}(\\.\\d{1,3}){3}") && Cidr.parse(host) != null;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** RFC 1123 §2.1: dot-separated labels of letters, digits and inner hyphens; not all-numeric. */
    static boolean isHostname(String host) {
        if (host.isEmpty() || host.length() > MAX_HOSTNAME) {
            return false;
        }
        String[] labels = host.split("\\.", -1);
        for (String label : labels) {
            if (label.length() > MAX_LABEL || !LABEL.matcher(label).matches()) {
                return false;
            }
        }
        // An all-numeric last label makes it an IPv4 address, which greetings must not announce as a name.
        return !labels[labels.length - 1].chars().allMatch(Character::isDigit);
    }
}
