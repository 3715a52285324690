package org.castellan.server.imap;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ImapParser;
import org.castellan.protocol.imap.ImapState;
import org.castellan.protocol.imap.ImapStrings;
import org.castellan.protocol.imap.ModifiedUtf7;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.SaslExchange;
import org.castellan.server.config.TlsMode;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.LineSession;
import org.castellan.store.MessageMeta;
import org.castellan.store.StoreException;
import org.castellan.store.UidRange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine of one IMAP connection: feeds received bytes to the pure {@link ImapParser}, checks
 * each command against its row of the command table ({@link ImapCommand.Name}, {@link CommandTable})
 * and runs one command at a time. A command that waits (store, authentication) suspends reading;
 * pipelined commands stay queued and run, in order, when it is done (RFC 9051 §5.5 allows a
 * server to serialize them).
 *
 * <p>Everything here runs on the connection's event loop. Work on other threads comes back
 * through {@link #blocking} and {@link #await}, which hop to the event loop before touching the
 * session. Store events are hopped the same way into the {@link SelectedMailbox} queue.
 */
final class ImapSession extends LineSession {

    private static final Logger log = LoggerFactory.getLogger(ImapSession.class);

    /** BAD responses before the session is closed: a real client makes few, a scanner many. */
    static final int MAX_ERRORS = 20;
    /** Failed logins on one connection before it is closed; AuthService's limiter does the rest. */
    static final int MAX_AUTH_FAILURES = 3;
    /** Literals before login carry a user name or password at most. */
    static final long MAX_LITERAL_BEFORE_LOGIN = 4096;
    /**
     * RFC 7889 APPENDLIMIT: the largest message APPEND takes. Messages stream through a
     * {@link LiteralSpool} to the store, so this bounds temporary disk and stored size, not memory.
     */
    static final long APPEND_LIMIT = 32L * 1024 * 1024;

    private final ImapService service;
    private final LiteralSpool literals;
    private final ImapParser parser;
    private ImapState state = ImapState.NOT_AUTHENTICATED;
    private int authFailures;
    private SaslExchange sasl;
    private String saslTag;
    private String idleTag;
    private long accountId;
    private String account;
    private SelectedMailbox selected;
    private final SearchContexts searchContexts = new SearchContexts();
    private boolean rev2;
    private boolean condStore;
    /** RFC 7162 §3.1: CONDSTORE was just enabled with a mailbox selected; the command's end reports HIGHESTMODSEQ. */
    private boolean announceHighestModSeq;
    /**
     * RFC 9051 §7.5.1: the command in progress is FETCH, STORE or SEARCH by sequence number (or
     * SORT or THREAD, which answer with sequence numbers too): no EXPUNGE may be sent until it ends.
     */
    private boolean expungesHeld;
    private boolean qresync;
    private boolean utf8Accept;

    ImapSession(ImapService service, Connection connection) {
        // Reading stops while a command waits: a client cannot queue up unbounded input.
        super(connection, "imap", service.blocking(), true);
        this.service = service;
        this.literals = new LiteralSpool(service.spoolDirectory());
        this.parser = new ImapParser(literals);
    }

    @Override
    protected String greeting() {
        return "* OK [CAPABILITY " + Capability.list(this) + "] Castellan IMAP server ready";
    }

    // ---- input

    @Override
    protected boolean step() {
        if (hearsAtOnce() && selected != null && selected.hasPending()) {
            // RFC 2177: an idling client hears of changes as they happen, also of those that came while it was busy.
            flushUpdates(() -> { });
            return true;
        }
        if (notifier != null && notifier.deliver()) return true;
        if (!pending().isReadable()) return false;
        ImapParser.Mode mode = sasl != null ? ImapParser.Mode.SASL_RESPONSE
                : idleTag != null ? ImapParser.Mode.IDLE : ImapParser.Mode.COMMAND;
        long maxLiteral = state == ImapState.NOT_AUTHENTICATED ? MAX_LITERAL_BEFORE_LOGIN : APPEND_LIMIT;
        boolean utf8 = utf8Quoted();
        long literalOctets = literals.received();
        ImapParser.Result result = parse(view -> parser.next(view, mode, maxLiteral, utf8));
        if (literals.received() != literalOctets) progress(); // a literal on its way is not idleness; a line must end
        if (!parser.inCommand()) literals.commandEnded();
        switch (result) {
            case ImapParser.NeedMore n -> { }
            case ImapParser.Continue c -> write("+ Ready for literal data\r\n");
            case ImapParser.Command c -> dispatch(c.tag(), c.command());
            case ImapParser.SaslLine l -> Authenticate.respond(this, l);
            case ImapParser.Done d -> Idle.done(this);
            case ImapParser.Error e -> refused(e);
        }
        return !(result instanceof ImapParser.NeedMore);
    }

    @Override
    protected void resetParser() {
        parser.reset();
    }

    private void dispatch(String tag, ImapCommand parsed) {
        CommandTable.Row<?> row = CommandTable.of(parsed.name());
        String refusal = parsed.name().allowedIn(state) ? row.refusal(this, parsed) : "Command not valid in this state";
        if (refusal != null) {
            if (parsed instanceof ImapCommand.Append a) Append.release(a);
            bad(tag, refusal);
            return;
        }
        ImapCommand command;
        try {
            // Mailbox names travel as modified UTF-7 (RFC 3501 §5.1.3) unless UTF-8 (RFC 9051 §5.1).
            command = utf8Names() ? parsed : row.namesIn(parsed);
        } catch (CommandTable.UnknownName e) {
            if (parsed instanceof ImapCommand.Append a) Append.release(a);
            unknownName(tag, parsed, e);
            return;
        }
        expungesHeld = numbersMustHold(command);
        if (enablesCondStore(command)) condStoreEnabled(!(command instanceof ImapCommand.Select));
        row.run(this, tag, command);
    }

    /** RFC 9051 §7.5.1, RFC 3501 §7.4.1: the commands during which no EXPUNGE may be sent. */
    private static boolean numbersMustHold(ImapCommand c) {
        return switch (c) {
            case ImapCommand.Fetch x -> !x.uid();
            case ImapCommand.Store x -> !x.uid();
            case ImapCommand.Search x -> !x.uid();
            case ImapCommand.Sort x -> !x.uid();
            case ImapCommand.Thread x -> !x.uid();
            default -> false;
        };
    }

    /**
     * RFC 7162 §3.1 "CONDSTORE enabling commands": SELECT/EXAMINE (CONDSTORE), STATUS
     * (HIGHESTMODSEQ), FETCH or SEARCH with MODSEQ, FETCH CHANGEDSINCE, STORE UNCHANGEDSINCE;
     * ENABLE CONDSTORE enables it in {@link Enable}.
     */
    private static boolean enablesCondStore(ImapCommand c) {
        return switch (c) {
            case ImapCommand.Select x -> x.condStore();
            case ImapCommand.Status x -> x.items().contains("HIGHESTMODSEQ");
            case ImapCommand.Fetch x -> x.changedSince().isPresent()
                    || x.attributes().stream().anyMatch(a -> a instanceof org.castellan.protocol.imap.FetchAttribute.ModSeq);
            case ImapCommand.Search x -> hasModSeqKey(x.key());
            case ImapCommand.Store x -> x.unchangedSince().isPresent();
            default -> false;
        };
    }

    static boolean hasModSeqKey(org.castellan.protocol.imap.SearchKey k) {
        return switch (k) {
            case org.castellan.protocol.imap.SearchKey.ModSeq m -> true;
            case org.castellan.protocol.imap.SearchKey.Not n -> hasModSeqKey(n.key());
            case org.castellan.protocol.imap.SearchKey.Or o -> hasModSeqKey(o.left()) || hasModSeqKey(o.right());
            case org.castellan.protocol.imap.SearchKey.And a -> a.keys().stream().anyMatch(ImapSession::hasModSeqKey);
            default -> false;
        };
    }

    private void unknownName(String tag, ImapCommand c, CommandTable.UnknownName e) {
        // RFC 9051 §6.3.2: a failing SELECT still closes the mailbox that was selected.
        if (c instanceof ImapCommand.Select) Select.closePrevious(this);
        // RFC 9051 §6.3.12, §6.4.7: no [TRYCREATE], as creating that name fails too.
        no(tag, e.code, e.code.equals("CANNOT") ? "Mailbox name is not valid modified UTF-7 (RFC 3501 section 5.1.3)"
                : "No mailbox has that name: it is not valid modified UTF-7 (RFC 3501 section 5.1.3)");
    }

    /** A mailbox name for a response, in the session's encoding. */
    static String mailboxOut(String name, boolean rev2) {
        return ImapStrings.astring(rev2 ? name : ModifiedUtf7.encode(name), rev2);
    }

    private void refused(ImapParser.Error e) {
        if (sasl != null) {
            // RFC 9051 §6.2.2: a response that is not valid base64 fails the exchange with BAD.
            SaslExchange exchange = sasl;
            String tag = saslTag;
            sasl = null;
            saslTag = null;
            exchange.abort();
            bad(tag, "Invalid base64 in authentication response");
            return;
        }
        if (idleTag != null) {
            // RFC 2177 §3: anything but DONE ends IDLE badly.
            String tag = idleTag;
            idleTag = null;
            bad(tag, "Expected DONE");
            return;
        }
        // The parser names its argument; the session knows which limit it passed.
        String limit = e.limit().map(l -> !l.equals("maxLiteral") ? l
                : state == ImapState.NOT_AUTHENTICATED ? "MAX_LITERAL_BEFORE_LOGIN" : "APPENDLIMIT").orElse("parser");
        if (e.fatal()) {
            closeAtLimit(limit, "* BYE " + (e.code().isPresent() ? "[" + e.code().get() + "] " : "") + e.message());
            return;
        }
        if (e.limit().isPresent()) {
            log.info("{} imap command refused at limit {}: {}", connection().logId(), limit, e.message());
        }
        String code = e.code().map(c -> "[" + c + "] ").orElse("");
        if (e.tag().isPresent()) bad(e.tag().get(), code + e.message());
        else error("* BAD " + code + e.message());
    }

    // ---- output

    void untagged(String text) {
        write("* " + text + "\r\n");
    }

    /** A BAD: counted, the session ends at {@link #MAX_ERRORS}. */
    void bad(String tag, String text) {
        error(tag + " BAD " + text);
    }

    private void error(String line) {
        if (tooManyErrors(MAX_ERRORS)) closeAtLimit("MAX_ERRORS", "* BYE Too many errors, closing connection");
        else write(oneLine(line) + "\r\n");
    }

    /** Ends the session because a protocol limit was reached; the log names the limit. */
    private void closeAtLimit(String limit, String bye) {
        log.info("{} imap closing at limit {}: {}", connection().logId(), limit, bye);
        closeWith(bye);
    }

    /** NO with an optional response code (RFC 9051 §7.1), sent after pending mailbox updates. */
    void no(String tag, String code, String text) {
        finish(tag, "NO " + (code == null ? "" : "[" + code + "] ") + text, true);
    }

    void ok(String tag, String text) {
        finish(tag, "OK " + text, true);
    }

    /**
     * Ends a command: first the updates of the selected mailbox the client may hear now, then the
     * tagged line. {@code expungesAllowed} false (FETCH, STORE, SEARCH by sequence number pass
     * their UID flag) holds expunges back, as the dispatcher does for those commands anyway
     * (RFC 9051 §7.5.1).
     */
    void finish(String tag, String text, boolean expungesAllowed) {
        flushUpdates(expungesAllowed && !expungesHeld, () -> write(tag + " " + oneLine(text) + "\r\n"));
    }

    /** Tells the client what changed in the selected mailbox, then runs {@code then}. */
    void flushUpdates(Runnable then) {
        flushUpdates(!expungesHeld, then);
    }

    /**
     * Tells the client what changed in the selected mailbox, then runs {@code then}. First
     * {@link #syncWithStore}: every change committed before now is told (RFC 9051 §5.2), not only
     * those whose events happen to have arrived. Then the view's queued events are applied
     * ({@link SelectedMailbox#drain}), and, when messages came in or flags changed, one blocking
     * step claims the new messages' \Recent (RFC 3501 §2.3.2) and reads the changed flags. The
     * client hears, in this order: a new FLAGS when a keyword is new to it, EXISTS, EXPUNGE or
     * VANISHED, RECENT (IMAP4rev1), the FETCH of changed flags, and HIGHESTMODSEQ after the first
     * CONDSTORE enabling command.
     */
    private void flushUpdates(boolean expungesAllowed, Runnable then) {
        SelectedMailbox view = selected;
        if (view == null) {
            then.run();
            return;
        }
        syncWithStore(view, () -> tellUpdates(view, expungesAllowed, then));
    }

    /**
     * Runs {@code then} once the view has heard every change the store has published for its
     * mailbox: a change another session committed may still be on its way through the store's
     * event thread. Waits without blocking the event loop; reading stays suspended meanwhile.
     */
    void syncWithStore(SelectedMailbox view, Runnable then) {
        long published = service.store().publishedModSeq(view.mailbox.id());
        if (view.heardUpTo(published)) {
            then.run();
            return;
        }
        CompletableFuture<Void> heard = new CompletableFuture<>();
        view.whenHeard(published, () -> heard.complete(null));
        await(heard, v -> then.run(), e -> then.run());
    }

    /** The blocking part of a flush: the first recent UID for the new messages, and the changed messages' flags. */
    private record Reread(long firstRecent, List<MessageMeta> flags) {}

    private void tellUpdates(SelectedMailbox view, boolean expungesAllowed, Runnable then) {
        if (view != selected) {
            then.run();
            return;
        }
        // RFC 5267 §4.3: the search contexts hear of the same changes, around the drain.
        Runnable told = searchContexts.beforeDrain(this, view, expungesAllowed, then);
        SelectedMailbox.Update update = view.drain(qresync, expungesAllowed);
        if (view.deleted()) {
            for (String line : update.lines()) untagged(line);
            // RFC 9051 §7.1.5: the selected mailbox is gone; nothing sensible can follow.
            closeWith("* BYE Selected mailbox was deleted");
            return;
        }
        // \Recent: a read-write session claims new messages (also an IMAP4rev2 one, which is told of
        // them first but has no \Recent to show); a read-only IMAP4rev1 session shows what is unclaimed.
        boolean recentNeeded = !update.added().isEmpty() && (!view.readOnly || !rev2);
        if (update.flagUids().isEmpty() && !recentNeeded) {
            tell(view, update, new Reread(Long.MAX_VALUE, List.of()));
            told.run();
            return;
        }
        long id = view.mailbox.id();
        var store = service.store();
        blocking(() -> {
            long firstRecent = Long.MAX_VALUE;
            if (recentNeeded) {
                firstRecent = view.readOnly ? store.firstRecentUid(id) : store.claimRecent(id, update.added().last());
            }
            List<MessageMeta> flags = List.of();
            if (!update.flagUids().isEmpty()) {
                flags = store.listMessages(id, new UidRange(update.flagUids().first(), update.flagUids().last()));
            }
            return new Reread(firstRecent, flags);
        }, reread -> {
            tell(view, update, reread);
            told.run();
        }, e -> {
            log.warn("{} imap mailbox update failed: {}", connection().logId(), e.toString());
            tell(view, update, new Reread(Long.MAX_VALUE, List.of()));
            told.run();
        });
    }

    private void tell(SelectedMailbox view, SelectedMailbox.Update update, Reread reread) {
        List<MessageMeta> changed = reread.flags().stream()
                .filter(m -> update.flagUids().contains(m.uid()) && view.msnOf(m.uid()) > 0).toList();
        boolean newKeywords = update.newKeywords();
        for (MessageMeta m : changed) newKeywords |= view.learnKeywords(m.flags());
        if (newKeywords) announceFlags(view);
        for (String line : update.lines()) untagged(line);
        if (!rev2) view.recentFrom(reread.firstRecent(), update.added());
        // RFC 3501 §7.3.2: RECENT goes with a change of size.
        if (!rev2 && !update.added().isEmpty()) untagged(view.recentCount() + " RECENT");
        for (MessageMeta m : changed) untagged(view.msnOf(m.uid()) + " FETCH (" + flagsItem(m, view) + ")");
        if (announceHighestModSeq) {
            announceHighestModSeq = false;
            untagged("OK [HIGHESTMODSEQ " + view.toldModSeq() + "] Highest");
        }
    }

    /** RFC 9051 §7.3.5: a new FLAGS, and PERMANENTFLAGS with it, once the client meets a new keyword. */
    void announceFlags(SelectedMailbox view) {
        for (String line : view.flagsLines()) untagged(line);
    }

    /** {@code FLAGS (...) UID n} and, with CONDSTORE, {@code MODSEQ (m)}. */
    String flagsItem(MessageMeta m, SelectedMailbox view) {
        return flagsItem(m.uid(), m.flags(), m.modSeq(), view);
    }

    String flagsItem(long uid, java.util.Set<String> flags, long modSeq, SelectedMailbox view) {
        java.util.Set<String> shown = view == null ? flags : view.flagsOf(uid, flags);
        String s = "FLAGS (" + String.join(" ", new java.util.TreeSet<>(shown)) + ") UID " + uid;
        return condStoreOn(view) ? s + " MODSEQ (" + modSeq + ")" : s;
    }

    boolean condStoreOn(SelectedMailbox view) {
        return condStore || (view != null && view.condStore);
    }

    @Override
    public void closeWith(String line) {
        state = ImapState.LOGOUT;
        super.closeWith(line);
    }

    // ---- waiting

    /**
     * Runs {@code work} (blocking store calls) on the blocking executor, then {@code then} on
     * the event loop; reading stops meanwhile. A store failure is answered NO with its code.
     */
    <T> void blocking(String tag, Supplier<T> work, Consumer<T> then) {
        blocking(work, then, e -> storeFailure(tag, e));
    }

    /** A failure no command answered: the client would wait for its tagged reply forever. */
    @Override
    protected void storeFailure(Throwable e) {
        log.error("{} imap internal error", connection().logId(), e);
        closeWith("* BYE [SERVERBUG] Internal error");
    }

    /**
     * Runs {@code then} after this session's own command added {@code uid} to a mailbox. The
     * tagged reply that follows synchronises with the store ({@link #syncWithStore}), so when the
     * mailbox is the selected one the client hears its EXISTS before the OK (RFC 9051 §6.3.12).
     */
    void afterOwnAddition(long mailboxId, long uid, Runnable then) {
        if (notifier != null) notifier.ownAddition(mailboxId, uid);
        then.run();
    }

    /** The RFC 5530 response code for a store failure; the detail goes to the log only. */
    void storeFailure(String tag, Throwable e) {
        if (!(e instanceof StoreException s)) {
            log.error("{} imap internal error", connection().logId(), e);
            no(tag, "SERVERBUG", "Internal error");
            return;
        }
        log.info("{} imap store refused: {}", connection().logId(), s.getMessage());
        switch (s.kind()) {
            case NOT_FOUND -> no(tag, "NONEXISTENT", "No such mailbox or message");
            case ALREADY_EXISTS -> no(tag, "ALREADYEXISTS", "Mailbox already exists");
            case INVALID -> no(tag, "CANNOT", s.getMessage());
            case QUOTA_EXCEEDED -> no(tag, "OVERQUOTA", "Quota exceeded");
            case UNAVAILABLE -> no(tag, "UNAVAILABLE", "Mailbox temporarily unavailable, try again later");
        }
    }

    /** For APPEND, COPY and MOVE: a missing target mailbox is NO [TRYCREATE] (RFC 9051 §6.3.12). */
    void targetFailure(String tag, Throwable e) {
        if (e instanceof StoreException se && se.kind() == StoreException.Kind.NOT_FOUND) {
            no(tag, "TRYCREATE", "No such mailbox; create it first");
        } else {
            storeFailure(tag, e);
        }
    }

    // ---- state shared by the commands

    ImapService service() { return service; }

    ImapState state() { return state; }

    long accountId() { return accountId; }

    /** The authenticated account's address, as it logged in. */
    String account() { return account; }

    Optional<SelectedMailbox> selected() { return Optional.ofNullable(selected); }

    /** RFC 5267 UPDATE contexts of the selected mailbox. */
    SearchContexts searchContexts() { return searchContexts; }

    boolean rev2() { return rev2; }

    void enableRev2() { rev2 = true; }

    /** ENABLE CONDSTORE (RFC 7162 §3.1). */
    void enableCondStore() { condStoreEnabled(true); }

    /**
     * RFC 7162 §3.1: after a CONDSTORE enabling command every untagged FETCH carries UID and
     * MODSEQ until the connection ends; the first one issued with a mailbox selected reports its
     * HIGHESTMODSEQ ({@code announce} false for SELECT/EXAMINE, which report it themselves).
     */
    private void condStoreEnabled(boolean announce) {
        if (condStore) return;
        condStore = true;
        if (announce && selected != null) announceHighestModSeq = true;
    }

    /** RFC 7162 §3.2.3: enabling QRESYNC enables CONDSTORE too. */
    void enableQResync() {
        qresync = true;
        condStore = true;
    }

    /** Whether expunges are reported as VANISHED (RFC 7162 §3.2.10). */
    boolean qresync() { return qresync; }

    void enableUtf8Accept() { utf8Accept = true; }

    boolean utf8Accept() { return utf8Accept; }

    /**
     * Whether mailbox names travel as UTF-8 rather than modified UTF-7: IMAP4rev2
     * (RFC 9051 §5.1) or UTF8=ACCEPT (RFC 6855 §3).
     */
    boolean utf8Names() { return rev2 || utf8Accept; }

    /**
     * Whether quoted strings may carry UTF-8 now: after IMAP4rev2 or UTF8=ACCEPT is enabled, and
     * before login, where a user name or password may be UTF-8 (RFC 6855 §5). Otherwise RFC 3501
     * §9 allows 7-bit only.
     */
    private boolean utf8Quoted() { return state == ImapState.NOT_AUTHENTICATED || utf8Names(); }

    /**
     * RFC 4978 §3: compression starts right after the CRLF of the tagged OK, in both directions.
     * Anything the client sent after COMPRESS before seeing the OK is a protocol violation and is
     * dropped, as after STARTTLS.
     */
    void startCompression(String tag) {
        write(tag + " OK DEFLATE active\r\n");
        connection().startCompression();
        discardInput();
    }

    /** Whether STARTTLS may be offered and used now (RFC 9051 §6.2.1). */
    boolean startTlsAvailable() {
        return connection().listener().tls() == TlsMode.STARTTLS && !connection().tlsStarted();
    }

    void sasl(String tag, SaslExchange exchange) {
        this.saslTag = tag;
        this.sasl = exchange;
    }

    /** Takes the waiting exchange and its tag, or null. */
    SaslExchange takeSasl() {
        SaslExchange x = sasl;
        sasl = null;
        return x;
    }

    String saslTag() { return saslTag; }

    void authFailed(String tag, String text) {
        if (++authFailures >= MAX_AUTH_FAILURES) {
            write(tag + " NO " + text + "\r\n");
            closeAtLimit("MAX_AUTH_FAILURES", "* BYE Too many failed logins");
        } else {
            write(tag + " NO " + text + "\r\n");
        }
    }

    /**
     * After successful authentication: finds the account, then enters AUTHENTICATED; on an edge,
     * relays the session to the account's mailbox node instead (docs/roles.md §3).
     */
    void loggedIn(String tag, String address, String mechanism) {
        if (service.relay().isPresent()) {
            Relayed.login(this, service.relay().get(), tag, address, mechanism);
            return;
        }
        blocking(tag, () -> service.directory().getAccount(EmailAddress.of(address))
                .orElseThrow(() -> StoreException.notFound("account " + address + " is gone")).id(), id -> {
            accountId = id;
            account = address;
            state = ImapState.AUTHENTICATED;
            connection().authenticated(address, mechanism);
            write(tag + " OK [CAPABILITY " + Capability.list(this) + "] Logged in\r\n");
        });
    }

    /**
     * On a mailbox node's link (docs/roles.md §2): the edge authenticated the client as
     * {@code opening.account()}; the session starts in AUTHENTICATED and its first line is the
     * answer to the opening, with the capabilities the edge shows in its tagged OK.
     */
    void openRelayed(io.netty.channel.ChannelPipeline pipeline, java.time.Duration autologout,
                     org.castellan.protocol.link.LinkOpening opening) {
        openSilently(pipeline, autologout);
        blocking(() -> service.directory().getAccount(EmailAddress.of(opening.account())), found -> {
            if (found.isEmpty()) {
                closeWith(Relayed.refusal(org.castellan.protocol.link.LinkOpening.Refused.NO_ACCOUNT, "No such account here"));
                return;
            }
            accountId = found.get().id();
            account = opening.account();
            state = ImapState.AUTHENTICATED;
            connection().authenticated(account, opening.mechanism());
            write(new org.castellan.protocol.link.LinkOpening.Ready(Capability.list(this)).line());
        }, e -> {
            log.warn("{} imap relayed login of {} failed: {}", connection().logId(), opening.account(), e.toString());
            closeWith(Relayed.refusal(org.castellan.protocol.link.LinkOpening.Refused.UNAVAILABLE, "Mailbox unavailable"));
        });
    }

    /** The fields and values of the client's ID command (RFC 2971), alternating; NIL as "". */
    private List<String> clientId = List.of();

    void clientId(List<String> fieldsAndValues) {
        clientId = fieldsAndValues.stream().map(v -> v == null ? "" : v).toList();
    }

    List<String> clientId() { return clientId; }

    /** Leaves the pipeline to a relay; returns what the client sent behind its login ({@link LineSession#handOver}). */
    io.netty.buffer.ByteBuf handOverToRelay() {
        return handOver();
    }

    /** Makes {@code view} the selected mailbox. */
    void select(SelectedMailbox view) {
        deselect();
        announceHighestModSeq = false;
        selected = view;
        state = ImapState.SELECTED;
    }

    /**
     * The store listener for {@code view}: hops each event to the event loop and queues it in the
     * view ({@link SelectedMailbox#event}), which also releases commands waiting in
     * {@link #syncWithStore}; while idling, the client hears at once (RFC 2177).
     */
    java.util.function.Consumer<org.castellan.store.StoreEvent> listener(SelectedMailbox view) {
        var loop = connection().channel().eventLoop();
        return event -> loop.execute(() -> {
            if (closed()) {
                // The connection went away while SELECT was still opening this view.
                view.close();
                return;
            }
            if (view.closed()) return;
            view.event(event);
            if (selected == view && hearsAtOnce() && !busy()) drain();
        });
    }

    void deselect() {
        searchContexts.clear(); // RFC 5267 §4.3: updates cease when the mailbox is no longer selected
        if (selected != null) {
            selected.close();
            selected = null;
        }
        if (state == ImapState.SELECTED) state = ImapState.AUTHENTICATED;
    }

    void idle(String tag) { idleTag = tag; }

    String takeIdleTag() {
        String t = idleTag;
        idleTag = null;
        return t;
    }

    // ---- events

    @Override
    protected String goodbyeOnIdle() {
        log.info("{} imap autologout", connection().logId());
        return "* BYE Autologout; idle for too long"; // RFC 9051 §5.4
    }

    @Override
    protected String goodbyeOnShutdown() {
        return "* BYE Server shutting down, try again later";
    }

    /** RFC 9051 §7.1.5: BYE, the server closes the connection; the client logs in again. */
    @Override
    protected String goodbyeOnDeparture(String reason) {
        return "* BYE " + reason;
    }

    /** RFC 9051 §5.4: a timer before authentication may be shorter than the 30-minute autologout. */
    @Override
    protected String goodbyeOnLoginTimeout() {
        return "* BYE Autologout; no login in time";
    }

    /**
     * Not in the middle of IDLE, of an authentication exchange, or of a command still arriving
     * (an APPEND whose literal is on its way runs to its end within the shutdown grace).
     */
    @Override
    protected boolean readyToStop() {
        return idleTag == null && sasl == null && !parser.inCommand();
    }

    @Override
    protected void onShutdownRequested() {
        if (idleTag != null || (!busy() && !parser.inCommand() && state != ImapState.LOGOUT)) closeWith(leavingGoodbye());
    }

    @Override
    protected void onClose() {
        parser.reset(); // releases the literals of a command that was still arriving
        if (sasl != null) {
            sasl.abort();
            sasl = null;
        }
        if (selected != null) selected.close();
        if (notifier != null) notifier.close();
    }

    // ---- NOTIFY (RFC 5465): the hooks of Notify and Notifier

    /** What the client's NOTIFY SET asked for; null before NOTIFY and after NOTIFY NONE. */
    private Notifier notifier;

    /** Replaces what NOTIFY asked for; the previous notifier stops (RFC 5465 §3). */
    void notifier(Notifier next) {
        if (notifier != null) notifier.close();
        notifier = next;
    }

    /**
     * Whether the client hears of the selected mailbox's changes as they happen, between
     * commands: while idling (RFC 2177), or after NOTIFY SET (SELECTED ...) (RFC 5465 §5.2, §5.3).
     */
    private boolean hearsAtOnce() {
        return idleTag != null || (notifier != null && notifier.selectedAtOnce());
    }

    /** A notification is waiting: out with it now unless a command is in progress (it follows the command then). */
    void wake() {
        if (!busy() && !closed()) drain();
    }

    /** Whether the connection has gone. */
    boolean ended() {
        return closed();
    }

    /**
     * The client has read enough for more notifications to go out. Netty may say so in the middle
     * of a flush, so the session goes on afterwards, as a task of its own.
     */
    @Override
    public void channelWritabilityChanged(io.netty.channel.ChannelHandlerContext ctx) {
        if (notifier != null && ctx.channel().isWritable()) ctx.executor().execute(this::wake);
        // LineSession resumes commands and wakes blocking writers; it passes the event on.
        super.channelWritabilityChanged(ctx);
    }
}
