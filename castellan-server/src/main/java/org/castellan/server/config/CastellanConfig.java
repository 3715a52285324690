package org.castellan.server.config;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.castellan.security.auth.oauth.OAuthIssuer;
import org.castellan.security.rules.Cidr;
import org.castellan.security.rules.ConnectionRules;
import org.castellan.security.rules.RuleAction;
import org.castellan.server.config.ConfigException.Problem;

/**
 * The whole configuration, read from {@code castellan.toml} and validated: immutable, with every
 * default filled in and every path absolute.
 *
 * <p>{@link #load} and {@link #parse} throw {@link ConfigException} listing every problem found,
 * each naming the file, line and key; the server must not start with a configuration that fails.
 *
 * @param file the configuration file, absolute
 * @param listeners in file order, names unique
 * @param mailAuth the checks of inbound mail ({@code [mail-auth]})
 * @param rules connection rules in file order (first match wins)
 * @param oauthIssuers the authorization servers whose tokens OAUTHBEARER and XOAUTH2 accept ({@code [[oauth-issuer]]})
 * @param dns the resolvers and DNSSEC validation of outbound routing and mail authentication
 * @param kerberos SASL GSSAPI's keytab, service principals and principal mapping ({@code [kerberos]})
 * @param lines the line of every key and table written in the file ({@code tls.certificate},
 *     {@code listener[2].port}, {@code tls}), for errors found after reading (at start)
 * @param enroll what certificate enrollment over HTTPS issues ({@code [enroll]})
 * @param directory the certificate directory on ldaps listeners ({@code [directory]})
 * @param objectStorage where the PostgreSQL store keeps message bodies ({@code [store.object-store]}), if not in PostgreSQL
 * @param edge how an edge reaches the mailbox nodes ({@code [edge]}); present exactly with {@code role = "edge"}
 * @param nodeCertificate what this node presents on links ({@code [node]}); always present on an edge
 */
public record CastellanConfig(Path file, Server server, Store store, Tls tls, Auth auth, Log log, Smtp smtp,
                              Dns dns, MailAuth mailAuth, Kerberos kerberos, Outbound outbound, List<Listener> listeners,
                              List<Rule> rules, List<OAuthIssuer> oauthIssuers, Map<String, Integer> lines,
                              Enroll enroll, Directory directory, Optional<ObjectStorage> objectStorage,
                              Optional<Edge> edge, Optional<NodeCertificate> nodeCertificate) {

    /** Not an edge. */
    public CastellanConfig(Path file, Server server, Store store, Tls tls, Auth auth, Log log, Smtp smtp, Dns dns,
            MailAuth mailAuth, Kerberos kerberos, Outbound outbound, List<Listener> listeners, List<Rule> rules,
            List<OAuthIssuer> oauthIssuers, Map<String, Integer> lines, Enroll enroll, Directory directory,
            Optional<ObjectStorage> objectStorage) {
        this(file, server, store, tls, auth, log, smtp, dns, mailAuth, kerberos, outbound, listeners, rules, oauthIssuers,
                lines, enroll, directory, objectStorage, Optional.empty(), Optional.empty());
    }

    /** Without {@code [store.object-store]}: every body in the store itself. */
    public CastellanConfig(Path file, Server server, Store store, Tls tls, Auth auth, Log log, Smtp smtp, Dns dns,
            MailAuth mailAuth, Kerberos kerberos, Outbound outbound, List<Listener> listeners, List<Rule> rules,
            List<OAuthIssuer> oauthIssuers, Map<String, Integer> lines, Enroll enroll, Directory directory) {
        this(file, server, store, tls, auth, log, smtp, dns, mailAuth, kerberos, outbound, listeners, rules, oauthIssuers,
                lines, enroll, directory, Optional.empty());
    }

    /** A configuration file is a few kilobytes; one this large is the wrong file (a log, an image). */
    private static final long MAX_FILE_SIZE = 1024 * 1024;

    /** The constructor throws {@code NullPointerException} if a component is null. */
    public CastellanConfig {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(auth, "auth");
        Objects.requireNonNull(log, "log");
        Objects.requireNonNull(smtp, "smtp");
        Objects.requireNonNull(dns, "dns");
        Objects.requireNonNull(mailAuth, "mailAuth");
        Objects.requireNonNull(kerberos, "kerberos");
        Objects.requireNonNull(outbound, "outbound");
        Objects.requireNonNull(enroll, "enroll");
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(objectStorage, "objectStorage");
        Objects.requireNonNull(edge, "edge");
        Objects.requireNonNull(nodeCertificate, "nodeCertificate");
        listeners = List.copyOf(listeners);
        rules = List.copyOf(rules);
        oauthIssuers = List.copyOf(oauthIssuers);
        lines = Map.copyOf(lines);
    }

    /**
     * A problem found after reading, such as at start, placed where the operator fixes it: the
     * line of {@code key} if written, else of its table, else 0.
     */
    public Problem problem(String key, String message) {
        int dot = key.lastIndexOf('.');
        int line = lines.getOrDefault(key, dot < 0 ? 0 : lines.getOrDefault(key.substring(0, dot), 0));
        return new Problem(line, key, message);
    }

    /** The key of a listener's setting as errors name it: {@code listener[2].port}. */
    public String listenerKey(Listener listener, String name) {
        return "listener[" + (listeners.indexOf(listener) + 1) + "]." + name;
    }

    /**
     * Reads, parses and validates {@code file}, then checks that the files it refers to exist and
     * are readable: the TLS certificate and key (when a listener uses TLS, or when they are written
     * explicitly) and every client CA file.
     *
     * @throws ConfigException if the file is missing, unreadable, too large or not UTF-8, for any
     *     problem {@link #parse} reports, or for each referenced file that cannot be read
     */
    public static CastellanConfig load(Path file) throws ConfigException {
        String name = file.toString();
        String text;
        try {
            if (Files.isDirectory(file)) {
                throw new ConfigException(name, 0, "", "is a directory; name the configuration file itself");
            }
            if (Files.size(file) > MAX_FILE_SIZE) {
                throw new ConfigException(name, 0, "", "is larger than " + MAX_FILE_SIZE
                        + " bytes; is this the right file?");
            }
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(name, 0, "", "configuration file not found");
        } catch (AccessDeniedException e) {
            throw new ConfigException(name, 0, "", "cannot be read: permission denied; let the server's user read it");
        } catch (CharacterCodingException e) {
            throw new ConfigException(name, 0, "", "is not valid UTF-8 text");
        } catch (IOException e) {
            throw new ConfigException(name, 0, "", "cannot be read: " + e);
        }
        ConfigReader.Result result = ConfigReader.read(text, file);
        checkReferencedFiles(name, result.config(), result.lines());
        return result.config();
    }

    /**
     * Parses and validates configuration text without touching the file system: syntax, types,
     * ranges, unknown keys, host name syntax, unique listener names and addresses, rules naming
     * existing listeners, client certificates only with TLS. Relative paths resolve against
     * {@code file}'s directory as {@link #load} would.
     *
     * @param file the file the text came from, used in messages and to resolve relative paths
     * @throws ConfigException listing every problem found
     */
    public static CastellanConfig parse(String text, Path file) throws ConfigException {
        return ConfigReader.read(text, file).config();
    }

    /** The listener called {@code name}, if any. */
    public Optional<Listener> listener(String name) {
        return listeners.stream().filter(l -> l.name().equals(name)).findFirst();
    }

    /** Whether any listener offers TLS, and so needs the certificate and key. */
    public boolean usesTls() {
        return listeners.stream().anyMatch(l -> l.tls() != TlsMode.NONE);
    }

    /**
     * The rules as the accept path evaluates them. Each link listener's own come first: its edges
     * must present a certificate, everyone else is refused before TLS. The [[rule]]s follow, so no
     * rule (an "allow" for every listener, say) can open a link to another address.
     */
    public ConnectionRules connectionRules() {
        List<ConnectionRules.Entry> entries = new ArrayList<>();
        for (Listener l : listeners) {
            if (l.protocol() != Protocol.LINK) continue;
            for (String edge : l.edges()) {
                entries.add(new ConnectionRules.Entry(Cidr.parse(edge), Set.of(l.name()), RuleAction.REQUIRE_CERT));
            }
            for (String everyone : List.of("0.0.0.0/0", "::/0")) {
                entries.add(new ConnectionRules.Entry(Cidr.parse(everyone), Set.of(l.name()), RuleAction.DENY));
            }
        }
        entries.addAll(clientRules().entries());
        return new ConnectionRules(entries);
    }

    /**
     * The [[rule]]s alone, without the link listeners' own: what a mailbox node applies to the
     * client address an edge asserts (docs/roles.md §2).
     */
    public ConnectionRules clientRules() {
        return new ConnectionRules(rules.stream()
                .map(r -> new ConnectionRules.Entry(r.cidr(),
                        r.appliesToAllListeners() ? Set.of() : Set.copyOf(r.listeners()), r.action()))
                .toList());
    }

    private static void checkReferencedFiles(String name, CastellanConfig config, Map<String, Integer> lines)
            throws ConfigException {
        List<Problem> problems = new ArrayList<>();
        int tlsLine = lines.getOrDefault("tls", 0);
        for (String key : List.of("certificate", "key")) {
            String path = "tls." + key;
            boolean written = lines.containsKey(path);
            if (written || config.usesTls()) {
                Path target = key.equals("key") ? config.tls().key() : config.tls().certificate();
                String hint = written ? "" : " (the default; put the file there, or set " + key + " in [tls])";
                checkReadable(target, lines.getOrDefault(path, tlsLine), path, hint, problems);
            }
        }
        for (Path ca : config.tls().clientCaFiles()) {
            checkReadable(ca, lines.getOrDefault("tls.client-ca-files", tlsLine), "tls.client-ca-files", "", problems);
        }
        for (Path crl : config.tls().crlFiles()) {
            checkReadable(crl, lines.getOrDefault("tls.crl-files", tlsLine), "tls.crl-files", "", problems);
        }
        for (Path sni : config.tls().sniCertificates()) {
            if (Files.isDirectory(sni)) continue; // a directory of *.pem files; the TLS policy reads each
            checkReadable(sni, lines.getOrDefault("tls.sni-certificates", tlsLine), "tls.sni-certificates", "", problems);
        }
        config.dns().trustAnchor().ifPresent(anchor -> checkReadable(anchor,
                lines.getOrDefault("dns.trust-anchor", 0), "dns.trust-anchor", "", problems));
        config.kerberos().keytab().ifPresent(keytab -> checkReadable(keytab,
                lines.getOrDefault("kerberos.keytab", 0), "kerberos.keytab", "", problems));
        if (!problems.isEmpty()) {
            throw new ConfigException(name, problems);
        }
    }

    private static void checkReadable(Path target, int line, String key, String hint, List<Problem> problems) {
        if (!Files.exists(target)) {
            problems.add(new Problem(line, key, "file " + target + " does not exist" + hint));
        } else if (!Files.isRegularFile(target)) {
            problems.add(new Problem(line, key, target + " is not a regular file"));
        } else if (!Files.isReadable(target)) {
            problems.add(new Problem(line, key, "file " + target + " cannot be read by the server's user;"
                    + " check its owner and permissions"));
        }
    }
}
