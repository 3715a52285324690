package org.castellan.server.pop3;

import java.util.List;
import java.util.Optional;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.protocol.pop3.Pop3Command;
import org.castellan.protocol.pop3.Pop3Keyword;
import org.castellan.protocol.pop3.Pop3Parser;
import org.castellan.security.auth.SaslExchange;
import org.castellan.server.config.TlsMode;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.LineSession;
import org.castellan.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine of one POP3 connection: feeds received bytes to the pure {@link Pop3Parser}, checks
 * each command against the {@link Pop3State} table, and runs one command at a time. A command
 * that waits (store, authentication, sending a message) suspends reading; pipelined commands
 * (RFC 2449 §6.6) stay queued and run, in order, when it is done.
 *
 * <p>Everything here runs on the connection's event loop. Work on other threads (store calls on
 * the blocking executor, AuthService futures) comes back through {@link #blocking} and
 * {@link #await}, which hop to the event loop before touching the session.
 */
final class Pop3Session extends LineSession {

    private static final Logger log = LoggerFactory.getLogger(Pop3Session.class);

    /**
     * Unknown commands, bad arguments and commands out of state before the session is closed: a
     * real client makes one or two such mistakes, a scanner or a confused peer makes many.
     */
    static final int MAX_ERRORS = 10;
    /** Failed logins on one connection before it is closed; the limiter in AuthService does the rest. */
    static final int MAX_AUTH_FAILURES = 3;

    private final Pop3Service service;
    private final Pop3Parser parser = new Pop3Parser();
    private Pop3State state = Pop3State.AUTHORIZATION;
    private int authFailures;
    private String pendingUser;
    private SaslExchange sasl;
    private String lockedAccount;
    private Maildrop maildrop;

    Pop3Session(Pop3Service service, Connection connection) {
        // Reading stops while a command waits: a client cannot queue up unbounded input.
        super(connection, "pop3", service.blocking(), true);
        this.service = service;
    }

    @Override
    protected String greeting() {
        return "+OK Castellan POP3 server ready";
    }

    // ---- input

    @Override
    protected boolean step() {
        if (!pending().isReadable()) return false;
        Pop3Parser.Mode mode = sasl != null ? Pop3Parser.Mode.SASL_RESPONSE : Pop3Parser.Mode.COMMAND;
        Pop3Parser.Result result = parse(view -> parser.next(view, mode));
        switch (result) {
            case Pop3Parser.NeedMore n -> { }
            case Pop3Parser.Command c -> dispatch(c.command());
            case Pop3Parser.SaslResponse r -> Auth.respond(this, r);
            case Pop3Parser.Error e -> refused(e);
        }
        return !(result instanceof Pop3Parser.NeedMore);
    }

    @Override
    protected void resetParser() {
        parser.reset();
    }

    private void dispatch(Pop3Command command) {
        if (!state.allows(command.keyword())) {
            error("Command not valid in this state");
            return;
        }
        // RFC 1939 §7: PASS is valid only right after USER.
        if (command.keyword() != Pop3Keyword.PASS) pendingUser = null;
        switch (command) {
            case Pop3Command.User c -> User.run(this, c);
            case Pop3Command.Pass c -> Pass.run(this, c);
            case Pop3Command.Auth c -> Auth.run(this, c);
            case Pop3Command.Stls c -> Stls.run(this);
            case Pop3Command.Capa c -> Capa.run(this);
            case Pop3Command.Stat c -> Stat.run(this);
            case Pop3Command.List c -> ListCommand.run(this, c);
            case Pop3Command.Uidl c -> Uidl.run(this, c);
            case Pop3Command.Retr c -> Retr.run(this, c);
            case Pop3Command.Top c -> Top.run(this, c);
            case Pop3Command.Dele c -> Dele.run(this, c);
            case Pop3Command.Rset c -> Rset.run(this);
            case Pop3Command.Noop c -> Noop.run(this);
            case Pop3Command.Quit c -> Quit.run(this);
        }
    }

    private void refused(Pop3Parser.Error e) {
        if (sasl != null) {
            // RFC 5034 §4: a response that is not valid base64 fails the exchange.
            SaslExchange exchange = sasl;
            sasl = null;
            exchange.abort();
        }
        if (e.kind() == Pop3Parser.ErrorKind.LINE_TOO_LONG) {
            closeWith("-ERR " + e.message());
        } else {
            error(e.message());
        }
    }

    /** A protocol error: counted, and the session ends at {@link #MAX_ERRORS}. */
    void error(String text) {
        if (tooManyErrors(MAX_ERRORS)) {
            closeWith("-ERR Too many errors, closing connection");
        } else {
            err(text);
        }
    }

    // ---- output

    void ok(String text) {
        write(text.isEmpty() ? "+OK\r\n" : "+OK " + oneLine(text) + "\r\n");
    }

    void err(String text) {
        write("-ERR " + oneLine(text) + "\r\n");
    }

    /** A multi-line response (RFC 1939 §3): the lines must not start with "." (callers send numbers and names). */
    void okMultiline(String text, List<String> lines) {
        StringBuilder b = new StringBuilder(text.isEmpty() ? "+OK" : "+OK " + text).append("\r\n");
        for (String line : lines) b.append(line).append("\r\n");
        write(b.append(".\r\n").toString());
    }

    // ---- waiting

    /** A store failure is answered with {@code -ERR [SYS/...]}. */
    @Override
    protected void storeFailure(Throwable e) {
        log.warn("{} pop3 store failure: {}", connection().logId(), e.toString());
        err(e instanceof StoreException s && s.isTemporary()
                ? "[SYS/TEMP] Mailbox temporarily unavailable, try again later"
                : "[SYS/PERM] Mailbox unavailable");
    }

    // ---- state shared by the commands

    Pop3Service service() { return service; }

    Pop3State state() { return state; }

    Maildrop maildrop() { return maildrop; }

    Optional<String> pendingUser() { return Optional.ofNullable(pendingUser); }

    void pendingUser(String user) { this.pendingUser = user; }

    void sasl(SaslExchange exchange) { this.sasl = exchange; }

    Optional<SaslExchange> sasl() { return Optional.ofNullable(sasl); }

    /** A failed login; the connection closes after {@link #MAX_AUTH_FAILURES}. */
    void authFailed(String reply) {
        if (++authFailures >= MAX_AUTH_FAILURES) closeWith("-ERR " + reply);
        else err(reply);
    }

    /** Whether STLS may be offered and used now (RFC 2595 §4: only once, only without TLS). */
    boolean stlsAvailable() {
        return connection().listener().tls() == TlsMode.STARTTLS && !connection().tlsStarted();
    }

    /**
     * After authentication: takes the maildrop lock and a snapshot of INBOX (RFC 1939 §4), then
     * enters TRANSACTION.
     */
    void openMaildrop(String account, String mechanism) {
        if (service.relay().isPresent()) {
            // docs/roles.md §3: on an edge the maildrop is the mailbox node's, locked there.
            Relayed.login(this, service.relay().get(), account, mechanism);
            return;
        }
        if (!service.locks().tryLock(account)) {
            // RFC 2449 §8.1.1: another session has the maildrop.
            log.info("{} pop3 maildrop of {} in use", connection().logId(), account);
            if (relayed) closeWith(refusal(LinkOpening.Refused.IN_USE, "Maildrop already locked"));
            else err("[IN-USE] Maildrop already locked, is another POP3 session running?");
            return;
        }
        lockedAccount = account;
        blocking(() -> Maildrop.load(service.directory(), service.store(), service.sizes(), account), drop -> {
            maildrop = drop;
            state = Pop3State.TRANSACTION;
            connection().authenticated(account, mechanism);
            String text = "Maildrop has " + drop.count() + " messages (" + drop.octets() + " octets)";
            if (relayed) write(new LinkOpening.Ready(text).line());
            else ok(text);
        }, e -> {
            unlock();
            if (relayed) {
                log.warn("{} pop3 relayed login of {} failed: {}", connection().logId(), account, e.toString());
                closeWith(refusal(e instanceof StoreException se && se.kind() == StoreException.Kind.NOT_FOUND
                        ? LinkOpening.Refused.NO_ACCOUNT : LinkOpening.Refused.UNAVAILABLE, "Maildrop unavailable"));
            } else {
                storeFailure(e);
            }
        });
    }

    /** Whether this session serves an edge's client on a mailbox node's link (docs/roles.md §2). */
    private boolean relayed;

    /**
     * On a mailbox node's link: the edge authenticated the client as {@code opening.account()};
     * the session takes the maildrop and its first line is the answer to the opening, whose
     * ready text the edge sends the client after {@code +OK}.
     */
    void openRelayed(io.netty.channel.ChannelPipeline pipeline, java.time.Duration autologout, LinkOpening opening) {
        relayed = true;
        openSilently(pipeline, autologout);
        openMaildrop(opening.account(), opening.mechanism());
    }

    private static String refusal(String code, String text) {
        return new LinkOpening.Refused(code, text).line().stripTrailing();
    }

    /** Leaves the pipeline to a relay; returns what the client sent behind its login ({@link LineSession#handOver}). */
    io.netty.buffer.ByteBuf handOverToRelay() {
        return handOver();
    }

    /** RFC 1939 §6: QUIT from TRANSACTION removes the marked messages, then says goodbye. */
    void enterUpdate() {
        state = Pop3State.UPDATE;
        Maildrop drop = maildrop;
        List<Long> uids = drop.deletedUids();
        blocking(() -> uids.isEmpty() ? null : service.store().expunge(drop.mailboxId(), uids), r -> {
            unlock();
            closeWith("+OK Castellan POP3 server signing off (" + drop.count() + " messages left)");
        }, e -> {
            log.warn("{} pop3 deletions failed: {}", connection().logId(), e.toString());
            unlock();
            closeWith("-ERR [SYS/TEMP] Some deleted messages not removed, try again later");
        });
    }

    private void unlock() {
        if (lockedAccount != null) {
            service.locks().unlock(lockedAccount);
            lockedAccount = null;
        }
    }

    // ---- events

    /** RFC 1939 §3: on autologout the server closes without a response and deletes nothing. */
    @Override
    protected String goodbyeOnIdle() {
        log.info("{} pop3 autologout", connection().logId());
        return null;
    }

    /**
     * RFC 1939 §3 closes a session ended by a timer without a response. The login deadline is not
     * the inactivity timer of §3 (at least 10 minutes): it bounds a session that never logs in.
     */
    @Override
    protected String goodbyeOnLoginTimeout() {
        return null;
    }

    @Override
    protected String goodbyeOnDeparture(String reason) {
        return "-ERR [SYS/TEMP] " + reason; // RFC 3206 §4: temporary, try again
    }

    @Override
    protected String goodbyeOnShutdown() {
        return "-ERR [SYS/TEMP] Server shutting down, try again later"; // RFC 2449 §8.1.2
    }

    @Override
    protected void onClose() {
        unlock();
        if (sasl != null) {
            sasl.abort();
            sasl = null;
        }
    }
}
