package org.castellan.server.outbound;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.castellan.testkit.TestCertificate;

/**
 * A receiving SMTP server whose replies a test scripts, for the misbehaviour a real one will not
 * show on demand: a 4xx before a 250, a 5xx for one recipient, no STARTTLS, a reply without end,
 * no reply at all. It records every line the client sent, per connection, and every message.
 */
final class ScriptedReceiver implements AutoCloseable {

    /** A reply that is never sent: the receiver reads on and says nothing. */
    static final String SILENCE = "";

    private final ServerSocket server;
    private final List<String> extensions;
    private final TestCertificate certificate;
    /** (command line, connection number from 1) → the reply to send instead of the default, or null. */
    private volatile BiFunction<String, Integer, String> script = (c, n) -> null;
    private volatile String greeting = "220 receiver.test ESMTP";
    final AtomicInteger connections = new AtomicInteger();
    /** Every line the client sent, "n: line" with the connection's number; content lines are not listed. */
    final List<String> transcript = new CopyOnWriteArrayList<>();
    final List<String> messages = new CopyOnWriteArrayList<>();
    private final List<Socket> open = Collections.synchronizedList(new ArrayList<>());

    ScriptedReceiver(List<String> extensions, TestCertificate certificate) throws IOException {
        this(InetAddress.getLoopbackAddress(), extensions, certificate);
    }

    /** @param address where to listen: another loopback address (127.0.0.2) than the certificate names */
    ScriptedReceiver(InetAddress address, List<String> extensions, TestCertificate certificate) throws IOException {
        this(new InetSocketAddress(address, 0), extensions, certificate);
    }

    /** @param address where to listen, such as a loopback address at port 25 for MX routing */
    ScriptedReceiver(InetSocketAddress address, List<String> extensions, TestCertificate certificate) throws IOException {
        this.extensions = List.copyOf(extensions);
        this.certificate = certificate;
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(address);
        Thread.ofVirtual().start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    ScriptedReceiver script(BiFunction<String, Integer, String> script) {
        this.script = script;
        return this;
    }

    ScriptedReceiver greeting(String greeting) {
        this.greeting = greeting;
        return this;
    }

    /** The lines of the transcript that are commands (not the connection numbers). */
    List<String> commands() {
        return transcript.stream().map(l -> l.substring(l.indexOf(": ") + 2)).toList();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                open.add(s);
                int n = connections.incrementAndGet();
                Thread.ofVirtual().start(() -> serve(s, n));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket socket, int n) {
        try (socket) {
            Socket s = socket;
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            boolean tls = false;
            if (!send(out, greeting)) {
                hang(in);
                return;
            }
            String line;
            while ((line = readLine(in)) != null) {
                transcript.add(n + ": " + line);
                String verb = line.split(" ", 2)[0].toUpperCase(Locale.ROOT);
                String custom = script.apply(line, n);
                if (custom != null) {
                    if (!send(out, custom)) {
                        hang(in);
                        return;
                    }
                    if (verb.equals("QUIT") || custom.startsWith("421")) return;
                    continue;
                }
                switch (verb) {
                    case "EHLO" -> {
                        List<String> lines = new ArrayList<>();
                        lines.add("receiver.test");
                        lines.addAll(extensions);
                        if (certificate != null && !tls) lines.add("STARTTLS");
                        StringBuilder b = new StringBuilder();
                        for (int i = 0; i < lines.size(); i++) {
                            b.append("250").append(i == lines.size() - 1 ? " " : "-").append(lines.get(i)).append("\r\n");
                        }
                        send(out, b.toString().strip());
                    }
                    case "STARTTLS" -> {
                        send(out, "220 2.0.0 go ahead");
                        SSLContext context = SSLContext.getInstance("TLS");
                        context.init(certificate.keyManagerFactory().getKeyManagers(), null, null);
                        SSLSocket ssl = (SSLSocket) context.getSocketFactory().createSocket(s, null, s.getPort(), true);
                        ssl.setUseClientMode(false);
                        ssl.startHandshake();
                        s = ssl;
                        in = new BufferedInputStream(s.getInputStream());
                        out = s.getOutputStream();
                        tls = true;
                        transcript.add(n + ": (TLS " + ssl.getSession().getProtocol() + ")");
                    }
                    case "DATA" -> {
                        send(out, "354 go ahead");
                        ByteArrayOutputStream content = new ByteArrayOutputStream();
                        String l;
                        while ((l = readLine(in)) != null && !l.equals(".")) {
                            if (l.startsWith(".")) l = l.substring(1); // RFC 5321 §4.5.2
                            content.writeBytes((l + "\r\n").getBytes(StandardCharsets.UTF_8));
                        }
                        messages.add(content.toString(StandardCharsets.UTF_8));
                        String done = script.apply(".", n);
                        send(out, done != null ? done : "250 2.0.0 queued");
                    }
                    case "BDAT" -> {
                        String[] parts = line.split(" ");
                        byte[] chunk = in.readNBytes(Integer.parseInt(parts[1]));
                        messages.add(new String(chunk, StandardCharsets.UTF_8));
                        send(out, "250 2.0.0 chunk of " + chunk.length + " octets");
                    }
                    case "QUIT" -> {
                        send(out, "221 2.0.0 bye");
                        return;
                    }
                    case "MAIL" -> send(out, "250 2.1.0 ok");
                    case "RCPT" -> send(out, "250 2.1.5 ok");
                    default -> send(out, "250 2.0.0 ok");
                }
            }
        } catch (IOException | java.security.GeneralSecurityException e) {
            transcript.add(n + ": (" + e.getClass().getSimpleName() + " " + e.getMessage() + ")");
        }
    }

    /** False for {@link #SILENCE}. */
    private static boolean send(OutputStream out, String reply) throws IOException {
        if (reply.isEmpty()) return false;
        out.write((reply + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        return true;
    }

    private static void hang(InputStream in) throws IOException {
        while (in.read() >= 0) {
            // says nothing, reads until the client gives up
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, length, StandardCharsets.UTF_8);
            }
            line.write(b);
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        server.close();
        synchronized (open) {
            for (Socket s : open) s.close();
        }
    }
}
