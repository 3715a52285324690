package org.castellan.store;

import java.time.Instant;

/**
 * A node sharing the directory, as it named itself when it last started (docs/roles.md §4):
 * whom a cluster-wide request waits for.
 *
 * @param name the node's name, from its node certificate
 * @param role {@code edge}, {@code mailbox} or {@code all}
 * @param seen when it last started
 */
public record ClusterNode(String name, String role, Instant seen) {}
