package org.castellan.server.admin;

import java.math.BigInteger;
import java.time.Clock;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import javax.security.auth.x500.X500Principal;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.Block;
import org.castellan.security.auth.BlockSharing;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.IssuedEntry;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.server.transport.SessionRegistry;
import org.castellan.store.CertificateRevocation;
import org.castellan.store.Directory;
import org.castellan.store.DirectoryChange;
import org.castellan.store.LoginBlock;
import org.castellan.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the nodes sharing one directory keep in memory and must agree on within a second
 * (docs/store.md, "What the nodes share"): the login limiter's blocks and the revocations of
 * client certificates. It writes this node's blocks, lifted blocks and CA revocations to the
 * directory, and applies the other nodes' as the store tells of them ({@link
 * Directory#watchDirectory}: PostgreSQL's NOTIFY): blocks to {@link AuthService}, revocations to
 * the TLS policies (new handshakes) and their watchers (live sessions); and closes the sessions of
 * an account another node deleted.
 *
 * <p>Trusts: the directory, as every node does for accounts and passwords. Exposes nothing.
 *
 * <p>Failure: a store that cannot be reached is logged (WARN) and the node goes on with what it
 * holds; a block or a revocation not written then holds on this node alone, and a node that
 * missed a change learns of it with the next one, which makes it read the whole table again.
 */
public final class SharedDirectory implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SharedDirectory.class);

    private final Directory directory;
    private final AuthService auth;
    private final List<TlsPolicy> policies;
    private final List<RevocationWatcher> watchers;
    private final Optional<CertificateAuthority> ca;
    private final SessionRegistry sessions;
    /** Issuer and serial of each revocation the directory is known to hold; touched on the worker only. */
    private final Set<String> published = new HashSet<>();
    private final Clock clock;
    /** One thread: store writes and reads in the order they were asked for, never on an event loop or a lock. */
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "castellan-shared-directory");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param policies the TLS policies that refuse other nodes' revocations at the handshake
     * @param watchers the watchers that close those certificates' live sessions, and whose reloads
     *     tell of this node's own revocations
     */
    public SharedDirectory(Directory directory, AuthService auth, List<TlsPolicy> policies, List<RevocationWatcher> watchers,
            Optional<CertificateAuthority> ca, SessionRegistry sessions, Clock clock) {
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.directory = Objects.requireNonNull(directory, "directory");
        this.auth = Objects.requireNonNull(auth, "auth");
        this.policies = List.copyOf(policies);
        this.watchers = List.copyOf(watchers);
        this.ca = Objects.requireNonNull(ca, "ca");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Reads the blocks and revocations in force, publishes this node's CA revocations, and from
     * then on shares both ways. Returns once what was kept is in force here.
     */
    public SharedDirectory start() {
        directory.watchDirectory(change -> submit(() -> apply(change)));
        auth.shareBlocks(new BlockSharing() {
            @Override
            public void blocked(Block block) {
                submit(() -> keep(block));
            }

            @Override
            public void lifted(Optional<Set<String>> sources) {
                lift(sources);
            }
        });
        for (RevocationWatcher w : watchers) w.afterReload(() -> submit(this::publishRevocations));
        // On the worker, so that a change heard meanwhile is applied after, never before, this first read.
        Future<?> first = worker.submit(() -> {
            readBlocks();
            publishRevocations();
            readRevocations();
        });
        try {
            first.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot read the shared blocks and revocations", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return this;
    }

    private void apply(DirectoryChange change) {
        switch (change) {
            case DirectoryChange.BlocksAdded added -> readBlocks();
            case DirectoryChange.BlocksLifted lifted -> {
                auth.liftBlocks(lifted.sources());
                readBlocks();
            }
            case DirectoryChange.RevocationsAdded added -> readRevocations();
            case DirectoryChange.Missed missed -> {
                readBlocks();
                readRevocations();
            }
            // ClusterRequests' work (docs/roles.md §4).
            case DirectoryChange.PlacementChanged placed -> { }
            case DirectoryChange.NodesAsked asked -> { }
            case DirectoryChange.AccountRemoved removed -> {
                // As `castellan user remove` closes them on the node whose admin socket it reaches.
                int closed = sessions.closeWhere(c -> c.account().map(a -> a.equalsIgnoreCase(removed.address())).orElse(false));
                if (closed > 0) log.info("closed {} session(s) of {}, removed on another node", closed, removed.address());
            }
        }
    }

    private void keep(Block block) {
        try {
            directory.putBlock(new LoginBlock(block.source(), block.account(), block.failures(), block.until()));
        } catch (StoreException e) {
            log.warn("the block of {} holds on this node only: it could not be written to the directory: {}", block.source(),
                    e.getMessage());
        }
    }

    /** On the operator's request thread: the answer comes once the other nodes have been told. */
    private void lift(Optional<Set<String>> sources) {
        try {
            if (sources.isPresent()) directory.deleteBlocks(sources.get());
            else directory.deleteAllBlocks();
        } catch (StoreException e) {
            log.warn("blocks lifted on this node only: the directory could not be told: {}", e.getMessage());
        }
    }

    private void readBlocks() {
        try {
            auth.imposeBlocks(directory.listBlocks(clock.instant()).stream()
                    .map(b -> new Block(b.source(), b.account(), b.failures(), b.until())).toList());
        } catch (StoreException e) {
            log.warn("the blocks of the other nodes could not be read: {}", e.getMessage());
        }
    }

    /**
     * Every revocation in this node's CA index that the directory does not hold yet, into it; the
     * new ones are told to the other nodes. One write per revocation, the first time only.
     */
    private void publishRevocations() {
        if (ca.isEmpty()) return;
        try {
            if (published.isEmpty()) {
                for (CertificateRevocation kept : directory.listRevocations()) published.add(kept.issuer() + " " + kept.serial());
            }
            int added = 0;
            for (IssuedEntry entry : ca.get().issued()) {
                if (entry.revocation().isEmpty()) continue;
                IssuedEntry.Revocation r = entry.revocation().get();
                String issuer = ca.get().caCertificate(entry.kind()).getSubjectX500Principal().getName();
                if (published.contains(issuer + " " + entry.serialHex())) continue;
                if (directory.recordRevocation(new CertificateRevocation(issuer, entry.serialHex(), r.time(),
                        r.reason().label()))) {
                    added++;
                }
                published.add(issuer + " " + entry.serialHex());
            }
            if (added > 0) log.info("{} revocation(s) of this node's CA told to the other nodes", added);
        } catch (RuntimeException e) { // StoreException, or PkiException reading the index
            log.warn("this node's revocations could not be written to the directory: {}", e.getMessage());
        }
    }

    private void readRevocations() {
        Map<X500Principal, Set<BigInteger>> serials = new HashMap<>();
        try {
            for (CertificateRevocation r : directory.listRevocations()) {
                serials.computeIfAbsent(new X500Principal(r.issuer()), i -> new HashSet<>()).add(new BigInteger(r.serial(), 16));
            }
        } catch (StoreException | IllegalArgumentException e) {
            log.warn("the revocations of the other nodes could not be read: {}", e.getMessage());
            return;
        }
        for (TlsPolicy tls : policies) tls.revokeElsewhere(serials);
        for (RevocationWatcher w : watchers) w.revokedElsewhere();
    }

    /** Runs {@code task} on this node's one directory worker (also {@link ClusterRequests}'), in order. */
    void submit(Runnable task) {
        try {
            worker.execute(task);
        } catch (RejectedExecutionException closing) {
            // stopping: what was not written holds on this node until it stops
        }
    }

    @Override
    public void close() {
        worker.shutdown();
    }
}
