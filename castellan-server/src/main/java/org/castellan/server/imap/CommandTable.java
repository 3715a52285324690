package org.castellan.server.imap;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ImapCommand.Name;
import org.castellan.protocol.imap.ModifiedUtf7;

/**
 * The server's columns of the IMAP command table, whose rows are {@link Name} (the command's
 * name, the states that accept it, whether UID may prefix it): the handler that runs each command,
 * where a command is refused while a capability is not in force, its gate, and where it names
 * mailboxes, how it reads their names. The dispatcher checks the state, then the gate, then has
 * the names read, then runs the handler; handlers check none of that again and see only the
 * Unicode names the store knows.
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

    /**
     * A command's server columns: the record the parser makes of it; its gate (null for none); its
     * mailbox names (null for none), a function that makes the command with each name decoded from
     * modified UTF-7 (RFC 3501 §5.1.3) by {@code existing} when it names a mailbox, {@code newName}
     * when it gives one; its handler.
     */
    record Row<C extends ImapCommand>(Class<C> type, Gate<C> gate, UnaryOperator<C> names, Handler<C> handler) {

        Row<C> gate(Gate<C> g) {
            return new Row<>(type, g, names, handler);
        }

        Row<C> names(UnaryOperator<C> n) {
            return new Row<>(type, gate, n, handler);
        }

        String refusal(ImapSession s, ImapCommand command) {
            return gate == null ? null : gate.refusal(s, type.cast(command));
        }

        /** @throws UnknownName when a mailbox name is not valid modified UTF-7 */
        ImapCommand namesIn(ImapCommand command) {
            return names == null ? command : names.apply(type.cast(command));
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
            case STARTTLS -> row(ImapCommand.StartTls.class, (s, tag, c) -> StartTls.run(s, tag)).gate((s, c) ->
                    s.startTlsAvailable() ? null : s.connection().tlsStarted() ? "TLS is already active" : "STARTTLS not offered here");
            case LOGIN -> row(ImapCommand.Login.class, Login::run);
            case AUTHENTICATE -> row(ImapCommand.Authenticate.class, Authenticate::run);
            case ENABLE -> row(ImapCommand.Enable.class, Enable::run);
            case NAMESPACE -> row(ImapCommand.Namespace.class, (s, tag, c) -> Namespace.run(s, tag));
            case SELECT, EXAMINE -> row(ImapCommand.Select.class, Select::run)
                    .names(c -> new ImapCommand.Select(existing(c.mailbox()), c.readOnly(), c.condStore(), c.qresync()));
            case CREATE -> row(ImapCommand.Create.class, Create::run)
                    .names(c -> new ImapCommand.Create(newName(c.mailbox()), c.use()));
            case DELETE -> row(ImapCommand.Delete.class, Delete::run)
                    .names(c -> new ImapCommand.Delete(existing(c.mailbox())));
            case RENAME -> row(ImapCommand.Rename.class, Rename::run)
                    .names(c -> new ImapCommand.Rename(existing(c.from()), newName(c.to())));
            case SUBSCRIBE -> row(ImapCommand.Subscribe.class, (s, tag, c) -> Subscribe.run(s, tag, c.mailbox(), true))
                    .names(c -> new ImapCommand.Subscribe(newName(c.mailbox())));
            case UNSUBSCRIBE -> row(ImapCommand.Unsubscribe.class, (s, tag, c) -> Subscribe.run(s, tag, c.mailbox(), false))
                    .names(c -> new ImapCommand.Unsubscribe(existing(c.mailbox())));
            case LIST, LSUB -> row(ImapCommand.ListMailboxes.class, ListCommand::run).names(CommandTable::listNames);
            case STATUS -> row(ImapCommand.Status.class, Status::run)
                    .names(c -> new ImapCommand.Status(existing(c.mailbox()), c.items()));
            case APPEND -> row(ImapCommand.Append.class, Append::run)
                    .names(c -> new ImapCommand.Append(existing(c.mailbox()), c.messages()));
            case IDLE -> row(ImapCommand.Idle.class, (s, tag, c) -> Idle.run(s, tag));
            case GETQUOTA -> row(ImapCommand.GetQuota.class, GetQuota::run);
            case GETQUOTAROOT -> row(ImapCommand.GetQuotaRoot.class, GetQuotaRoot::run)
                    .names(c -> new ImapCommand.GetQuotaRoot(existing(c.mailbox())));
            case SETQUOTA -> row(ImapCommand.SetQuota.class, (s, tag, c) -> SetQuota.run(s, tag));
            case COMPRESS -> row(ImapCommand.Compress.class, Compress::run);
            case GENURLAUTH -> row(ImapCommand.GenUrlAuth.class, GenUrlAuth::run);
            case RESETKEY -> row(ImapCommand.ResetKey.class, ResetKey::run)
                    .names(c -> new ImapCommand.ResetKey(c.mailbox().map(CommandTable::existing), c.mechanisms()));
            case URLFETCH -> row(ImapCommand.UrlFetch.class, UrlFetch::run);
            case NOTIFY -> row(ImapCommand.Notify.class, Notify::run);
            case CHECK -> row(ImapCommand.Check.class, (s, tag, c) -> Check.run(s, tag));
            case CLOSE -> row(ImapCommand.Close.class, (s, tag, c) -> Close.run(s, tag, true));
            case UNSELECT -> row(ImapCommand.Unselect.class, (s, tag, c) -> Close.run(s, tag, false));
            case FETCH -> row(ImapCommand.Fetch.class, Fetch::run);
            case STORE -> row(ImapCommand.Store.class, StoreCommand::run);
            case COPY, MOVE -> row(ImapCommand.Copy.class, Copy::run)
                    .names(c -> new ImapCommand.Copy(c.uid(), c.move(), c.set(), existing(c.mailbox())));
            // RFC 6855 §3: after ENABLE UTF8=ACCEPT every string is UTF-8; a CHARSET is refused.
            case SEARCH -> row(ImapCommand.Search.class, Search::run).gate((s, c) -> !s.utf8Accept() || c.charset().isEmpty()
                    ? null : "SEARCH CHARSET is not allowed after ENABLE UTF8=ACCEPT");
            case SORT -> row(ImapCommand.Sort.class, Sort::run);
            case THREAD -> row(ImapCommand.Thread.class, ThreadCommand::run);
            case EXPUNGE -> row(ImapCommand.Expunge.class, Expunge::run);
            case CANCELUPDATE -> row(ImapCommand.CancelUpdate.class, CancelUpdate::run);
        };
    }

    private static <C extends ImapCommand> Row<C> row(Class<C> type, Handler<C> handler) {
        return new Row<>(type, null, null, handler);
    }

    /** RFC 5258 §3: a pattern the server does not accept matches nothing; the others still count. */
    private static ImapCommand.ListMailboxes listNames(ImapCommand.ListMailboxes c) {
        var reference = ModifiedUtf7.decode(c.reference());
        var patterns = reference.isEmpty() ? List.<String>of() : c.patterns().stream()
                .flatMap(p -> ModifiedUtf7.decode(p).stream()).toList();
        return new ImapCommand.ListMailboxes(c.lsub(), c.selectionOptions(), reference.orElse(""), patterns,
                c.returnOptions(), c.statusItems(), c.extended());
    }

    /**
     * A mailbox name that is not valid modified UTF-7. The command is well formed (a name is an
     * astring, RFC 3501 §9), so this is no BAD: no mailbox has that name, and none can be given it.
     */
    static final class UnknownName extends RuntimeException {
        final String code;

        UnknownName(String code) {
            super(code, null, false, false);
            this.code = code;
        }
    }

    /** A name that must name an existing mailbox. */
    private static String existing(String name) {
        return ModifiedUtf7.decode(name).orElseThrow(() -> new UnknownName("NONEXISTENT"));
    }

    /** A name a mailbox or subscription is to get: RFC 5530 CANNOT, the server cannot create it. */
    private static String newName(String name) {
        return ModifiedUtf7.decode(name).orElseThrow(() -> new UnknownName("CANNOT"));
    }
}
