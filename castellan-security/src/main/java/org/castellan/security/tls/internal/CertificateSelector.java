package org.castellan.security.tls.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.Mapping;
import io.netty.util.ReferenceCountUtil;
import java.util.function.Function;

/**
 * Reads the server name of the ClientHello (RFC 6066 §3) and replaces itself, under its own
 * pipeline name, with the {@link SslHandler} the policy makes for the chosen context. Keeping the
 * name means code that looks up the TLS handler by name finds it before and after the choice.
 *
 * <p>Failure: a first record that is not a TLS ClientHello, or none within the timeout, fails the
 * connection as a failed handshake would.
 */
public final class CertificateSelector extends SniHandler {

    private final Function<SslContext, SslHandler> handlers;

    public CertificateSelector(Mapping<String, SslContext> contexts, Function<SslContext, SslHandler> handlers,
            long handshakeTimeoutMillis) {
        super(contexts, handshakeTimeoutMillis);
        this.handlers = handlers;
    }

    @Override
    protected void replaceHandler(ChannelHandlerContext ctx, String hostname, SslContext context) {
        SslHandler handler = handlers.apply(context);
        try {
            ctx.pipeline().replace(this, ctx.name(), handler);
            handler = null;
        } finally {
            if (handler != null) ReferenceCountUtil.safeRelease(handler.engine());
        }
    }
}
