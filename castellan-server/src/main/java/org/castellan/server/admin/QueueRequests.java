package org.castellan.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongPredicate;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.store.queue.AttemptResult;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin channel's outbound-queue requests (docs/outbound.md §2, docs/administration.md):
 * {@code queue-list} (optional {@code "limit"}), and {@code queue-show}, {@code queue-retry},
 * {@code queue-hold}, {@code queue-release}, {@code queue-delete} and {@code queue-bounce}, each
 * with the message's {@code "id"}. The answer for an id the queue does not hold is
 * {@code "ok":true,"found":false}, so the command line can tell a typo from a failure.
 *
 * <p>SECURITY: answers show envelopes (sender, recipients, the last reply of each), never message
 * content. {@code queue-bounce} fails the message's still-queued recipients as a 5xx reply would,
 * so their senders get a bounce; {@code queue-delete} drops the message without any notification.
 */
final class QueueRequests {

    private static final Logger log = LoggerFactory.getLogger(QueueRequests.class);

    /** {@code queue list} without a limit: a screenful of terminal pages, not the whole of a flooded queue. */
    static final int DEFAULT_LIST_LIMIT = 1000;
    /** The most one listing answers; the answer must stay well below {@link AdminClient#MAX_ANSWER_BYTES}. */
    static final int MAX_LIST_LIMIT = 50_000;
    /** What a bounce's Diagnostic-Code says for recipients the operator failed (RFC 3463 §3.1: other, permanent). */
    static final String OPERATOR_BOUNCE = "5.0.0 bounced by the operator";

    private final OutboundQueue queue;
    /** Told after {@code queue-bounce} recorded failures, so their bounces go out without waiting for the timer. */
    private final Runnable recorded;
    private final Clock clock;
    /** Told after {@code queue-retry} and {@code queue-release} made a message due, so the engine need not wait for its timer. */
    private final Runnable due;

    QueueRequests(OutboundQueue queue, Runnable recorded, Clock clock, Runnable due) {
        this.queue = queue;
        this.recorded = recorded;
        this.clock = clock;
        this.due = due;
    }

    ObjectNode answer(String command, JsonNode request) {
        if (command.equals("queue-list")) return list(request);
        JsonNode idNode = request.path("id");
        if (!idNode.canConvertToLong() || !idNode.isIntegralNumber() || idNode.asLong() <= 0) {
            return AdminServer.error(command + " needs the message's \"id\", a positive number");
        }
        long id = idNode.asLong();
        return switch (command) {
            case "queue-show" -> show(id);
            case "queue-retry" -> act(id, queue::retryNow, "retry", due);
            case "queue-hold" -> act(id, queue::hold, "hold", () -> {});
            case "queue-release" -> act(id, queue::release, "release", due);
            case "queue-delete" -> act(id, queue::delete, "delete", () -> {});
            case "queue-bounce" -> bounce(id);
            default -> AdminServer.error("unknown command '" + command + "'");
        };
    }

    private ObjectNode list(JsonNode request) {
        int limit = DEFAULT_LIST_LIMIT;
        if (request.has("limit")) {
            JsonNode l = request.get("limit");
            if (!l.isIntegralNumber() || l.asLong() < 1 || l.asLong() > MAX_LIST_LIMIT) {
                return AdminServer.error("queue-list's \"limit\" must be a number from 1 to " + MAX_LIST_LIMIT);
            }
            limit = l.asInt();
        }
        ObjectNode answer = AdminServer.JSON.createObjectNode().put("ok", true);
        ArrayNode messages = answer.putArray("messages");
        for (QueuedMessage m : queue.list(limit)) messages.add(describe(m, false));
        return answer;
    }

    private ObjectNode show(long id) {
        Optional<QueuedMessage> message = queue.get(id);
        if (message.isEmpty()) return notFound(id);
        ObjectNode answer = found(id);
        answer.set("message", describe(message.get(), true));
        return answer;
    }

    /** Runs {@code action} on the message, then {@code then} when there was one. */
    private ObjectNode act(long id, LongPredicate action, String what, Runnable then) {
        if (!action.test(id)) return notFound(id);
        log.info("admin channel: queue {} of message {}", what, id);
        then.run();
        return found(id);
    }

    /** Fails every still-queued recipient now, as a permanent refusal would; the Notifier sends the bounce. */
    private ObjectNode bounce(long id) {
        Optional<QueuedMessage> message = queue.get(id);
        if (message.isEmpty()) return notFound(id);
        Instant now = clock.instant();
        List<AttemptResult> results = new ArrayList<>();
        for (QueuedRecipient r : message.get().recipients()) {
            if (r.state() != RecipientState.QUEUED) continue;
            results.add(new AttemptResult(r.id(), RecipientState.FAILED, now, Optional.empty(), OPERATOR_BOUNCE,
                    Optional.empty()));
        }
        if (!results.isEmpty()) {
            queue.record(results);
            recorded.run();
        }
        log.info("admin channel: bounced {} recipient(s) of queued message {}", results.size(), id);
        return found(id).put("bounced", results.size());
    }

    private static ObjectNode found(long id) {
        return AdminServer.JSON.createObjectNode().put("ok", true).put("found", true).put("id", id);
    }

    private static ObjectNode notFound(long id) {
        return AdminServer.JSON.createObjectNode().put("ok", true).put("found", false).put("id", id);
    }

    /** A message's envelope and, per recipient, its state; with {@code full}, every recipient's detail. */
    static ObjectNode describe(QueuedMessage m, boolean full) {
        ObjectNode o = AdminServer.JSON.createObjectNode();
        o.put("id", m.id());
        o.put("sender", m.sender());
        o.put("arrival", m.arrival().toString());
        o.put("size", m.size());
        o.put("held", m.held());
        int queued = 0;
        int delivered = 0;
        int failed = 0;
        Instant next = null;
        for (QueuedRecipient r : m.recipients()) {
            switch (r.state()) {
                case QUEUED -> {
                    queued++;
                    if (next == null || r.nextAttempt().isBefore(next)) next = r.nextAttempt();
                }
                case DELIVERED -> delivered++;
                case FAILED -> failed++;
            }
        }
        o.put("queued", queued).put("delivered", delivered).put("failed", failed);
        if (next != null) o.put("nextAttempt", next.toString());
        if (!full) return o;
        m.envid().ifPresent(e -> o.put("envid", e));
        o.put("ret", m.ret().name());
        o.put("body", m.body().name());
        o.put("smtpUtf8", m.smtpUtf8());
        o.put("requireTls", m.requireTls());
        o.put("tlsReport", m.tlsReport());
        m.submitter().ifPresent(s -> o.put("submitter", s));
        o.put("receivedFrom", m.receivedFrom());
        ArrayNode recipients = o.putArray("recipients");
        for (QueuedRecipient r : m.recipients()) {
            ObjectNode x = recipients.addObject();
            x.put("id", r.id());
            x.put("address", r.address());
            x.put("state", r.state().name());
            x.put("attempts", r.attempts());
            if (r.state() == RecipientState.QUEUED) x.put("nextAttempt", r.nextAttempt().toString());
            r.lastAttempt().ifPresent(t -> x.put("lastAttempt", t.toString()));
            r.lastReply().ifPresent(t -> x.put("lastReply", t));
            r.lastHost().ifPresent(t -> x.put("lastHost", t));
            ArrayNode notify = x.putArray("notify");
            for (Dsn.Notify n : Dsn.Notify.values()) if (r.notifyOn().contains(n)) notify.add(n.name());
            r.orcpt().ifPresent(t -> x.put("orcpt", t));
            x.put("finalReported", r.finalReported());
            x.put("delayReported", r.delayReported());
        }
        return o;
    }
}
