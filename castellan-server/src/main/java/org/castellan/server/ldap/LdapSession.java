package org.castellan.server.ldap;

import com.unboundid.asn1.ASN1Element;
import com.unboundid.asn1.ASN1Exception;
import com.unboundid.asn1.ASN1Sequence;
import com.unboundid.ldap.protocol.AddResponseProtocolOp;
import com.unboundid.ldap.protocol.BindRequestProtocolOp;
import com.unboundid.ldap.protocol.BindResponseProtocolOp;
import com.unboundid.ldap.protocol.CompareResponseProtocolOp;
import com.unboundid.ldap.protocol.DeleteResponseProtocolOp;
import com.unboundid.ldap.protocol.ExtendedResponseProtocolOp;
import com.unboundid.ldap.protocol.LDAPMessage;
import com.unboundid.ldap.protocol.ModifyDNResponseProtocolOp;
import com.unboundid.ldap.protocol.ModifyResponseProtocolOp;
import com.unboundid.ldap.protocol.ProtocolOp;
import com.unboundid.ldap.protocol.SearchResultDoneProtocolOp;
import com.unboundid.ldap.protocol.SearchResultEntryProtocolOp;
import com.unboundid.ldap.sdk.LDAPException;
import com.unboundid.ldap.sdk.ResultCode;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.function.Supplier;
import org.castellan.security.auth.AuthService;
import org.castellan.security.pki.CertificateDirectory;
import org.castellan.security.pki.PkiException;
import org.castellan.server.config.TlsMode;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One LDAP connection's operations, answered one at a time and in order (RFC 4511 §4.1.1 lets a
 * server do so): bind, search, unbind and abandon; StartTLS is refused (TLS is already on), every
 * operation that would write is unwillingToPerform, an unknown extended operation protocolError
 * (RFC 4511 §4.12). A message the SDK cannot decode ends the connection with a Notice of
 * Disconnection (RFC 4511 §4.4.1). Runs on the connection's event loop; searches and binds run
 * elsewhere and come back to it.
 */
final class LdapSession extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(LdapSession.class);

    /** RFC 4511 §4.4.1: the unsolicited notification that the server is closing the connection. */
    static final String NOTICE_OF_DISCONNECTION = "1.3.6.1.4.1.1466.20036";
    /** RFC 4511 §4.14.1. */
    static final String START_TLS = "1.3.6.1.4.1.1466.20037";
    /** Operations read ahead of their answers before the session stops reading the socket. */
    static final int MAX_QUEUED = 16;

    private final Connection connection;
    private final Bind bind;
    private final ExecutorService blocking;
    private final Search search;
    private final Supplier<List<CertificateDirectory.Listing>> listings;
    private final ArrayDeque<byte[]> waiting = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    /** Whether the session is not taking new messages: one is being answered, or the client is not reading. */
    private boolean busy;
    /** Whether an answer is being worked out off the event loop (a search, a bind). */
    private boolean answering;
    private boolean closing;
    /** The account bound to, empty while anonymous (RFC 4513 §5.1). */
    private Optional<String> bound = Optional.empty();

    LdapSession(Connection connection, AuthService auth, ExecutorService blocking, DirectoryTree tree, Search search,
                Supplier<List<CertificateDirectory.Listing>> listings) {
        this.connection = connection;
        this.bind = new Bind(auth, tree);
        this.blocking = blocking;
        this.search = search;
        this.listings = listings;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        switch (msg) {
            case LdapFrameDecoder.Frame.Refused r -> disconnect(r.tooLarge() ? ResultCode.ADMIN_LIMIT_EXCEEDED
                    : ResultCode.PROTOCOL_ERROR, r.reason());
            case LdapFrameDecoder.Frame.Message m -> {
                waiting.add(m.der());
                if (waiting.size() >= MAX_QUEUED) ctx.channel().config().setAutoRead(false);
                if (!busy) next();
            }
            default -> ReferenceCountUtil.release(msg);
        }
    }

    private void next() {
        while (!closing) {
            // Answers wait for the client to read the last ones: a client that sends searches and
            // never reads holds at most one answer beyond the channel's high-water mark.
            if (!ctx.channel().isWritable()) {
                busy = true;
                ctx.flush();
                return; // channelWritabilityChanged goes on
            }
            byte[] der = waiting.poll();
            if (der == null) {
                busy = false;
                ctx.channel().config().setAutoRead(true);
                ctx.flush();
                return;
            }
            busy = true;
            if (!handle(der)) {
                answering = true; // an answer is on its way; it calls next()
                return;
            }
        }
    }

    /** Acts on one message; false when its answer will come later (and then call {@link #next}). */
    private boolean handle(byte[] der) {
        LDAPMessage message;
        try {
            ASN1Element element = ASN1Element.decode(der);
            if (nesting(element) > LdapService.MAX_NESTING) {
                return tooDeep(element);
            }
            message = LDAPMessage.decode(element);
        } catch (ASN1Exception | LDAPException e) {
            disconnect(ResultCode.PROTOCOL_ERROR, "malformed LDAPMessage"); // RFC 4511 §4.1.1
            return true;
        }
        int id = message.getMessageID();
        if (connection.clientTls().isEmpty() && !allowedBeforeTls(message)) {
            refuseBeforeTls(id, message.getProtocolOpType());
            return true;
        }
        switch (message.getProtocolOpType()) {
            case LDAPMessage.PROTOCOL_OP_TYPE_BIND_REQUEST -> {
                return bind(id, message.getBindRequestProtocolOp());
            }
            case LDAPMessage.PROTOCOL_OP_TYPE_SEARCH_REQUEST -> {
                var request = message.getSearchRequestProtocolOp();
                boolean isBound = bound.isPresent();
                boolean offerStartTls = connection.listener().tls() == TlsMode.STARTTLS;
                CompletableFuture.supplyAsync(() -> search.run(request, isBound, offerStartTls, listings), blocking)
                        .whenComplete((answer, failure) -> ctx.executor().execute(() -> searched(id, answer, failure)));
                return false;
            }
            case LDAPMessage.PROTOCOL_OP_TYPE_UNBIND_REQUEST -> {
                // RFC 4511 §4.3: no answer; the connection ends.
                closing = true;
                ctx.flush();
                ctx.close();
            }
            case LDAPMessage.PROTOCOL_OP_TYPE_ABANDON_REQUEST -> { } // RFC 4511 §4.11: no answer; ours are done already
            case LDAPMessage.PROTOCOL_OP_TYPE_EXTENDED_REQUEST -> {
                String oid = message.getExtendedRequestProtocolOp().getOID();
                if (!START_TLS.equals(oid)) {
                    // RFC 4511 §4.12: an extended operation the server does not know is protocolError.
                    write(id, new ExtendedResponseProtocolOp(ResultCode.PROTOCOL_ERROR_INT_VALUE, null,
                            "unsupported extended operation", null, null, null));
                } else if (connection.tlsStarted()) {
                    // RFC 4511 §4.14.1: StartTLS where TLS is already on (or on its way) is operationsError.
                    write(id, new ExtendedResponseProtocolOp(ResultCode.OPERATIONS_ERROR_INT_VALUE, null,
                            "TLS is already active", null, null, null));
                } else {
                    startTls(id);
                }
            }
            case LDAPMessage.PROTOCOL_OP_TYPE_ADD_REQUEST -> write(id, new AddResponseProtocolOp(READ_ONLY, null, READ_ONLY_TEXT, null));
            case LDAPMessage.PROTOCOL_OP_TYPE_DELETE_REQUEST -> write(id, new DeleteResponseProtocolOp(READ_ONLY, null, READ_ONLY_TEXT, null));
            case LDAPMessage.PROTOCOL_OP_TYPE_MODIFY_REQUEST -> write(id, new ModifyResponseProtocolOp(READ_ONLY, null, READ_ONLY_TEXT, null));
            case LDAPMessage.PROTOCOL_OP_TYPE_MODIFY_DN_REQUEST -> write(id, new ModifyDNResponseProtocolOp(READ_ONLY, null, READ_ONLY_TEXT, null));
            case LDAPMessage.PROTOCOL_OP_TYPE_COMPARE_REQUEST -> write(id, new CompareResponseProtocolOp(READ_ONLY, null, "compare is not offered; search instead", null));
            // A response or anything else from a client: RFC 4511 §4.1.1 treats it as a message it cannot parse.
            default -> disconnect(ResultCode.PROTOCOL_ERROR, "not a request");
        }
        return true;
    }

    /**
     * RFC 4511 §4.14 and RFC 4513 §3: the TLS handler goes in before the success answer, which is
     * the last cleartext message; whatever the client sent after the request (RFC 4511 §4.14.1
     * forbids it) is dropped with the decoder's buffer, never acted upon (docs/design.md §5.4).
     */
    private void startTls(int id) {
        connection.startTls();
        waiting.clear();
        write(id, new ExtendedResponseProtocolOp(ResultCode.SUCCESS_INT_VALUE, null, null, null, START_TLS, null));
        ctx.flush();
        // The old decoder hands its leftover cleartext on as a ByteBuf, which channelRead drops.
        ctx.pipeline().replace(LdapService.FRAMES, LdapService.FRAMES, new LdapFrameDecoder());
    }

    /**
     * What a connection without TLS may do (RFC 4513 §3, docs/ldap.md §1): StartTLS, an anonymous
     * bind, unbind, abandon and the root DSE, where the client learns that StartTLS is offered.
     */
    private static boolean allowedBeforeTls(LDAPMessage message) {
        return switch (message.getProtocolOpType()) {
            case LDAPMessage.PROTOCOL_OP_TYPE_EXTENDED_REQUEST, LDAPMessage.PROTOCOL_OP_TYPE_UNBIND_REQUEST,
                 LDAPMessage.PROTOCOL_OP_TYPE_ABANDON_REQUEST, LDAPMessage.PROTOCOL_OP_TYPE_BIND_REQUEST -> true;
            case LDAPMessage.PROTOCOL_OP_TYPE_SEARCH_REQUEST -> {
                var search = message.getSearchRequestProtocolOp();
                yield search.getBaseDN().isEmpty() && search.getScope() == com.unboundid.ldap.sdk.SearchScope.BASE;
            }
            default -> false;
        };
    }

    /** confidentialityRequired (RFC 4511 §4.1.9) in the answer the operation expects. */
    private void refuseBeforeTls(int id, byte type) {
        int code = ResultCode.CONFIDENTIALITY_REQUIRED_INT_VALUE;
        String text = "start TLS first (StartTLS, " + START_TLS + ")";
        switch (type) {
            case LDAPMessage.PROTOCOL_OP_TYPE_SEARCH_REQUEST -> write(id, new SearchResultDoneProtocolOp(code, null, text, null));
            case LDAPMessage.PROTOCOL_OP_TYPE_ADD_REQUEST -> write(id, new AddResponseProtocolOp(code, null, text, null));
            case LDAPMessage.PROTOCOL_OP_TYPE_DELETE_REQUEST -> write(id, new DeleteResponseProtocolOp(code, null, text, null));
            case LDAPMessage.PROTOCOL_OP_TYPE_MODIFY_REQUEST -> write(id, new ModifyResponseProtocolOp(code, null, text, null));
            case LDAPMessage.PROTOCOL_OP_TYPE_MODIFY_DN_REQUEST -> write(id, new ModifyDNResponseProtocolOp(code, null, text, null));
            case LDAPMessage.PROTOCOL_OP_TYPE_COMPARE_REQUEST -> write(id, new CompareResponseProtocolOp(code, null, text, null));
            default -> disconnect(ResultCode.PROTOCOL_ERROR, "not a request");
        }
    }

    /** The directory cannot be changed over LDAP (RFC 4511 §4.1.9). */
    private static final int READ_ONLY = ResultCode.UNWILLING_TO_PERFORM_INT_VALUE;
    private static final String READ_ONLY_TEXT = "the directory is read-only";

    /**
     * A message nested deeper than {@link LdapService#MAX_NESTING}: a search gets
     * adminLimitExceeded under its own id, anything else the Notice of Disconnection.
     */
    private boolean tooDeep(ASN1Element element) throws ASN1Exception {
        ASN1Element[] parts = ASN1Sequence.decodeAsSequence(element).elements();
        if (parts.length >= 2 && parts[1].getType() == LDAPMessage.PROTOCOL_OP_TYPE_SEARCH_REQUEST) {
            write(parts[0].decodeAsInteger().intValue(), new SearchResultDoneProtocolOp(
                    ResultCode.ADMIN_LIMIT_EXCEEDED_INT_VALUE, null, "filter nested too deep", null));
        } else {
            disconnect(ResultCode.PROTOCOL_ERROR, "message nested too deep");
        }
        return true;
    }

    /**
     * How deep constructed elements nest in {@code root}, counted without recursion and without
     * looking further than one level past {@link LdapService#MAX_NESTING}.
     */
    static int nesting(ASN1Element root) throws ASN1Exception {
        record Level(ASN1Element element, int depth) {}
        ArrayDeque<Level> todo = new ArrayDeque<>();
        todo.push(new Level(root, 1));
        int deepest = 0;
        while (!todo.isEmpty()) {
            Level level = todo.pop();
            deepest = Math.max(deepest, level.depth());
            if (deepest > LdapService.MAX_NESTING) return deepest;
            if ((level.element().getType() & 0x20) == 0) continue; // primitive: no elements inside
            for (ASN1Element child : ASN1Sequence.decodeAsSequence(level.element()).elements()) {
                todo.push(new Level(child, level.depth() + 1));
            }
        }
        return deepest;
    }

    /** RFC 4511 §4.2.1: a bind first makes the connection anonymous; its outcome comes back to the loop. */
    private boolean bind(int id, BindRequestProtocolOp request) {
        bound = Optional.empty();
        bind.run(connection, request).whenComplete((outcome, failure) -> ctx.executor().execute(() -> bound(id, outcome, failure)));
        return false;
    }

    private void bound(int id, Bind.Outcome outcome, Throwable failure) {
        answering = false;
        if (closing) return;
        if (failure != null) {
            log.warn("{} bind failed", connection.logId(), failure);
            outcome = new Bind.Outcome(ResultCode.OTHER, null, Optional.empty());
        }
        outcome.account().ifPresent(s -> {
            bound = Optional.of(s.account());
            connection.authenticated(s.account(), s.mechanism());
        });
        write(id, new BindResponseProtocolOp(outcome.code().intValue(), null, outcome.message(), null, null));
        next();
    }

    private void searched(int id, Search.Answer answer, Throwable failure) {
        answering = false;
        if (closing) return;
        if (failure != null) {
            Throwable cause = failure instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                    ? c.getCause() : failure;
            // The client learns that the directory is unavailable, not why: the log has the detail.
            if (cause instanceof PkiException) {
                log.warn("{} directory search failed: {}", connection.logId(), cause.getMessage());
            } else {
                log.warn("{} directory search failed", connection.logId(), cause);
            }
            write(id, new SearchResultDoneProtocolOp(ResultCode.UNAVAILABLE_INT_VALUE, null, "directory unavailable", null));
        } else {
            for (SearchResultEntryProtocolOp entry : answer.entries()) write(id, entry);
            write(id, answer.done());
        }
        next();
    }

    private void write(int id, ProtocolOp op) {
        ctx.write(Unpooled.wrappedBuffer(new LDAPMessage(id, op).encode().encode()));
    }

    /** RFC 4511 §4.4.1: the Notice of Disconnection, then the connection is closed. */
    private void disconnect(ResultCode code, String reason) {
        if (closing) return;
        closing = true;
        waiting.clear();
        log.info("{} ldap connection closed: {}", connection.logId(), reason);
        write(0, new ExtendedResponseProtocolOp(code.intValue(), null, reason, null, NOTICE_OF_DISCONNECTION, null));
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && busy && !answering) next();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            closing = true;
            ctx.close();
        } else if (evt == Transport.ShutdownEvent.INSTANCE) {
            disconnect(ResultCode.UNAVAILABLE, "server shutting down");
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.info("{} ldap connection error: {}", connection.logId(), cause.toString());
        closing = true;
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        waiting.clear();
        ctx.fireChannelInactive();
    }
}
