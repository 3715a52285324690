package org.castellan.store;

/** An inclusive range of UIDs, {@code first <= last}. */
public record UidRange(long first, long last) {

    public UidRange {
        if (first < 1 || last < first) {
            throw new IllegalArgumentException("a UID range needs 1 <= first <= last, got " + first + ":" + last);
        }
    }

    /** Every UID, as IMAP's {@code 1:*}. */
    public static UidRange all() {
        return new UidRange(1, Long.MAX_VALUE);
    }

    public static UidRange of(long uid) {
        return new UidRange(uid, uid);
    }

    public boolean contains(long uid) {
        return uid >= first && uid <= last;
    }
}
