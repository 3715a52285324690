package org.castellan.server.pop3;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.castellan.protocol.pop3.MessageEncoder;
import org.castellan.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a stored message as the body of a RETR or TOP response without holding it in memory:
 * one chunk is read from the store on the blocking executor, encoded, and written; the next is
 * read only once the socket has taken the previous one, so a slow client holds at most one chunk
 * of server memory. The session reads no further commands until the terminating "." is out.
 *
 * <p>Failure: the message is opened before the "+OK" line goes out, so a store that cannot give
 * it now (PostgreSQL or the object store down) is answered {@code -ERR [SYS/TEMP]} (RFC 3206 §4)
 * and the session goes on. After "+OK" there is no way to report an error in the response, so a
 * failure while reading closes the connection (the client sees a truncated response and deletes nothing).
 */
final class MessageStreamer {

    private static final Logger log = LoggerFactory.getLogger(MessageStreamer.class);

    /** Large enough to keep a fast link busy, small enough to bound memory per connection. */
    static final int CHUNK = 64 * 1024;

    private final Pop3Session session;
    private final Channel channel;
    private final Maildrop.Message message;
    private final long mailboxId;
    private final MessageEncoder encoder;
    /** The "+OK" line, sent with the first chunk once the message is open. */
    private final String okLine;
    private final byte[] in = new byte[CHUNK];
    private InputStream body;

    private MessageStreamer(Pop3Session session, Maildrop.Message message, MessageEncoder encoder, String okLine) {
        this.session = session;
        this.channel = session.connection().channel();
        this.message = message;
        this.mailboxId = session.maildrop().mailboxId();
        this.encoder = encoder;
        this.okLine = okLine;
    }

    /**
     * Opens the message, then answers "+OK {@code ok}" and sends it; the session is suspended until
     * the message has been sent, or answered with the store's refusal.
     */
    static void send(Pop3Session session, Maildrop.Message message, MessageEncoder encoder, String ok) {
        session.suspend();
        new MessageStreamer(session, message, encoder, "+OK " + ok + "\r\n").next();
    }

    private void next() {
        session.service().blocking().execute(this::step);
    }

    /** On the blocking executor: read, encode and write one chunk. */
    private void step() {
        try {
            if (body == null) {
                try {
                    body = session.service().store().openMessage(mailboxId, message.uid());
                } catch (StoreException e) {
                    channel.eventLoop().execute(() -> {
                        session.storeFailure(e);
                        session.resume();
                    });
                    return;
                }
                channel.write(channel.alloc().buffer(okLine.length()).writeBytes(okLine.getBytes(StandardCharsets.US_ASCII)));
            }
            int n = encoder.done() ? -1 : body.read(in);
            if (n < 0) {
                body.close();
                ByteBuf end = channel.alloc().buffer(5).writeBytes(encoder.finish());
                channel.writeAndFlush(end).addListener(f -> {
                    if (f.isSuccess()) session.resume();
                });
                return;
            }
            ByteBuf out = channel.alloc().heapBuffer(MessageEncoder.maxOutput(n));
            int written = encoder.encode(in, 0, n, out.array(), out.arrayOffset() + out.writerIndex());
            out.writerIndex(out.writerIndex() + written);
            ChannelFuture sent = channel.writeAndFlush(out);
            sent.addListener(f -> {
                if (f.isSuccess()) next();
                else closeQuietly();
            });
        } catch (IOException | RuntimeException e) {
            log.warn("{} pop3 cannot send message uid {}: {}", session.connection().logId(), message.uid(), e.toString());
            closeQuietly();
            channel.close();
        }
    }

    private void closeQuietly() {
        if (body == null) return;
        try {
            body.close();
        } catch (IOException e) {
            log.debug("closing message stream", e);
        }
    }
}
