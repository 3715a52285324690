package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.Inflater;
import java.util.zip.InflaterInputStream;
import javax.net.ssl.SSLSocket;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/**
 * RFC 4978 COMPRESS=DEFLATE with a real client: the JDK's raw DEFLATE ({@code nowrap}) over a TLS
 * socket, flushed per command. IDLE updates and a large FETCH arrive whole, because the server
 * flushes every response.
 */
class CompressTest extends ServerPerTest {

    /** A TLS socket whose streams inflate what arrives and deflate (sync-flushed) what is sent. */
    private static final class DeflateSocket extends Socket {
        private final Socket tls;
        private final InputStream in;
        private final OutputStream out;

        DeflateSocket(Socket tls) throws IOException {
            this.tls = tls;
            InputStream raw = tls.getInputStream();
            this.in = new InflaterInputStream(raw, new Inflater(true)) {
                // InflaterInputStream says 1 until the end, and a Reader then blocks for more than a line.
                @Override
                public int available() throws IOException {
                    return inf.needsInput() ? raw.available() : 1;
                }
            };
            this.out = new DeflaterOutputStream(tls.getOutputStream(), new Deflater(Deflater.DEFAULT_COMPRESSION, true), true);
        }

        @Override public InputStream getInputStream() { return in; }

        @Override public OutputStream getOutputStream() { return out; }

        @Override public void setSoTimeout(int timeout) throws SocketException { tls.setSoTimeout(timeout); }

        @Override public int getPort() { return tls.getPort(); }

        @Override public synchronized void close() throws IOException { tls.close(); }
    }

    /** Logs in over implicit TLS, sends COMPRESS DEFLATE in the clear, and continues compressed. */
    private Transcript compressed() {
        try {
            SSLSocket s = (SSLSocket) imap.pki.clientContext().getSocketFactory().createSocket();
            s.connect(new InetSocketAddress("127.0.0.1", imap.port("imaps")));
            s.startHandshake();
            s.setSoTimeout(20_000);
            InputStream raw = s.getInputStream();
            OutputStream rawOut = s.getOutputStream();
            assertThat(line(raw)).startsWith("* OK");
            rawOut.write("l1 LOGIN %s \"%s\"\r\nc0 COMPRESS DEFLATE\r\n".formatted(ImapTestServer.USER, ImapTestServer.PASSWORD)
                    .getBytes(StandardCharsets.UTF_8));
            rawOut.flush();
            assertThat(line(raw)).startsWith("l1 OK");
            // RFC 4978 §3: everything after this CRLF is compressed.
            assertThat(line(raw)).isEqualTo("c0 OK DEFLATE active");
            return new Transcript(new DeflateSocket(s), imap.pki);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One line, read byte by byte so that nothing after it is consumed. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) throw new IOException("closed after " + b);
            if (c != '\r') b.write(c);
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    @Test
    void compressedSessionWorksAndCompressesOnlyOnce() {
        try (Transcript t = compressed()) {
            String caps = t.run("C: a1 CAPABILITY").expect("\\* CAPABILITY .*");
            assertThat(caps).contains("IDLE").doesNotContain("COMPRESS=");
            t.run("""
                    S: a1 OK CAPABILITY completed
                    C: a2 COMPRESS DEFLATE
                    S: a2 NO \\[COMPRESSIONACTIVE\\] DEFLATE is already active
                    C: a3 SELECT INBOX
                    """);
            while (!t.readLine().startsWith("a3 OK")) { }
            t.run("""
                    C: a4 FETCH 1 BODY.PEEK[TEXT]
                    S: \\* 1 FETCH \\(BODY\\[TEXT\\] \\{13\\}
                    S: Hello there
                    S: \\)
                    S: a4 OK FETCH completed
                    """);
        }
    }

    @Test
    void largeFetchArrivesWholeCompressed() {
        StringBuilder body = new StringBuilder("Subject: big\r\n\r\n");
        for (int i = 0; i < 20_000; i++) body.append("Line ").append(i).append(": the quick brown fox ").append(i * 7919 % 1000).append("\r\n");
        String message = body.toString();
        long uid = imap.append(message);
        try (Transcript t = compressed()) {
            t.send("a1 SELECT INBOX");
            while (!t.readLine().startsWith("a1 OK")) { }
            t.send("a2 UID FETCH %d BODY.PEEK[]".formatted(uid));
            t.expect("\\* 3 FETCH \\(UID %d BODY\\[\\] \\{%d\\}".formatted(uid, message.length()));
            StringBuilder got = new StringBuilder();
            while (got.length() < message.length()) got.append(t.readLine()).append("\r\n");
            assertThat(got.toString()).isEqualTo(message);
            t.run("""
                    S: \\)
                    S: a2 OK FETCH completed
                    """);
        }
    }

    @Test
    void idleUpdatesArriveWhileCompressed() {
        try (Transcript watcher = compressed(); Transcript actor = imap.selected()) {
            watcher.send("w0 SELECT INBOX");
            while (!watcher.readLine().startsWith("w0 OK")) { }
            watcher.run("""
                    C: w1 IDLE
                    S: \\+ idling
                    """);
            actor.sendRaw("a1 APPEND INBOX {14+}\r\nSubject: new\r\n\r\n");
            while (!actor.readLine().startsWith("a1 OK")) { }
            watcher.run("""
                    S: \\* 3 EXISTS
                    S: \\* [01] RECENT
                    C: DONE
                    S: w1 OK IDLE terminated
                    """);
        }
    }

    @Test
    void compressNeedsLoginAndKnowsOnlyDeflate() {
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 COMPRESS DEFLATE
                    S: a1 BAD Command not valid in this state
                    C: l1 LOGIN %s "%s"
                    S: l1 OK .*
                    C: a2 COMPRESS LZ4
                    S: a2 BAD Unknown compression mechanism; this server offers DEFLATE
                    C: a3 COMPRESS
                    S: a3 BAD Missing argument
                    C: a4 NOOP
                    S: a4 OK NOOP completed
                    """.formatted(ImapTestServer.USER, ImapTestServer.PASSWORD));
        }
    }
}
