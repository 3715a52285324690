package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.StoreEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RFC 5267 §4.3 UPDATE: the searches and sorts of the selected mailbox whose results this session
 * keeps the client told of, as {@code * ESEARCH (TAG "t") ADDTO/REMOVEFROM} responses, until
 * CANCELUPDATE or until the mailbox is no longer selected.
 *
 * <p>The session tells the contexts of the selected mailbox's changes at one point: right before
 * it drains the view ({@link #beforeDrain}), which is where RFC 9051 §7 lets it tell the client
 * anything. There the contexts read the events the drain is about to apply: results that are
 * about to be expunged go at once, numbered as the client still knows them (RFC 5267 §4.3.4: a
 * REMOVEFROM comes before the EXPUNGE); after the drain, the messages added or changed are
 * matched again and the differences sent, numbered as the client now knows them (§4.3.3: an
 * ADDTO comes after the EXISTS). The session's own EXPUNGE and MOVE report through
 * {@link #removing} before their EXPUNGE responses.
 *
 * <p>Only the added and changed messages are matched again, unless the search program names
 * messages by position (sequence numbers, "*"); then every change matches it again in full.
 * Confined to the session's event loop; the matching runs on the blocking executor while the
 * session waits, so nothing changes the contexts meanwhile.
 */
final class SearchContexts {

    private static final Logger log = LoggerFactory.getLogger(SearchContexts.class);

    /**
     * Contexts per session. RFC 5267 §4.3.1: at least one, and SHOULD more; each keeps its results
     * in memory and costs a match per change of the mailbox, so a client gets a handful.
     */
    static final int MAX_CONTEXTS = 8;

    /** One updated search or sort; {@code criteria} empty for SEARCH (results in mailbox order). */
    private static final class Context {
        final String tag;
        final boolean uid;
        final Search.Matcher matcher;
        final List<ImapCommand.SortCriterion> criteria;
        final boolean positional;
        /** The results as the client knows them, in its order, with their sort values. */
        List<Sort.Keyed> results;

        Context(String tag, boolean uid, Search.Matcher matcher, List<ImapCommand.SortCriterion> criteria,
                List<Sort.Keyed> results) {
            this.tag = tag;
            this.uid = uid;
            this.matcher = matcher;
            this.criteria = criteria;
            this.positional = Search.positional(matcher.key());
            this.results = new ArrayList<>(results);
        }

        boolean sorted() { return !criteria.isEmpty(); }
    }

    private final Map<String, Context> contexts = new LinkedHashMap<>();

    boolean inUse(String tag) {
        return contexts.containsKey(tag);
    }

    /**
     * Starts updating the results of the command {@code tag}, or refuses with an untagged
     * {@code NO [NOUPDATE "tag"]} when the session has as many as it may (RFC 5267 §4.3.1).
     */
    void open(ImapSession s, String tag, boolean uid, Search.Matcher matcher, List<ImapCommand.SortCriterion> criteria,
            List<Sort.Keyed> results) {
        if (contexts.size() >= MAX_CONTEXTS) {
            s.untagged("NO [NOUPDATE \"" + tag + "\"] Too many update contexts; cancel one with CANCELUPDATE");
            return;
        }
        contexts.put(tag, new Context(tag, uid, matcher, List.copyOf(criteria), results));
    }

    /** RFC 5267 §4.3.5: no more updates for {@code tag}; false when it names no context. */
    boolean cancel(String tag) {
        return contexts.remove(tag) != null;
    }

    /** The mailbox is no longer selected: updates cease (RFC 5267 §4.3). */
    void clear() {
        contexts.clear();
    }

    /**
     * The session is about to drain {@code view}: tells the client which results the pending
     * events expunge (only when the drain may tell expunges, RFC 9051 §7.5.1), and returns what to
     * run after the drain's responses (the rest of the updates, then {@code then}).
     */
    Runnable beforeDrain(ImapSession s, SelectedMailbox view, boolean expungesAllowed, Runnable then) {
        if (contexts.isEmpty()) return then;
        List<StoreEvent> events = view.pendingEvents(expungesAllowed);
        SortedSet<Long> gone = new TreeSet<>();
        SortedSet<Long> touched = new TreeSet<>();
        for (StoreEvent e : events) {
            switch (e) {
                case StoreEvent.MessageAdded a -> touched.addAll(a.uids());
                case StoreEvent.FlagsChanged f -> touched.addAll(f.uids());
                case StoreEvent.MessagesExpunged x -> gone.addAll(x.uids());
                default -> { }
            }
        }
        removing(s, view, gone);
        touched.removeAll(gone);
        if (events.isEmpty()) return then;
        return () -> refresh(s, touched, then);
    }

    /**
     * These messages are leaving the view: REMOVEFROM for the contexts holding them, numbered as
     * the client knows them until it hears the EXPUNGE (RFC 5267 §4.3.4).
     */
    void removing(ImapSession s, SelectedMailbox view, Collection<Long> uids) {
        if (contexts.isEmpty() || uids.isEmpty()) return;
        Set<Long> leaving = new HashSet<>(uids);
        for (Context c : contexts.values()) {
            List<Sort.Keyed> kept = new ArrayList<>(c.results);
            kept.removeIf(k -> leaving.contains(k.hit().meta().uid()));
            if (kept.size() == c.results.size()) continue;
            String removed = removeFrom(c, view, kept);
            c.results = kept;
            if (!removed.isEmpty()) s.untagged(esearch(c, removed));
        }
    }

    /** What one context's results became: the messages matched again, and the sort values of newcomers. */
    private record Change(Context context, Set<Long> matching, Set<Long> matchedAgain, Map<Long, Sort.Keyed> newcomers) {}

    /** Matches the changed messages again (all, for positional contexts), then tells the differences. */
    private void refresh(ImapSession s, SortedSet<Long> touched, Runnable then) {
        List<Context> due = contexts.values().stream().filter(c -> c.positional || !touched.isEmpty()).toList();
        if (due.isEmpty()) {
            then.run();
            return;
        }
        s.blocking(() -> {
            List<Change> changes = new ArrayList<>();
            for (Context c : due) {
                List<Search.Hit> hits = c.positional ? c.matcher.matching() : c.matcher.matching(touched);
                Set<Long> known = new HashSet<>();
                for (Sort.Keyed k : c.results) known.add(k.hit().meta().uid());
                Set<Long> matching = new HashSet<>();
                Map<Long, Sort.Keyed> newcomers = new HashMap<>();
                for (Search.Hit h : hits) {
                    matching.add(h.meta().uid());
                    if (!known.contains(h.meta().uid())) {
                        newcomers.put(h.meta().uid(), c.sorted() ? Sort.keyed(c.matcher, h, c.criteria) : new Sort.Keyed(h, List.of()));
                    }
                }
                changes.add(new Change(c, matching, c.positional ? known : touched, newcomers));
            }
            return changes;
        }, changes -> {
            for (Change ch : changes) {
                if (contexts.get(ch.context().tag) == ch.context()) tell(s, ch);
            }
            then.run();
        }, e -> {
            // The client misses one update; its next search finds the truth. Nothing else is at stake.
            log.warn("{} imap search context update failed: {}", s.connection().logId(), e.toString());
            then.run();
        });
    }

    /** Applies one context's change and sends it: REMOVEFROM first, then ADDTO, in one ESEARCH. */
    private void tell(ImapSession s, Change ch) {
        Context c = ch.context();
        SelectedMailbox view = c.matcher.view();
        List<Sort.Keyed> kept = new ArrayList<>(c.results);
        kept.removeIf(k -> ch.matchedAgain().contains(k.hit().meta().uid()) && !ch.matching().contains(k.hit().meta().uid()));
        String removed = removeFrom(c, view, kept);
        List<Sort.Keyed> added = new ArrayList<>(ch.newcomers().values());
        added.removeIf(k -> view.msnOf(k.hit().meta().uid()) == 0);
        List<Sort.Keyed> result = new ArrayList<>(kept);
        result.addAll(added);
        result.sort(c.sorted() ? Sort.order(c.criteria) : java.util.Comparator.comparingLong(k -> k.hit().meta().uid()));
        String addTo = "";
        if (!added.isEmpty()) {
            Set<Long> fresh = new HashSet<>();
            for (Sort.Keyed k : added) fresh.add(k.hit().meta().uid());
            addTo = "ADDTO (" + pairs(c, view, result, fresh, false) + ")";
        }
        c.results = result;
        String both = String.join(" ", java.util.stream.Stream.of(removed, addTo).filter(x -> !x.isEmpty()).toList());
        if (!both.isEmpty()) s.untagged(esearch(c, both));
    }

    /** The REMOVEFROM data item taking {@code c}'s results down to {@code kept}; empty when nothing goes. */
    private static String removeFrom(Context c, SelectedMailbox view, List<Sort.Keyed> kept) {
        Set<Long> staying = new HashSet<>();
        for (Sort.Keyed k : kept) staying.add(k.hit().meta().uid());
        Set<Long> leaving = new HashSet<>();
        for (Sort.Keyed k : c.results) {
            long uid = k.hit().meta().uid();
            // A message the client cannot number any more cannot be named to it (it heard the EXPUNGE).
            if (!staying.contains(uid) && (c.uid || view.msnOf(uid) > 0)) leaving.add(uid);
        }
        return leaving.isEmpty() ? "" : "REMOVEFROM (" + pairs(c, view, c.results, leaving, true) + ")";
    }

    /**
     * The context-position and sequence-set pairs naming {@code marked} within {@code list}.
     * SEARCH results use position 0 and mailbox order (RFC 5267 §4.3.3, §4.3.4 allow it for
     * SEARCH); SORT results one pair per run of neighbours, in the order the client applies them:
     * each REMOVEFROM position counts the removals before it as done, each ADDTO position is
     * where the run stands once every earlier run is in.
     */
    private static String pairs(Context c, SelectedMailbox view, List<Sort.Keyed> list, Set<Long> marked, boolean removing) {
        if (!c.sorted()) {
            List<Long> numbers = new ArrayList<>();
            for (Sort.Keyed k : list) if (marked.contains(k.hit().meta().uid())) numbers.add(number(c, view, k));
            numbers.sort(null);
            return "0 " + SequenceSet.compact(numbers);
        }
        List<String> out = new ArrayList<>();
        int gone = 0;
        int i = 0;
        while (i < list.size()) {
            if (!marked.contains(list.get(i).hit().meta().uid())) {
                i++;
                continue;
            }
            int start = i;
            List<Long> run = new ArrayList<>();
            while (i < list.size() && marked.contains(list.get(i).hit().meta().uid())) run.add(number(c, view, list.get(i++)));
            out.add((start + 1 - gone) + " " + SequenceSet.compact(run));
            if (removing) gone += run.size();
        }
        return String.join(" ", out);
    }

    private static long number(Context c, SelectedMailbox view, Sort.Keyed k) {
        return c.uid ? k.hit().meta().uid() : view.msnOf(k.hit().meta().uid());
    }

    private static String esearch(Context c, String data) {
        return "ESEARCH (TAG \"" + c.tag + "\")" + (c.uid ? " UID " : " ") + data;
    }
}
