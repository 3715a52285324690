package org.castellan.server.config;

import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code [directory]} table: the certificate directory served on {@code protocol = "ldaps"}
 * listeners (docs/kms.md, docs/security.md): the user CA's certificates by address, for mail
 * clients that look up a recipient's S/MIME certificate.
 *
 * @param baseDn the naming context, RFC 4514 form; entries are {@code mail=<address>,ou=people,<base-dn>}
 * @param anonymous what a client that has not bound may search for
 * @param sizeLimit the most entries one search returns
 * @param publish the enterprise directory the user certificates are also published to
 *     ({@code [directory.publish]}), if any
 * <p>The constructor throws {@code IllegalArgumentException} for a size limit outside 1 to
 * {@link #MAX_SIZE_LIMIT}; the reader checks it first and reports it with the line.
 */
public record Directory(String baseDn, Anonymous anonymous, int sizeLimit, Optional<Publish> publish) {

    /** Whom a directory search may serve without a bind. */
    public enum Anonymous {
        /**
         * Exact addresses only: a filter must pin every entry it can match to an address named
         * in full ({@code (mail=alice@example.org)}), so that nobody harvests the address list.
         */
        EXACT,
        /** Nothing: every search needs a simple bind as an account. */
        NONE
    }

    /**
     * Entries one search returns by default: an address book shows a screenful of matches, and
     * slapd's default sizelimit is 500. A bound client may ask for fewer (RFC 4511 §4.5.1.4).
     */
    public static final int DEFAULT_SIZE_LIMIT = 100;
    /** Each entry carries certificates of a few KiB: a thousand keep one answer within megabytes. */
    public static final int MAX_SIZE_LIMIT = 1000;
    public static final Directory DEFAULTS = new Directory("", Anonymous.EXACT, DEFAULT_SIZE_LIMIT, Optional.empty());

    /**
     * An existing enterprise directory (OpenLDAP, Active Directory) whose people entries get the
     * user certificates as {@code userCertificate;binary} (docs/kms.md).
     *
     * @param url {@code ldaps://host[:port]}, or {@code ldap://host[:port]} on which StartTLS is
     *     required (RFC 4513 §3); never without TLS
     * @param bindDn who the server binds as
     * @param passwordFile the file holding that DN's password (its first line)
     * @param baseDn where a user's entry is searched for, by {@code (mail=<address>)}
     * @param caFile PEM certificates that verify the directory's TLS certificate instead of the system's
     */
    public record Publish(URI url, String bindDn, Path passwordFile, String baseDn, Optional<Path> caFile) {
        public Publish {
            Objects.requireNonNull(url, "url");
            Objects.requireNonNull(bindDn, "bindDn");
            Objects.requireNonNull(passwordFile, "passwordFile");
            Objects.requireNonNull(baseDn, "baseDn");
            Objects.requireNonNull(caFile, "caFile");
        }

        /** Whether the connection starts with TLS ({@code ldaps:}), rather than StartTLS. */
        public boolean implicitTls() {
            return url.getScheme().equalsIgnoreCase("ldaps");
        }
    }

    public Directory {
        Objects.requireNonNull(baseDn, "baseDn");
        Objects.requireNonNull(anonymous, "anonymous");
        Objects.requireNonNull(publish, "publish");
        if (sizeLimit < 1 || sizeLimit > MAX_SIZE_LIMIT) {
            throw new IllegalArgumentException("a size limit is from 1 to " + MAX_SIZE_LIMIT + ", not " + sizeLimit);
        }
    }

    /**
     * The base DN in force: the one configured, or {@code dc=} components of the server's
     * hostname without its first label ({@code mail.example.org} gives {@code dc=example,dc=org}),
     * the usual naming context of a domain (RFC 2247).
     */
    public String baseDn(String hostname) {
        if (!baseDn.isEmpty()) return baseDn;
        String[] labels = hostname.toLowerCase(Locale.ROOT).split("\\.");
        int first = labels.length > 2 ? 1 : 0;
        StringBuilder dn = new StringBuilder();
        for (int i = first; i < labels.length; i++) {
            if (labels[i].isEmpty()) continue;
            if (!dn.isEmpty()) dn.append(',');
            dn.append("dc=").append(labels[i]);
        }
        return dn.isEmpty() ? "o=castellan" : dn.toString();
    }
}
