package org.castellan.server.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.server.transport.Relay;
import org.castellan.store.Directory;
import org.castellan.store.Route;
import org.castellan.store.StoreException;
import org.castellan.store.queue.AttemptResult;
import org.castellan.store.queue.DueMessage;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The delivery of an edge's MX relay queue (docs/roles.md §3 and §5): the messages an edge's MX
 * listener accepted wait here, on the edge's own disk, until the recipient's mailbox node takes
 * them over a link session.
 *
 * <p>A delivery is one link per message and node, opened with {@code protocol=mx} asserting the
 * client the edge took the message from (its address and EHLO domain), then one SMTP transaction
 * on it (RFC 5321 §3.3): MAIL, one RCPT per recipient of that node — each answered for itself —
 * and the content in one {@code BDAT LAST} (RFC 3030 §2: no dot-stuffing, no line-length limit, the
 * octets the edge acknowledged). The node runs its ordinary MX transaction: aliases, quota and its
 * delivery-time checks, a 250 only once the message is in the mailbox.
 *
 * <p>Failure: a node that cannot be reached, refuses the opening or answers 4xx leaves its
 * recipients queued, tried again after {@link #FIRST_RETRY}, doubling up to {@link #MAX_RETRY},
 * so a node that comes back gets its mail without an operator; a 5xx, a recipient the directory
 * no longer knows, or a message older than {@link #MAX_LIFETIME} fails the recipient. The queue's
 * leases make a delivery that a crash interrupted due again when the edge starts.
 *
 * <p>SECURITY: the link is the same as a relayed session's ({@link EdgeRelay}): TLS 1.3 with node
 * certificates, the node's name checked. The opening asserts no account; the node takes mail only
 * for its own local recipients, as an MX does.
 */
public final class RelayQueue implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RelayQueue.class);

    /** The relay queue's directory under the edge's data directory: an embedded store of its own. */
    public static final String DIRECTORY = "relay-queue";
    /**
     * The first wait after a failed attempt. The link is a local network: a node that stopped is
     * usually back within seconds to minutes, and an attempt to a stopped node costs one refused
     * connection, so retries start far sooner than Postfix's five minutes across the Internet.
     */
    static final Duration FIRST_RETRY = Duration.ofSeconds(10);
    /** The longest wait between attempts: a node back from a long outage gets its mail within this. */
    static final Duration MAX_RETRY = Duration.ofMinutes(5);
    /** Postfix's maximal_queue_lifetime: a message still undelivered after five days fails. */
    public static final Duration MAX_LIFETIME = Duration.ofDays(5);
    /** The lease of an attempt; a crashed edge's leases end as the next one starts ({@link OutboundQueue#releaseLeases}). */
    private static final Duration LEASE = Duration.ofMinutes(15);
    /** Recipients leased at once. */
    private static final int BATCH = 100;
    /** RFC 5321 §4.5.3.2: 5 minutes for MAIL and RCPT, 10 for the end of the content; the longer for every reply. */
    private static final Duration REPLY_TIMEOUT = Duration.ofMinutes(10);
    /** The longest reply line the edge reads from a node (RFC 5321 §4.5.3.1.5: 512 octets; a node may say more). */
    private static final int MAX_REPLY_LINE = 2048;
    /** The longest wait between looks at the queue when nothing wakes it. */
    private static final Duration IDLE_LOOK = Duration.ofMinutes(1);
    /** Content is sent in pieces of this size, each waited for: the link's buffer stays bounded. */
    private static final int CHUNK = 64 * 1024;

    private final OutboundQueue queue;
    private final EdgeRelay relay;
    private final Directory directory;
    private final String hostname;
    private final Clock clock;
    private final EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Object signal = new Object();
    private boolean woken;
    private volatile boolean closed;
    private Thread worker;
    private Runnable afterRecord = () -> { };

    /**
     * @param directory where recipients are looked up: the shared directory, for their accounts and placements
     * @param hostname this edge's name, the EHLO domain asserted for its own notifications
     */
    public RelayQueue(OutboundQueue queue, EdgeRelay relay, Directory directory, String hostname, Clock clock) {
        this.queue = queue;
        this.relay = relay;
        this.directory = directory;
        this.hostname = hostname;
        this.clock = clock;
    }

    /**
     * Runs {@code hook} on the queue's thread after each attempt's results are recorded: the delivery status
     * notifications of the queue ({@link org.castellan.server.outbound.Notifier}), whose bounces
     * go into this queue and so to the sender's node, as any local delivery does.
     */
    public RelayQueue afterRecord(Runnable hook) {
        this.afterRecord = hook;
        return this;
    }

    /** Starts delivering; recipients a stopped edge had leased are due at once. */
    public RelayQueue start() {
        int released = queue.releaseLeases();
        if (released > 0) log.info("relay queue: {} delivery attempt(s) of a stopped edge will be made again", released);
        worker = Thread.ofPlatform().name("relay-queue").daemon().start(this::run);
        return this;
    }

    /** There is a new message: look at the queue now. */
    public void wake() {
        synchronized (signal) {
            woken = true;
            signal.notifyAll();
        }
    }

    @Override
    public void close() {
        closed = true;
        wake();
        if (worker != null) {
            try {
                worker.join(Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private void run() {
        while (!closed) {
            try {
                Instant now = clock.instant();
                List<DueMessage> due = queue.lease(now, now.plus(LEASE), BATCH);
                for (DueMessage message : due) {
                    if (closed) break;
                    deliver(message);
                }
                if (due.isEmpty()) idle();
            } catch (StoreException e) {
                // The queue is on this edge's disk: a failure here is the disk's. Try again later.
                log.error("relay queue: {}", e.getMessage());
                idle();
            }
        }
    }

    /** Waits until woken, the next attempt is due, or {@link #IDLE_LOOK} passed. */
    private void idle() {
        Instant now = clock.instant();
        Duration wait = queue.nextAttempt().map(at -> Duration.between(now, at)).filter(d -> d.compareTo(IDLE_LOOK) < 0)
                .orElse(IDLE_LOOK);
        synchronized (signal) {
            try {
                if (!woken && !closed && wait.toMillis() > 0) signal.wait(wait.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                closed = true;
            }
            woken = false;
        }
    }

    /** One leased message: its recipients grouped by node, one link each; every result recorded. */
    private void deliver(DueMessage due) {
        QueuedMessage message = due.message();
        Instant now = clock.instant();
        List<AttemptResult> results = new ArrayList<>();
        Map<String, List<QueuedRecipient>> byNode = new LinkedHashMap<>();
        for (QueuedRecipient r : due.recipients()) {
            if (message.arrival().plus(MAX_LIFETIME).isBefore(now)) {
                results.add(failed(r, now, "Message expired in the edge's relay queue", Optional.empty()));
                continue;
            }
            try {
                Optional<String> node = node(r.address());
                if (node.isEmpty()) {
                    results.add(failed(r, now, "550 5.1.1 No such user", Optional.empty()));
                } else {
                    byNode.computeIfAbsent(node.get(), n -> new ArrayList<>()).add(r);
                }
            } catch (StoreException e) {
                results.add(deferred(r, now, "451 4.3.0 Directory unavailable: " + e.getMessage(), Optional.empty()));
            }
        }
        byNode.forEach((node, recipients) -> results.addAll(deliver(message, node, recipients)));
        queue.record(results);
        for (AttemptResult r : results) {
            log.info("relay queue: message {} recipient {} {} via {}: {}", message.id(), r.recipientId(), r.state(),
                    r.host().orElse("-"), r.reply());
        }
        afterRecord.run();
    }

    /**
     * The mailbox node of the account {@code address} leads to; empty when it leads to none — as
     * for a bounce to a sender in another domain: the edge sends no mail out of the site.
     */
    private Optional<String> node(String address) {
        Optional<Route> route;
        try {
            EmailAddress to = EmailAddress.of(address);
            if (directory.getDomain(to.domain()).isEmpty()) return Optional.empty();
            route = directory.route(to);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        } catch (StoreException e) {
            if (e.isTemporary()) throw e;
            return Optional.empty(); // an alias loop
        }
        return route.map(r -> directory.placement(r.accountId()).orElse(relay.defaultNode()));
    }

    /** One SMTP transaction over one link to {@code node}, for {@code recipients} of {@code message}. */
    private List<AttemptResult> deliver(QueuedMessage message, String node, List<QueuedRecipient> recipients) {
        Instant now = clock.instant();
        Optional<String> host = Optional.of(node);
        String[] from = message.receivedFrom().split(" ", 3);
        // A client the MX took the message from ("ADDRESS PORT EHLO"), or this edge for its own notifications.
        boolean client = from.length == 3 && from[0].matches("[0-9A-Fa-f.:]+") && from[1].matches("[0-9]{1,5}");
        LinkOpening opening = new LinkOpening(LinkOpening.MX, "", "", client ? from[0] : "127.0.0.1",
                client ? Integer.parseInt(from[1]) : 0, Optional.empty(), Optional.empty(), Optional.empty(),
                "relay-" + message.id(), List.of(), Optional.of(client ? from[2] : hostname));
        Relay.Opened opened;
        try {
            opened = relay.open(loop.next(), node, opening).toCompletableFuture().get(relay.openingTimeout().toMillis() + 5_000,
                    TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            String why = e instanceof ExecutionException ? e.getCause().getMessage() : "no answer";
            return recipients.stream().map(r -> deferred(r, now, "451 4.4.1 Mailbox node unavailable: " + why, host)).toList();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return recipients.stream().map(r -> deferred(r, now, "451 4.3.2 Edge shutting down", host)).toList();
        }
        if (opened.answer() instanceof LinkOpening.Refused refused) {
            opened.close();
            return recipients.stream().map(r -> deferred(r, now, "451 4.4.1 Mailbox node refused the link: "
                    + refused.code() + " " + refused.text(), host)).toList();
        }
        EdgeRelay.Link link = (EdgeRelay.Link) opened;
        Replies replies = new Replies();
        Channel channel = link.channel();
        try {
            channel.eventLoop().submit(() -> link.handTo("replies", replies)).syncUninterruptibly();
            channel.config().setAutoRead(true);
            return transaction(message, recipients, channel, replies, host);
        } catch (IOException e) {
            return recipients.stream().map(r -> deferred(r, clock.instant(), "451 4.4.2 Link lost: " + e.getMessage(), host)).toList();
        } finally {
            channel.close();
        }
    }

    private List<AttemptResult> transaction(QueuedMessage message, List<QueuedRecipient> recipients, Channel channel,
                                            Replies replies, Optional<String> host) throws IOException {
        List<AttemptResult> results = new ArrayList<>();
        String mail = "MAIL FROM:<" + message.sender() + ">" + (message.body() == SmtpCommand.Body.EIGHT_BIT_MIME
                ? " BODY=8BITMIME" : "") + (message.smtpUtf8() ? " SMTPUTF8" : "");
        Reply reply = command(channel, replies, mail);
        if (!reply.positive()) {
            for (QueuedRecipient r : recipients) results.add(result(r, reply, host));
            return results;
        }
        List<QueuedRecipient> accepted = new ArrayList<>();
        for (QueuedRecipient r : recipients) {
            Reply rcpt = command(channel, replies, "RCPT TO:<" + r.address() + ">");
            if (rcpt.positive()) accepted.add(r);
            else results.add(result(r, rcpt, host));
        }
        if (accepted.isEmpty()) {
            send(channel, "QUIT\r\n");
            return results;
        }
        long size;
        try (InputStream content = queue.openContent(message.id())) {
            size = content.transferTo(java.io.OutputStream.nullOutputStream());
        }
        send(channel, "BDAT " + size + " LAST\r\n");
        try (InputStream content = queue.openContent(message.id())) {
            byte[] chunk = new byte[CHUNK];
            for (int n; (n = content.read(chunk)) > 0; ) {
                await(channel.writeAndFlush(Unpooled.copiedBuffer(chunk, 0, n)));
            }
        }
        Reply end = replies.next();
        for (QueuedRecipient r : accepted) results.add(result(r, end, host));
        send(channel, "QUIT\r\n");
        return results;
    }

    private Reply command(Channel channel, Replies replies, String line) throws IOException {
        send(channel, line + "\r\n");
        return replies.next();
    }

    private static void send(Channel channel, String text) throws IOException {
        await(channel.writeAndFlush(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8)));
    }

    private static void await(io.netty.channel.ChannelFuture write) throws IOException {
        if (!write.awaitUninterruptibly(REPLY_TIMEOUT.toMillis()) || !write.isSuccess()) {
            throw new IOException(write.cause() == null ? "write timed out" : write.cause().getMessage());
        }
    }

    private AttemptResult result(QueuedRecipient r, Reply reply, Optional<String> host) {
        Instant now = clock.instant();
        if (reply.positive()) return new AttemptResult(r.id(), RecipientState.DELIVERED, now, Optional.empty(), reply.text(), host);
        if (reply.code() >= 500) return failed(r, now, reply.text(), host);
        return deferred(r, now, reply.text(), host);
    }

    private static AttemptResult failed(QueuedRecipient r, Instant now, String why, Optional<String> host) {
        return new AttemptResult(r.id(), RecipientState.FAILED, now, Optional.empty(), why, host);
    }

    /** Queued again: {@link #FIRST_RETRY} after the first failure, doubling, at most {@link #MAX_RETRY}. */
    private static AttemptResult deferred(QueuedRecipient r, Instant now, String why, Optional<String> host) {
        return new AttemptResult(r.id(), RecipientState.QUEUED, now, Optional.of(now.plus(backOff(r.attempts()))), why, host);
    }

    static Duration backOff(int attemptsBefore) {
        Duration wait = FIRST_RETRY;
        for (int i = 0; i < attemptsBefore && wait.compareTo(MAX_RETRY) < 0; i++) wait = wait.multipliedBy(2);
        return wait.compareTo(MAX_RETRY) < 0 ? wait : MAX_RETRY;
    }

    /** A node's reply: its code and its last line. */
    record Reply(int code, String text) {
        boolean positive() {
            return code >= 200 && code < 300;
        }
    }

    /** Reads a node's replies (RFC 5321 §4.2.1: "250-" continues, "250 " ends) for the delivering thread. */
    private static final class Replies extends ChannelInboundHandlerAdapter {

        private static final Reply CLOSED = new Reply(0, "closed");
        private final LinkedBlockingQueue<Reply> replies = new LinkedBlockingQueue<>();
        private final StringBuilder line = new StringBuilder();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            if (message == LinkFrames.END) {
                // The node ended the session: no reply follows.
                replies.add(CLOSED);
                return;
            }
            if (!(message instanceof ByteBuf in)) {
                ReferenceCountUtil.release(message);
                return;
            }
            try {
                while (in.isReadable()) {
                    char c = (char) (in.readByte() & 0xff);
                    if (c == '\n') {
                        String text = line.toString().stripTrailing();
                        line.setLength(0);
                        if (text.length() >= 3 && (text.length() == 3 || text.charAt(3) == ' ')) replies.add(parse(text));
                    } else if (line.length() < MAX_REPLY_LINE) {
                        line.append(c);
                    }
                }
            } finally {
                in.release();
            }
        }

        private static Reply parse(String text) {
            try {
                return new Reply(Integer.parseInt(text.substring(0, 3)), text);
            } catch (NumberFormatException e) {
                return new Reply(451, "451 4.5.0 Not an SMTP reply: " + text);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            replies.add(CLOSED);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.info("relay queue link: {}", cause.toString());
            ctx.close();
        }

        Reply next() throws IOException {
            Reply r;
            try {
                r = replies.poll(REPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
            if (r == null) throw new IOException("no reply within " + REPLY_TIMEOUT);
            if (r == CLOSED) {
                replies.add(CLOSED);
                throw new IOException("the node closed the link");
            }
            return r;
        }
    }
}
