package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.castellan.protocol.imap.FetchAttribute;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ModifiedUtf7;
import org.castellan.protocol.imap.NotifyGroup;
import org.castellan.protocol.imap.NotifyGroup.Filter;
import org.castellan.store.Mailbox;
import org.castellan.store.MailboxNames;
import org.castellan.store.Mailboxes;
import org.castellan.store.StoreException;

/**
 * RFC 5465 NOTIFY: {@code NOTIFY NONE} and {@code NOTIFY SET [STATUS] (filter events) ...}. A
 * successful SET replaces what the session asked for before ({@link Notifier} does the work);
 * with STATUS, each mailbox whose message events it asks for gets a STATUS response before the
 * OK (§3). Like NOOP, the OK carries the selected mailbox's pending updates (§3: an implicit
 * NOOP).
 *
 * <p>Refused: AnnotationChange, MailboxMetadataChange and ServerMetadataChange (Castellan has
 * neither ANNOTATE nor METADATA) and unknown events with {@code NO [BADEVENT (...)]} listing the
 * events it supports (§3); the rules of §5 and §6 on which events go together with
 * {@code BAD}. Mailbox names are looked up in the session's account only, like every name.
 */
final class Notify {

    private Notify() {}

    /**
     * Mailbox names in one NOTIFY. No RFC limit: each event is matched against every name, so
     * this bounds the work a client can make every change of its account cost.
     */
    static final int MAX_NAMES = 1000;

    /** RFC 5465 §3 BADEVENT: the events this server supports, listed when it refuses another. */
    static final String SUPPORTED = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange";

    private static final Map<String, Notifier.Kind> KINDS = Map.of("MessageNew", Notifier.Kind.MESSAGE_NEW,
            "MessageExpunge", Notifier.Kind.MESSAGE_EXPUNGE, "FlagChange", Notifier.Kind.FLAG_CHANGE,
            "MailboxName", Notifier.Kind.MAILBOX_NAME, "SubscriptionChange", Notifier.Kind.SUBSCRIPTION_CHANGE);

    private static final Set<Notifier.Kind> MESSAGE_EVENTS = EnumSet.of(Notifier.Kind.MESSAGE_NEW,
            Notifier.Kind.MESSAGE_EXPUNGE, Notifier.Kind.FLAG_CHANGE);

    /** What NOTIFY SET starts with: the session's notifier and the STATUS lines to send first. */
    private record Started(Notifier notifier, Notifier.Snapshot snapshot, List<String> statusLines) {}

    static void run(ImapSession s, String tag, ImapCommand.Notify c) {
        if (c.groups().isEmpty()) {
            // RFC 5465 §3: NOTIFY NONE; the selected mailbox is reported as without NOTIFY.
            s.notifier(null);
            s.ok(tag, "NOTIFY completed");
            return;
        }
        String bad = rulesBroken(c.groups());
        if (bad != null) {
            s.bad(tag, bad);
            return;
        }
        // RFC 5465 §3, §5.6 - §5.7: no ANNOTATE or METADATA here; BADEVENT lists what is supported.
        for (NotifyGroup g : c.groups()) {
            for (NotifyGroup.Event e : g.events()) {
                if (!KINDS.containsKey(e.name())) {
                    s.no(tag, "BADEVENT (" + SUPPORTED + ")", "Event " + e.name() + " is not supported");
                    return;
                }
            }
        }
        if (c.groups().stream().mapToInt(g -> g.mailboxes().size()).sum() > MAX_NAMES) {
            s.no(tag, "LIMIT", "At most " + MAX_NAMES + " mailbox names in one NOTIFY");
            return;
        }
        List<Notifier.Rule> rules = new ArrayList<>();
        Notifier.Rule selected = null;
        List<FetchAttribute> fetch = new ArrayList<>();
        for (NotifyGroup g : c.groups()) {
            List<String> names = names(g.mailboxes(), s.utf8Names());
            if (names == null) {
                s.bad(tag, "Mailbox name is not valid modified UTF-7");
                return;
            }
            Set<Notifier.Kind> kinds = EnumSet.noneOf(Notifier.Kind.class);
            for (NotifyGroup.Event e : g.events()) kinds.add(KINDS.get(e.name()));
            Notifier.Rule rule = new Notifier.Rule(g.filter(), names, kinds);
            if (g.filter() == Filter.SELECTED || g.filter() == Filter.SELECTED_DELAYED) {
                selected = rule;
                g.events().stream().filter(e -> !e.fetch().isEmpty()).findFirst().ifPresent(e -> fetch.addAll(e.fetch()));
            } else {
                // RFC 5465 §5.2: other mailboxes are reported with STATUS; fetch attributes are for the selected one.
                rules.add(rule);
            }
        }
        // The UID comes first, so the client can tell which message each FETCH is about even when
        // SELECTED expunges renumber the mailbox meanwhile.
        if (!fetch.isEmpty() && fetch.stream().noneMatch(a -> a instanceof FetchAttribute.Uid)) {
            fetch.add(0, new FetchAttribute.Uid());
        }
        Notifier notifier = new Notifier(s, rules, selected, fetch);
        Mailboxes store = s.service().store();
        long account = s.accountId();
        boolean utf8 = s.utf8Names();
        boolean condStore = s.condStoreOn(null);
        long selectedId = s.selected().map(v -> v.mailbox.id()).orElse(-1L);
        var loop = s.connection().channel().eventLoop();
        boolean watching = notifier.watchesAccount();
        s.blocking(tag, () -> {
            // Subscribe first, then read the mailboxes: a change in between arrives as an event.
            if (watching) notifier.subscription(store.subscribeAccount(account, e -> loop.execute(() -> notifier.event(e))));
            try {
                if (!watching && !c.status()) return new Started(notifier, new Notifier.Snapshot(Map.of(), Set.of()), List.of());
                return start(store, account, notifier, rules, c.status(), selectedId, condStore, utf8);
            } catch (RuntimeException e) {
                notifier.unsubscribe();
                throw e;
            }
        }, started -> {
            started.statusLines().forEach(s::untagged);
            s.notifier(started.notifier());
            started.notifier().start(started.snapshot());
            s.ok(tag, "NOTIFY completed");
        });
    }

    /** Blocking: the account's mailboxes and subscriptions, and the STATUS responses SET STATUS asks for. */
    private static Started start(Mailboxes store, long account, Notifier notifier, List<Notifier.Rule> rules, boolean status,
            long selectedId, boolean condStore, boolean utf8) {
        Map<Long, String> names = new LinkedHashMap<>();
        List<String> lines = new ArrayList<>();
        List<Mailbox> mailboxes = store.listMailboxes(account);
        for (Mailbox m : mailboxes) names.put(m.id(), m.name());
        Set<String> subscribed = new TreeSet<>(store.listSubscriptions(account));
        Notifier.Snapshot snapshot = new Notifier.Snapshot(names, subscribed);
        if (status) {
            for (Mailbox m : mailboxes) {
                // RFC 5465 §3: a STATUS for each mailbox (but the selected one) whose message events are asked for.
                if (m.id() == selectedId) continue;
                if (MESSAGE_EVENTS.stream().noneMatch(k -> Notifier.matches(rules, subscribed, m.name(), k))) continue;
                List<String> items = new ArrayList<>(List.of("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"));
                if (condStore) items.add("HIGHESTMODSEQ");
                try {
                    lines.add(Status.line(store, m, items, utf8));
                } catch (StoreException gone) {
                    if (gone.kind() != StoreException.Kind.NOT_FOUND) throw gone; // deleted meanwhile: nothing to report
                }
            }
        }
        return new Started(notifier, snapshot, lines);
    }

    /**
     * The rules of RFC 5465 §5 and §6 a client breaks with BAD, or null: one SELECTED or
     * SELECTED-DELAYED group at most, with message events only; MessageNew and MessageExpunge
     * together; FlagChange and AnnotationChange only with both.
     */
    static String rulesBroken(List<NotifyGroup> groups) {
        boolean selected = false;
        for (NotifyGroup g : groups) {
            Set<String> events = new TreeSet<>();
            g.events().forEach(e -> events.add(e.name()));
            if (g.filter() == Filter.SELECTED || g.filter() == Filter.SELECTED_DELAYED) {
                if (selected) return "Only one SELECTED or SELECTED-DELAYED event group is allowed";
                selected = true;
                Optional<String> other = events.stream()
                        .filter(e -> !List.of("MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange").contains(e))
                        .findFirst();
                if (other.isPresent()) return g.filter().keyword() + " takes message events only, not " + other.get();
            }
            if (events.contains("MessageNew") != events.contains("MessageExpunge")) {
                return "MessageNew and MessageExpunge must be given together";
            }
            if ((events.contains("FlagChange") || events.contains("AnnotationChange")) && !events.contains("MessageNew")) {
                return "FlagChange and AnnotationChange need MessageNew and MessageExpunge";
            }
        }
        return null;
    }

    /** The names as the store knows them (Unicode, INBOX in any case normalized); null when one is malformed. */
    private static List<String> names(List<String> sent, boolean utf8) {
        List<String> out = new ArrayList<>();
        for (String name : sent) {
            Optional<String> decoded = utf8 ? Optional.of(name) : ModifiedUtf7.decode(name);
            if (decoded.isEmpty()) return null;
            try {
                out.add(MailboxNames.normalize(decoded.get()));
            } catch (StoreException invalid) {
                out.add(decoded.get()); // no mailbox has such a name; it matches none
            }
        }
        return out;
    }
}
