package org.castellan.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.AbstractChannel;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One session carried on a connection that outlives it: on a mailbox node, a relayed client's
 * session on a link kept open by its edge (docs/roles.md §2). To the protocol session it is a
 * channel like a socket's, with its own pipeline, close future, writability and reads paused
 * and resumed; underneath, what it writes goes to the {@link Carrier} as the payload of frames,
 * and what the carrier reads for it arrives through {@link #receive}. Closing it ends the
 * session, not the connection: the carrier says so to the other side and may carry the next one.
 *
 * <p>Thread safety: lives on the carrying connection's event loop; every method but the
 * {@link Channel} ones Netty routes there must be called on it.
 */
public final class CarriedChannel extends AbstractChannel {

    /** What carries the session: the connection's side of the framing. */
    public interface Carrier {

        /** Sends {@code payload} as one or more frames; takes ownership. Not yet flushed. */
        void send(ByteBuf payload);

        /** Flushes what {@link #send} queued. */
        void flush();

        /** Whether the connection takes more output now; {@link #linkWritable} follows when it does again. */
        boolean writable();

        /** The session has ended on this side: called once, when the channel closes. */
        void ended();

        /** The session took everything {@link #receive} queued: the connection may read again. */
        void drained();
    }

    private static final ChannelMetadata METADATA = new ChannelMetadata(false);
    /** The most octets of several writes that go to the carrier together: a link frame's most. */
    static final int GATHER = 64 * 1024;

    private final Carrier carrier;
    private final SocketAddress local;
    private final SocketAddress remote;
    private final ChannelConfig config = new DefaultChannelConfig(this);
    private final ArrayDeque<ByteBuf> inbound = new ArrayDeque<>();
    /** Octets of the session's writes taken for the carrier and not sent yet ({@link #doWrite}). */
    private final List<ByteBuf> taken = new ArrayList<>();
    private int takenBytes;
    private boolean open = true;
    private boolean readPending;
    private boolean delivering;

    /**
     * @param link the connection that carries the session; the channel runs on its event loop
     * @param remote the address the session's client has, as the carrier was told it
     */
    public CarriedChannel(Channel link, Carrier carrier, SocketAddress remote) {
        super(link);
        this.carrier = carrier;
        this.local = link.localAddress();
        this.remote = remote;
        config.setWriteBufferWaterMark(new WriteBufferWaterMark(Transport.WRITE_LOW_WATER, Transport.WRITE_HIGH_WATER));
    }

    /**
     * Octets for the session, from the carrier's frames; takes ownership. Delivered at once while
     * the session reads, queued while it has paused reading (the carrier then stops reading too,
     * until {@link Carrier#drained}).
     */
    public void receive(ByteBuf payload) {
        if (!open) {
            payload.release();
            return;
        }
        inbound.add(payload);
        deliver();
    }

    /** Whether octets wait for the session to read again. */
    public boolean holdsInput() {
        return !inbound.isEmpty();
    }

    /** The carrier can take output again: what the session wrote meanwhile goes on. */
    public void linkWritable() {
        if (open) unsafe().flush();
    }

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new AbstractUnsafe() {
            @Override
            public void connect(SocketAddress remoteAddress, SocketAddress localAddress, ChannelPromise promise) {
                promise.setFailure(new UnsupportedOperationException("a carried session is not connected"));
            }
        };
    }

    @Override
    protected boolean isCompatible(EventLoop loop) {
        return loop == parent().eventLoop();
    }

    @Override
    protected SocketAddress localAddress0() {
        return local;
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return remote;
    }

    @Override
    protected void doBind(SocketAddress localAddress) {
        throw new UnsupportedOperationException("a carried session is not bound");
    }

    @Override
    protected void doDisconnect() {
        doClose();
    }

    @Override
    protected void doClose() {
        if (!open) return;
        open = false;
        // A write's listener closing the session during doWrite: what was written before goes before the end.
        sendTaken();
        while (!inbound.isEmpty()) inbound.poll().release();
        carrier.ended();
        carrier.drained();
    }

    @Override
    protected void doBeginRead() {
        if (!open) return;
        readPending = true;
        deliver();
    }

    /** Gives queued octets to the pipeline while the session reads, one read's worth at a time. */
    private void deliver() {
        if (delivering) return;
        delivering = true;
        try {
            while (open && readPending && !inbound.isEmpty()) {
                readPending = false;
                while (open && !inbound.isEmpty()) {
                    pipeline().fireChannelRead(inbound.poll());
                    // As a socket's read loop: it stops when the session paused reading.
                    if (!config.isAutoRead() && !readPending) break;
                }
                // The head asks for the next read here when reads are on (autoRead), as after a socket's.
                pipeline().fireChannelReadComplete();
            }
        } finally {
            delivering = false;
        }
        if (inbound.isEmpty()) carrier.drained();
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) {
        boolean sent = false;
        // Kept here while the connection is full: the session's writability follows, and
        // linkWritable sends the rest.
        while (open && carrier.writable()) {
            Object message = in.current();
            if (message == null) break;
            if (message instanceof ByteBuf buffer) {
                if (takenBytes + buffer.readableBytes() > GATHER) sent |= sendTaken();
                take(buffer.retain());
                // Completes the write's promise, whose listeners may write more (taken next) or
                // close the session (doClose sends what was taken before the end).
                in.remove();
            } else {
                sent |= sendTaken();
                // Fails the write and releases the message.
                in.remove(new UnsupportedOperationException("a carried session writes octets only, not "
                        + message.getClass().getSimpleName()));
            }
        }
        sent |= sendTaken();
        if (sent) carrier.flush();
    }

    /**
     * Keeps a write's octets to go with the others of the same flush: the lines of a response,
     * each a write of its own, cross the link as one payload of at most {@link #GATHER} octets, so
     * one frame, rather than a frame each (a single larger write goes alone).
     */
    private void take(ByteBuf buffer) {
        if (!buffer.isReadable()) {
            buffer.release();
            return;
        }
        taken.add(buffer);
        takenBytes += buffer.readableBytes();
    }

    /** Gives the carrier what {@link #take} kept; false if nothing was kept. */
    private boolean sendTaken() {
        if (taken.isEmpty()) return false;
        ByteBuf payload = taken.size() == 1 ? taken.get(0)
                : alloc().compositeBuffer(taken.size()).addComponents(true, taken);
        taken.clear();
        takenBytes = 0;
        carrier.send(payload);
        return true;
    }

    @Override
    public ChannelConfig config() {
        return config;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public boolean isActive() {
        return open;
    }

    @Override
    public ChannelMetadata metadata() {
        return METADATA;
    }
}
