package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ImapCommand.Name;
import org.castellan.protocol.imap.ImapParser;
import org.castellan.protocol.imap.ImapState;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The command table holds together: every row ({@link Name}) has a grammar that makes that command,
 * UID may prefix exactly the commands whose row says so, and the row's handler takes the command
 * the parser makes (so the dispatcher can never hand a handler a command of another kind).
 */
class CommandTableTest {

    /** A command line for every row, without tag; a row added to the table needs one here. */
    private static final Map<Name, String> SAMPLES = Map.ofEntries(
            Map.entry(Name.CAPABILITY, "CAPABILITY"),
            Map.entry(Name.NOOP, "NOOP"),
            Map.entry(Name.LOGOUT, "LOGOUT"),
            Map.entry(Name.ID, "ID NIL"),
            Map.entry(Name.STARTTLS, "STARTTLS"),
            Map.entry(Name.LOGIN, "LOGIN fred sesame"),
            Map.entry(Name.AUTHENTICATE, "AUTHENTICATE PLAIN"),
            Map.entry(Name.ENABLE, "ENABLE CONDSTORE"),
            Map.entry(Name.NAMESPACE, "NAMESPACE"),
            Map.entry(Name.SELECT, "SELECT INBOX"),
            Map.entry(Name.EXAMINE, "EXAMINE INBOX"),
            Map.entry(Name.CREATE, "CREATE Drafts"),
            Map.entry(Name.DELETE, "DELETE Drafts"),
            Map.entry(Name.RENAME, "RENAME Drafts Old"),
            Map.entry(Name.SUBSCRIBE, "SUBSCRIBE Drafts"),
            Map.entry(Name.UNSUBSCRIBE, "UNSUBSCRIBE Drafts"),
            Map.entry(Name.LIST, "LIST \"\" *"),
            Map.entry(Name.LSUB, "LSUB \"\" *"),
            Map.entry(Name.STATUS, "STATUS INBOX (MESSAGES)"),
            Map.entry(Name.APPEND, "APPEND INBOX {2+}\r\nhi"),
            Map.entry(Name.IDLE, "IDLE"),
            Map.entry(Name.GETQUOTA, "GETQUOTA \"\""),
            Map.entry(Name.GETQUOTAROOT, "GETQUOTAROOT INBOX"),
            Map.entry(Name.SETQUOTA, "SETQUOTA \"\" (STORAGE 512)"),
            Map.entry(Name.COMPRESS, "COMPRESS DEFLATE"),
            Map.entry(Name.GENURLAUTH, "GENURLAUTH \"imap://joe@example.com/INBOX/;uid=20;urlauth=anonymous\" INTERNAL"),
            Map.entry(Name.RESETKEY, "RESETKEY"),
            Map.entry(Name.URLFETCH, "URLFETCH \"imap://joe@example.com/INBOX/;uid=20\""),
            Map.entry(Name.NOTIFY, "NOTIFY NONE"),
            Map.entry(Name.CHECK, "CHECK"),
            Map.entry(Name.CLOSE, "CLOSE"),
            Map.entry(Name.UNSELECT, "UNSELECT"),
            Map.entry(Name.FETCH, "FETCH 1 FLAGS"),
            Map.entry(Name.STORE, "STORE 1 +FLAGS (\\Seen)"),
            Map.entry(Name.COPY, "COPY 1 Drafts"),
            Map.entry(Name.MOVE, "MOVE 1 Drafts"),
            Map.entry(Name.SEARCH, "SEARCH ALL"),
            Map.entry(Name.SORT, "SORT (DATE) UTF-8 ALL"),
            Map.entry(Name.THREAD, "THREAD REFERENCES UTF-8 ALL"),
            Map.entry(Name.EXPUNGE, "EXPUNGE"),
            Map.entry(Name.CANCELUPDATE, "CANCELUPDATE \"a0\""));

    private static ImapParser.Result parse(String command) {
        ImapParser parser = new ImapParser();
        ByteBuffer in = ByteBuffer.wrap(("a1 " + command + "\r\n").getBytes(StandardCharsets.US_ASCII));
        ImapParser.Result r;
        do {
            r = parser.next(in, ImapParser.Mode.COMMAND, 1 << 20);
        } while (r instanceof ImapParser.NeedMore && in.hasRemaining());
        return r;
    }

    private static ImapCommand command(String line) {
        ImapParser.Result r = parse(line);
        assertThat(r).as(line).isInstanceOf(ImapParser.Command.class);
        return ((ImapParser.Command) r).command();
    }

    @ParameterizedTest
    @EnumSource(Name.class)
    void theParserMakesTheRowsCommandAndItsHandlerTakesIt(Name name) {
        assertThat(SAMPLES).as("a sample line for " + name).containsKey(name);
        ImapCommand c = command(SAMPLES.get(name));
        assertThat(c.name()).isEqualTo(name);
        assertThat(CommandTable.of(name).type().isInstance(c)).as(name + "'s handler takes " + c.getClass().getSimpleName()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(Name.class)
    void uidPrefixesExactlyTheCommandsWhoseRowSaysSo(Name name) {
        // RFC 9051 §6.4.9: UID EXPUNGE takes a UID set, which plain EXPUNGE does not.
        String line = "UID " + (name == Name.EXPUNGE ? "EXPUNGE 1:*" : SAMPLES.get(name));
        if (name.takesUid()) {
            assertThat(command(line).name()).isEqualTo(name);
        } else {
            assertThat(parse(line)).isEqualTo(new ImapParser.Error(Optional.of("a1"),
                    "UID must be followed by FETCH, STORE, COPY, MOVE, SEARCH, SORT, THREAD or EXPUNGE", false,
                    Optional.empty()));
        }
    }

    @ParameterizedTest
    @EnumSource(Name.class)
    void everyCommandIsAcceptedInSomeStateButLogout(Name name) {
        List<ImapState> states = EnumSet.allOf(ImapState.class).stream().filter(name::allowedIn).toList();
        assertThat(states).isNotEmpty().doesNotContain(ImapState.LOGOUT);
    }
}
