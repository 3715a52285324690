package org.castellan.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.server.admin.AdminServer;
import org.castellan.store.Account;
import org.castellan.store.ClusterNode;
import org.castellan.store.Mailbox;
import org.castellan.store.MailboxStatus;
import org.castellan.store.MailStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan user move ADDRESS --to NODE} (docs/roles.md §4): on a store the mailbox nodes
 * share, the account's mail is already where every node reads it, so a move is the switch of its
 * placement, made safe: the target must be a mailbox node that answers; the account's logins are
 * refused for a moment (edges answer {@code NO [UNAVAILABLE]}, {@code -ERR [SYS/TEMP]}); its
 * sessions on every node are asked to leave (IMAP {@code BYE}, RFC 9051 §7.1.5), so that clients
 * log in again and land on the new node; the placement is switched, announced and the lock lifted
 * in one transaction; and the mailboxes as the target node reads them are compared with those
 * read before the switch.
 *
 * <p>Failure: a target that is not a mailbox node, or does not answer, changes nothing (exit 2 or
 * 1); a failure after the lock lifts it and leaves the placement as it was; a verification that
 * differs (mail delivered during the move, or a node reading another database) is exit 1 with
 * the difference, the placement switched.
 */
@Command(name = "move", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Move an account to another mailbox node of a cluster sharing one store: refuse its logins",
                "for a moment, end its sessions on every node (clients log in again and land on the new node),",
                "switch its placement, and verify its mailboxes through the new node."})
final class UserMoveCommand implements Callable<Integer> {

    /**
     * How long the account's logins are refused at most: the switch takes the kick's wait for the
     * nodes ({@link NodeRequests#ANSWER_WAIT}) and one write; a move that dies holding the lock
     * refuses the account no longer than this.
     */
    static final Duration MOVE_LOCK = Duration.ofSeconds(30);

    @Mixin DataOptions where;
    @Parameters(paramLabel = "ADDRESS") String address;
    @Option(names = "--to", required = true, paramLabel = "NODE", description = "The mailbox node's name, as in castellan-node:mailbox/NAME.")
    String node;

    @Override
    public Integer call() throws Exception {
        EmailAddress a = Admin.address(address);
        try (Admin admin = Admin.open(where)) {
            if (!NodeRequests.shared(admin.config)) {
                throw new Failures.BadInput("user move needs a store the nodes share ([store] kind = \"postgres\");"
                        + " with one server there is nowhere to move to");
            }
            MailStore store = admin.store;
            Account account = UserCommand.requireAccount(store, a);
            Optional<ClusterNode> target = store.clusterNodes().stream().filter(n -> n.name().equalsIgnoreCase(node)).findFirst();
            if (target.isEmpty() || !target.get().role().equals("mailbox")) {
                throw new Failures.BadInput(node + " is not a mailbox node of this cluster (known: " + store.clusterNodes().stream()
                        .map(n -> n.name() + " (" + n.role() + ")").toList() + ")");
            }
            String to = target.get().name();
            // (1) The target answers, and reads the account.
            if (statusThrough(store, to, a).isEmpty()) {
                System.err.println("castellan: node " + to + " did not answer within " + NodeRequests.ANSWER_WAIT.toSeconds()
                        + "s; nothing was changed");
                return Main.FAILURE;
            }
            // (2) New logins are refused while the placement changes.
            if (!store.lockForMove(account.id(), Instant.now().plus(MOVE_LOCK))) {
                throw new Failures.BadInput(a + " is being moved by another command; try again in " + MOVE_LOCK.toSeconds() + "s");
            }
            Map<String, Map<String, Long>> before;
            try {
                // (3) The account's live sessions leave, on every node.
                NodeRequests.Answers kicked = NodeRequests.ask(store, SessionsCommand.request("kick").put("account", a.toString())
                        .put("goodbye", AdminServer.MOVED), NodeRequests.ANSWER_WAIT);
                // Per node: on an edge, a relayed session is the same client's session as on its mailbox node.
                for (JsonNode answer : kicked.answers().values()) {
                    int closed = answer.path("closed").asInt();
                    if (closed > 0) System.out.println(answer.path("node").asText() + ": " + closed + " session(s) of " + a + " asked to leave");
                }
                NodeRequests.sayWhoIsSilent(kicked);
                before = status(store, account.id());
                // (4) Switched, announced and unlocked in one transaction.
                store.finishMove(account.id(), Optional.of(to));
            } catch (RuntimeException e) {
                store.finishMove(account.id(), Optional.empty());
                throw e;
            }
            System.out.println(a + " placed on node " + to);
            // (5) What the target node reads is what was there.
            Optional<Map<String, Map<String, Long>>> after = statusThrough(store, to, a);
            if (after.isEmpty()) {
                System.err.println("castellan: node " + to + " did not answer the verification; run 'castellan user show "
                        + a + "' and log in to check");
                return Main.FAILURE;
            }
            if (!after.get().equals(before)) {
                System.err.println("castellan: through node " + to + " the mailboxes differ from before the switch (mail delivered"
                        + " meanwhile?): before " + before + ", now " + after.get());
                return Main.FAILURE;
            }
            long messages = before.values().stream().mapToLong(m -> m.get("messages")).sum();
            System.out.println("verified through node " + to + ": " + before.size() + " mailbox(es), " + messages
                    + " message(s), UIDNEXT, UIDVALIDITY and HIGHESTMODSEQ as before");
        }
        return Main.OK;
    }

    /** Each mailbox's counts as this command's own store reads them. */
    private static Map<String, Map<String, Long>> status(MailStore store, long accountId) {
        Map<String, Map<String, Long>> out = new TreeMap<>();
        for (Mailbox m : store.listMailboxes(accountId)) {
            MailboxStatus s = store.status(m.id());
            out.put(m.name(), counts(s.messages(), s.uidNext(), s.uidValidity(), s.highestModSeq()));
        }
        return out;
    }

    /** Each mailbox's counts as node {@code node} reads them; empty if it did not answer. */
    private static Optional<Map<String, Map<String, Long>>> statusThrough(MailStore store, String node, EmailAddress a) {
        Optional<JsonNode> answered = NodeRequests.askNode(store, node, SessionsCommand.request("status").put("account", a.toString()));
        if (answered.isEmpty()) return Optional.empty();
        JsonNode answer = answered.get();
        if (!answer.path("ok").asBoolean()) throw new Failures.BadInput("node " + node + ": " + answer.path("error").asText());
        Map<String, Map<String, Long>> out = new TreeMap<>();
        for (JsonNode m : answer.path("mailboxes")) {
            out.put(m.path("name").asText(), counts(m.path("messages").asLong(), m.path("uidNext").asLong(),
                    m.path("uidValidity").asLong(), m.path("highestModSeq").asLong()));
        }
        return Optional.of(out);
    }

    private static Map<String, Long> counts(long messages, long uidNext, long uidValidity, long highestModSeq) {
        return new TreeMap<>(Map.of("messages", messages, "uidNext", uidNext, "uidValidity", uidValidity,
                "highestModSeq", highestModSeq));
    }
}
