package org.castellan.server.auth;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import javax.net.ssl.ExtendedSSLSession;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.UnaryOperator;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * One client for SMTP submission, IMAP and POP3 that speaks only what authentication needs:
 * greeting, STARTTLS, a SASL exchange (initial response inline: SMTP and POP3 AUTH, IMAP SASL-IR)
 * and the password commands, and reads each protocol's final reply as one {@link Outcome}.
 */
final class MailClient implements AutoCloseable {

    /** A safety net so that a broken server fails the test instead of hanging it; never asserted. */
    private static final int READ_TIMEOUT_MILLIS = 20_000;
    private static final String TAG = "a1";

    enum Proto {
        SMTP("submission"), IMAP("imap"), POP3("pop3");

        /** The listener protocol in castellan.toml. */
        final String configName;

        Proto(String configName) {
            this.configName = configName;
        }
    }

    /** What a final reply means, whatever the protocol's words for it. */
    enum Outcome { OK, INVALID, TEMPORARY, UNAVAILABLE, ENCRYPTION_REQUIRED, MALFORMED, CLOSED, OTHER }

    /** A final reply: its meaning and the line itself, for assertion messages. */
    record Reply(Outcome outcome, String line) {}

    private final Proto proto;
    /** Closes (politely) after the first final reply, for tests that make one attempt per connection. */
    private boolean oneShot;
    private Socket socket;
    private BufferedReader in;
    private OutputStream out;

    private MailClient(Proto proto, Socket socket) throws IOException {
        this.proto = proto;
        use(socket);
    }

    /** Connects from {@code from} (any loopback address on Linux) and reads the greeting. */
    static MailClient plain(Proto proto, InetSocketAddress at, InetAddress from) throws IOException {
        MailClient c = new MailClient(proto, connect(at, from));
        c.greeting();
        return c;
    }

    /** Implicit TLS with {@code context}; {@code tls12} limits the handshake to TLS 1.2 (where tls-server-end-point exists). */
    static MailClient implicit(Proto proto, InetSocketAddress at, InetAddress from, SSLContext context, boolean tls12)
            throws IOException {
        MailClient c = new MailClient(proto, wrap(connect(at, from), context, at, tls12));
        c.greeting();
        return c;
    }

    /** Makes the next final reply of {@link #authenticate} or {@link #passwordCommand} end the connection. */
    MailClient oneShot() {
        oneShot = true;
        return this;
    }

    /** RFC 3207, RFC 9051 §6.2.1, RFC 2595 §4: the upgrade, then (SMTP) a fresh EHLO. */
    MailClient startTls(SSLContext context) throws IOException {
        return startTls(context, false);
    }

    /** As {@link #startTls(SSLContext)}; {@code tls12} limits the handshake to TLS 1.2. */
    MailClient startTls(SSLContext context, boolean tls12) throws IOException {
        String reply = switch (proto) {
            case SMTP -> command("STARTTLS");
            case IMAP -> tagged(TAG + " STARTTLS");
            case POP3 -> command("STLS");
        };
        if (!(reply.startsWith("220") || reply.startsWith(TAG + " OK") || reply.startsWith("+OK"))) {
            throw new IOException("STARTTLS refused: " + reply);
        }
        InetSocketAddress at = (InetSocketAddress) socket.getRemoteSocketAddress();
        use(wrap(socket, context, at, tls12));
        if (proto == Proto.SMTP) smtpReply("EHLO client.example");
        return this;
    }

    /**
     * What the server lists now, one entry per capability: the words of IMAP's untagged
     * CAPABILITY (RFC 9051 §6.1.1), the lines of the EHLO reply after the greeting line
     * (RFC 5321 §4.1.1.1), the lines of POP3 CAPA (RFC 2449 §5).
     */
    List<String> capabilities() throws IOException {
        List<String> caps = new ArrayList<>();
        switch (proto) {
            case IMAP -> {
                send("a2 CAPABILITY");
                for (String l = line(); l != null && !l.startsWith("a2 "); l = line()) {
                    if (l.startsWith("* CAPABILITY ")) caps.addAll(List.of(l.substring(13).split(" ")));
                }
            }
            case SMTP -> {
                send("EHLO client.example");
                String l = line();
                while (l != null && l.length() > 3 && l.charAt(3) == '-') {
                    l = line();
                    if (l != null && l.length() > 4) caps.add(l.substring(4));
                }
            }
            case POP3 -> {
                if (!command("CAPA").startsWith("+OK")) throw new IOException("CAPA refused");
                for (String l = line(); l != null && !l.equals("."); l = line()) caps.add(l);
            }
        }
        return caps;
    }

    /**
     * A SASL exchange: {@code initialResponse} null sends none; each challenge (including SCRAM's
     * server-final message) is answered with what {@code respond} makes of it.
     */
    Reply authenticate(String mechanism, byte[] initialResponse, UnaryOperator<byte[]> respond) throws IOException {
        String ir = initialResponse == null ? "" : initialResponse.length == 0 ? " =" : " " + encode(initialResponse);
        String line = switch (proto) {
            case SMTP -> smtpReply("AUTH " + mechanism + ir);
            case IMAP -> tagged(TAG + " AUTHENTICATE " + mechanism + ir);
            case POP3 -> command("AUTH " + mechanism + ir);
        };
        for (int rounds = 0; line != null && challenge(line) != null; rounds++) {
            if (rounds > 10) throw new IOException("the server keeps challenging: " + line);
            byte[] answer = respond.apply(Base64.getDecoder().decode(challenge(line)));
            send(encode(answer));
            line = proto == Proto.SMTP ? smtpReply(null) : proto == Proto.IMAP ? tagged(null) : line();
        }
        return reply(line);
    }

    /** A SASL exchange that needs no answer to challenges but the server-final's empty one. */
    Reply authenticate(String mechanism, byte[] initialResponse) throws IOException {
        return authenticate(mechanism, initialResponse, challenge -> new byte[0]);
    }

    /** IMAP LOGIN or POP3 USER/PASS; SMTP has no password command. */
    Reply passwordCommand(String user, String password) throws IOException {
        return switch (proto) {
            case IMAP -> reply(tagged(TAG + " LOGIN \"" + user + "\" \"" + password + "\""));
            case POP3 -> {
                String ok = command("USER " + user);
                yield ok.startsWith("+OK") ? reply(command("PASS " + password)) : reply(ok);
            }
            case SMTP -> throw new IllegalArgumentException("SMTP has no password command");
        };
    }

    /** RFC 5929 §4.1: the hash of the server's certificate (SHA-256 for an ECDSA-SHA256 one). */
    byte[] tlsServerEndPoint() throws Exception {
        X509Certificate server = (X509Certificate) ((SSLSocket) socket).getSession().getPeerCertificates()[0];
        return MessageDigest.getInstance("SHA-256").digest(server.getEncoded());
    }

    /**
     * RFC 9266 §2: TLS-Exporter("EXPORTER-Channel-Binding", "", 32), through the JDK 25 API (looked
     * up at run time: the build's release level is 21).
     */
    byte[] tlsExporter() throws Throwable {
        MethodHandle export = MethodHandles.publicLookup().findVirtual(ExtendedSSLSession.class,
                "exportKeyingMaterialData", MethodType.methodType(byte[].class, String.class, byte[].class, int.class));
        return (byte[]) export.invoke(((SSLSocket) socket).getSession(), "EXPORTER-Channel-Binding", new byte[0], 32);
    }

    String tlsVersion() {
        return ((SSLSocket) socket).getSession().getProtocol();
    }

    private Reply reply(String line) throws IOException {
        if (oneShot) close();
        if (line == null) return new Reply(Outcome.CLOSED, "(connection closed)");
        Outcome o = switch (proto) {
            case SMTP -> switch (line.substring(0, Math.min(3, line.length()))) {
                case "235" -> Outcome.OK;
                case "535" -> Outcome.INVALID;
                case "454" -> Outcome.TEMPORARY;
                case "504" -> Outcome.UNAVAILABLE;
                case "538" -> Outcome.ENCRYPTION_REQUIRED;
                case "501" -> Outcome.MALFORMED;
                default -> Outcome.OTHER;
            };
            case IMAP -> line.startsWith(TAG + " OK") ? Outcome.OK
                    : line.startsWith(TAG + " BAD") ? Outcome.MALFORMED
                    : line.contains("[AUTHENTICATIONFAILED]") ? Outcome.INVALID
                    : line.contains("[UNAVAILABLE]") ? Outcome.TEMPORARY
                    : line.contains("[CANNOT]") ? Outcome.UNAVAILABLE
                    : line.contains("[PRIVACYREQUIRED]") ? Outcome.ENCRYPTION_REQUIRED
                    : Outcome.OTHER;
            // RFC 3206: [AUTH] and [SYS/TEMP] are POP3's only machine-readable failure codes.
            case POP3 -> line.startsWith("+OK") ? Outcome.OK
                    : line.contains("[SYS/TEMP]") ? Outcome.TEMPORARY
                    : line.contains("[AUTH] TLS required") ? Outcome.ENCRYPTION_REQUIRED
                    : line.contains("[AUTH]") ? Outcome.INVALID
                    : line.contains("Unsupported authentication mechanism") ? Outcome.UNAVAILABLE
                    : line.contains("Malformed") ? Outcome.MALFORMED
                    : Outcome.OTHER;
        };
        return new Reply(o, line);
    }

    /** The base64 of a challenge line, or null if the line is final. */
    private String challenge(String line) {
        if (proto == Proto.SMTP) return line.startsWith("334") ? line.substring(3).trim() : null;
        return line.equals("+") || line.startsWith("+ ") ? line.substring(1).trim() : null;
    }

    private void greeting() throws IOException {
        String greeting = line();
        if (greeting == null || !(greeting.startsWith("220") || greeting.startsWith("* OK") || greeting.startsWith("+OK"))) {
            throw new IOException("no greeting: " + greeting);
        }
        if (proto == Proto.SMTP) smtpReply("EHLO client.example");
    }

    /** SMTP: sends {@code command} (unless null) and returns the last line of the reply. */
    private String smtpReply(String command) throws IOException {
        if (command != null) send(command);
        String line = line();
        while (line != null && line.length() > 3 && line.charAt(3) == '-') line = line();
        return line;
    }

    /** IMAP: sends {@code command} (unless null) and returns the tagged reply or a continuation. */
    private String tagged(String command) throws IOException {
        if (command != null) send(command);
        String line = line();
        while (line != null && line.startsWith("* ")) line = line();
        return line;
    }

    private String command(String command) throws IOException {
        send(command);
        return line();
    }

    private void send(String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private String line() throws IOException {
        try {
            return in.readLine();
        } catch (IOException reset) {
            return null;
        }
    }

    private void use(Socket s) throws IOException {
        socket = s;
        in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        out = s.getOutputStream();
    }

    private static String encode(byte[] bytes) {
        // RFC 4954 §4, RFC 9051 §6.2.2, RFC 5034 §4: an empty response is "=" only in an initial response.
        return bytes.length == 0 ? "" : Base64.getEncoder().encodeToString(bytes);
    }

    private static Socket connect(InetSocketAddress at, InetAddress from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(at, READ_TIMEOUT_MILLIS);
        s.setSoTimeout(READ_TIMEOUT_MILLIS);
        return s;
    }

    private static SSLSocket wrap(Socket raw, SSLContext context, InetSocketAddress at, boolean tls12) throws IOException {
        SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(raw, "localhost", at.getPort(), true);
        if (tls12) tls.setEnabledProtocols(new String[] {"TLSv1.2"});
        tls.startHandshake();
        return tls;
    }

    /**
     * Says goodbye and waits for the answer before closing, so that the server has released the
     * session (POP3's maildrop lock) before the next connection of the same account logs in.
     */
    @Override
    public void close() throws IOException {
        if (socket.isClosed()) return;
        try {
            switch (proto) {
                case SMTP -> send("QUIT");
                case IMAP -> send("a9 LOGOUT");
                case POP3 -> send("QUIT");
            }
            // Everything up to the server's close: the tagged LOGOUT reply, the +OK of QUIT.
            while (line() != null) {
                // drained
            }
        } catch (IOException alreadyClosed) {
            // The server closed first (after too many failures): nothing left to release.
        } finally {
            socket.close();
        }
    }
}
