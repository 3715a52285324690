package org.castellan.server.imap;

import static org.castellan.protocol.imap.ImapCommand.Name.*;

import java.util.EnumSet;
import java.util.Set;
import org.castellan.protocol.imap.ImapCommand;

/**
 * The states of an IMAP session (RFC 9051 §3) and the commands each accepts. The dispatcher
 * checks this table once; command handlers never check the state again.
 */
enum ImapState {
    /** RFC 9051 §6.1, §6.2. */
    NOT_AUTHENTICATED(EnumSet.of(CAPABILITY, NOOP, ImapCommand.Name.LOGOUT, ID, STARTTLS, LOGIN, AUTHENTICATE)),
    /**
     * RFC 9051 §6.3; ENABLE only here (RFC 5161 §3.1), IDLE RFC 2177; the QUOTA commands
     * (RFC 9208 §4.1), COMPRESS (RFC 4978 §5: command-auth), GENURLAUTH, RESETKEY, URLFETCH
     * (RFC 4467 §9: command-auth) and NOTIFY (RFC 5465 §8: command-auth) here and in SELECTED.
     */
    AUTHENTICATED(EnumSet.of(CAPABILITY, NOOP, ImapCommand.Name.LOGOUT, ID, ENABLE, NAMESPACE, SELECT, EXAMINE, CREATE, DELETE,
            RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS, APPEND, IDLE, GETQUOTA, GETQUOTAROOT, SETQUOTA, COMPRESS,
            GENURLAUTH, RESETKEY, URLFETCH, NOTIFY)),
    /** RFC 9051 §6.4: everything of AUTHENTICATED but ENABLE, plus the message commands (RFC 5267 §5: CANCELUPDATE). */
    SELECTED(EnumSet.of(CAPABILITY, NOOP, ImapCommand.Name.LOGOUT, ID, NAMESPACE, SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
            UNSUBSCRIBE, LIST, LSUB, STATUS, APPEND, IDLE, CHECK, CLOSE, UNSELECT, EXPUNGE, SEARCH, FETCH, STORE, COPY,
            MOVE, GETQUOTA, GETQUOTAROOT, SETQUOTA, COMPRESS, SORT, THREAD, GENURLAUTH, RESETKEY, URLFETCH, NOTIFY, CANCELUPDATE)),
    /** RFC 9051 §3.4: the connection is closing; nothing more is read. */
    LOGOUT(EnumSet.noneOf(ImapCommand.Name.class));

    private final Set<ImapCommand.Name> allowed;

    ImapState(Set<ImapCommand.Name> allowed) {
        this.allowed = allowed;
    }

    boolean allows(ImapCommand.Name name) {
        return allowed.contains(name);
    }
}
