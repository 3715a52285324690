package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.SequenceSet;

/**
 * The RETURN options of SEARCH and SORT and the ESEARCH response they ask for: RFC 4731 MIN, MAX,
 * COUNT and ALL, RFC 5182 SAVE, RFC 5267 CONTEXT and UPDATE, RFC 9394 PARTIAL. One list of
 * results serves both commands: in mailbox order for SEARCH, in the requested order for SORT,
 * where MIN and MAX are the first and last in that order (RFC 5267 §3.1). Sequence sets keep
 * that order, with ranges only for runs going up by one (RFC 5267 §3.2: 10:12 means 10,11,12).
 */
final class Esearch {

    /** What this server answers; anything else gets BAD (RFC 4466 §2.6.1). */
    private static final Set<String> KNOWN = Set.of("MIN", "MAX", "COUNT", "ALL", "SAVE", "PARTIAL", "CONTEXT", "UPDATE");

    private final Set<String> options;
    private final Optional<ImapCommand.PartialRange> partial;

    Esearch(List<String> options, Optional<ImapCommand.PartialRange> partial) {
        // The parser allowed repeats (but of ALL and PARTIAL); each counts once. CONTEXT is a hint
        // that asks for nothing (RFC 5267 §4.2): RETURN (CONTEXT) is RETURN (), that is ALL (RFC 4731 §3.1).
        this.options = new LinkedHashSet<>(options);
        this.options.remove("CONTEXT");
        if (this.options.isEmpty()) this.options.add("ALL");
        this.partial = partial;
    }

    boolean has(String option) {
        return options.contains(option);
    }

    /**
     * Refuses what cannot be answered, with BAD: an unknown option, and UPDATE under the tag of a
     * context that is still updated (RFC 5267 §4.3). False when the command is answered already.
     */
    boolean accepted(ImapSession s, String tag) {
        for (String o : options) {
            if (!KNOWN.contains(o)) {
                s.bad(tag, "Unsupported RETURN option " + o);
                return false;
            }
        }
        if (has("UPDATE") && s.searchContexts().inUse(tag)) {
            s.bad(tag, "Tag reuse: an update context already has tag " + tag);
            return false;
        }
        return true;
    }

    /**
     * Answers a SEARCH or SORT whose results are {@code results}, in result order: saves them for
     * "$", opens the update context, and sends the ESEARCH response.
     */
    void answer(ImapSession s, String tag, boolean uid, SelectedMailbox view, List<Sort.Keyed> results,
            Search.Matcher matcher, List<ImapCommand.SortCriterion> criteria) {
        if (has("SAVE")) view.save(saved(results));
        if (has("UPDATE")) s.searchContexts().open(s, tag, uid, matcher, criteria, results);
        // RFC 5182 §2.4: SAVE alone returns no ESEARCH.
        if (options.equals(Set.of("SAVE"))) return;
        List<Long> numbers = results.stream().map(k -> uid ? k.hit().meta().uid() : (long) k.hit().msn()).toList();
        String response = response(tag, uid, numbers);
        if (ImapSession.hasModSeqKey(matcher.key()) && !results.isEmpty()) response += " MODSEQ " + modSeq(results);
        s.untagged(response);
    }

    /**
     * RFC 7162 §3.1.10: the MODSEQ item of a search with a MODSEQ key. With ALL or COUNT (or
     * neither MIN nor MAX) the highest MODSEQ of every message found; otherwise of those MIN and
     * MAX return.
     */
    private long modSeq(List<Sort.Keyed> results) {
        List<Long> modSeqs = results.stream().map(k -> k.hit().meta().modSeq()).toList();
        if (has("ALL") || has("COUNT") || (!has("MIN") && !has("MAX"))) return modSeqs.stream().mapToLong(Long::longValue).max().getAsLong();
        long out = 0;
        if (has("MIN")) out = modSeqs.get(0);
        if (has("MAX")) out = Math.max(out, modSeqs.get(modSeqs.size() - 1));
        return out;
    }

    /** RFC 4731 §3.1 (RFC 9051 §7.3.4): MIN, MAX and ALL only when something matched; COUNT always. */
    private String response(String tag, boolean uid, List<Long> numbers) {
        StringBuilder b = new StringBuilder("ESEARCH (TAG \"" + tag + "\")");
        if (uid) b.append(" UID");
        if (has("MIN") && !numbers.isEmpty()) b.append(" MIN ").append(numbers.get(0));
        if (has("MAX") && !numbers.isEmpty()) b.append(" MAX ").append(numbers.get(numbers.size() - 1));
        if (has("COUNT")) b.append(" COUNT ").append(numbers.size());
        if (has("ALL") && !numbers.isEmpty()) b.append(" ALL ").append(SequenceSet.compact(numbers));
        if (partial.isPresent()) {
            // RFC 9394 §3.1: the range as asked, then what it covers, NIL when nothing.
            List<Long> part = partial.get().of(numbers);
            b.append(" PARTIAL (").append(partial.get()).append(' ').append(part.isEmpty() ? "NIL" : SequenceSet.compact(part)).append(')');
        }
        return b.toString();
    }

    /**
     * RFC 5182 §2.1 and RFC 9394 §3.2: what "$" holds afterwards. With ALL or COUNT every result;
     * else with PARTIAL its results and the MIN and MAX ones; else MIN and MAX alone; SAVE alone
     * saves every result.
     */
    private List<Long> saved(List<Sort.Keyed> results) {
        List<Long> uids = results.stream().map(k -> k.hit().meta().uid()).toList();
        if (has("ALL") || has("COUNT") || uids.isEmpty()) return uids;
        boolean min = has("MIN");
        boolean max = has("MAX");
        if (!min && !max && partial.isEmpty()) return uids;
        Set<Long> out = new LinkedHashSet<>(partial.map(p -> p.of(uids)).orElse(List.of()));
        if (min) out.add(uids.get(0));
        if (max) out.add(uids.get(uids.size() - 1));
        return new ArrayList<>(out);
    }
}
