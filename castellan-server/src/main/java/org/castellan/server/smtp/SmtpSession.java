package org.castellan.server.smtp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.castellan.protocol.smtp.DataDecoder;
import org.castellan.protocol.smtp.LineDecoder;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.protocol.smtp.SmtpError;
import org.castellan.protocol.smtp.SmtpParser;
import org.castellan.security.auth.SaslExchange;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.Smtp;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.LineSession;
import org.castellan.server.transport.MessageSpool;
import org.castellan.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine of one SMTP connection: frames command lines, parses them with the pure
 * {@link SmtpParser}, checks each against the {@link Verb} table and runs one command at a time.
 * A command that waits (store, AuthService) stops reading; pipelined commands (RFC 2920) stay
 * buffered and run in order when it is done. DATA and BDAT content goes through
 * {@link DataDecoder} or is counted off, into a {@link MessageSpool}.
 *
 * <p>Everything here runs on the connection's event loop; work on other threads comes back
 * through {@link #blocking} and {@link #await}, which hop to the event loop first.
 */
final class SmtpSession extends LineSession {

    private static final Logger log = LoggerFactory.getLogger(SmtpSession.class);

    static Logger log() { return log; }

    /** Decoded content is copied to the spool in pieces of this size. */
    private static final int DATA_CHUNK = 16 * 1024;

    enum Mode { COMMAND, DATA, BDAT, AUTH_RESPONSE }

    private final SmtpService service;
    private final LineDecoder lines = new LineDecoder();
    private final ByteBuffer dataOut = ByteBuffer.allocate(DATA_CHUNK);
    private SmtpState state = SmtpState.CONNECTED;
    private Mode mode = Mode.COMMAND;
    private int commands;
    private int authFailures;
    private String helo;
    private boolean esmtp;
    private Transaction transaction;
    private MessageSpool spool;
    private DataDecoder decoder;
    private long bdatRemaining;
    private boolean bdatLast;
    private SaslExchange sasl;
    /** {@link System#nanoTime()} when the command line now arriving began; {@link #NO_DEADLINE} between lines. */
    private long commandStarted = NO_DEADLINE;
    /** When the content of the current DATA or BDAT chunk began, and how many octets of it came since. */
    private long contentStarted;
    private long contentReceived;

    SmtpSession(SmtpService service, Connection connection) {
        super(connection, "smtp", service.blocking(), false);
        this.service = service;
        this.kind = connection.listener().protocol();
    }

    /** Submission or MX: the listener's, or on a link what the edge relays ({@link #openRelayed}). */
    private Protocol kind;

    @Override
    protected String greeting() {
        return "220 " + service.hostname() + " ESMTP Castellan";
    }

    // ---- input

    @Override
    protected boolean step() {
        if (mode == Mode.DATA) return dataStep();
        if (mode == Mode.BDAT) return bdatStep();
        if (!pending().isReadable()) return false;
        if (commandStarted == NO_DEADLINE) {
            commandStarted = System.nanoTime();
            deadlineChanged();
        }
        int max = mode == Mode.AUTH_RESPONSE || isAuthLine() ? LineDecoder.MAX_AUTH_LINE : LineDecoder.MAX_COMMAND_LINE;
        LineDecoder.Result r = parse(view -> lines.next(view, max));
        if (!(r instanceof LineDecoder.NeedMore)) commandStarted = NO_DEADLINE;
        switch (r) {
            case LineDecoder.NeedMore m -> { }
            case LineDecoder.TooLong t -> {
                if (mode == Mode.AUTH_RESPONSE) Auth.abandon(this);
                error(new SmtpError(500, "5.5.6", "Line too long")); // RFC 5321 §4.5.3.1.4
            }
            case LineDecoder.Line l -> {
                if (mode == Mode.AUTH_RESPONSE) Auth.response(this, l.bytes());
                else command(l.bytes());
            }
        }
        return !(r instanceof LineDecoder.NeedMore);
    }

    /** Shutdown waits for the transaction in progress; the goodbye comes once it is over. */
    @Override
    protected boolean readyToStop() {
        return transaction == null && mode != Mode.DATA && mode != Mode.BDAT;
    }

    @Override
    protected void onShutdownRequested() {
        if (!busy() && mode == Mode.COMMAND) drain();
    }

    @Override
    protected String goodbyeOnShutdown() {
        return "421 4.3.2 " + service.hostname() + " Service shutting down, try again later";
    }

    @Override
    protected String goodbyeOnIdle() {
        return "421 4.4.2 " + service.hostname() + " Timeout, closing connection"; // RFC 5321 §4.5.3.2.7
    }

    /** RFC 5321 §3.8: the server may close with 421; RFC 3463 X.7.0: other security or policy status. */
    @Override
    protected String goodbyeOnLoginTimeout() {
        return "421 4.7.0 " + service.hostname() + " No authentication in time, closing connection";
    }

    /**
     * A command line must be complete within the listener's command deadline of its first byte
     * (RFC 5321 §4.5.3.2 asks servers to allow at least five minutes, the default); content must
     * average the listener's minimum data rate once that much time has passed since it began
     * (Postfix's smtpd_min_data_rate). Bytes trickling in extend neither.
     */
    @Override
    protected long deadline() {
        var limits = connection().listener().limits();
        if (mode == Mode.DATA || mode == Mode.BDAT) {
            if (limits.minDataRate() == 0) return NO_DEADLINE;
            double earned = (double) contentReceived / limits.minDataRate() * 1e9;
            if (earned > MAX_EARNED_NANOS) return NO_DEADLINE;
            return contentStarted + limits.commandDeadline().toNanos() + (long) earned;
        }
        return commandStarted == NO_DEADLINE ? NO_DEADLINE : commandStarted + limits.commandDeadline().toNanos();
    }

    /** Content time that no message could need: beyond it (a century) the rate sets no deadline. */
    private static final double MAX_EARNED_NANOS = 100.0 * 365 * 86_400 * 1e9;

    /** RFC 5321 §3.8 and §4.2.3: the server may close with 421; RFC 3463 X.4.2: bad connection. */
    @Override
    protected String goodbyeOnDeadline() {
        boolean content = mode == Mode.DATA || mode == Mode.BDAT;
        log.info("{} smtp {}", connection().logId(), content ? "content below min-data-rate" : "command not complete by command-deadline");
        return "421 4.4.2 " + service.hostname() + (content ? " Data arriving too slowly" : " Command not completed in time")
                + ", closing connection";
    }

    /** Counts content octets for the data rate; the content arriving keeps the session from idling. */
    private void contentArrived(long octets) {
        if (octets == 0) return;
        contentReceived += octets;
        progress();
    }

    /** Content of a DATA or BDAT chunk begins: the data rate counts from here. */
    private void contentBegins() {
        contentStarted = System.nanoTime();
        contentReceived = 0;
        deadlineChanged();
    }

    /** An AUTH line with an initial response may exceed 512 octets (RFC 4954 §4). */
    private boolean isAuthLine() {
        ByteBuf pending = pending();
        int i = pending.readerIndex();
        return pending.readableBytes() >= 5 && (pending.getByte(i) | 0x20) == 'a' && (pending.getByte(i + 1) | 0x20) == 'u'
                && (pending.getByte(i + 2) | 0x20) == 't' && (pending.getByte(i + 3) | 0x20) == 'h' && pending.getByte(i + 4) == ' ';
    }

    /**
     * Runs a command line, once {@link #replyDelay} has passed: a session guessing recipients
     * waits for every further reply, on the event loop's timer, never holding a thread.
     */
    private void command(byte[] line) {
        Duration delay = replyDelay();
        if (delay.isZero()) {
            execute(line);
            return;
        }
        CompletableFuture<Void> later = new CompletableFuture<>();
        connection().channel().eventLoop().schedule(() -> later.complete(null), delay.toMillis(), TimeUnit.MILLISECONDS);
        await(later, v -> execute(line), e -> execute(line));
    }

    private void execute(byte[] line) {
        if (++commands > service.limits().maxCommands()) {
            closeWith("421 4.7.0 " + service.hostname() + " Too many commands, closing connection");
            return;
        }
        SmtpParser.Result parsed = SmtpParser.parse(line, transaction != null && transaction.smtpUtf8);
        if (parsed instanceof SmtpParser.Bad bad) {
            error(bad.error());
            return;
        }
        SmtpCommand command = ((SmtpParser.Ok) parsed).command();
        Verb verb = Verb.of(command);
        SmtpError refusal = verb.refusal(state);
        if (refusal != null) {
            if (command instanceof SmtpCommand.Bdat c) discardChunk(c.size(), refusal);
            else error(refusal);
            return;
        }
        if (command instanceof SmtpCommand.Mail && service.relay().isPresent() && submission()
                && connection().account().isPresent()) {
            Relayed.mail(this, service.relay().get(), line); // docs/roles.md §3: the node takes it from here
            return;
        }
        switch (command) {
            case SmtpCommand.Ehlo c -> Ehlo.ehlo(this, c.domain());
            case SmtpCommand.Helo c -> Ehlo.helo(this, c.domain());
            case SmtpCommand.Mail c -> Mail.run(this, c);
            case SmtpCommand.Rcpt c -> Rcpt.run(this, c);
            case SmtpCommand.Data c -> Data.run(this);
            case SmtpCommand.Bdat c -> Bdat.run(this, c);
            case SmtpCommand.Auth c -> Auth.run(this, c);
            case SmtpCommand.StartTls c -> StartTls.run(this);
            case SmtpCommand.Rset c -> {
                resetTransaction();
                reply("250 2.0.0 Ok");
            }
            case SmtpCommand.Noop c -> reply("250 2.0.0 Ok");
            case SmtpCommand.Help c -> reply("214 2.0.0 See RFC 5321");
            // RFC 5321 §3.5.3 and §7.3: 252 neither confirms nor denies an address.
            case SmtpCommand.Vrfy c -> reply("252 2.5.0 Cannot verify, send mail and see");
            case SmtpCommand.Quit c -> closeWith("221 2.0.0 " + service.hostname() + " Bye");
        }
    }

    // ---- unknown recipients (directory harvesting, [smtp])

    /** Whether the [smtp] harvesting limits apply: MX listeners, whose clients have not logged in. */
    private boolean guardsRecipients() {
        return connection().listener().protocol() == Protocol.SMTP;
    }

    private String host() {
        if (host == null) host = UnknownRecipients.host(connection().remote().getAddress());
        return host;
    }

    /**
     * How long the next reply waits: {@link Smtp#unknownRecipientDelay()} once this session, or
     * its host within the window, has had {@link Smtp#unknownRecipientDelayAfter()} unknown
     * recipients (Postfix's smtpd_soft_error_limit with smtpd_error_sleep_time); else nothing.
     */
    private Duration replyDelay() {
        if (!guardsRecipients()) return Duration.ZERO;
        UnknownRecipients guard = service.unknownRecipients();
        Smtp limits = guard.limits();
        if (limits.unknownRecipientDelay().isZero()) return Duration.ZERO;
        if (unknownRecipients < limits.unknownRecipientDelayAfter() && guard.count(host()) < limits.unknownRecipientDelayAfter()) {
            return Duration.ZERO;
        }
        if (!delaying) {
            delaying = true;
            log.info("{} smtp delaying replies by {}: {} unknown recipient(s) in this session, {} from {}", connection().logId(),
                    limits.unknownRecipientDelay(), unknownRecipients, guard.count(host()), host());
        }
        return limits.unknownRecipientDelay();
    }

    /**
     * RCPT named no local user (550 5.1.1). Counted for the session and its host; past
     * {@link Smtp#unknownRecipientLimit()} in the session or {@link Smtp#unknownRecipientSourceLimit()}
     * for the host the session ends with 421 4.7.0 (RFC 5321 §3.8; RFC 3463 4.7.0, security or
     * policy status), as Postfix's smtpd_hard_error_limit does.
     */
    void unknownRecipient(SmtpError e) {
        unknownRecipients++;
        int fromHost = service.unknownRecipients().add(host());
        Smtp limits = service.unknownRecipients().limits();
        if (unknownRecipients < limits.unknownRecipientLimit() && fromHost < limits.unknownRecipientSourceLimit()) {
            error(e);
            return;
        }
        reply(e.toString());
        log.info("{} smtp closing: {} unknown recipient(s) in this session, {} from {}", connection().logId(),
                unknownRecipients, fromHost, host());
        closeWith("421 4.7.0 " + service.hostname() + " Too many unknown recipients, closing connection");
    }

    private int unknownRecipients;
    private boolean delaying;
    private String host;

    // ---- message content

    /** Starts reading DATA content; the 354 reply has been written. */
    void startData(byte[] received) {
        spool = new MessageSpool(service.spoolDirectory(), service.limits().memorySpool(),
                received.length + Math.min(transaction.declaredSize.orElse(0), service.limits().maxMessageSize()));
        spool.write(received, 0, received.length);
        decoder = new DataDecoder();
        mode = Mode.DATA;
        contentBegins();
    }

    /** Decodes buffered DATA content; false when more input is needed. */
    private boolean dataStep() {
        if (!pending().isReadable()) return false;
        int before = pending().readableBytes();
        DataDecoder.Status status = parse(view -> {
            DataDecoder.Status s;
            do {
                s = decoder.decode(view, dataOut);
                dataOut.flip();
                // Beyond the limit the content is read and dropped: the reply comes after the end marker.
                if (decoder.contentBytes() <= service.limits().maxMessageSize()) {
                    spool.write(dataOut.array(), 0, dataOut.remaining());
                }
                dataOut.clear();
            } while (s == DataDecoder.Status.OUTPUT_FULL);
            return s;
        });
        contentArrived(before - pending().readableBytes());
        if (status != DataDecoder.Status.END) return false;
        mode = Mode.COMMAND;
        DataDecoder d = decoder;
        decoder = null;
        if (d.bareLineBreak()) finishRefused(new SmtpError(550, "5.6.2", "Bare CR or LF in message content; use CRLF line endings"));
        else if (d.nul()) finishRefused(nulInContent());
        else if (d.lineTooLong()) finishRefused(new SmtpError(500, "5.5.6", "Message line longer than 1000 octets"));
        else if (d.contentBytes() > service.limits().maxMessageSize()) finishRefused(tooBig());
        else Delivery.deliver(this);
        return true;
    }

    /** Starts or continues a BDAT chunk (RFC 3030 §2); the spool starts with the Received field. */
    void startChunk(long size, boolean last, byte[] received) {
        if (spool == null) {
            spool = new MessageSpool(service.spoolDirectory(), service.limits().memorySpool(), received.length + size);
            spool.write(received, 0, received.length);
            bdatContent = 0;
        }
        bdatRemaining = size;
        bdatLast = last;
        mode = Mode.BDAT;
        contentBegins();
    }

    /**
     * A refused BDAT: RFC 3030 §2 has the receiver accept and discard the chunk's octets before it
     * replies, so that none of them is read as a command.
     */
    private void discardChunk(long size, SmtpError refusal) {
        bdatRemaining = size;
        bdatRefusal = refusal;
        mode = Mode.BDAT;
        contentBegins();
    }

    /** Copies buffered BDAT octets; false when more input is needed. */
    private boolean bdatStep() {
        ByteBuf pending = pending();
        int n = (int) Math.min(bdatRemaining, pending.readableBytes());
        if (n > 0) {
            if (bdatRefusal == null) {
                bdatContent += n;
                if (bdatContent <= service.limits().maxMessageSize()) {
                    spool.write(pending, n);
                } else {
                    bdatTooBig = true;
                }
                // RFC 3030 §3: without BINARYMIME a chunk is 7bit or 8bit data, which hold no NUL (RFC 2045 §2.8).
                bdatNul |= pending.indexOf(pending.readerIndex(), pending.readerIndex() + n, (byte) 0) >= 0;
            }
            pending.skipBytes(n);
            bdatRemaining -= n;
            contentArrived(n);
        }
        if (bdatRemaining > 0) return false;
        mode = Mode.COMMAND;
        if (bdatRefusal != null) {
            SmtpError refusal = bdatRefusal;
            bdatRefusal = null;
            error(refusal);
        } else if (bdatTooBig) {
            // RFC 3030 §2: a failed chunk ends the transaction; later BDATs get 503.
            bdatTooBig = false;
            finishRefused(tooBig());
        } else if (bdatNul) {
            finishRefused(nulInContent());
        } else if (bdatLast) {
            Delivery.deliver(this);
        } else {
            state = SmtpState.CHUNKING;
            reply("250 2.0.0 " + bdatContent + " octets received");
        }
        return true;
    }

    private boolean bdatTooBig;
    private boolean bdatNul;
    /** Set while the chunk of a refused BDAT is read and thrown away; its reply once it is. */
    private SmtpError bdatRefusal;
    private long bdatContent;

    SmtpError tooBig() {
        return new SmtpError(552, "5.3.4", "Message too big; the limit is " + service.limits().maxMessageSize() + " octets");
    }

    /**
     * A NUL octet in DATA or BDAT content: refused rather than stored or converted, since the
     * message is not what RFC 5322 §3.5 and RFC 2045 §2.8 allow without BINARYMIME (not offered),
     * and a stored NUL could not go out in an IMAP literal (RFC 9051 §4.3). RFC 3463: 5.6.0, other
     * media error.
     */
    private static SmtpError nulInContent() {
        return new SmtpError(554, "5.6.0", "NUL octet in message content; it is not allowed in mail without BINARYMIME");
    }

    /** Ends the transaction with a refusal of the whole message (RFC 5321 §4.1.1.4: the envelope is cleared). */
    void finishRefused(SmtpError e) {
        resetTransaction();
        error(e);
    }

    // ---- async

    @Override
    protected void storeFailure(Throwable e) {
        if (e instanceof StoreException se && !se.isTemporary()) {
            log.warn("{} store refused: {}", connection().logId(), se.getMessage());
            finishRefused(new SmtpError(554, "5.3.0", "Local error, message not accepted"));
        } else {
            log.warn("{} temporary failure: {}", connection().logId(), e.toString());
            finishRefused(new SmtpError(451, "4.3.0", "Temporary local problem, try again later"));
        }
    }

    // ---- replies and state

    void reply(String line) {
        write(oneLine(line) + "\r\n");
    }

    /** A multi-line reply (RFC 5321 §4.2.1): "250-" on every line but the last. */
    void reply(int code, List<String> texts) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < texts.size(); i++) {
            b.append(code).append(i == texts.size() - 1 ? ' ' : '-').append(oneLine(texts.get(i))).append("\r\n");
        }
        write(Unpooled.copiedBuffer(b, StandardCharsets.UTF_8));
    }

    /** Sends a refusal and counts it; too many end the session (RFC 5321 §4.3.2 allows 421 at any time). */
    void error(SmtpError e) {
        reply(e.toString());
        if (tooManyErrors(service.limits().maxErrors())) {
            closeWith("421 4.7.0 " + service.hostname() + " Too many errors, closing connection");
        }
    }

    void resetTransaction() {
        transaction = null;
        if (spool != null) {
            spool.close();
            spool = null;
        }
        decoder = null;
        bdatTooBig = false;
        bdatNul = false;
        if (state != SmtpState.CONNECTED) state = SmtpState.READY;
    }

    @Override
    protected void resetParser() {
        lines.reset();
    }

    boolean authFailed() {
        return ++authFailures >= service.limits().maxAuthFailures();
    }

    boolean submission() {
        return kind == Protocol.SUBMISSION;
    }

    /**
     * On a mailbox node's link (docs/roles.md §2): the session the edge's client began, without a
     * greeting, as after its EHLO (and, for submission, its AUTH as the asserted account); answers
     * the edge {@code READY} once the account is found, or {@code NO NONEXISTENT}.
     */
    void openRelayed(io.netty.channel.ChannelPipeline pipeline, Duration idleTimeout, org.castellan.protocol.link.LinkOpening opening) {
        kind = opening.protocol().equals(org.castellan.protocol.link.LinkOpening.SUBMISSION) ? Protocol.SUBMISSION : Protocol.SMTP;
        openSilently(pipeline, idleTimeout);
        greeted(opening.ehlo().orElse(opening.client()), true);
        state = SmtpState.READY;
        if (kind == Protocol.SMTP) {
            relayedMx = true;
            write(new org.castellan.protocol.link.LinkOpening.Ready("mx").line());
            connection().channel().flush();
            return;
        }
        blocking(() -> service.directory().getAccount(org.castellan.protocol.mail.EmailAddress.of(opening.account())).isPresent(),
                exists -> {
                    if (!exists) {
                        closeWith(new org.castellan.protocol.link.LinkOpening.Refused(
                                org.castellan.protocol.link.LinkOpening.Refused.NO_ACCOUNT, "No such account here").line().stripTrailing());
                        return;
                    }
                    connection().authenticated(opening.account(), opening.mechanism());
                    write(new org.castellan.protocol.link.LinkOpening.Ready("submission").line());
                }, e -> {
                    log.warn("{} smtp relayed submission of {} failed: {}", connection().logId(), opening.account(), e.toString());
                    closeWith(new org.castellan.protocol.link.LinkOpening.Refused(
                            org.castellan.protocol.link.LinkOpening.Refused.UNAVAILABLE, "Mailbox unavailable").line().stripTrailing());
                });
    }

    /**
     * An edge's delivery from its relay queue asserts no account: the link's opening deadline
     * ({@code LinkService.OPENING_DEADLINE}) was met by the opening line, and a message that takes
     * longer than it to arrive and be checked must not be cut off by it.
     */
    @Override
    protected boolean needsNoLogin() {
        return relayedMx;
    }

    private boolean relayedMx;

    /** Leaves the pipeline to a relay; returns what the client sent behind the command being relayed ({@link LineSession#handOver}). */
    io.netty.buffer.ByteBuf handOverToRelay() {
        return handOver();
    }

    SmtpService service() { return service; }

    SmtpState state() { return state; }

    void state(SmtpState s) { state = s; }

    Mode mode() { return mode; }

    void mode(Mode m) { mode = m; }

    Transaction transaction() { return transaction; }

    void transaction(Transaction t) { transaction = t; }

    MessageSpool spool() { return spool; }

    /**
     * Hands the spool to a delivery on another thread, which closes it: the session must not
     * free it under a delivery still reading it (when the client disconnects meanwhile).
     */
    MessageSpool takeSpool() {
        MessageSpool s = spool;
        spool = null;
        return s;
    }

    String helo() { return helo; }

    boolean esmtp() { return esmtp; }

    void greeted(String name, boolean extended) {
        helo = name;
        esmtp = extended;
    }

    SaslExchange sasl() { return sasl; }

    void sasl(SaslExchange exchange) { sasl = exchange; }

    // ---- events

    /** RFC 3207 §4.2: after STARTTLS the client starts over, with EHLO. */
    @Override
    protected void onHandshakeDone() {
        state = SmtpState.CONNECTED;
        helo = null;
        esmtp = false;
    }

    @Override
    protected void onClose() {
        if (sasl != null) {
            sasl.abort();
            sasl = null;
        }
        resetTransaction();
    }
}
