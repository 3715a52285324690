package org.castellan.store;

/**
 * Why a {@link MailStore} operation failed. The message is written for an operator (it names
 * what is wrong and what to do) and never contains credentials or message content.
 *
 * <p>When an operation throws, it has changed nothing: every write is atomic.
 */
public final class StoreException extends RuntimeException {

    /** The kind of failure, which decides how a protocol answers. */
    public enum Kind {
        /** The domain, account, alias, mailbox or message does not exist. */
        NOT_FOUND,
        /** The name or address is already taken. */
        ALREADY_EXISTS,
        /** The request is malformed or not allowed (bad name, INBOX deletion, alias loop...). */
        INVALID,
        /** The account's quota would be exceeded (RFC 9208). */
        QUOTA_EXCEEDED,
        /** I/O error, disk full, database busy or the store is closed: retrying later may work. */
        UNAVAILABLE
    }

    private final Kind kind;

    public StoreException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public StoreException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /** Whether the same request may succeed later: protocols answer 4xx / NO [UNAVAILABLE]. */
    public boolean isTemporary() {
        return kind == Kind.UNAVAILABLE;
    }

    public static StoreException notFound(String message) {
        return new StoreException(Kind.NOT_FOUND, message);
    }

    public static StoreException alreadyExists(String message) {
        return new StoreException(Kind.ALREADY_EXISTS, message);
    }

    public static StoreException invalid(String message) {
        return new StoreException(Kind.INVALID, message);
    }

    public static StoreException quotaExceeded(String message) {
        return new StoreException(Kind.QUOTA_EXCEEDED, message);
    }

    public static StoreException unavailable(String message, Throwable cause) {
        return new StoreException(Kind.UNAVAILABLE, message, cause);
    }
}
