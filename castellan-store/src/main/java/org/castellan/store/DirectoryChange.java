package org.castellan.store;

import java.util.Optional;
import java.util.Set;

/**
 * A change another node made to the shared parts of the directory that a node keeps in memory,
 * heard through {@link Directory#watchDirectory}: it says what to read again, not the rows.
 */
public sealed interface DirectoryChange {

    /** A block was written: {@link Directory#listBlocks} has it. */
    record BlocksAdded() implements DirectoryChange {}

    /**
     * Blocks were lifted by an operator: of these sources (hosts, networks, pairs' networks), or of
     * every source when empty. A node forgets its own counts for them too.
     */
    record BlocksLifted(Optional<Set<String>> sources) implements DirectoryChange {}

    /** A revocation was recorded: {@link Directory#listRevocations} has it. */
    record RevocationsAdded() implements DirectoryChange {}
}
