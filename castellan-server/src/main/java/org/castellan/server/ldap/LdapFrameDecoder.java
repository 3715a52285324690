package org.castellan.server.ldap;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Cuts the received bytes into LDAPMessages by the outer BER length (RFC 4511 §5.1) and nothing
 * more: what is inside a message is the UnboundID SDK's to decode. A message longer than
 * {@link LdapService#MAX_MESSAGE}, a first octet other than SEQUENCE or an indefinite length ends
 * the stream with one {@link Frame.Refused}; the session answers it with a Notice of
 * Disconnection and closes, and no byte after it is looked at.
 */
final class LdapFrameDecoder extends ByteToMessageDecoder {

    /** The universal, constructed SEQUENCE tag every LDAPMessage starts with (RFC 4511 §4.1.1). */
    private static final int SEQUENCE = 0x30;
    /** A definite length takes at most four octets here: {@link LdapService#MAX_MESSAGE} fits in three. */
    private static final int MAX_LENGTH_OCTETS = 4;

    /** What the decoder hands on. */
    sealed interface Frame {
        /** One whole LDAPMessage, tag and length included. */
        record Message(byte[] der) implements Frame {}

        /** The stream cannot be read on; {@code tooLarge} when a message is over the limit. */
        record Refused(String reason, boolean tooLarge) implements Frame {}
    }

    private boolean refused;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (refused) {
            in.skipBytes(in.readableBytes());
            return;
        }
        int start = in.readerIndex();
        if (in.readableBytes() < 2) return;
        if (in.getUnsignedByte(start) != SEQUENCE) {
            refuse(in, out, "not an LDAPMessage", false);
            return;
        }
        int first = in.getUnsignedByte(start + 1);
        long length;
        int header;
        if (first < 0x80) {
            length = first;
            header = 2;
        } else {
            int octets = first & 0x7f;
            // RFC 4511 §5.1: only the definite form of length is used.
            if (octets == 0) {
                refuse(in, out, "indefinite length", false);
                return;
            }
            if (octets > MAX_LENGTH_OCTETS) {
                refuse(in, out, "message over " + LdapService.MAX_MESSAGE + " octets", true);
                return;
            }
            if (in.readableBytes() < 2 + octets) return;
            length = 0;
            for (int i = 0; i < octets; i++) length = (length << 8) | in.getUnsignedByte(start + 2 + i);
            header = 2 + octets;
        }
        if (header + length > LdapService.MAX_MESSAGE) {
            refuse(in, out, "message over " + LdapService.MAX_MESSAGE + " octets", true);
            return;
        }
        if (in.readableBytes() < header + length) return;
        byte[] der = new byte[header + (int) length];
        in.readBytes(der);
        out.add(new Frame.Message(der));
    }

    private void refuse(ByteBuf in, List<Object> out, String reason, boolean tooLarge) {
        refused = true;
        in.skipBytes(in.readableBytes());
        out.add(new Frame.Refused(reason, tooLarge));
    }
}
