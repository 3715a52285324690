package org.castellan.server.setup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.server.config.ConfigTemplate;
import org.castellan.server.config.Store;
import org.castellan.server.config.StoreKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a Castellan data directory, or completes one that exists: configuration file,
 * certificate authority, server certificate, mail store. Every step keeps what is already there,
 * so running it twice changes nothing.
 *
 * <p>SECURITY: the directory and every key file are created owner-only (0700 / 0600) before any
 * secret is written into them.
 */
public final class DataDirectory {

    private static final Logger log = LoggerFactory.getLogger(DataDirectory.class);

    public static final String CONFIG_FILE = "castellan.toml";
    /** The organisation named in the generated CA certificates. */
    public static final String CA_ORGANIZATION = "Castellan";
    /**
     * Server certificates from the built-in CA last 397 days, the longest that public-CA rules
     * (CA/Browser Forum) let browsers accept, so the same certificate works in web clients later.
     */
    public static final Duration SERVER_CERTIFICATE_VALIDITY = Duration.ofDays(397);

    private final Path root;

    public DataDirectory(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() { return root; }

    public Path configFile() { return root.resolve(CONFIG_FILE); }

    public Path pki() { return root.resolve("pki"); }

    public Path tls() { return root.resolve("tls"); }

    public Path mail() { return root.resolve("mail"); }

    public boolean hasConfig() {
        return Files.exists(configFile());
    }

    /**
     * Creates what is missing. The configuration file is written only if absent, from the given
     * settings; an existing one is left as it is.
     *
     * @throws UncheckedIOException naming the path that could not be created
     */
    public Initialized initialize(ConfigTemplate.Params settings) {
        createPrivateDirectory(root);
        boolean wroteConfig = false;
        if (!hasConfig()) {
            write(configFile(), ConfigTemplate.render(settings));
            wroteConfig = true;
            log.info("wrote {}", configFile());
        }
        CertificateAuthority ca = CertificateAuthority.initialize(pki(), CA_ORGANIZATION);
        if (!Files.exists(tls().resolve(IssuedCertificate.CHAIN_FILE))) {
            createPrivateDirectory(tls());
            IssuedCertificate server = ca.issueServer(dnsNames(settings.hostname()), loopbackAddresses(), SERVER_CERTIFICATE_VALIDITY);
            server.writeTo(tls());
            log.info("issued server certificate {} for {}", server.serialHex(), dnsNames(settings.hostname()));
        }
        createPrivateDirectory(mail());
        Stores.open(new Store(StoreKind.EMBEDDED, mail()), Optional.empty()).close(); // creates and migrates the schema now, not on first mail
        return new Initialized(wroteConfig, ca.rootCertificateFile());
    }

    /**
     * @param wroteConfig whether the configuration file was written now (false: an existing one was kept)
     * @param rootCertificate the root CA certificate that mail clients trust
     */
    public record Initialized(boolean wroteConfig, Path rootCertificate) {
    }

    static List<String> dnsNames(String hostname) {
        Set<String> names = new LinkedHashSet<>();
        names.add(hostname);
        names.add("localhost");
        return List.copyOf(names);
    }

    static List<InetAddress> loopbackAddresses() {
        try {
            return List.of(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("::1"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void createPrivateDirectory(Path dir) {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot create directory " + dir + ": " + e.getMessage(), e));
        }
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot write " + file + ": " + e.getMessage(), e));
        }
    }
}
