package org.castellan.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.StoreKind;
import org.castellan.store.ClusterNode;
import org.castellan.store.MailStore;

/**
 * A request to every node sharing the store (docs/roles.md §4): published on the directory
 * channel, answered by each live node into the store ({@code ClusterRequests}), collected here
 * for a bounded time. A node that named itself but has not answered by then is named as silent.
 */
final class NodeRequests {

    /**
     * How long a command waits for the nodes: a live node answers in milliseconds (one
     * notification, one insert); one that has not in this time is down or cut off from the database.
     */
    static final Duration ANSWER_WAIT = Duration.ofSeconds(3);

    /** How often the answers are read while some are missing: a few reads per second are nothing to the database. */
    private static final Duration POLL = Duration.ofMillis(50);

    private static final ObjectMapper JSON = new ObjectMapper();

    private NodeRequests() {}

    /** Whether this configuration's store is shared by nodes, so that requests reach them all. */
    static boolean shared(CastellanConfig config) {
        return config.store().kind() == StoreKind.POSTGRES;
    }

    /**
     * The answers of the nodes, by node name, and the nodes that did not answer.
     *
     * @param answers each answer carries {@code node} and {@code role}
     */
    record Answers(Map<String, JsonNode> answers, List<ClusterNode> silent) {}

    /** Asks every node; returns once all have answered or {@code wait} passed. */
    static Answers ask(MailStore store, ObjectNode request, Duration wait) {
        return ask(store, request, wait, store.clusterNodes());
    }

    /** Asks node {@code node} alone (the request names it; the others do not answer); its answer, if it gave one in time. */
    static Optional<JsonNode> askNode(MailStore store, String node, ObjectNode request) {
        List<ClusterNode> one = store.clusterNodes().stream().filter(n -> n.name().equals(node)).toList();
        return Optional.ofNullable(ask(store, request.put("node", node), ANSWER_WAIT, one).answers().get(node));
    }

    private static Answers ask(MailStore store, ObjectNode request, Duration wait, List<ClusterNode> nodes) {
        String id = UUID.randomUUID().toString();
        try {
            store.askNodes(id, JSON.writeValueAsString(request));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long deadline = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() < deadline) {
            Map<String, String> so = store.nodeAnswers(id, false);
            if (nodes.stream().allMatch(n -> so.containsKey(n.name()))) break;
            LockSupport.parkNanos(POLL.toNanos());
        }
        Map<String, JsonNode> answers = new TreeMap<>();
        for (Map.Entry<String, String> a : store.nodeAnswers(id, true).entrySet()) {
            try {
                answers.put(a.getKey(), JSON.readTree(a.getValue()));
            } catch (IOException e) {
                // An answer that is not JSON counts as none: the node is named as silent.
            }
        }
        return new Answers(answers, nodes.stream().filter(n -> !answers.containsKey(n.name())).toList());
    }

    /** One line per node that did not answer, on standard error. */
    static void sayWhoIsSilent(Answers answers) {
        for (ClusterNode n : answers.silent()) {
            System.err.println("node " + n.name() + " (" + n.role() + ") did not answer within " + ANSWER_WAIT.toSeconds() + "s");
        }
    }
}
