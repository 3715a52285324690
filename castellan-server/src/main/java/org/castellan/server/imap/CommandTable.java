package org.castellan.server.imap;

import java.util.EnumMap;
import java.util.Map;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ImapCommand.Name;

/**
 * The server's columns of the IMAP command table, whose rows are {@link Name} (the command's
 * name, the states that accept it, whether UID may prefix it): the handler that runs each command
 * and, where a command is refused while a capability is not in force, its gate. The dispatcher
 * checks the state, then the gate, then runs the handler; handlers check neither again.
 *
 * <p>The switch in {@link #row} is exhaustive, so a command without a handler does not compile,
 * and no command can have two; CommandTableTest checks that each handler takes the command the
 * parser makes of its name.
 */
final class CommandTable {

    private CommandTable() {}

    /** Runs one command, which answers its tag itself, now or when its work is done. */
    interface Handler<C extends ImapCommand> {
        void run(ImapSession s, String tag, C command);
    }

    /** Why the command is refused now (the text of a BAD), or null when it may run. */
    interface Gate<C extends ImapCommand> {
        String refusal(ImapSession s, C command);
    }

    /** A command's server columns: the record the parser makes of it, its gate (null for none), its handler. */
    record Row<C extends ImapCommand>(Class<C> type, Gate<C> gate, Handler<C> handler) {

        String refusal(ImapSession s, ImapCommand command) {
            return gate == null ? null : gate.refusal(s, type.cast(command));
        }

        void run(ImapSession s, String tag, ImapCommand command) {
            handler.run(s, tag, type.cast(command));
        }
    }

    private static final Map<Name, Row<?>> ROWS = rows();

    static Row<?> of(Name name) {
        return ROWS.get(name);
    }

    private static Map<Name, Row<?>> rows() {
        Map<Name, Row<?>> rows = new EnumMap<>(Name.class);
        for (Name name : Name.values()) rows.put(name, row(name));
        return rows;
    }

    private static Row<?> row(Name name) {
        return switch (name) {
            case CAPABILITY -> row(ImapCommand.Capability.class, (s, tag, c) -> Capability.run(s, tag));
            case NOOP -> row(ImapCommand.Noop.class, (s, tag, c) -> Noop.run(s, tag));
            case LOGOUT -> row(ImapCommand.Logout.class, (s, tag, c) -> Logout.run(s, tag));
            case ID -> row(ImapCommand.Id.class, Id::run);
            // RFC 9051 §6.2.1: STARTTLS only where it is offered, and only once.
            case STARTTLS -> row(ImapCommand.StartTls.class, (s, c) -> s.startTlsAvailable() ? null
                    : s.connection().tlsStarted() ? "TLS is already active" : "STARTTLS not offered here",
                    (s, tag, c) -> StartTls.run(s, tag));
            case LOGIN -> row(ImapCommand.Login.class, Login::run);
            case AUTHENTICATE -> row(ImapCommand.Authenticate.class, Authenticate::run);
            case ENABLE -> row(ImapCommand.Enable.class, Enable::run);
            case NAMESPACE -> row(ImapCommand.Namespace.class, (s, tag, c) -> Namespace.run(s, tag));
            case SELECT, EXAMINE -> row(ImapCommand.Select.class, Select::run);
            case CREATE -> row(ImapCommand.Create.class, Create::run);
            case DELETE -> row(ImapCommand.Delete.class, Delete::run);
            case RENAME -> row(ImapCommand.Rename.class, Rename::run);
            case SUBSCRIBE -> row(ImapCommand.Subscribe.class, (s, tag, c) -> Subscribe.run(s, tag, c.mailbox(), true));
            case UNSUBSCRIBE -> row(ImapCommand.Unsubscribe.class, (s, tag, c) -> Subscribe.run(s, tag, c.mailbox(), false));
            case LIST, LSUB -> row(ImapCommand.ListMailboxes.class, ListCommand::run);
            case STATUS -> row(ImapCommand.Status.class, Status::run);
            case APPEND -> row(ImapCommand.Append.class, Append::run);
            case IDLE -> row(ImapCommand.Idle.class, (s, tag, c) -> Idle.run(s, tag));
            case GETQUOTA -> row(ImapCommand.GetQuota.class, GetQuota::run);
            case GETQUOTAROOT -> row(ImapCommand.GetQuotaRoot.class, GetQuotaRoot::run);
            case SETQUOTA -> row(ImapCommand.SetQuota.class, (s, tag, c) -> SetQuota.run(s, tag));
            case COMPRESS -> row(ImapCommand.Compress.class, Compress::run);
            case GENURLAUTH -> row(ImapCommand.GenUrlAuth.class, GenUrlAuth::run);
            case RESETKEY -> row(ImapCommand.ResetKey.class, ResetKey::run);
            case URLFETCH -> row(ImapCommand.UrlFetch.class, UrlFetch::run);
            case NOTIFY -> row(ImapCommand.Notify.class, Notify::run);
            case CHECK -> row(ImapCommand.Check.class, (s, tag, c) -> Check.run(s, tag));
            case CLOSE -> row(ImapCommand.Close.class, (s, tag, c) -> Close.run(s, tag, true));
            case UNSELECT -> row(ImapCommand.Unselect.class, (s, tag, c) -> Close.run(s, tag, false));
            case FETCH -> row(ImapCommand.Fetch.class, Fetch::run);
            case STORE -> row(ImapCommand.Store.class, StoreCommand::run);
            case COPY, MOVE -> row(ImapCommand.Copy.class, Copy::run);
            // RFC 6855 §3: after ENABLE UTF8=ACCEPT every string is UTF-8; a CHARSET is refused.
            case SEARCH -> row(ImapCommand.Search.class, (s, c) -> !s.utf8Accept() || c.charset().isEmpty() ? null
                    : "SEARCH CHARSET is not allowed after ENABLE UTF8=ACCEPT", Search::run);
            case SORT -> row(ImapCommand.Sort.class, Sort::run);
            case THREAD -> row(ImapCommand.Thread.class, ThreadCommand::run);
            case EXPUNGE -> row(ImapCommand.Expunge.class, Expunge::run);
            case CANCELUPDATE -> row(ImapCommand.CancelUpdate.class, CancelUpdate::run);
        };
    }

    private static <C extends ImapCommand> Row<C> row(Class<C> type, Handler<C> handler) {
        return new Row<>(type, null, handler);
    }

    private static <C extends ImapCommand> Row<C> row(Class<C> type, Gate<C> gate, Handler<C> handler) {
        return new Row<>(type, gate, handler);
    }
}
