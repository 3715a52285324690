package org.castellan.protocol.imap;

/**
 * The states of an IMAP session (RFC 9051 §3). Which commands each accepts is a column of the
 * command table, {@link ImapCommand.Name}.
 */
public enum ImapState {
    /** RFC 9051 §3.1: before LOGIN or AUTHENTICATE. */
    NOT_AUTHENTICATED,
    /** RFC 9051 §3.2: logged in, no mailbox selected. */
    AUTHENTICATED,
    /** RFC 9051 §3.3: a mailbox selected. */
    SELECTED,
    /** RFC 9051 §3.4: the connection is closing; nothing more is read. */
    LOGOUT
}
