package org.castellan.store;

import java.util.Optional;
import java.util.Set;

/**
 * A change another node made to the shared parts of the directory that a node keeps in memory or
 * in its sessions, heard through {@link Directory#watchDirectory}: it says what to read again, or
 * whose sessions to close, not the rows.
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

    /**
     * An account was deleted: the sessions logged in to it, on every node, work on mail that is
     * gone and are closed.
     *
     * @param address the account's address as its sessions hold it (local part, {@code @}, domain)
     */
    record AccountRemoved(String address) implements DirectoryChange {}

    /**
     * An account was placed on another mailbox node by {@code user move} (docs/roles.md §4): its
     * sessions elsewhere are closed, so that they log in again and land there.
     *
     * @param address the account's address as its sessions hold it
     * @param node the node it is on now
     */
    record PlacementChanged(String address, String node) implements DirectoryChange {}

    /**
     * A cluster-wide request (docs/roles.md §4): {@code castellan sessions}, {@code sessions kick}
     * or a step of {@code user move} asks every node, and each answers with {@link
     * Directory#answerNodes} under {@code requestId}.
     *
     * @param request one JSON object, as the admin socket takes it
     */
    record NodesAsked(String requestId, String request) implements DirectoryChange {}

    /**
     * This node could not hear changes for a while (its PostgreSQL LISTEN connection broke and is
     * back): the blocks and revocations the other nodes wrote meanwhile are read again whole.
     * Accounts removed meanwhile are not named, so their sessions on this node are not closed by it.
     */
    record Missed() implements DirectoryChange {}
}
