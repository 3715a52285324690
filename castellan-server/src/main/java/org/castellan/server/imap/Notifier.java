package org.castellan.server.imap;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.castellan.protocol.imap.FetchAttribute;
import org.castellan.protocol.imap.NotifyGroup.Filter;
import org.castellan.store.AccountEvent;
import org.castellan.store.EventSubscription;
import org.castellan.store.MailboxNames;
import org.castellan.store.Mailboxes;
import org.castellan.store.StoreEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one session's NOTIFY SET asked for (RFC 5465 §3), and the notifications on their way to
 * the client: the account's store events ({@link Mailboxes#subscribeAccount}) become untagged
 * STATUS responses for mailboxes other than the selected one (§5.1 - §5.3), LIST responses for
 * created, renamed and deleted mailboxes (§5.4) and subscription changes (§5.5), and, with
 * {@code MessageNew (fetch-att ...)} for the selected mailbox, a FETCH for each new message once
 * the client has heard its EXISTS (§5.2).
 *
 * <p>Confined to the session's event loop: store events are hopped there (as
 * {@link ImapSession#listener} does for the selected mailbox) and only change what is pending.
 * Responses leave from {@link #deliver}, which the session calls between commands, in IDLE and
 * after each command's tagged response, never while a command is in progress; work that reads the
 * store runs as the session's blocking work, so no command starts meanwhile.
 *
 * <p>Bounded: STATUS is coalesced per mailbox and read from the store when it is sent, LIST
 * notifications wait in a queue, and output is written only while the channel is writable. A
 * client that does not read lets at most {@link #MAX_PENDING} notifications pile up; then it gets
 * {@code * OK [NOTIFICATIONOVERFLOW]} and no more notifications until its next NOTIFY (§5.8).
 */
final class Notifier {

    private static final Logger log = LoggerFactory.getLogger(Notifier.class);

    /**
     * Notifications (mailboxes with a STATUS due, LIST responses, new messages to FETCH) that may
     * wait for a client that does not read before NOTIFICATIONOVERFLOW. No RFC limit: a client
     * that reads keeps far fewer waiting, and a STATUS per mailbox covers any number of changes.
     */
    static final int MAX_PENDING = 1000;
    /** Responses written per turn: between two turns the session may read and the channel drain. */
    static final int BATCH = 64;

    /** The RFC 5465 §5 events Castellan reports. */
    enum Kind { MESSAGE_NEW, MESSAGE_EXPUNGE, FLAG_CHANGE, MAILBOX_NAME, SUBSCRIPTION_CHANGE }

    /**
     * One event group: the filter, its mailbox names (Unicode, INBOX normalized), and the events;
     * no events for NONE.
     */
    record Rule(Filter filter, List<String> names, Set<Kind> kinds) {}

    /** A LIST notification, rendered when it is sent (the session's name encoding may change meanwhile). */
    private record ListNote(String attributes, String name, String oldName) {}

    /** What the store holds when NOTIFY starts: mailbox ids and names, subscribed names. */
    record Snapshot(Map<Long, String> names, Set<String> subscribed) {}

    private final ImapSession session;
    private final List<Rule> rules;
    /** The SELECTED or SELECTED-DELAYED group, or null (RFC 5465 §3: the same as SELECTED NONE). */
    private final Rule selected;

    /** Set on the blocking executor while NOTIFY starts, closed on the event loop: volatile. */
    private volatile EventSubscription subscription;
    /** Events heard before {@link #start}, applied once the snapshot is in. */
    private List<AccountEvent> early = new ArrayList<>();
    private Map<Long, String> names;
    private Set<String> subscribed;

    private final ArrayDeque<ListNote> lists = new ArrayDeque<>();
    /** Mailboxes with a STATUS due, and why (which items it carries). */
    private final LinkedHashMap<Long, EnumSet<Kind>> statuses = new LinkedHashMap<>();
    /** The FETCH responses due for new messages of the selected mailbox; null without fetch attributes. */
    private final NewMessageFetches fetches;
    private boolean overflowDue;
    /** After an overflow or {@link #close}: nothing more is noted or sent but the overflow line. */
    private boolean stopped;

    Notifier(ImapSession session, List<Rule> rules, Rule selected, List<FetchAttribute> newMessageFetch) {
        this.session = session;
        this.rules = List.copyOf(rules);
        this.selected = selected;
        this.fetches = newMessageFetch.isEmpty() ? null : new NewMessageFetches(session, newMessageFetch);
    }

    /** Whether any group asks for events of mailboxes other than the selected one. */
    boolean watchesAccount() {
        return rules.stream().anyMatch(r -> !r.kinds().isEmpty()) || fetches != null;
    }

    void subscription(EventSubscription s) {
        this.subscription = s;
    }

    /** On the event loop, once NOTIFY has succeeded: the snapshot, then the events heard meanwhile. */
    void start(Snapshot snapshot) {
        names = new LinkedHashMap<>(snapshot.names());
        subscribed = new HashSet<>(snapshot.subscribed());
        List<AccountEvent> heard = early;
        early = null;
        // Not sent from here: NOTIFY's OK comes first; the session delivers after it.
        for (AccountEvent e : heard) if (!stopped) apply(e);
    }

    /** Stops listening and drops what is pending; the session's next NOTIFY starts afresh. */
    void close() {
        stopped = true;
        unsubscribe();
        clear();
    }

    /** Stops listening; safe on any thread (a NOTIFY that failed while starting). */
    void unsubscribe() {
        EventSubscription s = subscription;
        if (s != null) s.close();
    }

    private void clear() {
        lists.clear();
        statuses.clear();
        if (fetches != null) fetches.clear();
    }

    /** RFC 5465 §5.2, §5.3: with SELECTED (not -DELAYED) the selected mailbox's changes go out as they happen. */
    boolean selectedAtOnce() {
        return !stopped && selected != null && selected.filter() == Filter.SELECTED && !selected.kinds().isEmpty();
    }

    // ---- events (on the event loop)

    /**
     * Called on the event loop with each of the account's store events, in commit order, between
     * the session's other work: what it makes due goes out at once unless a command is in progress.
     */
    void event(AccountEvent e) {
        if (session.ended()) {
            close(); // the connection went while NOTIFY was still starting
            return;
        }
        if (stopped) return;
        if (early != null) {
            early.add(e);
            return;
        }
        apply(e);
        if (overflowDue || pending() > 0) session.wake();
    }

    private void apply(AccountEvent e) {
        switch (e) {
            case AccountEvent.MailboxCreated c -> {
                names.put(c.mailboxId(), c.name());
                if (matches(c.name(), Kind.MAILBOX_NAME)) note(new ListNote("", c.name(), null));
            }
            case AccountEvent.SubscriptionChanged c -> subscriptionChanged(c);
            case AccountEvent.MailboxChanged m -> mailboxChanged(m.change());
        }
        if (pending() > MAX_PENDING) overflow();
    }

    private void subscriptionChanged(AccountEvent.SubscriptionChanged c) {
        // The name counts as subscribed for the SUBSCRIBED filter both ways: before an unsubscription, after a subscription.
        subscribed.add(c.name());
        boolean wanted = matches(c.name(), Kind.SUBSCRIPTION_CHANGE);
        if (!c.subscribed()) subscribed.remove(c.name());
        if (!wanted) return;
        // RFC 5465 §5.5: \Subscribed if and only if the name is subscribed now; RFC 5258 §3: \NonExistent for a name without a mailbox.
        List<String> attributes = new ArrayList<>();
        if (!names.containsValue(c.name())) attributes.add("\\NonExistent");
        if (c.subscribed()) attributes.add("\\Subscribed");
        note(new ListNote(String.join(" ", attributes), c.name(), null));
    }

    private void mailboxChanged(StoreEvent change) {
        long id = change.mailboxId();
        boolean isSelected = session.selected().map(v -> v.mailbox.id() == id).orElse(false);
        switch (change) {
            case StoreEvent.MessageAdded a -> {
                // RFC 5465 §5.2: the view tells of the selected mailbox's new messages; a FETCH may follow.
                if (isSelected && fetches != null) fetches.added(a);
                else if (!isSelected) statusDue(id, Kind.MESSAGE_NEW);
            }
            case StoreEvent.MessagesExpunged x -> {
                if (!isSelected) statusDue(id, Kind.MESSAGE_EXPUNGE);
            }
            case StoreEvent.FlagsChanged f -> {
                if (!isSelected) statusDue(id, Kind.FLAG_CHANGE);
            }
            case StoreEvent.MailboxRenamed r -> {
                names.put(id, r.newName());
                // RFC 5465 §5.4: the new name, with the old one in an OLDNAME extended data item.
                if (matches(r.newName(), Kind.MAILBOX_NAME) || matches(r.oldName(), Kind.MAILBOX_NAME)) {
                    note(new ListNote("", r.newName(), r.oldName()));
                }
            }
            case StoreEvent.MailboxDeleted d -> {
                names.remove(id);
                statuses.remove(id);
                // RFC 5465 §5.4: a deleted mailbox is a LIST response with \NonExistent (RFC 5258 §3).
                if (matches(d.name(), Kind.MAILBOX_NAME)) note(new ListNote("\\NonExistent", d.name(), null));
            }
        }
    }

    /** This session's APPEND or COPY put {@code uid} into {@code mailboxId}: its commit gets no FETCH (RFC 5465 §5.2). */
    void ownAddition(long mailboxId, long uid) {
        if (fetches != null && !stopped) fetches.ownAddition(mailboxId, uid);
    }

    private void statusDue(long mailboxId, Kind kind) {
        String name = names.get(mailboxId);
        if (name != null && matches(name, kind)) statuses.computeIfAbsent(mailboxId, k -> EnumSet.noneOf(Kind.class)).add(kind);
    }

    private void note(ListNote n) {
        lists.add(n);
    }

    private int pending() {
        return lists.size() + statuses.size() + (fetches == null ? 0 : fetches.pending());
    }

    /** RFC 5465 §5.8: too much is waiting; the client is told once and hears nothing more until its next NOTIFY. */
    private void overflow() {
        log.info("{} imap notifications overflowed", session.connection().logId());
        close();
        overflowDue = true;
    }

    /** Whether the groups ask for {@code kind} of the mailbox {@code name}; see {@link #matches(List, Set, String, Kind)}. */
    boolean matches(String name, Kind kind) {
        return matches(rules, subscribed, name, kind);
    }

    /**
     * RFC 5465 §6: whether {@code rules} ask for {@code kind} of the mailbox {@code name} (not the
     * selected mailbox's message events, which only SELECTED governs). Groups are tried in
     * order; the first that names the mailbox with NONE ends the search.
     */
    static boolean matches(List<Rule> rules, Set<String> subscribed, String name, Kind kind) {
        for (Rule r : rules) {
            if (!covers(r, subscribed, name)) continue;
            if (r.kinds().isEmpty()) return false;
            if (r.kinds().contains(kind)) return true;
        }
        return false;
    }

    private static boolean covers(Rule r, Set<String> subscribed, String name) {
        return switch (r.filter()) {
            case PERSONAL -> true; // the account's mailboxes are its only namespace (RFC 2342 NAMESPACE)
            // Castellan delivers to INBOX only (RFC 5465 §6: the mailboxes mail is delivered to).
            case INBOXES -> name.equals(MailboxNames.INBOX);
            case SUBSCRIBED -> subscribed.contains(name);
            case SUBTREE -> r.names().stream().anyMatch(n -> MailboxNames.isSelfOrChild(name, n));
            case MAILBOXES -> r.names().contains(name);
            case SELECTED, SELECTED_DELAYED -> false;
        };
    }

    // ---- output (on the event loop, no command in progress)

    /**
     * Sends some of what is pending, as far as the channel takes it. True when it wrote something
     * or started blocking work (the session is busy until it ends), false when nothing is to be
     * done now.
     */
    boolean deliver() {
        if (overflowDue) {
            overflowDue = false;
            session.untagged("OK [NOTIFICATIONOVERFLOW] Too many notifications waiting; NOTIFY again to resume");
            return true;
        }
        if (stopped || early != null || !session.connection().channel().isWritable()) return false;
        if (!lists.isEmpty()) {
            for (int i = 0; i < BATCH && !lists.isEmpty(); i++) session.untagged(render(lists.poll()));
            return true;
        }
        if (fetches != null && fetches.fetch()) return true;
        if (!statuses.isEmpty()) {
            sendStatuses();
            return true;
        }
        return false;
    }

    private String render(ListNote n) {
        boolean utf8 = session.utf8Names();
        String line = "LIST (" + n.attributes() + ") \"/\" " + ImapSession.mailboxOut(n.name(), utf8);
        return n.oldName() == null ? line : line + " (\"OLDNAME\" (" + ImapSession.mailboxOut(n.oldName(), utf8) + "))";
    }

    /** Reads and sends up to {@link #BATCH} coalesced STATUS responses (RFC 5465 §5.1 - §5.3). */
    private void sendStatuses() {
        Map<Long, List<String>> due = new LinkedHashMap<>();
        Iterator<Map.Entry<Long, EnumSet<Kind>>> it = statuses.entrySet().iterator();
        while (it.hasNext() && due.size() < BATCH) {
            Map.Entry<Long, EnumSet<Kind>> e = it.next();
            due.put(e.getKey(), statusItems(e.getValue(), session.condStoreOn(null)));
            it.remove();
        }
        long selectedId = session.selected().map(v -> v.mailbox.id()).orElse(-1L);
        Mailboxes store = session.service().store();
        boolean utf8 = session.utf8Names();
        session.blocking(() -> {
            List<String> lines = new ArrayList<>();
            for (Map.Entry<Long, List<String>> e : due.entrySet()) {
                if (e.getKey() == selectedId) continue; // selected since: SELECTED speaks for it now
                // Deleted since: its LIST (\NonExistent) says so.
                store.getMailbox(e.getKey()).ifPresent(m -> lines.add(Status.line(store, m, e.getValue(), utf8)));
            }
            return lines;
        }, lines -> lines.forEach(session::untagged), this::failed);
    }

    /**
     * The STATUS items for what happened: MESSAGES and UIDNEXT for new and expunged messages
     * (RFC 5465 §5.2, §5.3), UIDVALIDITY and UNSEEN for flag changes (§5.1), HIGHESTMODSEQ for
     * any of them once CONDSTORE or QRESYNC is enabled.
     */
    static List<String> statusItems(Set<Kind> kinds, boolean condStore) {
        List<String> items = new ArrayList<>();
        if (kinds.contains(Kind.MESSAGE_NEW) || kinds.contains(Kind.MESSAGE_EXPUNGE)) items.addAll(List.of("MESSAGES", "UIDNEXT"));
        if (kinds.contains(Kind.FLAG_CHANGE)) items.addAll(List.of("UIDVALIDITY", "UNSEEN"));
        if (condStore) items.add("HIGHESTMODSEQ");
        return items;
    }

    private void failed(Throwable e) {
        log.warn("{} imap notification failed: {}", session.connection().logId(), e.toString());
    }
}
