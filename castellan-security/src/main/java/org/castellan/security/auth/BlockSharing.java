package org.castellan.security.auth;

import java.util.Optional;
import java.util.Set;

/**
 * Where the blocks of this node's login limiter meet the other nodes' (docs/security.md, "Blocks
 * across nodes"): what {@link AuthService} tells of the blocks it decides and the blocks an
 * operator lifts on this node. The other direction, blocks decided or lifted elsewhere, comes in
 * through {@link AuthService#imposeBlocks} and {@link AuthService#liftBlocks}.
 *
 * <p>Failure: an implementation that cannot reach the other nodes logs it and returns; the block
 * or the lifting holds on this node regardless.
 */
public interface BlockSharing {

    /** A block this node decided; called with the limiter's lock held, so it must hand the block on and never wait. */
    void blocked(Block block);

    /**
     * An operator lifted the blocks of these sources (the forms {@link Block#source} takes), or of
     * every source when empty; called on the operator's request thread, which may wait.
     */
    void lifted(Optional<Set<String>> sources);
}
