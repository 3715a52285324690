package org.castellan.protocol.imap;

import java.time.LocalDate;
import java.util.List;

/** A SEARCH criterion (RFC 9051 §6.4.4, with the RFC 3501 keys NEW, OLD, RECENT). */
public sealed interface SearchKey {

    /** {@code ALL}. */
    record All() implements SearchKey {}

    /**
     * A flag test: {@code ANSWERED}, {@code UNSEEN} ({@code set} false), {@code KEYWORD x}...
     */
    record Flag(String flag, boolean set) implements SearchKey {}

    /**
     * {@code RECENT} (RFC 3501 §6.4.4): the messages the session reports as \Recent; {@code NEW}
     * is this and {@code UNSEEN}, {@code OLD} its negation. IMAP4rev2 sessions have none.
     */
    record Recent() implements SearchKey {}

    /** A substring test on a header field or the text: BCC, BODY, CC, FROM, SUBJECT, TEXT, TO. */
    record Text(Field field, String value) implements SearchKey {}

    enum Field { BCC, BODY, CC, FROM, SUBJECT, TEXT, TO }

    /** {@code HEADER name value}: an empty value matches every message having the field. */
    record Header(String name, String value) implements SearchKey {}

    /**
     * A date test. {@code sent} compares the Date: header, otherwise the internal date
     * (RFC 9051 §6.4.4: dates only, time and zone disregarded).
     */
    record Date(boolean sent, Comparison comparison, LocalDate date) implements SearchKey {}

    enum Comparison { BEFORE, ON, SINCE }

    /** {@code LARGER n} ({@code larger} true) or {@code SMALLER n}, on RFC822.SIZE. */
    record Size(boolean larger, long octets) implements SearchKey {}

    /** A set of sequence numbers, or with {@code uid} of UIDs. */
    record Numbers(boolean uid, SequenceSet set) implements SearchKey {}

    /** RFC 7162 §3.1.5 {@code MODSEQ n}: messages whose MODSEQ is at least n. */
    record ModSeq(long modSeq) implements SearchKey {}

    record Not(SearchKey key) implements SearchKey {}

    record Or(SearchKey left, SearchKey right) implements SearchKey {}

    /** Every key must match: the top level of a SEARCH and a parenthesized list. */
    record And(List<SearchKey> keys) implements SearchKey {
        public And {
            keys = List.copyOf(keys);
        }
    }
}
