package org.castellan.store.internal;

import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.store.StoreException;
import org.castellan.store.queue.DueMessage;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;

/**
 * What every {@link OutboundQueue} implementation decides the same way whichever database holds
 * the queue: which recipients it accepts, what a lease may ask, how leased recipients are grouped,
 * how NOTIFY is stored, and the operator messages of their failures.
 */
public final class QueueRules {

    /** The columns both stores read a queued message, a recipient and a TLS count by, in the order their mappers expect. */
    public static final String MESSAGE_COLUMNS = "id, sender, envid, ret, body, smtp_utf8, require_tls, submitter,"
            + " received_from, arrival, size, held, tls_report";
    public static final String RECIPIENT_COLUMNS = "id, message_id, address, domain, notify, orcpt, state, attempts,"
            + " next_attempt, last_attempt, last_reply, last_host, final_reported, delay_reported";
    public static final String TLS_COLUMNS = "day, policy_domain, policy, result, sessions";

    private QueueRules() {}

    /** A recipient leased, before its message is read. */
    public record Due(long id, long messageId, String domain) {}

    /** Reads one queued message inside the lease's transaction. */
    @FunctionalInterface
    public interface MessageReader {
        QueuedMessage read(long messageId) throws SQLException;
    }

    /** Refuses a recipient without a domain: the queue routes by it (RFC 5321 §4.1.2). */
    public static void requireAddresses(NewQueuedMessage message) {
        for (NewQueuedRecipient r : message.recipients()) {
            if (r.address().isBlank() || r.address().indexOf('@') < 0) {
                throw StoreException.invalid("'" + r.address() + "' is not a recipient address (RFC 5321 §4.1.2)");
            }
        }
    }

    public static String enqueueing(NewQueuedMessage message) {
        return "queue a message from <" + message.sender() + "> for " + message.recipients().size() + " recipient(s)";
    }

    public static void requireLease(Instant now, Instant leaseUntil, int maxRecipients) {
        if (maxRecipients < 1) throw StoreException.invalid("a lease needs room for at least one recipient");
        if (!leaseUntil.isAfter(now)) throw StoreException.invalid("a lease must end after it starts");
    }

    public static void requireLimit(int limit, String what) {
        if (limit < 1) throw StoreException.invalid("a " + what + " needs a limit of at least 1");
    }

    /**
     * The leased recipients grouped by message and domain, in the order they were leased, each
     * message read once: what {@link OutboundQueue#lease} returns.
     */
    public static List<DueMessage> group(List<Due> due, MessageReader reader) throws SQLException {
        record Group(long messageId, String domain) {}
        Map<Group, List<Long>> groups = new LinkedHashMap<>();
        for (Due d : due) groups.computeIfAbsent(new Group(d.messageId(), d.domain()), g -> new ArrayList<>()).add(d.id());
        Map<Long, QueuedMessage> messages = new HashMap<>();
        List<DueMessage> leased = new ArrayList<>();
        for (Map.Entry<Group, List<Long>> g : groups.entrySet()) {
            QueuedMessage m = messages.get(g.getKey().messageId());
            if (m == null) {
                m = reader.read(g.getKey().messageId());
                messages.put(m.id(), m);
            }
            Map<Long, QueuedRecipient> byId = m.recipients().stream().collect(Collectors.toMap(QueuedRecipient::id, r -> r));
            leased.add(new DueMessage(m, g.getKey().domain(), g.getValue().stream().map(byId::get).toList()));
        }
        return leased;
    }

    /** RFC 3461 §4.1: the names joined by ','; the empty text is NEVER. */
    public static String notifyText(Set<Dsn.Notify> notifyOn) {
        return notifyOn.isEmpty() ? "" : EnumSet.copyOf(notifyOn).stream().map(Enum::name).collect(Collectors.joining(","));
    }

    public static Set<Dsn.Notify> notifySet(String text) {
        if (text.isEmpty()) return Set.of();
        return Set.copyOf(Arrays.stream(text.split(",")).map(Dsn.Notify::valueOf).toList());
    }

    public static StoreException noMessage(long messageId) {
        return StoreException.notFound("the queue has no message " + messageId);
    }

    public static StoreException removed(long messageId) {
        return StoreException.notFound("queued message " + messageId + " was removed");
    }
}
