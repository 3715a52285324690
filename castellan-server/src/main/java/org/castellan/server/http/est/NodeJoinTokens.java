package org.castellan.server.http.est;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.castellan.security.pki.NodeIdentity;

/**
 * One-time join tokens of new nodes (docs/roles.md §4): {@code castellan node add} makes one for a
 * node name and role, and the node spends it once over EST ({@link NodeEnrollment}) for a
 * certificate of its own key. A token is {@code nj-<hex>.<secret>}; its own {@value #ID_PREFIX}
 * prefix keeps it apart from device and user tokens ({@link EnrollmentTokens#ID_PREFIX}), so that
 * neither kind is ever taken for the other.
 *
 * <p>They are kept beside the node CA they draw on, in {@code DATA/pki/}{@value #DIRECTORY} (0700),
 * one file per token (0600) holding the node, its DNS names, the certificate's validity, the
 * token's expiry and a SHA-256 of its secret, never the secret. Spending renames the file to
 * {@code <id>.used}: rename is atomic, so of two requests with one token (or two processes on
 * one data directory) only one gets the certificate.
 *
 * <p>Failure: {@link #check} answers why a token is not good ({@link Refused}); a file that cannot
 * be read counts as no token. {@link #make} throws {@link UncheckedIOException} if it cannot write.
 */
public final class NodeJoinTokens {

    /** Under the CA's directory. */
    public static final String DIRECTORY = "node-join";
    /** Every join token id starts with this. */
    public static final String ID_PREFIX = "nj-";
    /** A join token made and never used is good for this long unless the operator says otherwise. */
    public static final Duration DEFAULT_VALIDITY = Duration.ofHours(24);
    /** A token id's hex digits: {@code StoreEnrollmentTokens}' 64 random bits, which name the file and guard nothing. */
    private static final int ID_HEX_DIGITS = 16;
    private static final String USED = ".used";

    private final Path directory;
    private final Clock clock;

    /** The tokens of the CA in {@code pkiDirectory}. */
    public NodeJoinTokens(Path pkiDirectory, Clock clock) {
        this.directory = pkiDirectory.resolve(DIRECTORY);
        this.clock = clock;
    }

    /**
     * What a token entitles to: a certificate for {@code node} with {@code dnsNames}, valid for
     * {@code certificateValidity}.
     */
    public record Grant(String id, NodeIdentity node, List<String> dnsNames, Duration certificateValidity,
                        Instant expiresAt, boolean used) {}

    /** A token made: {@code text} is shown to the operator once and kept nowhere. */
    public record Made(String text, Grant grant) {}

    /** Why a token is refused, or what it grants. */
    public sealed interface Check {}

    public record Good(Grant grant) implements Check {}

    /** @param reason for the node's operator: used, expired, or not a token of this CA */
    public record Refused(String reason) implements Check {}

    /** Makes and keeps a token for {@code node}, good once for {@code tokenValidity}. */
    public Made make(NodeIdentity node, List<String> dnsNames, Duration certificateValidity, Duration tokenValidity) {
        StoreEnrollmentTokens.Fresh fresh = StoreEnrollmentTokens.fresh(ID_PREFIX);
        String id = fresh.id();
        Instant expires = clock.instant().plus(tokenValidity);
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("node", node.uri());
        fields.put("dns", String.join(",", dnsNames));
        fields.put("certificate-days", Long.toString(certificateValidity.toDays()));
        fields.put("expires", expires.toString());
        fields.put("secret-sha256", StoreEnrollmentTokens.hash(fresh.secret()));
        StringBuilder text = new StringBuilder();
        fields.forEach((k, v) -> text.append(k).append(' ').append(v).append('\n'));
        try {
            if (!Files.isDirectory(directory)) {
                Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Path file = directory.resolve(id);
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, text, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the join token under " + directory + ": " + e.getMessage(), e);
        }
        return new Made(fresh.text(),
                new Grant(id, node, List.copyOf(dnsNames), certificateValidity, expires, false));
    }

    /** Whether {@code text} is shaped like a join token (rather than a device token or an account). */
    public static boolean isJoinToken(String text) {
        return text.startsWith(ID_PREFIX) && text.indexOf('@') < 0;
    }

    /**
     * What {@code text} grants, or why not. Used and expired are named only to the holder of the
     * right secret; anything else is "not a join token of this CA".
     */
    public Check check(String text) {
        Refused unknown = new Refused("not a join token of this CA");
        int dot = text.indexOf(EnrollmentTokens.SEPARATOR);
        if (dot <= 0 || !text.substring(0, dot).matches(ID_PREFIX + "[0-9a-f]{" + ID_HEX_DIGITS + "}")) return unknown;
        String id = text.substring(0, dot);
        Optional<Stored> stored = read(id);
        if (stored.isEmpty()) return unknown;
        boolean matches = MessageDigest.isEqual(stored.get().secretHash().getBytes(StandardCharsets.US_ASCII),
                StoreEnrollmentTokens.hash(text.substring(dot + 1)).getBytes(StandardCharsets.US_ASCII));
        if (!matches) return unknown;
        Grant grant = stored.get().grant();
        if (grant.used()) return new Refused("this join token has been used; make another with castellan node add");
        if (!grant.expiresAt().isAfter(clock.instant())) {
            return new Refused("this join token expired at " + grant.expiresAt() + "; make another with castellan node add");
        }
        return new Good(grant);
    }

    /** Marks the token used; false when it already was (a replay, or a request sent twice at once). */
    public boolean consume(String id) {
        try {
            Files.move(directory.resolve(id), directory.resolve(id + USED), StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (NoSuchFileException | FileAlreadyExistsException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot spend join token " + id + ": " + e.getMessage(), e);
        }
    }

    /** Every token kept here, used or not, oldest expiry first: what {@code castellan node list} shows. */
    public List<Grant> list() {
        List<Grant> all = new ArrayList<>();
        if (!Files.isDirectory(directory)) return all;
        try (var files = Files.list(directory)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (!name.startsWith(ID_PREFIX)) continue;
                read(name.endsWith(USED) ? name.substring(0, name.length() - USED.length()) : name)
                        .ifPresent(s -> all.add(s.grant()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + directory + ": " + e.getMessage(), e);
        }
        all.sort(java.util.Comparator.comparing(Grant::expiresAt));
        return all;
    }

    private record Stored(Grant grant, String secretHash) {}

    private Optional<Stored> read(String id) {
        boolean used = false;
        Path file = directory.resolve(id);
        if (!Files.exists(file)) {
            file = directory.resolve(id + USED);
            used = true;
        }
        try {
            Map<String, String> fields = new LinkedHashMap<>();
            for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                int space = line.indexOf(' ');
                fields.put(space < 0 ? line : line.substring(0, space), space < 0 ? "" : line.substring(space + 1));
            }
            Optional<NodeIdentity> node = NodeIdentity.parse(fields.getOrDefault("node", ""));
            String dns = fields.getOrDefault("dns", "");
            if (node.isEmpty() || !fields.containsKey("secret-sha256")) return Optional.empty();
            return Optional.of(new Stored(new Grant(id, node.get(), dns.isEmpty() ? List.of() : List.of(dns.split(",")),
                    Duration.ofDays(Long.parseLong(fields.getOrDefault("certificate-days", "0"))),
                    Instant.parse(fields.getOrDefault("expires", "")), used), fields.get("secret-sha256")));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | NumberFormatException | DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
