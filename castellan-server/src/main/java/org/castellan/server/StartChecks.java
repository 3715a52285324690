package org.castellan.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.PkiException;
import org.castellan.security.tls.TlsConfigException;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;

/**
 * What the server checks at start beyond reading the configuration, shared by
 * {@link Castellan#start} (and {@code castellan serve}, for the log file) and {@code castellan
 * audit}, so that the audit passes exactly the configurations that start: the TLS policy built
 * from the certificate, key, CA, CRL and SNI files, and the log file. (Listener addresses that
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
        try {
            return Castellan.tlsPolicy(config, ca, refreshCrls);
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
