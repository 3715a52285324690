package org.castellan.server.cli;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A test's side of the frames a link carries a session in after the opening line (docs/roles.md
 * §2): four octets of length, then the octets; length 0 ends the session in that direction.
 * Written from that description, not from the server's code, so that a test checks the wire.
 */
final class LinkFraming {

    private LinkFraming() {}

    /** The session's octets from {@code link}'s frames; end of stream at the node's end frame. */
    static InputStream unframed(InputStream link) {
        DataInputStream frames = new DataInputStream(link);
        return new InputStream() {
            private int left;
            private boolean ended;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (ended) return -1;
                while (left == 0) {
                    left = frames.readInt();
                    if (left == 0) {
                        ended = true;
                        return -1;
                    }
                }
                int n = frames.read(b, off, Math.min(len, left));
                if (n < 0) throw new java.io.EOFException("the link closed inside a frame");
                left -= n;
                return n;
            }
        };
    }

    /** Each write to the stream returned goes to {@code link} as one frame; {@link #end} sends the end frame. */
    static OutputStream framed(OutputStream link) {
        DataOutputStream data = new DataOutputStream(link);
        return new FilterOutputStream(data) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (len == 0) return;
                data.writeInt(len);
                data.write(b, off, len);
                data.flush();
            }

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }
        };
    }

    /** The end frame: this side's end of the session. */
    static void end(OutputStream link) throws IOException {
        link.write(new byte[4]);
        link.flush();
    }
}
