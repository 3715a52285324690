package org.castellan.server;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.OcspResponder;
import org.castellan.security.pki.PkiException;
import org.castellan.security.tls.TlsConfigException;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;

/**
 * What the server checks at start beyond reading the configuration, shared by
 * {@link Castellan#start} (and {@code castellan serve}, for the log file) and {@code castellan
 * audit}, so that the audit passes exactly the configurations that start: the TLS policy built
 * from the certificate, key, CA, CRL and SNI files, the log file, and the connection ceiling that
 * the file-descriptor limit allows. (Listener addresses that
 * would collide, and roles not implemented, are refused when the file is read.) Every failure
 * names the file, the line and the key, as configuration errors do.
 */
public final class StartChecks {

    private StartChecks() {}

    /**
     * Builds the TLS policy the server serves with. {@code refreshCrls} re-signs stale CRLs of the
     * built-in CA first (the server does; the audit, which only reads, does not).
     *
     * @throws StartFailure naming the key of the file at fault when the policy cannot be built
     */
    public static TlsPolicy tlsPolicy(CastellanConfig config, Optional<CertificateAuthority> ca, boolean refreshCrls) {
        return tlsPolicy(config, ca, ca.flatMap(Castellan::responder), refreshCrls);
    }

    /** As {@link #tlsPolicy(CastellanConfig, Optional, boolean)}, stapling the answers of {@code responder}. */
    static TlsPolicy tlsPolicy(CastellanConfig config, Optional<CertificateAuthority> ca, Optional<OcspResponder> responder,
                               boolean refreshCrls) {
        try {
            return Castellan.tlsPolicy(config, ca, responder, refreshCrls);
        } catch (TlsConfigException | PkiException e) {
            throw new StartFailure(config, config.problem(keyOf(config, e.getMessage()), e.getMessage()), e);
        }
    }

    /** {@link Castellan#linkTlsPolicy}, its failures named as a start failure. */
    public static Optional<TlsPolicy> linkTlsPolicy(CastellanConfig config, Optional<CertificateAuthority> ca) {
        try {
            return Castellan.linkTlsPolicy(config, ca);
        } catch (TlsConfigException | PkiException e) {
            throw new StartFailure(config, config.problem(keyOf(config, e.getMessage()), e.getMessage()), e);
        }
    }

    /**
     * Whether the server's user can write {@code [log] file} and rotate it: the file, if it exists,
     * must be a regular file it can write, and the directory (or the nearest one that exists, as
     * missing ones are created) one it can write in. Only looks; creates nothing.
     *
     * @throws StartFailure naming {@code log.file} otherwise
     */
    public static void logFile(CastellanConfig config) {
        Optional<Path> configured = config.log().file();
        if (configured.isEmpty()) return;
        Path file = configured.get();
        if (Files.isDirectory(file)) {
            throw logFileFailure(config, file, "is a directory; name a file in it, such as castellan.log");
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw logFileFailure(config, file, "is not a regular file");
        }
        if (Files.exists(file) && !Files.isWritable(file)) {
            throw logFileFailure(config, file, "cannot be written by the server's user; check its owner and permissions");
        }
        Path dir = file.getParent();
        while (dir != null && !Files.exists(dir)) dir = dir.getParent();
        if (dir == null || !Files.isDirectory(dir) || !Files.isWritable(dir)) {
            throw logFileFailure(config, file, "cannot be created or rotated: the server's user cannot write in " + dir
                    + " (the Debian package gives it /var/log/castellan)");
        }
    }

    /**
     * The server's connection ceiling: {@code server.max-connections}, lowered to half the
     * process's file-descriptor limit where that is less. Each connection holds a descriptor and
     * may need a second one for a message it spools to a temporary file; the store, the log and
     * the listening sockets need theirs; and a flood that takes every descriptor leaves the server
     * unable even to accept the connection it would refuse.
     *
     * @param configured {@code server.max-connections}
     * @param descriptors the process's file-descriptor limit (RLIMIT_NOFILE), where the JVM tells it
     * @param effective what the server enforces
     */
    public record ConnectionCeiling(int configured, OptionalLong descriptors, int effective) {

        /** Whether the server enforces less than was configured. */
        public boolean lowered() {
            return effective < configured;
        }
    }

    /** Descriptors per connection: its socket, and a temporary file for a message it spools. */
    static final int DESCRIPTORS_PER_CONNECTION = 2;

    /** {@code server.max-connections}, lowered to what this process's file-descriptor limit allows. */
    public static ConnectionCeiling connectionCeiling(CastellanConfig config) {
        int configured = config.server().maxConnections();
        OptionalLong descriptors = descriptorLimit();
        long allowed = descriptors.isPresent() ? Math.max(1, descriptors.getAsLong() / DESCRIPTORS_PER_CONNECTION) : configured;
        return new ConnectionCeiling(configured, descriptors, (int) Math.min(configured, allowed));
    }

    /** The process's limit on open file descriptors, where the JVM reports one (Unix). */
    public static OptionalLong descriptorLimit() {
        if (ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean unix && unix.getMaxFileDescriptorCount() > 0) {
            return OptionalLong.of(unix.getMaxFileDescriptorCount());
        }
        return OptionalLong.empty();
    }

    /** The log file cannot be used, for the reason {@code why}. */
    public static StartFailure logFileFailure(CastellanConfig config, Path file, String why) {
        return new StartFailure(config, config.problem("log.file", file + ": " + why), null);
    }

    /** The [tls] key whose file a TLS error names; "tls" when it names none of them. */
    static String keyOf(CastellanConfig config, String message) {
        var t = config.tls();
        if (message == null) return "tls";
        if (message.contains(t.key().toString())) return "tls.key";
        if (message.contains(t.certificate().toString())) return "tls.certificate";
        if (t.sniCertificates().stream().anyMatch(p -> message.contains(p.toString()))) return "tls.sni-certificates";
        if (t.crlFiles().stream().anyMatch(p -> message.contains(p.toString()))) return "tls.crl-files";
        if (t.clientCaFiles().stream().anyMatch(p -> message.contains(p.toString()))) return "tls.client-ca-files";
        if (message.contains(t.pkiDirectory().toString())) return "tls.pki-directory";
        return "tls";
    }

    /**
     * The server cannot start with this configuration; the message is one line
     * {@code FILE:LINE: KEY: what is wrong}, as a {@link ConfigException} would print it.
     */
    public static final class StartFailure extends IllegalStateException {

        private static final long serialVersionUID = 1L;
        private final transient ConfigException asConfigError;

        StartFailure(CastellanConfig config, ConfigException.Problem problem, Throwable cause) {
            this(new ConfigException(config.file().toString(), List.of(problem)), cause);
        }

        private StartFailure(ConfigException asConfigError, Throwable cause) {
            super(asConfigError.getMessage(), cause);
            this.asConfigError = asConfigError;
        }

        /** The same failure as a configuration error, for commands that report those. */
        public ConfigException asConfigError() {
            return asConfigError;
        }
    }
}
