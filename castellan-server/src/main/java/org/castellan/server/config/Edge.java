package org.castellan.server.config;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code [edge]} table: how an edge node reaches the mailbox nodes (docs/roles.md §2).
 * Present only with {@code role = "edge"}, which also needs its node certificate ({@link NodeCertificate}).
 *
 * <p>The constructor throws {@code NullPointerException} if a component is null and
 * {@code IllegalArgumentException} if the default node is not one of the nodes.
 *
 * @param nodes each mailbox node's name (as its certificate names it) and the host and port of its link listener
 * @param defaultNode the node of an account without a placement in the directory
 * @param openingTimeout how long connecting, the TLS handshake and the node's answer to the opening line may take
 */
public record Edge(Map<String, Outbound.NextHop> nodes, String defaultNode,
                   Duration openingTimeout) {

    /** Connect, handshake and one line from a node on the same network: seconds at most, or it is down. */
    public static final Duration DEFAULT_OPENING_TIMEOUT = Duration.ofSeconds(10);
    /** The longest opening timeout: a client waits this long for its login's answer when a node hangs. */
    public static final Duration MAX_OPENING_TIMEOUT = Duration.ofMinutes(1);

    public Edge {
        nodes = Map.copyOf(nodes);
        Objects.requireNonNull(defaultNode, "defaultNode");
        Objects.requireNonNull(openingTimeout, "openingTimeout");
        if (!nodes.containsKey(defaultNode)) throw new IllegalArgumentException("default node " + defaultNode + " is not a node");
    }

    /** Where node {@code name}'s link listener is, if it is one of the nodes. */
    public Optional<Outbound.NextHop> node(String name) {
        return Optional.ofNullable(nodes.get(name));
    }
}
