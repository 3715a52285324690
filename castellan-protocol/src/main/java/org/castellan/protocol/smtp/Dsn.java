package org.castellan.protocol.smtp;

/** The delivery status notification parameters of RFC 3461. */
public final class Dsn {

    private Dsn() {}

    /** RFC 3461 §4.3: what a notification carries of the message. */
    public enum Ret {
        /** The whole message. */
        FULL,
        /** The header section only. */
        HDRS,
        /** Not given: Castellan returns the header section. */
        UNSPECIFIED
    }

    /** RFC 3461 §4.1: when a recipient's sender is told. NEVER is the empty set. */
    public enum Notify { SUCCESS, FAILURE, DELAY }
}
