package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.Transport;
import org.junit.jupiter.api.Test;

/**
 * Output flow control: a client that pipelines FETCHes of a multi-megabyte message and reads
 * nothing makes the server queue no more than about the channel's high-water mark for it (the
 * style rule: every stream a client can make the server produce is bounded by the channel's
 * writability); once it reads, it gets every response, byte for byte.
 */
class FlowControlTest extends ServerPerTest {

    /** High-water mark, one stored chunk and one batch of text in flight, and room for a few lines. */
    static final long BOUND = Transport.WRITE_HIGH_WATER + FetchOutput.STREAM_CHUNK + Fetch.WRITE_BATCH_BYTES + 64 * 1024;
    static final int FETCHES = 25;

    @Test
    void pipelinedFetchesOfALargeMessageWaitForTheClient() throws IOException {
        byte[] message = largeMessage(4 * 1024 * 1024);
        long uid = imap.store().append(imap.inbox, message, java.util.Set.of(), null).uid();
        try (Client client = examined()) {
            InputStream in = client.in();
            OutputStream out = client.out();
            Connection connection = client.connection();
            StringBuilder fetches = new StringBuilder();
            for (int i = 0; i < FETCHES; i++) fetches.append("f").append(i).append(" UID FETCH ").append(uid).append(" BODY.PEEK[]\r\n");
            out.write(fetches.toString().getBytes(StandardCharsets.US_ASCII));
            out.flush();

            // The server fills what the socket takes, then the channel's queue up to its mark, and stops.
            await().atMost(Duration.ofSeconds(20)).until(() -> connection.queuedOutput() >= Transport.WRITE_LOW_WATER
                    && !connection.channel().isWritable());
            assertThat(connection.peakQueuedOutput()).as("output queued for a client that reads nothing").isLessThan(BOUND);

            for (int i = 0; i < FETCHES; i++) {
                String head = line(in);
                assertThat(head).matches("\\* \\d+ FETCH \\(UID " + uid + " BODY\\[\\] \\{" + message.length + "\\}");
                assertThat(in.readNBytes(message.length)).isEqualTo(message);
                assertThat(line(in)).isEqualTo(")");
                assertThat(line(in)).isEqualTo("f" + i + " OK FETCH completed");
            }
        }
        assertThat(imap.server.sessions().list()).allSatisfy(c -> assertThat(c.peakQueuedOutput()).isLessThan(BOUND));
    }

    /**
     * Each flush is a TLS record and a system call, and through an edge a frame, a record and a
     * system call more each way: a FETCH hands its last responses over unflushed for its tagged
     * reply to take along, and the text before a stored message goes with the message's first chunk.
     */
    @Test
    void aFetchsResponsesLeaveWithItsTaggedReply() throws IOException {
        try (Client client = examined()) {
            InputStream in = client.in();
            OutputStream out = client.out();
            Flushes flushes = new Flushes();
            client.connection().channel().pipeline().addFirst(flushes);

            out.write("f1 FETCH 1:* (UID FLAGS)\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(line(in)).startsWith("* 1 FETCH (UID ");
            assertThat(line(in)).startsWith("* 2 FETCH (UID ");
            assertThat(line(in)).isEqualTo("f1 OK FETCH completed");
            assertThat(flushes.take()).as("flushes sending the responses and the tagged reply").isEqualTo(1);

            out.write(("f2 UID FETCH " + firstUid + " BODY.PEEK[]\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(line(in)).matches("\\* 1 FETCH \\(UID " + firstUid + " BODY\\[\\] \\{" + FIRST.length() + "\\}");
            assertThat(new String(in.readNBytes(FIRST.length()), StandardCharsets.US_ASCII)).isEqualTo(FIRST);
            assertThat(line(in)).isEqualTo(")");
            assertThat(line(in)).isEqualTo("f2 OK FETCH completed");
            assertThat(flushes.take()).as("the message with the text before it, then the rest with the tagged reply")
                    .isEqualTo(2);
        }
    }

    /** A cleartext client logged in with INBOX examined, and its connection at the server. */
    private record Client(Socket socket, InputStream in, OutputStream out, Connection connection) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private Client examined() throws IOException {
        Socket socket = new Socket("127.0.0.1", imap.port("imap"));
        socket.setSoTimeout(20_000);
        socket.setReceiveBufferSize(64 * 1024);
        InputStream in = new BufferedInputStream(socket.getInputStream());
        OutputStream out = socket.getOutputStream();
        line(in);
        out.write(("l1 LOGIN " + ImapTestServer.USER + " \"" + ImapTestServer.PASSWORD + "\"\r\ns1 EXAMINE INBOX\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        while (!line(in).startsWith("s1 OK")) {
            // login and EXAMINE responses
        }
        Connection connection = imap.server.sessions().list().stream()
                .filter(c -> c.account().isPresent()).findFirst().orElseThrow();
        return new Client(socket, in, out, connection);
    }

    /** Counts the flushes that send something, at the socket's end of a live connection's pipeline. */
    private static final class Flushes extends ChannelOutboundHandlerAdapter {
        private final AtomicInteger count = new AtomicInteger();
        private boolean written;

        @Override
        public void write(ChannelHandlerContext ctx, Object message, ChannelPromise promise) {
            written = true;
            ctx.write(message, promise);
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
            // Counted before it leaves: the client cannot have read what it sends before the count.
            if (written) count.incrementAndGet();
            written = false;
            ctx.flush();
        }

        int take() {
            return count.getAndSet(0);
        }
    }

    static byte[] largeMessage(int size) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(size);
        b.writeBytes("From: carol@example.net\r\nSubject: large\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        Random random = new Random(42);
        while (b.size() < size - 80) {
            for (int i = 0; i < 76; i++) b.write('A' + random.nextInt(26));
            b.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        return b.toByteArray();
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) throw new IOException("closed after " + b);
            b.write(c);
        }
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }
}
