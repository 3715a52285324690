package org.castellan.security.tls.internal;

import io.netty.handler.ssl.SslHandler;
import java.util.Optional;
import java.util.concurrent.Executor;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;

/**
 * A server {@link SslHandler} of a BoringSSL engine whose TLS 1.3 exporter value the
 * {@link ExporterKeyLog} derives during the handshake. Exposes that value, for the connection's
 * {@code tls-exporter} channel binding, once the handshake has succeeded; nothing before.
 */
public final class ExportingSslHandler extends SslHandler {

    private final ExporterKeyLog.Exporter exporter;

    public ExportingSslHandler(SSLEngine engine, boolean startTls, Executor delegatedTasks,
            ExporterKeyLog.Exporter exporter) {
        super(engine, startTls, delegatedTasks);
        this.exporter = exporter;
        handshakeFuture().addListener(done -> exporter.handshakeDone(done.isSuccess()));
    }

    /** RFC 9266: the binding of this TLS 1.3 connection; empty before the handshake and on TLS 1.2. */
    public Optional<byte[]> tlsExporter() {
        if (!handshakeFuture().isSuccess()) return Optional.empty();
        SSLSession session = engine().getSession();
        if (!"TLSv1.3".equals(session.getProtocol())) return Optional.empty();
        return exporter.channelBinding(session.getCipherSuite());
    }
}
