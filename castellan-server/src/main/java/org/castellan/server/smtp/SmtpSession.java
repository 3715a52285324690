package org.castellan.server.smtp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.castellan.protocol.smtp.DataDecoder;
import org.castellan.protocol.smtp.LineDecoder;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.protocol.smtp.SmtpError;
import org.castellan.protocol.smtp.SmtpParser;
import org.castellan.security.auth.AuthContext;
import org.castellan.security.auth.SaslExchange;
import org.castellan.security.auth.SaslStep;
import org.castellan.server.config.Protocol;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.Transport;
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
final class SmtpSession extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(SmtpSession.class);

    static Logger log() { return log; }

    /** Decoded content is copied to the spool in pieces of this size. */
    private static final int DATA_CHUNK = 16 * 1024;

    enum Mode { COMMAND, DATA, BDAT, AUTH_RESPONSE }

    private final SmtpService service;
    private final Connection connection;
    private final LineDecoder lines = new LineDecoder();
    private final ByteBuffer dataOut = ByteBuffer.allocate(DATA_CHUNK);
    private ChannelHandlerContext ctx;
    private ByteBuf pending;
    private SmtpState state = SmtpState.CONNECTED;
    private Mode mode = Mode.COMMAND;
    private boolean busy;
    private boolean closed;
    private boolean awaitingHandshake;
    private boolean shutdownRequested;
    private int commands;
    private int errors;
    private int authFailures;
    private String helo;
    private boolean esmtp;
    private Transaction transaction;
    private MessageSpool spool;
    private DataDecoder decoder;
    private long bdatRemaining;
    private boolean bdatLast;
    private SaslExchange sasl;
    private SaslStep.Success authSuccess;

    SmtpSession(SmtpService service, Connection connection) {
        this.service = service;
        this.connection = connection;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.pending = ctx.alloc().buffer();
    }

    void greet() {
        reply("220 " + service.hostname() + " ESMTP Castellan");
        ctx.flush();
    }

    // ---- input

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            // RFC 3207 §4.2: whatever arrives between STARTTLS and the end of the handshake is dropped.
            if (awaitingHandshake || closed) return;
            pending.writeBytes(in);
        } finally {
            ReferenceCountUtil.release(in);
        }
        drain();
    }

    /** Runs buffered input until a command has to wait or the input runs out. */
    void drain() {
        while (!busy && !closed && !awaitingHandshake) {
            if (mode == Mode.DATA) {
                if (!dataStep()) break;
                continue;
            }
            if (mode == Mode.BDAT) {
                if (!bdatStep()) break;
                continue;
            }
            if (shutdownRequested && transaction == null) {
                closeWith("421 4.3.2 " + service.hostname() + " Service shutting down, try again later");
                return;
            }
            if (!pending.isReadable()) break;
            ByteBuffer view = pending.nioBuffer();
            int before = view.position();
            LineDecoder.Result r = lines.next(view, mode == Mode.AUTH_RESPONSE || isAuthLine()
                    ? LineDecoder.MAX_AUTH_LINE : LineDecoder.MAX_COMMAND_LINE);
            pending.skipBytes(view.position() - before);
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
            if (r instanceof LineDecoder.NeedMore) break;
        }
        pending.discardSomeReadBytes();
        if (!closed) ctx.flush();
    }

    /** An AUTH line with an initial response may exceed 512 octets (RFC 4954 §4). */
    private boolean isAuthLine() {
        int i = pending.readerIndex();
        return pending.readableBytes() >= 5 && (pending.getByte(i) | 0x20) == 'a' && (pending.getByte(i + 1) | 0x20) == 'u'
                && (pending.getByte(i + 2) | 0x20) == 't' && (pending.getByte(i + 3) | 0x20) == 'h' && pending.getByte(i + 4) == ' ';
    }

    private void command(byte[] line) {
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
            error(refusal);
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

    // ---- message content

    /** Starts reading DATA content; the 354 reply has been written. */
    void startData(byte[] received) {
        spool = new MessageSpool(service.limits().memorySpool(),
                received.length + Math.min(transaction.declaredSize.orElse(0), service.limits().maxMessageSize()));
        spool.write(received, 0, received.length);
        decoder = new DataDecoder();
        mode = Mode.DATA;
    }

    /** Decodes buffered DATA content; false when more input is needed. */
    private boolean dataStep() {
        if (!pending.isReadable()) return false;
        ByteBuffer view = pending.nioBuffer();
        int before = view.position();
        DataDecoder.Status status;
        do {
            status = decoder.decode(view, dataOut);
            dataOut.flip();
            // Beyond the limit the content is read and dropped: the reply comes after the end marker.
            if (decoder.contentBytes() <= service.limits().maxMessageSize()) {
                spool.write(dataOut.array(), 0, dataOut.remaining());
            }
            dataOut.clear();
        } while (status == DataDecoder.Status.OUTPUT_FULL);
        pending.skipBytes(view.position() - before);
        if (status != DataDecoder.Status.END) return false;
        mode = Mode.COMMAND;
        DataDecoder d = decoder;
        decoder = null;
        if (d.bareLineBreak()) finishRefused(new SmtpError(550, "5.6.2", "Bare CR or LF in message content; use CRLF line endings"));
        else if (d.lineTooLong()) finishRefused(new SmtpError(500, "5.5.6", "Message line longer than 1000 octets"));
        else if (d.contentBytes() > service.limits().maxMessageSize()) finishRefused(tooBig());
        else Delivery.deliver(this);
        return true;
    }

    /** Starts or continues a BDAT chunk (RFC 3030 §2); the spool starts with the Received field. */
    void startChunk(long size, boolean last, byte[] received) {
        if (spool == null) {
            spool = new MessageSpool(service.limits().memorySpool(), received.length + size);
            spool.write(received, 0, received.length);
            bdatContent = 0;
        }
        bdatRemaining = size;
        bdatLast = last;
        mode = Mode.BDAT;
    }

    /** Copies buffered BDAT octets; false when more input is needed. */
    private boolean bdatStep() {
        int n = (int) Math.min(bdatRemaining, pending.readableBytes());
        if (n > 0) {
            bdatContent += n;
            if (bdatContent <= service.limits().maxMessageSize()) {
                spool.write(pending, n);
            } else {
                bdatTooBig = true;
            }
            pending.skipBytes(n);
            bdatRemaining -= n;
        }
        if (bdatRemaining > 0) return false;
        mode = Mode.COMMAND;
        if (bdatTooBig) {
            // RFC 3030 §2: a failed chunk ends the transaction; later BDATs get 503.
            bdatTooBig = false;
            finishRefused(tooBig());
        } else if (bdatLast) {
            Delivery.deliver(this);
        } else {
            state = SmtpState.CHUNKING;
            reply("250 2.0.0 " + bdatContent + " octets received");
        }
        return true;
    }

    private boolean bdatTooBig;
    private long bdatContent;

    SmtpError tooBig() {
        return new SmtpError(552, "5.3.4", "Message too big; the limit is " + service.limits().maxMessageSize() + " octets");
    }

    /** Ends the transaction with a refusal of the whole message (RFC 5321 §4.1.1.4: the envelope is cleared). */
    void finishRefused(SmtpError e) {
        resetTransaction();
        error(e);
    }

    // ---- async

    /** Runs blocking {@code work} on the shared executor, then {@code then} on the event loop. */
    <T> void blocking(Supplier<T> work, Consumer<T> then) {
        await(CompletableFuture.supplyAsync(work, service.blocking()), then, this::storeFailure);
    }

    /** Stops reading until {@code stage} completes, then continues on the event loop. */
    <T> void await(CompletionStage<T> stage, Consumer<T> then, Consumer<Throwable> failed) {
        busy = true;
        // RFC 2920 §3.2 (4) and (5): replies to a pipelined group go out together; they are
        // flushed here only when the client has nothing more queued, i.e. it may be waiting.
        if (!pending.isReadable()) ctx.flush();
        stage.whenComplete((value, error) -> ctx.executor().execute(() -> {
            busy = false;
            if (closed) return;
            try {
                if (error != null) failed.accept(error instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : error);
                else then.accept(value);
            } catch (RuntimeException e) {
                storeFailure(e);
            }
            drain();
        }));
    }

    private void storeFailure(Throwable e) {
        if (e instanceof StoreException se && !se.isTemporary()) {
            log.warn("{} store refused: {}", connection.logId(), se.getMessage());
            finishRefused(new SmtpError(554, "5.3.0", "Local error, message not accepted"));
        } else {
            log.warn("{} temporary failure: {}", connection.logId(), e.toString());
            finishRefused(new SmtpError(451, "4.3.0", "Temporary local problem, try again later"));
        }
    }

    // ---- replies and state

    void reply(String line) {
        ctx.write(Unpooled.copiedBuffer(line + "\r\n", StandardCharsets.UTF_8));
    }

    /** A multi-line reply (RFC 5321 §4.2.1): "250-" on every line but the last. */
    void reply(int code, List<String> texts) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < texts.size(); i++) {
            b.append(code).append(i == texts.size() - 1 ? ' ' : '-').append(texts.get(i)).append("\r\n");
        }
        ctx.write(Unpooled.copiedBuffer(b, StandardCharsets.UTF_8));
    }

    /** Sends a refusal and counts it; too many end the session (RFC 5321 §4.3.2 allows 421 at any time). */
    void error(SmtpError e) {
        reply(e.toString());
        if (++errors >= service.limits().maxErrors()) {
            closeWith("421 4.7.0 " + service.hostname() + " Too many errors, closing connection");
        }
    }

    void closeWith(String line) {
        if (closed) return;
        closed = true;
        ctx.writeAndFlush(Unpooled.copiedBuffer(line + "\r\n", StandardCharsets.UTF_8)).addListener(ChannelFutureListener.CLOSE);
    }

    void resetTransaction() {
        transaction = null;
        if (spool != null) {
            spool.close();
            spool = null;
        }
        decoder = null;
        bdatTooBig = false;
        if (state != SmtpState.CONNECTED) state = SmtpState.READY;
    }

    /** RFC 3207 §4.2: after STARTTLS the client starts over; nothing pipelined behind it is used. */
    void startTls() {
        awaitingHandshake = true;
        connection.startTls();
        pending.clear();
        lines.reset();
    }

    boolean authFailed() {
        return ++authFailures >= service.limits().maxAuthFailures();
    }

    AuthContext authContext() {
        return connection.authContext("smtp");
    }

    boolean submission() {
        return connection.listener().protocol() == Protocol.SUBMISSION;
    }

    SmtpService service() { return service; }

    Connection connection() { return connection; }

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

    /** A success whose server-final data awaits the client's empty acknowledgement. */
    SaslStep.Success authSuccess() { return authSuccess; }

    void authSuccess(SaslStep.Success success) { authSuccess = success; }

    // ---- events

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done && awaitingHandshake) {
            if (!done.isSuccess()) {
                closed = true;
                ctx.close();
                return;
            }
            awaitingHandshake = false;
            state = SmtpState.CONNECTED;
            helo = null;
            esmtp = false;
        } else if (evt instanceof IdleStateEvent) {
            closeWith("421 4.4.2 " + service.hostname() + " Timeout, closing connection"); // RFC 5321 §4.5.3.2.7
        } else if (evt == Transport.ShutdownEvent.INSTANCE) {
            // Finish the transaction in progress; drain() says goodbye once it is over.
            shutdownRequested = true;
            if (!busy && mode == Mode.COMMAND) {
                drain();
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.info("{} smtp connection error: {}", connection.logId(), cause.toString());
        closed = true;
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed = true;
        if (sasl != null) {
            sasl.abort();
            sasl = null;
        }
        resetTransaction();
        pending.release();
        ctx.fireChannelInactive();
    }
}
