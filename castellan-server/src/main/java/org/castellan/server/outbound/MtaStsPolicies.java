package org.castellan.server.outbound;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.castellan.security.mailauth.DnsLookup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which MTA-STS policy applies to a recipient domain (RFC 8461 §3, §5.1): the {@code _mta-sts} TXT
 * record's id, then the cached policy when the id is unchanged, else a fresh fetch. Policies are
 * kept in memory and in one small JSON file per domain in the directory given, so that they survive
 * a restart, as RFC 8461 §5.1 requires of a cache that protects against a downgrade.
 *
 * <p>SECURITY: a cached policy that has not outlived its {@code max_age} is used when the TXT
 * record is missing or cannot be read, and when a fetch fails (RFC 8461 §5.1): an attacker who
 * blocks DNS or HTTPS cannot remove a policy the sender has seen. Domain names become file names
 * only when they are plain lower-case host names; others are cached in memory alone.
 *
 * <p>Failure: never throws for DNS, HTTPS or file errors; a cache file that cannot be read or
 * written is logged and ignored.
 */
public final class MtaStsPolicies {

    private static final Logger LOG = LoggerFactory.getLogger(MtaStsPolicies.class);
    private static final Pattern FILE_SAFE = Pattern.compile("[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?");
    private static final String SUFFIX = ".json";

    private final DnsLookup dns;
    private final MtaStsFetcher fetcher;
    private final Path directory;
    private final Clock clock;
    private final ObjectMapper json = new ObjectMapper();
    private final Map<String, Cached> memory = new ConcurrentHashMap<>();

    /** One cached policy: what the file holds. */
    record Cached(String domain, String id, long fetchedEpochSecond, String body) {
        Optional<MtaStsPolicy> policy() {
            return MtaStsPolicy.parse(body) instanceof MtaStsPolicy.Valid v ? Optional.of(v.policy()) : Optional.empty();
        }

        boolean validAt(Instant now) {
            return policy().map(p -> now.isBefore(Instant.ofEpochSecond(fetchedEpochSecond).plus(p.maxAge()))).orElse(false);
        }
    }

    /**
     * @param directory where the policies are kept across restarts; created if missing
     */
    public MtaStsPolicies(DnsLookup dns, MtaStsFetcher fetcher, Path directory, Clock clock) {
        this.dns = dns;
        this.fetcher = fetcher;
        this.directory = directory;
        this.clock = clock;
    }

    /** What applies to a domain. */
    public sealed interface Lookup {
    }

    /**
     * A policy applies.
     *
     * @param refreshFailure why a fresh policy could not be had when the cached one was used
     *     instead, for TLS-RPT (RFC 8460 §4.3.3)
     */
    public record Applies(MtaStsPolicy policy, String id, Optional<MtaStsFetcher.Failed> refreshFailure) implements Lookup {
    }

    /**
     * No policy applies: deliver as the domain had none (RFC 8461 §5.1).
     *
     * @param failure set when the domain announced a policy that could not be fetched or was invalid
     */
    public record NoPolicy(Optional<MtaStsFetcher.Failed> failure) implements Lookup {
    }

    /** The policy for the ASCII (A-label) {@code domain}; blocks on DNS and HTTPS. */
    public Lookup lookup(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        Instant now = clock.instant();
        Optional<Cached> cached = cached(d).filter(c -> c.validAt(now));
        Optional<MtaStsRecord> record = switch (dns.txt("_mta-sts." + d)) {
            case DnsLookup.Found<String> f -> MtaStsRecord.select(f.values());
            case DnsLookup.NotFound<String> n -> Optional.empty();
            case DnsLookup.Failed<String> f -> Optional.empty();
        };
        if (record.isEmpty()) return cached.<Lookup>map(c -> applies(c, Optional.empty())).orElse(new NoPolicy(Optional.empty()));
        String id = record.get().id();
        if (cached.isPresent() && cached.get().id().equals(id)) return applies(cached.get(), Optional.empty());
        return switch (fetcher.fetch(d)) { // RFC 8461 §5.1: a new id means a new policy
            case MtaStsFetcher.Fetched f -> {
                Cached fresh = new Cached(d, id, now.getEpochSecond(), f.body());
                store(fresh);
                yield new Applies(f.policy(), id, Optional.empty());
            }
            case MtaStsFetcher.Failed f -> {
                LOG.info("MTA-STS policy of {} (id {}) not fetched: {}", d, id, f.reason());
                yield cached.<Lookup>map(c -> applies(c, Optional.of(f))).orElse(new NoPolicy(Optional.of(f)));
            }
        };
    }

    private static Applies applies(Cached c, Optional<MtaStsFetcher.Failed> failure) {
        return new Applies(c.policy().orElseThrow(), c.id(), failure);
    }

    private Optional<Cached> cached(String domain) {
        Cached inMemory = memory.get(domain);
        if (inMemory != null) return Optional.of(inMemory);
        Optional<Path> file = file(domain);
        if (file.isEmpty() || !Files.isRegularFile(file.get())) return Optional.empty();
        try {
            Cached c = json.readValue(file.get().toFile(), Cached.class);
            if (!c.domain().equals(domain)) return Optional.empty();
            memory.put(domain, c);
            return Optional.of(c);
        } catch (IOException e) {
            LOG.warn("MTA-STS cache file {} unreadable, ignored: {}", file.get(), e.getMessage());
            return Optional.empty();
        }
    }

    private void store(Cached c) {
        memory.put(c.domain(), c);
        Optional<Path> file = file(c.domain());
        if (file.isEmpty()) return;
        try {
            Files.createDirectories(directory);
            Path temporary = Files.createTempFile(directory, ".mta-sts", ".tmp");
            try {
                json.writeValue(temporary.toFile(), c);
                Files.move(temporary, file.get(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(temporary);
            }
        } catch (IOException e) {
            LOG.warn("MTA-STS policy of {} not written to {}: {}", c.domain(), directory, e.getMessage());
        }
    }

    private Optional<Path> file(String domain) {
        String d = domain.endsWith(".") ? domain.substring(0, domain.length() - 1) : domain;
        return FILE_SAFE.matcher(d).matches() && !d.contains("..") ? Optional.of(directory.resolve(d + SUFFIX)) : Optional.empty();
    }
}
