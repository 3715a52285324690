package org.castellan.server.dkim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.castellan.security.mailauth.DkimAlgorithm;
import org.castellan.security.mailauth.DkimKeyRecord;
import org.castellan.security.mailauth.DkimSigner;
import org.castellan.security.pki.Pem;

/**
 * The DKIM keys of each domain, in {@code DATA/dkim/DOMAIN/}: {@code SELECTOR.key} (the private
 * key, PKCS#8 PEM), {@code SELECTOR.txt} (the key record to publish) and {@code index}, one line
 * per selector: {@code selector algorithm created state [retired]}.
 *
 * <p>Selectors are named by the month they were made, {@code c202612} for RSA and
 * {@code c202612e} for Ed25519 ({@code c202612-2}, {@code c202612-2e} for a second pair that
 * month). A domain has one active selector per algorithm; mail is signed with all of them (RFC
 * 8463 §4: RSA and Ed25519 side by side until every verifier knows Ed25519). A rotation makes new
 * active selectors and retires the old ones, whose records stay published for
 * {@link #RETIRED_PUBLISHED} so that mail signed before it still verifies.
 *
 * <p>SECURITY: the directories are 0700 and private keys 0600 from their creation, as the CA's
 * keys are; a retired selector's private key is deleted at once (nothing signs with it any more,
 * and a key that does not exist cannot leak). The key records are public by nature.
 *
 * <p>Failure: {@link IllegalArgumentException} for a bad domain or a state that does not allow the
 * operation (keys exist already, none to rotate), with what to do instead; {@link UncheckedIOException}
 * naming the file that could not be read or written.
 */
public final class DkimKeys {

    /**
     * How long a retired selector's record stays published: queued mail is retried for up to 5
     * days (docs/outbound.md §4), and a receiver checks a signature when the message arrives, so
     * a week covers the slowest delivery with room for a receiver's own queue.
     */
    public static final Duration RETIRED_PUBLISHED = Duration.ofDays(7);
    /** RFC 8301 §3.2: signers SHOULD use RSA keys of 2048 bits. */
    public static final int RSA_BITS = 2048;
    static final String INDEX = "index";
    /** Signers by domain, kept while the domain's index is unchanged. */
    private final Map<String, ReadSigner> signers = new ConcurrentHashMap<>();
    private static final DateTimeFormatter MONTH = DateTimeFormatter.ofPattern("yyyyMM", Locale.ROOT).withZone(ZoneOffset.UTC);

    /**
     * One selector of a domain.
     *
     * @param retired when it was retired by a rotation; empty while it is active
     * @param record the text of its TXT record at {@link #dnsName()}
     */
    public record Selector(String domain, String selector, DkimAlgorithm algorithm, Instant created,
                           Optional<Instant> retired, String record) {

        public boolean active() {
            return retired.isEmpty();
        }

        /** Whether its record should be in DNS at {@code now}: active, or retired less than {@link #RETIRED_PUBLISHED} ago. */
        public boolean published(Instant now) {
            return retired.map(r -> now.isBefore(r.plus(RETIRED_PUBLISHED))).orElse(true);
        }

        /** The owner name of its record: {@code SELECTOR._domainkey.DOMAIN} (RFC 6376 §3.6.2.1). */
        public String dnsName() {
            return selector + "._domainkey." + domain;
        }
    }

    private final Path root;

    /** @param dataDir the data directory; keys live in its {@code dkim} subdirectory */
    public DkimKeys(Path dataDir) {
        this.root = dataDir.resolve("dkim");
    }

    /**
     * Makes the first keys of {@code domain}, one active selector per algorithm.
     *
     * @throws IllegalArgumentException if the domain has keys already (rotate them instead)
     */
    public List<Selector> generate(String domain, Set<DkimAlgorithm> algorithms, Instant now) {
        String d = normalize(domain);
        if (algorithms.isEmpty()) throw new IllegalArgumentException("no algorithm to make a DKIM key for");
        if (!list(d).isEmpty()) {
            throw new IllegalArgumentException(d + " has DKIM keys already; make new ones with 'castellan dkim rotate --domain " + d + "'");
        }
        return add(d, List.copyOf(sorted(algorithms)), List.of(), now.truncatedTo(ChronoUnit.SECONDS));
    }

    /**
     * Replaces the active selectors of {@code domain} by new ones of the same algorithms; the old
     * ones are retired (published for {@link #RETIRED_PUBLISHED} more) and their private keys deleted.
     *
     * @return the new selectors
     * @throws IllegalArgumentException if the domain has no active keys (make them with generate)
     */
    public List<Selector> rotate(String domain, Instant when) {
        Instant now = when.truncatedTo(ChronoUnit.SECONDS);
        String d = normalize(domain);
        List<Selector> all = list(d);
        List<DkimAlgorithm> algorithms = all.stream().filter(Selector::active).map(Selector::algorithm).distinct().toList();
        if (algorithms.isEmpty()) {
            throw new IllegalArgumentException(d + " has no DKIM keys to rotate; make them with 'castellan dkim keygen --domain " + d + "'");
        }
        List<Selector> kept = all.stream().map(s -> s.active()
                ? new Selector(s.domain(), s.selector(), s.algorithm(), s.created(), Optional.of(now), s.record()) : s).toList();
        List<Selector> made = add(d, algorithms, kept, now);
        for (Selector s : kept) {
            if (s.retired().equals(Optional.of(now))) delete(dir(d).resolve(s.selector() + ".key"));
        }
        return made;
    }

    /** Every domain's selectors, domains in name order, each domain's oldest first. */
    public List<Selector> list() {
        if (!Files.isDirectory(root)) return List.of();
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted()
                    .flatMap(d -> list(d).stream()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot list " + root + ": " + e.getMessage(), e));
        }
    }

    /** The selectors of {@code domain}, oldest first; empty when it has none. */
    public List<Selector> list(String domain) {
        String d = normalize(domain);
        Path index = dir(d).resolve(INDEX);
        List<String> lines;
        try {
            lines = Files.readAllLines(index, StandardCharsets.UTF_8);
        } catch (NoSuchFileException none) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot read " + index + ": " + e.getMessage(), e));
        }
        List<Selector> selectors = new ArrayList<>();
        for (String line : lines) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] f = line.trim().split("\\s+");
            if (f.length < 4) throw new UncheckedIOException(new IOException(index + ": malformed line '" + line + "'"));
            DkimAlgorithm algorithm = DkimAlgorithm.fromTag(f[1])
                    .orElseThrow(() -> new UncheckedIOException(new IOException(index + ": unknown algorithm in '" + line + "'")));
            Optional<Instant> retired = f[3].equals("retired") && f.length > 4 ? Optional.of(Instant.parse(f[4])) : Optional.empty();
            selectors.add(new Selector(d, f[0], algorithm, Instant.parse(f[2]), retired, readRecord(d, f[0])));
        }
        return List.copyOf(selectors);
    }

    /** The selectors whose records belong in DNS at {@code now}. */
    public List<Selector> published(String domain, Instant now) {
        return list(domain).stream().filter(s -> s.published(now)).toList();
    }

    /** The active keys of {@code domain} to sign with, RSA first; empty when it has none. */
    public List<DkimSigner.Key> signingKeys(String domain) {
        String d = normalize(domain);
        return list(d).stream().filter(Selector::active)
                .map(s -> new DkimSigner.Key(d, s.selector(), Pem.readPrivateKey(dir(d).resolve(s.selector() + ".key"))))
                .toList();
    }

    /**
     * A signer with every active key of {@code domain}, or empty when it has none. It is read
     * again only when the domain's index has changed (a keygen or rotation, by this process or
     * the command line), so signing a message costs one look at the index's time, not reading and
     * parsing its keys.
     */
    public Optional<DkimSigner> signer(String domain) {
        String d = normalize(domain);
        FileTime modified;
        try {
            modified = Files.getLastModifiedTime(dir(d).resolve(INDEX));
        } catch (NoSuchFileException none) {
            signers.remove(d);
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot read " + dir(d).resolve(INDEX) + ": " + e.getMessage(), e));
        }
        ReadSigner read = signers.get(d);
        if (read != null && read.index().equals(modified)) return read.signer();
        List<DkimSigner.Key> keys = signingKeys(d);
        Optional<DkimSigner> signer = keys.isEmpty() ? Optional.empty() : Optional.of(new DkimSigner(keys));
        signers.put(d, new ReadSigner(modified, signer));
        return signer;
    }

    /** A domain's signer as read when its index had this modification time. */
    private record ReadSigner(FileTime index, Optional<DkimSigner> signer) {
    }

    private List<Selector> add(String domain, List<DkimAlgorithm> algorithms, List<Selector> existing, Instant now) {
        Path dir = dir(domain);
        privateDirectory(root);
        privateDirectory(dir);
        String base = baseName(now, existing);
        List<Selector> made = new ArrayList<>();
        for (DkimAlgorithm algorithm : algorithms) {
            String selector = base + (algorithm == DkimAlgorithm.ED25519_SHA256 ? "e" : "");
            KeyPair pair = generate(algorithm);
            Pem.writePrivateKey(dir.resolve(selector + ".key"), pair.getPrivate());
            String record = DkimKeyRecord.format(pair.getPublic());
            write(dir.resolve(selector + ".txt"), record + "\n", "rw-r--r--");
            made.add(new Selector(domain, selector, algorithm, now, Optional.empty(), record));
        }
        List<Selector> all = new ArrayList<>(existing);
        all.addAll(made);
        writeIndex(domain, all);
        return List.copyOf(made);
    }

    /** {@code c} and the month, with {@code -2}, {@code -3}... when that month has a pair already. */
    private static String baseName(Instant now, List<Selector> existing) {
        String month = "c" + MONTH.format(now);
        Set<String> taken = existing.stream().map(Selector::selector).collect(java.util.stream.Collectors.toSet());
        for (int n = 1; ; n++) {
            String base = n == 1 ? month : month + "-" + n;
            if (!taken.contains(base) && !taken.contains(base + "e")) return base;
        }
    }

    private void writeIndex(String domain, List<Selector> selectors) {
        StringBuilder text = new StringBuilder("# selector algorithm created state [retired]\n");
        for (Selector s : selectors) {
            text.append(s.selector()).append(' ').append(s.algorithm().tag()).append(' ').append(s.created()).append(' ')
                    .append(s.retired().map(r -> "retired " + r).orElse("active")).append('\n');
        }
        write(dir(domain).resolve(INDEX), text.toString(), "rw-------");
    }

    private String readRecord(String domain, String selector) {
        Path file = dir(domain).resolve(selector + ".txt");
        try {
            return Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot read " + file + ": " + e.getMessage(), e));
        }
    }

    private static KeyPair generate(DkimAlgorithm algorithm) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance(algorithm.jcaKeyAlgorithm());
            if (algorithm == DkimAlgorithm.RSA_SHA256) generator.initialize(RSA_BITS);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the Java runtime cannot make " + algorithm.jcaKeyAlgorithm() + " keys", e);
        }
    }

    private Path dir(String domain) {
        return root.resolve(domain);
    }

    /** Lower case; a name that is not a DNS domain is refused, so that it can never leave DATA/dkim as a path. */
    private static String normalize(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        if (!org.castellan.protocol.mail.EmailAddress.isValidDomain(d) || d.startsWith(".") || d.contains("/")) {
            throw new IllegalArgumentException("invalid domain name '" + domain + "'");
        }
        return d;
    }

    private static void privateDirectory(Path dir) {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot create directory " + dir + ": " + e.getMessage(), e));
        }
    }

    /** Writes through a temporary file created with the final permissions, then renames it over the target. */
    private static void write(Path file, String text, String permissions) {
        try {
            Path tmp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions)));
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot write " + file + ": " + e.getMessage(), e));
        }
    }

    private static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot delete " + file + ": " + e.getMessage(), e));
        }
    }

    private static List<DkimAlgorithm> sorted(Set<DkimAlgorithm> algorithms) {
        return algorithms.stream().sorted(Comparator.naturalOrder()).toList();
    }
}
