package org.castellan.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.Block;
import org.castellan.server.link.EdgeRelay;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.SessionRegistry;
import org.castellan.store.queue.OutboundQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin channel: a Unix domain socket through which the {@code castellan} command line asks
 * the running server for its live sessions and closes them, and for the login limiter's blocks and
 * lifts them. One request per connection, one JSON object per line each way:
 * {@code {"command":"sessions"}}, {@code {"command":"kick","id":"…"}} (or {@code "account"}, or
 * {@code "serial"} in hex), {@code {"command":"blocks"}}, {@code {"command":"clear-blocks"}} (every
 * block) or {@code {"command":"clear-blocks","address":"192.0.2.7"}}, and the outbound queue's
 * {@code queue-*} requests ({@link QueueRequests}); the answer has {@code "ok"} and either the
 * result or {@code "error"}.
 *
 * <p>SECURITY: only the local administrator can use it. The socket is bound inside a fresh 0700
 * directory, made 0600 there, and only then renamed to its configured path, so it is never
 * reachable by other users, not even for an instant. Connecting needs write permission on the
 * socket, so only the server's user (and root) can. Requests are size-limited and carry no
 * secrets; answers name sessions and blocked sources, never credentials.
 *
 * <p>Failure: {@link #start} throws {@link UncheckedIOException} naming the path when the socket
 * cannot be created, or when another server already answers on it.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    /** A request is a command and one argument; anything longer is not from our command line. */
    static final int MAX_REQUEST_BYTES = 4096;

    /** How much of an over-long request is read and dropped before its answer (see {@link #readLine}). */
    private static final int MAX_DISCARDED_BYTES = 1 << 20;

    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * How long a session asked to leave with a goodbye may take to finish the command it is in
     * before it is closed without one: an APPEND or FETCH under way ends in well under this.
     */
    static final Duration DEPARTURE_GRACE = Duration.ofSeconds(5);

    /** A kick's {@code goodbye}: the account moved to another node ({@link ClusterRequests#MOVED}). */
    public static final String MOVED = "moved";

    /** RFC 4291 §2.2 text forms, with an IPv4 tail, fit in 45 characters. */
    private static final int MAX_ADDRESS_LITERAL = 45;
    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})(\\.\\d{1,3}){3}");
    /** A colon makes getByName parse an IPv6 literal and never resolve a name. */
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    private final Path path;
    private final ServerSocketChannel channel;
    private final SessionRegistry sessions;
    private final AuthService auth;
    private final Clock clock;
    /** Empty when the store keeps no outbound queue. */
    private final Optional<QueueRequests> queue;
    private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
    private final Thread acceptor;

    private AdminServer(Path path, ServerSocketChannel channel, SessionRegistry sessions, AuthService auth,
                        Optional<QueueRequests> queue, Clock clock) {
        this.path = path;
        this.channel = channel;
        this.sessions = sessions;
        this.auth = auth;
        this.queue = queue;
        this.clock = clock;
        this.acceptor = Thread.ofPlatform().daemon().name("castellan-admin").unstarted(this::acceptLoop);
    }

    /** Creates the socket at {@code path} (its directory 0700 if missing) and starts answering. */
    public static AdminServer start(Path path, SessionRegistry sessions, AuthService auth, Clock clock) {
        return start(path, sessions, auth, Optional.empty(), () -> {}, clock, () -> {});
    }

    /**
     * As {@link #start(Path, SessionRegistry, AuthService, Clock)}, answering the {@code queue-*}
     * requests from {@code queue}; {@code recorded} runs after the operator failed recipients
     * ({@code queue-bounce}), so their notifications need not wait, and {@code due} after a message
     * was made due ({@code queue-retry}, {@code queue-release}), so its delivery need not wait.
     */
    public static AdminServer start(Path path, SessionRegistry sessions, AuthService auth, Optional<OutboundQueue> queue,
                                    Runnable recorded, Clock clock, Runnable due) {
        Path socket = path.toAbsolutePath().normalize();
        Path parent = socket.getParent();
        try {
            if (!Files.isDirectory(parent)) {
                Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            removeStale(socket);
            Path staging = Files.createTempDirectory(parent, ".admin-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                Path bound = staging.resolve("s");
                server.bind(UnixDomainSocketAddress.of(bound));
                Files.setPosixFilePermissions(bound, PosixFilePermissions.fromString("rw-------"));
                Files.move(bound, socket, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                server.close();
                throw e;
            } finally {
                Files.deleteIfExists(staging.resolve("s"));
                Files.deleteIfExists(staging);
            }
            AdminServer admin = new AdminServer(socket, server, sessions, auth,
                    queue.map(q -> new QueueRequests(q, recorded, clock, due)), clock);
            admin.acceptor.start();
            log.info("admin channel on {}", socket);
            return admin;
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot open the admin socket " + socket + " (server.admin-socket): "
                    + e.getMessage(), e));
        }
    }

    /** A socket file left by a server that died is removed; one that answers belongs to a running server. */
    private static void removeStale(Path socket) throws IOException {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) return;
        if (Files.isRegularFile(socket, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(socket, LinkOption.NOFOLLOW_LINKS)
                || Files.isSymbolicLink(socket)) {
            throw new IOException(socket + " exists and is not a socket; remove it or choose another server.admin-socket");
        }
        boolean answers;
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            answers = true;
        } catch (IOException refused) {
            answers = false;
        }
        if (answers) throw new IOException("another Castellan server is running with this admin socket; stop it first");
        Files.deleteIfExists(socket);
    }

    public Path path() {
        return path;
    }

    private void acceptLoop() {
        while (channel.isOpen()) {
            try {
                SocketChannel client = channel.accept();
                handlers.execute(() -> serve(client));
            } catch (ClosedChannelException closed) {
                return;
            } catch (IOException e) {
                log.warn("admin channel: accept failed: {}", e.toString());
            }
        }
    }

    private void serve(SocketChannel client) {
        try (client) {
            String line = readLine(client);
            ObjectNode answer;
            try {
                answer = answer(line == null ? null : JSON.readTree(line));
            } catch (IOException | IllegalArgumentException e) {
                answer = error("the request is not one JSON object on one line");
            }
            byte[] out = (JSON.writeValueAsString(answer) + "\n").getBytes(StandardCharsets.UTF_8);
            client.write(ByteBuffer.wrap(out));
        } catch (IOException e) {
            log.debug("admin channel: client went away: {}", e.toString());
        }
    }

    /**
     * The request line; null when it is longer than {@link #MAX_REQUEST_BYTES}. The rest of such a
     * line is read and dropped, up to {@link #MAX_DISCARDED_BYTES}: a socket closed with octets
     * unread is reset, and the client would lose the answer that says why it was refused.
     */
    private static String readLine(SocketChannel client) throws IOException {
        // Buffered: a connection carries one request, so reading ahead takes nothing from a next one,
        // and an octet at a time from the channel would be a system call each.
        var in = new BufferedInputStream(Channels.newInputStream(client));
        var buffer = new java.io.ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') {
            if (buffer.size() >= MAX_REQUEST_BYTES) {
                for (long dropped = 0; dropped < MAX_DISCARDED_BYTES && b != -1 && b != '\n'; dropped++) b = in.read();
                return null;
            }
            buffer.write(b);
        }
        return buffer.toString(StandardCharsets.UTF_8);
    }

    ObjectNode answer(JsonNode request) {
        if (request == null || !request.isObject()) return error("the request is not one JSON object of at most "
                + MAX_REQUEST_BYTES + " bytes");
        String command = request.path("command").asText("");
        return switch (command) {
            case "sessions" -> listing();
            case "links" -> links();
            case "kick" -> kick(request);
            case "blocks" -> blocks();
            case "clear-blocks" -> clearBlocks(request);
            case "queue-list", "queue-show", "queue-retry", "queue-hold", "queue-release", "queue-delete", "queue-bounce" ->
                    queue.map(q -> q.answer(command, request)).orElseGet(() -> error("this server keeps no outbound queue"));
            default -> error("unknown command '" + command + "'; expected sessions, links, kick, blocks, clear-blocks or queue-*");
        };
    }

    /** An edge's live links to its mailbox nodes (docs/roles.md §4); none on other roles. */
    private volatile Supplier<List<EdgeRelay.LiveLink>> links = List::of;

    /** Answers {@code links} from {@code links}. */
    public AdminServer answerLinks(Supplier<List<EdgeRelay.LiveLink>> links) {
        this.links = links;
        return this;
    }

    private ObjectNode links() {
        ObjectNode answer = JSON.createObjectNode().put("ok", true);
        ArrayNode list = answer.putArray("links");
        for (EdgeRelay.LiveLink l : links.get()) {
            list.addObject().put("node", l.node()).put("address", l.address()).put("tls", l.protocol())
                    .put("cipher", l.cipher()).put("certificateSerial", l.certificate().getSerialNumber().toString(16))
                    .put("notAfter", l.certificate().getNotAfter().toInstant().toString())
                    .put("ageSeconds", Duration.between(l.opened(), clock.instant()).toSeconds())
                    .put("idle", l.idle());
        }
        return answer;
    }

    private ObjectNode listing() {
        ObjectNode answer = JSON.createObjectNode().put("ok", true);
        ArrayNode list = answer.putArray("sessions");
        for (Connection c : sessions.list()) {
            // docs/roles.md §2: a link is no session; the sessions it carries are listed, each on its own.
            if (c.listener().protocol() == org.castellan.server.config.Protocol.LINK && c.carrier().isEmpty()) continue;
            list.add(describe(c));
        }
        return answer;
    }

    private ObjectNode describe(Connection c) {
        ObjectNode s = JSON.createObjectNode();
        s.put("id", c.logId());
        s.put("listener", c.listener().name());
        s.put("remote", c.remote().getAddress().getHostAddress() + ":" + c.remote().getPort());
        c.tls().ifPresent(t -> {
            s.put("tls", t.protocol());
            s.put("cipher", t.cipherSuite());
            t.peer().ifPresent(p -> {
                s.put("certificateSubject", p.getSubjectX500Principal().getName());
                s.put("certificateSerial", p.getSerialNumber().toString(16));
            });
        });
        c.account().ifPresent(a -> s.put("account", a));
        c.mechanism().ifPresent(m -> s.put("mechanism", m));
        // docs/roles.md §4: an edge's relayed session names its mailbox node, a node's link session its edge.
        c.relayNode().ifPresent(n -> s.put("via", "mailbox/" + n));
        if (c.listener().protocol() == org.castellan.server.config.Protocol.LINK) {
            peer(c).flatMap(org.castellan.security.pki.CertificateAuthority::nodeIdentity)
                    .ifPresent(n -> s.put("via", "edge/" + n.name()));
        }
        s.put("started", c.started().toString());
        s.put("ageSeconds", Math.max(0, Duration.between(c.started(), clock.instant()).toSeconds()));
        s.put("bytesIn", c.bytesIn());
        s.put("bytesOut", c.bytesOut());
        return s;
    }

    private ObjectNode kick(JsonNode request) {
        Predicate<Connection> which;
        if (request.hasNonNull("id")) {
            String id = request.get("id").asText();
            which = c -> c.logId().equalsIgnoreCase(id);
        } else if (request.hasNonNull("account")) {
            String account = request.get("account").asText();
            which = c -> c.account().map(a -> a.equalsIgnoreCase(account)).orElse(false);
        } else if (request.hasNonNull("serial")) {
            BigInteger serial;
            try {
                serial = new BigInteger(request.get("serial").asText(), 16);
            } catch (NumberFormatException e) {
                return error("'" + request.get("serial").asText() + "' is not a serial number in hex");
            }
            which = c -> peer(c).map(p -> p.getSerialNumber().equals(serial)).orElse(false);
        } else {
            return error("kick needs an id, an account or a serial");
        }
        int closed;
        if (request.hasNonNull("goodbye")) {
            // A reason by name, never text from the request: it goes to clients in their protocol.
            if (!request.get("goodbye").asText().equals(MOVED)) return error("the only goodbye is '" + MOVED + "'");
            // The sessions say why they end (an IMAP BYE) and finish the command they are in.
            closed = sessions.departWhere(which, ClusterRequests.MOVED, DEPARTURE_GRACE);
        } else {
            closed = sessions.closeWhere(which);
        }
        log.info("admin channel: closed {} session(s) on request", closed);
        return JSON.createObjectNode().put("ok", true).put("closed", closed);
    }

    private ObjectNode blocks() {
        ObjectNode answer = JSON.createObjectNode().put("ok", true);
        ArrayNode list = answer.putArray("blocks");
        for (Block b : auth.blocks()) {
            ObjectNode o = list.addObject();
            o.put("source", b.source());
            b.account().ifPresent(a -> o.put("account", a));
            o.put("failures", b.failures());
            o.put("until", b.until().toString());
            o.put("remainingSeconds", Math.max(0, Duration.between(clock.instant(), b.until()).toSeconds()));
        }
        return answer;
    }

    private ObjectNode clearBlocks(JsonNode request) {
        if (!request.hasNonNull("address")) {
            return JSON.createObjectNode().put("ok", true).put("lifted", auth.clearBlocks());
        }
        String text = request.get("address").asText();
        Optional<InetAddress> address = ipLiteral(text);
        if (address.isEmpty()) return error("'" + text + "' is not an IPv4 or IPv6 address");
        return JSON.createObjectNode().put("ok", true).put("lifted", auth.clearBlocks(address.get()));
    }

    /** An IP address literal, parsed without ever asking DNS (a name here would be a mistake, not a lookup). */
    static Optional<InetAddress> ipLiteral(String text) {
        if (text.length() > MAX_ADDRESS_LITERAL) return Optional.empty();
        if (IPV4.matcher(text).matches()) {
            // An octet above 255 would make getByName fall back to a name lookup.
            for (String octet : text.split("\\.")) {
                if (Integer.parseInt(octet) > 255) return Optional.empty();
            }
        } else if (!IPV6.matcher(text).matches()) {
            return Optional.empty();
        }
        try {
            return Optional.of(InetAddress.getByName(text));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }

    private static Optional<X509Certificate> peer(Connection c) {
        return c.tls().flatMap(Connection.TlsInfo::peer);
    }

    static ObjectNode error(String message) {
        return JSON.createObjectNode().put("ok", false).put("error", message);
    }

    /** Stops answering and removes the socket file. */
    @Override
    public void close() {
        try {
            channel.close();
            Files.deleteIfExists(path);
        } catch (IOException e) {
            log.warn("admin channel: cannot remove {}: {}", path, e.toString());
        }
        handlers.shutdownNow();
    }
}
