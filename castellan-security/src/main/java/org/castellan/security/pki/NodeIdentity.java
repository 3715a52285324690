package org.castellan.security.pki;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Who a node certificate names: its role and its node name, written in the certificate as the
 * subjectAltName URI {@code castellan-node:<role>/<name>} (docs/roles.md §2). The URI is the only
 * place a link peer's role is read from; the CN is for people reading the certificate.
 *
 * <p>{@link #parse} is pure and refuses anything but the exact canonical form (lower case, one
 * role, one name), so that two spellings never name the same node.
 *
 * @param role what the node does on the link
 * @param name a DNS-label-like node name ({@link #isValidName})
 */
public record NodeIdentity(Role role, String name) {

    /** The URI scheme of a node identity (a private scheme: RFC 7595 §3.8 would have it registered before public use). */
    public static final String SCHEME = "castellan-node";
    /**
     * A node name is one DNS label (RFC 1123 §2.1: letters, digits and hyphens, no hyphen at either
     * end, at most 63 octets), in lower case: it becomes a file name under DATA/nodes and part of a
     * URI, where case would give one node two names.
     */
    static final Pattern NAME = Pattern.compile("[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?");

    /** The roles a node certificate can carry: a node of role {@code all} has no link and no node certificate. */
    public enum Role {
        /** In the perimeter network: client listeners, opens links to mailbox nodes. */
        EDGE,
        /** Inside: mail at rest, accepts links from edges only. */
        MAILBOX;

        /** The role as written in a URI and on the command line: {@code edge}, {@code mailbox}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The role whose {@link #label()} is {@code text}; empty for anything else, in any other case. */
        public static Optional<Role> fromLabel(String text) {
            for (Role role : values()) {
                if (role.label().equals(text)) return Optional.of(role);
            }
            return Optional.empty();
        }
    }

    /**
     * @throws IllegalArgumentException if {@code name} is not a valid node name; callers with
     *     untrusted text use {@link #parse} or {@link #isValidName} first
     */
    public NodeIdentity {
        if (role == null || !isValidName(name)) {
            throw new IllegalArgumentException("not a node identity: role " + role + ", name '" + name + "'");
        }
    }

    /** Whether {@code name} can name a node ({@link #NAME}). */
    public static boolean isValidName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /** {@code castellan-node:<role>/<name>}. */
    public String uri() {
        return SCHEME + ":" + role.label() + "/" + name;
    }

    /**
     * The identity {@code uri} names; empty for any other scheme, an unknown role, a name that is
     * not a node name, anything after the name (a path, query or fragment) or a different case.
     */
    public static Optional<NodeIdentity> parse(String uri) {
        if (uri == null || !uri.startsWith(SCHEME + ":")) return Optional.empty();
        String rest = uri.substring(SCHEME.length() + 1);
        int slash = rest.indexOf('/');
        if (slash < 0) return Optional.empty();
        Optional<Role> role = Role.fromLabel(rest.substring(0, slash));
        String name = rest.substring(slash + 1);
        if (role.isEmpty() || !isValidName(name)) return Optional.empty();
        return Optional.of(new NodeIdentity(role.get(), name));
    }

    @Override
    public String toString() {
        return uri();
    }
}
