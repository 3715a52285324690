package org.castellan.protocol.imap;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongPredicate;

/**
 * An IMAP sequence set (RFC 9051 §9 {@code sequence-set}): ranges of message sequence numbers or
 * UIDs, where {@code *} is the largest number in use, or {@code $}, the saved search result
 * (RFC 5182). Ranges keep the order and direction the client gave; {@code 5:2} means 2 to 5.
 *
 * @param savedResult whether this is {@code $}; {@code ranges} is then empty
 */
public record SequenceSet(List<Range> ranges, boolean savedResult) {

    /** Stands for {@code *} in a range bound. */
    public static final long STAR = Long.MAX_VALUE;

    /** The saved search result, {@code $} (RFC 5182 §2.1). */
    public static final SequenceSet SAVED = new SequenceSet(List.of(), true);

    public SequenceSet {
        ranges = List.copyOf(ranges);
    }

    public static SequenceSet of(Range... ranges) {
        return new SequenceSet(List.of(ranges), false);
    }

    /** One range, bounds in any order; {@link #STAR} for {@code *}. */
    public record Range(long first, long last) {
        public long low() { return Math.min(first, last); }

        public long high() { return Math.max(first, last); }
    }

    /**
     * Whether {@code n} lies in the set when the largest number in use is {@code max}
     * (RFC 9051 §9: {@code *} is then {@code max}). Not meaningful for {@code $}.
     */
    public boolean contains(long n, long max) {
        for (Range r : ranges) {
            long a = r.first() == STAR ? max : r.first();
            long b = r.last() == STAR ? max : r.last();
            if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
        }
        return false;
    }

    /** A test for membership with {@code *} fixed to {@code max}. */
    public LongPredicate matcher(long max) {
        return n -> contains(n, max);
    }

    /** Whether any bound is {@code *}. */
    public boolean usesStar() {
        return ranges.stream().anyMatch(r -> r.first() == STAR || r.last() == STAR);
    }

    /** The wire form, e.g. {@code 1:3,7,9:*}. */
    @Override
    public String toString() {
        if (savedResult) return "$";
        List<String> parts = new ArrayList<>();
        for (Range r : ranges) {
            String a = r.first() == STAR ? "*" : Long.toString(r.first());
            String b = r.last() == STAR ? "*" : Long.toString(r.last());
            parts.add(r.first() == r.last() ? a : a + ":" + b);
        }
        return String.join(",", parts);
    }

    /**
     * The compact wire form of numbers in their order, runs going up by one as ranges, e.g.
     * {@code 1:3,7} (COPYUID, ESEARCH); in a SORT's order {@code 5,3:4} (RFC 5267 §3.2).
     */
    public static String compact(List<Long> sorted) {
        StringBuilder b = new StringBuilder();
        int i = 0;
        while (i < sorted.size()) {
            int j = i;
            while (j + 1 < sorted.size() && sorted.get(j + 1) == sorted.get(j) + 1) j++;
            if (b.length() > 0) b.append(',');
            b.append(sorted.get(i));
            if (j > i) b.append(':').append(sorted.get(j));
            i = j + 1;
        }
        return b.toString();
    }
}
