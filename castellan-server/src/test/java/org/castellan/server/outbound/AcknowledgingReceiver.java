package org.castellan.server.outbound;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A receiving SMTP server (plain text, no extensions) that records what it
 * acknowledged: for each message it answers 250 after the content, one "test id, recipient" entry
 * per accepted recipient, recorded <i>before</i> the 250 is written, so the record is exactly what
 * a sender may take as delivered (RFC 5321 §6.1). The test id is the message's {@code X-Test-Id}.
 * Greetings wait until {@link #open} is called, so a test can let a queue fill first.
 */
final class AcknowledgingReceiver implements AutoCloseable {

    /** One acknowledged recipient of one message. */
    record Ack(String id, String recipient) {}

    private final ServerSocket server;
    private final CountDownLatch gate = new CountDownLatch(1);
    private final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    private final List<Socket> sockets = new ArrayList<>();
    /** Messages answered 250 after their content. */
    final AtomicInteger messagesAcknowledged = new AtomicInteger();

    AcknowledgingReceiver() throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread.ofVirtual().start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    /** Lets the sessions waiting for their greeting, and all later ones, go on. */
    void open() {
        gate.countDown();
    }

    /** Every acknowledgement so far, in the order they were made. */
    List<Ack> acks() {
        return List.copyOf(acks);
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                synchronized (sockets) {
                    sockets.add(s);
                }
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            gate.await();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = socket.getOutputStream();
            send(out, "220 receiver.test ESMTP");
            List<String> recipients = new ArrayList<>();
            String line;
            while ((line = in.readLine()) != null) {
                String verb = line.split(" ", 2)[0].toUpperCase(Locale.ROOT);
                switch (verb) {
                    case "EHLO", "HELO" -> send(out, "250 receiver.test");
                    case "MAIL", "RSET" -> {
                        recipients.clear();
                        send(out, "250 2.0.0 ok");
                    }
                    case "RCPT" -> {
                        recipients.add(line.substring(line.indexOf('<') + 1, line.indexOf('>')));
                        send(out, "250 2.1.5 ok");
                    }
                    case "DATA" -> {
                        send(out, "354 go ahead");
                        String id = null;
                        String l;
                        while ((l = in.readLine()) != null && !l.equals(".")) {
                            if (id == null && l.startsWith("X-Test-Id: ")) id = l.substring("X-Test-Id: ".length()).strip();
                        }
                        if (l == null) return; // the sender went away before the end of the content: nothing taken
                        for (String r : recipients) acks.add(new Ack(id, r));
                        messagesAcknowledged.incrementAndGet();
                        send(out, "250 2.0.0 taken");
                        recipients.clear();
                    }
                    case "QUIT" -> {
                        send(out, "221 2.0.0 bye");
                        return;
                    }
                    default -> send(out, "502 5.5.2 not here");
                }
            }
        } catch (IOException e) {
            // the sender died or went away: whatever it had not finished was not acknowledged
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void send(OutputStream out, String reply) throws IOException {
        out.write((reply + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
        open();
        synchronized (sockets) {
            for (Socket s : sockets) s.close();
        }
    }
}
