package org.castellan.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Objects;
import java.util.function.Function;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.server.config.Role;
import org.castellan.server.transport.SessionRegistry;
import org.castellan.store.DirectoryChange;
import org.castellan.store.Mailbox;
import org.castellan.store.MailStore;
import org.castellan.store.MailboxStatus;
import org.castellan.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part in the cluster operations on a shared store (docs/roles.md §4): it names
 * itself among the nodes when it starts, and answers the requests {@code castellan sessions},
 * {@code sessions kick} and {@code user move} publish on the directory channel ({@link
 * DirectoryChange.NodesAsked}) by writing its answer to the store, where the command reads it.
 * When an account is placed on another node ({@link DirectoryChange.PlacementChanged}) it ends
 * what is left of the account's sessions here, unless this is that node.
 *
 * <p>Requests, as JSON objects: the admin socket's {@code sessions} and {@code kick} (an id
 * {@code node:id} names a session of one node; the others close nothing), {@code ping} (the node
 * answers with its name and role), and {@code status} of an {@code account} (each mailbox's
 * messages, UIDNEXT, UIDVALIDITY and HIGHESTMODSEQ, read through this node's store).
 *
 * <p>Trusts: the directory channel, as every node does for blocks and revocations: whoever can
 * write to the shared database can list and close sessions. Exposes: session lists and mailbox
 * counts, never message contents or credentials.
 *
 * <p>Failure: a request that cannot be read is answered with an error; an answer that cannot be
 * written is logged (WARN), and the asking command names this node as not answering, as it does
 * once the node stops ({@link SharedDirectory#close} ends the worker that answers).
 */
public final class ClusterRequests {

    private static final Logger log = LoggerFactory.getLogger(ClusterRequests.class);

    /** What a session of a moved account is told (RFC 9051 §7.1.5 BYE; RFC 3206 SYS/TEMP for POP3). */
    public static final String MOVED = "Mailbox moved to another server, log in again";

    private final MailStore store;
    private final String node;
    private final Role role;
    private final SessionRegistry sessions;
    /** The admin socket's answer to a {@code sessions} or {@code kick} request. */
    private final Function<JsonNode, ObjectNode> admin;
    /** Its worker answers: answers are store writes, never made on the LISTEN thread. */
    private final SharedDirectory shared;

    public ClusterRequests(MailStore store, String node, Role role, SessionRegistry sessions, AdminServer admin,
            SharedDirectory shared) {
        this(store, node, role, sessions, admin::answer, shared);
    }

    ClusterRequests(MailStore store, String node, Role role, SessionRegistry sessions, Function<JsonNode, ObjectNode> admin,
            SharedDirectory shared) {
        this.shared = Objects.requireNonNull(shared, "shared");
        this.store = Objects.requireNonNull(store, "store");
        this.node = Objects.requireNonNull(node, "node");
        this.role = Objects.requireNonNull(role, "role");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.admin = Objects.requireNonNull(admin, "admin");
    }

    /**
     * The node's name: the one its node certificate names ({@code castellan-node:<role>/<name>}),
     * else (a node of role {@code all} without one) the server's host name.
     */
    public static String nodeName(org.castellan.server.config.CastellanConfig config) {
        return config.nodeCertificate()
                .flatMap(n -> org.castellan.security.pki.CertificateAuthority.nodeIdentity(
                        org.castellan.security.pki.Pem.readCertificate(n.certificate())))
                .map(org.castellan.security.pki.NodeIdentity::name).orElse(config.server().hostname());
    }

    /** The role as requests and the session list name it. */
    public static String roleName(Role role) {
        return role.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Names this node in the store and starts answering; returns once it is named. */
    public ClusterRequests start() {
        store.watchDirectory(change -> {
            switch (change) {
                case DirectoryChange.NodesAsked asked -> shared.submit(() -> reply(asked));
                case DirectoryChange.PlacementChanged placed -> shared.submit(() -> placed(placed));
                default -> { }
            }
        });
        try {
            store.announceNode(node, roleName(role));
        } catch (StoreException e) {
            log.warn("this node ({}) could not name itself to the other nodes: {}", node, e.getMessage());
        }
        log.info("answering cluster requests as {} node {}", roleName(role), node);
        return this;
    }

    private void reply(DirectoryChange.NodesAsked asked) {
        ObjectNode answer;
        try {
            JsonNode request = AdminServer.JSON.readTree(asked.request());
            // A request for one node: the others keep quiet.
            if (request.hasNonNull("node") && !request.get("node").asText().equalsIgnoreCase(node)) return;
            answer = answer(request);
        } catch (IOException | RuntimeException e) {
            answer = AdminServer.error("the request could not be answered: " + e.getMessage());
        }
        answer.put("node", node).put("role", roleName(role));
        try {
            store.answerNodes(asked.requestId(), node, AdminServer.JSON.writeValueAsString(answer));
        } catch (IOException | StoreException e) {
            log.warn("cluster request {}: the answer could not be written: {}", asked.requestId(), e.getMessage());
        }
    }

    ObjectNode answer(JsonNode request) {
        String command = request.path("command").asText("");
        return switch (command) {
            case "ping" -> AdminServer.JSON.createObjectNode().put("ok", true);
            // docs/roles.md §5: an edge reads no mailbox.
            case "status" -> role == Role.EDGE ? AdminServer.error("an edge reads no mailbox")
                    : status(request.path("account").asText(""));
            case "sessions" -> admin.apply(request);
            case "kick" -> kick((ObjectNode) request.deepCopy());
            default -> AdminServer.error("unknown cluster request '" + command + "'");
        };
    }

    /** A kick of {@code node:id} is this node's only if it names this node; the rest are every node's. */
    private ObjectNode kick(ObjectNode request) {
        String id = request.path("id").asText("");
        int colon = id.lastIndexOf(':');
        if (colon >= 0) {
            if (!id.substring(0, colon).equalsIgnoreCase(node)) return AdminServer.JSON.createObjectNode().put("ok", true).put("closed", 0);
            request.put("id", id.substring(colon + 1));
        }
        return admin.apply(request);
    }

    /** The account's mailboxes as this node's store reads them: what {@code user move} verifies. */
    private ObjectNode status(String account) {
        long id = store.getAccount(EmailAddress.of(account))
                .orElseThrow(() -> StoreException.notFound("account " + account)).id();
        ObjectNode answer = AdminServer.JSON.createObjectNode().put("ok", true);
        ArrayNode list = answer.putArray("mailboxes");
        for (Mailbox m : store.listMailboxes(id)) {
            MailboxStatus s = store.status(m.id());
            list.addObject().put("name", m.name()).put("messages", s.messages()).put("uidNext", s.uidNext())
                    .put("uidValidity", s.uidValidity()).put("highestModSeq", s.highestModSeq());
        }
        return answer;
    }

    /**
     * The account is placed on another node: its sessions still here work on a node it left, and
     * are asked to leave (RFC 9051 §7.1.5 BYE). On an edge, only those relayed to another node.
     */
    private void placed(DirectoryChange.PlacementChanged placed) {
        if (role == Role.MAILBOX && placed.node().equalsIgnoreCase(node)) return;
        int left = sessions.departWhere(c -> c.account().map(a -> a.equalsIgnoreCase(placed.address())).orElse(false)
                && (role != Role.EDGE || c.relayNode().map(n -> !n.equalsIgnoreCase(placed.node())).orElse(false)),
                MOVED, AdminServer.DEPARTURE_GRACE);
        if (left > 0) log.info("{} session(s) of {} asked to leave: it moved to node {}", left, placed.address(), placed.node());
    }

}
