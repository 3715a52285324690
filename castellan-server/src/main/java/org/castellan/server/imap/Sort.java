package org.castellan.server.imap;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.castellan.protocol.imap.BaseSubject;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.MessageStructure;

/**
 * RFC 5256 SORT and UID SORT with RFC 5957 DISPLAYFROM and DISPLAYTO, and RFC 5267 ESORT's
 * RETURN options (answered by {@link Esearch}). The messages come from {@link Search}; their keys
 * from the structure stored with each message, so sorting reads no message bodies. Strings
 * compare with i;ascii-casemap; messages equal on every key stay in sequence-number order
 * (RFC 5256 §3).
 */
final class Sort {

    private Sort() {}

    static void run(ImapSession s, String tag, ImapCommand.Sort c) {
        Search.Matcher matcher = Search.matcherFor(s, tag, c.charset(), c.key());
        if (matcher == null) return;
        // RFC 5267 §3: with RETURN the answer is ESEARCH, in the requested order.
        var esearch = c.returnOptions().map(o -> new Esearch(o, c.partial()));
        if (esearch.isPresent() && !esearch.get().accepted(s, tag)) return;
        s.blocking(() -> {
            List<Keyed> keyed = new ArrayList<>();
            List<Search.Hit> hits = matcher.matching();
            for (int from = 0; from < hits.size(); from += Search.STRUCTURE_BATCH) {
                List<Search.Hit> batch = hits.subList(from, Math.min(hits.size(), from + Search.STRUCTURE_BATCH));
                // The batch's structures in one store call (one statement on PostgreSQL, not one per
                // message), left in the cache, which holds more than a batch, for keyed() to find.
                matcher.cache().stored(matcher.store(), matcher.view().mailbox.id(), batch.stream().map(Search.Hit::meta).toList());
                for (Search.Hit h : batch) keyed.add(keyed(matcher, h, c.criteria()));
            }
            keyed.sort(order(c.criteria()));
            return keyed;
        }, results -> {
            if (esearch.isPresent()) {
                esearch.get().answer(s, tag, c.uid(), matcher.view(), results, matcher, c.criteria());
            } else {
                StringBuilder b = new StringBuilder("SORT");
                for (Keyed k : results) b.append(' ').append(c.uid() ? k.hit.meta().uid() : (long) k.hit.msn());
                s.untagged(b.toString());
            }
            s.finish(tag, "OK SORT completed", c.uid());
        }, e -> s.storeFailure(tag, e));
    }

    /** A result with the values its sort criteria compare (none for SEARCH). */
    record Keyed(Search.Hit hit, List<Comparable<?>> keys) {}

    static Keyed keyed(Search.Matcher matcher, Search.Hit h, List<ImapCommand.SortCriterion> criteria) {
        MessageStructure st = structure(matcher, h);
        List<Comparable<?>> keys = new ArrayList<>();
        for (ImapCommand.SortCriterion k : criteria) keys.add(key(k.key(), h, st));
        return new Keyed(h, keys);
    }

    /** RFC 5256 §3: each criterion in turn; messages equal on all stay in mailbox order. */
    static Comparator<Keyed> order(List<ImapCommand.SortCriterion> criteria) {
        Comparator<Keyed> order = (a, b) -> 0;
        for (int i = 0; i < criteria.size(); i++) {
            int at = i;
            Comparator<Keyed> one = (a, b) -> compare(a.keys.get(at), b.keys.get(at));
            order = order.thenComparing(criteria.get(i).reverse() ? one.reversed() : one);
        }
        return order.thenComparingLong(k -> k.hit.meta().uid());
    }

    static MessageStructure structure(Search.Matcher matcher, Search.Hit h) {
        long mailbox = matcher.view().mailbox.id();
        MessageStructure st = matcher.cache().stored(matcher.store(), mailbox, h.meta());
        if (st != null) return st;
        try (var in = matcher.store().openMessage(mailbox, h.meta().uid())) {
            return matcher.cache().get(matcher.store(), mailbox, h.meta(), in.readAllBytes());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** RFC 5256 §2.2: the Date: field in UTC, or the internal date when it is missing or invalid. */
    static Instant sentDate(MessageStructure st, Search.Hit h) {
        return st.sentDate().orElse(h.meta().internalDate());
    }

    /** The value one key compares: an Instant, a Long, or the casemapped octets as a String of Latin-1 chars. */
    private static Comparable<?> key(ImapCommand.SortKey key, Search.Hit h, MessageStructure st) {
        return switch (key) {
            case ARRIVAL -> h.meta().internalDate();
            case DATE -> sentDate(st, h);
            case SIZE -> h.meta().size();
            case SUBJECT -> casemap(BaseSubject.of(st.header("Subject").orElse(null)).subject());
            // RFC 5256 §3: the addr-mailbox of the first address (a group's name when it opens with one).
            case FROM -> casemap(st.firstAddress("From").map(MessageStructure.FirstAddress::mailbox).orElse(""));
            case TO -> casemap(st.firstAddress("To").map(MessageStructure.FirstAddress::mailbox).orElse(""));
            case CC -> casemap(st.firstAddress("Cc").map(MessageStructure.FirstAddress::mailbox).orElse(""));
            // RFC 5957 §3: the display value of the first address structure.
            case DISPLAYFROM -> casemap(st.firstAddress("From").map(MessageStructure.FirstAddress::display).orElse(""));
            case DISPLAYTO -> casemap(st.firstAddress("To").map(MessageStructure.FirstAddress::display).orElse(""));
        };
    }

    /** i;ascii-casemap as a string whose chars are the octets, so String order is octet order. */
    private static String casemap(String s) {
        return new String(BaseSubject.casemap(s), java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static int compare(Comparable a, Comparable b) {
        return a.compareTo(b);
    }
}
