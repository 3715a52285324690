package org.castellan.server.hostile;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.castellan.server.testing.TestServer;

/**
 * Many IMAP connections from one source address, each sending one LOGIN, written one right after
 * the other so that the server has them all at once: what a guessing script with a connection
 * pool does. Each connection's tagged reply is read as an {@link Outcome}.
 */
final class LoginBurst implements AutoCloseable {

    /** A safety net so that a broken server fails the test instead of hanging it; never asserted. */
    private static final int READ_TIMEOUT_MILLIS = 30_000;

    /** What a tagged LOGIN reply means (RFC 9051 §6.2.3, RFC 5530 response codes). */
    enum Outcome { OK, INVALID, TEMPORARY, OTHER }

    private final List<Connection> connections = new ArrayList<>();

    private record Connection(Socket socket, BufferedReader in, OutputStream out) {}

    /** Opens {@code count} connections from {@code from} (any 127/8 address on Linux) and reads their greetings. */
    /**
     * An IMAP listener whose connection caps admit a whole burst from one address, so that what
     * is tested is the login path alone (the caps have ConnectionFloodTest).
     */
    static String imapListener() {
        return TestServer.listener("imap", "imap", "none", true)
                + "max-connections-per-address = 1000\nmax-connections-per-network = 1000\n";
    }

    static LoginBurst open(InetSocketAddress server, InetAddress from, int count) throws Exception {
        LoginBurst burst = new LoginBurst();
        try (ExecutorService connecting = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Connection>> opened = new ArrayList<>();
            for (int i = 0; i < count; i++) opened.add(connecting.submit(() -> connect(server, from)));
            for (Future<Connection> f : opened) burst.connections.add(f.get());
        } catch (Exception e) {
            burst.close();
            throw e;
        }
        return burst;
    }

    int size() {
        return connections.size();
    }

    /** Writes {@code a1 LOGIN user password[i]} on connection i, in order, without waiting for any reply. */
    void sendLogins(String user, List<String> passwords) throws IOException {
        for (int i = 0; i < connections.size(); i++) {
            String line = "a1 LOGIN \"" + user + "\" \"" + passwords.get(i) + "\"\r\n";
            OutputStream out = connections.get(i).out();
            out.write(line.getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }
    }

    /** The tagged reply of every connection, in connection order. */
    List<Outcome> replies() throws Exception {
        try (ExecutorService reading = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Outcome>> replies = new ArrayList<>();
            for (Connection c : connections) replies.add(reading.submit(() -> tagged(c.in())));
            List<Outcome> outcomes = new ArrayList<>();
            for (Future<Outcome> f : replies) outcomes.add(f.get());
            return outcomes;
        }
    }

    /** One connection's whole LOGIN: connect from {@code from}, log in, read the reply, close. */
    static Outcome login(InetSocketAddress server, InetAddress from, String user, String password) throws Exception {
        try (LoginBurst one = open(server, from, 1)) {
            one.sendLogins(user, List.of(password));
            return one.replies().getFirst();
        }
    }

    /** An address literal such as {@code 127.0.0.2} (no name lookup). */
    static InetAddress loopback(String literal) {
        return new InetSocketAddress(literal, 0).getAddress();
    }

    @Override
    public void close() {
        for (Connection c : connections) {
            try {
                c.socket().close();
            } catch (IOException ignored) {
                // Closing is all that is left to do with it.
            }
        }
    }

    private static Outcome tagged(BufferedReader in) throws IOException {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (!line.startsWith("a1 ")) continue;
            if (line.startsWith("a1 OK")) return Outcome.OK;
            if (line.contains("[AUTHENTICATIONFAILED]")) return Outcome.INVALID;
            if (line.contains("[UNAVAILABLE]")) return Outcome.TEMPORARY;
            return Outcome.OTHER;
        }
        return Outcome.OTHER;
    }

    private static Connection connect(InetSocketAddress server, InetAddress from) {
        try {
            Socket s = new Socket();
            s.bind(new InetSocketAddress(from, 0));
            s.connect(server, READ_TIMEOUT_MILLIS);
            s.setSoTimeout(READ_TIMEOUT_MILLIS);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            String greeting = in.readLine();
            if (greeting == null || !greeting.startsWith("* OK")) {
                s.close();
                throw new IOException("no IMAP greeting: " + greeting);
            }
            return new Connection(s, in, s.getOutputStream());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
