package org.castellan.server.smtp;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPipeline;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;
import org.castellan.security.auth.AuthService;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.server.config.Listener;
import org.castellan.server.config.MailAuth;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.Smtp;
import org.castellan.server.outbound.OutboundEngine;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.MessageSpool;
import org.castellan.server.transport.ProtocolService;
import org.castellan.server.transport.Relay;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.Directory;
import org.castellan.store.Mailboxes;

/**
 * SMTP for both kinds of listener: inbound mail exchange ({@code smtp}, RFC 5321) and message
 * submission ({@code submission}, RFC 6409 on 587 with STARTTLS, RFC 8314 on 465 with implicit TLS).
 *
 * <p>SECURITY. Trusts nothing the client says. An MX listener accepts mail only for the local
 * domains (never an open relay: any other recipient is refused at RCPT with 550 5.7.1) and offers
 * no AUTH. A submission listener requires AUTH (through {@link AuthService}, which also decides
 * whether a password may be used without TLS) before MAIL, and the envelope sender and every
 * From: address must belong to the authenticated account. After STARTTLS nothing received before
 * the handshake is acted upon and the client must EHLO again (RFC 3207 §4.2). Message content ends
 * only at CRLF.CRLF; messages with bare CR or LF are refused (CVE-2023-51766). On MX listeners a
 * client that guesses recipients is slowed, then closed with 421, per session and per host over a
 * window ({@code [smtp]}, {@link UnknownRecipients}), so that reconnecting does not help it.
 *
 * <p>On an edge (docs/roles.md §3) nothing here opens a mailbox: a submission session goes on at
 * the account's mailbox node from its first MAIL ({@link #relayTo}), and MX mail, its recipients
 * checked against the directory, goes into the edge's relay queue before the 250
 * ({@link #relayMailTo}). On a mailbox node's link the same sessions run for the edge
 * ({@link #openRelayed}).
 *
 * <p>Exposes: delivery into the INBOX of local accounts. A 250 reply after DATA or BDAT LAST
 * means the message is durable in every recipient's mailbox ({@link Mailboxes#deliver} returned).
 *
 * <p>Failure: a store that fails temporarily gets the client a 4xx reply (it retries; nothing was
 * delivered), a permanent failure a 5xx; the log gets the detail, never the content.
 */
public final class SmtpService implements ProtocolService {

    private final String hostname;
    /** The store's mailboxes and, for the accounts they belong to, its directory. */
    private final Mailboxes store;
    private final Directory directory;
    private final AuthService auth;
    private final ExecutorService blocking;
    private final Clock clock;
    private final SmtpLimits limits;
    private final Optional<Duration> loginTimeout;
    private final Path spoolDirectory;
    private final UnknownRecipients unknownRecipients;
    private final Optional<OutboundEngine> outbound;
    private final Optional<InboundChecks> inboundChecks;
    /** DMARC's pct draws from many sessions at once: each thread its own generator. */
    private static final RandomGenerator PER_THREAD_RANDOM = () -> ThreadLocalRandom.current().nextLong();

    /**
     * @param hostname the name in the greeting, EHLO reply and Received fields
     * @param blocking runs store calls, which block; shared and shut down by the caller
     */
    public <S extends Directory & Mailboxes> SmtpService(
            String hostname, S store, AuthService auth, ExecutorService blocking, Clock clock,
                       SmtpLimits limits) {
        this(hostname, store, auth, blocking, clock, limits, Optional.empty());
    }

    /**
     * @param loginTimeout closes a connection to a submission listener that has not authenticated
     *     this long after it was accepted; MX listeners take mail without authentication and keep
     *     the idle timeout and the listener's command deadline and data rate
     */
    public <S extends Directory & Mailboxes> SmtpService(
            String hostname, S store, AuthService auth, ExecutorService blocking, Clock clock,
                       SmtpLimits limits, Optional<Duration> loginTimeout) {
        this(hostname, store, auth, blocking, clock, limits, loginTimeout, MessageSpool.SYSTEM_TEMP, Smtp.DEFAULTS);
    }

    /**
     * @param spoolDirectory where messages too large for memory are spooled ({@link MessageSpool#prepare})
     * @param harvesting the {@code [smtp]} limits on unknown recipients for the MX listeners
     */
    public <S extends Directory & Mailboxes> SmtpService(
            String hostname, S store, AuthService auth, ExecutorService blocking, Clock clock,
                       SmtpLimits limits, Optional<Duration> loginTimeout, Path spoolDirectory, Smtp harvesting) {
        this(hostname, store, auth, blocking, clock, limits, loginTimeout, spoolDirectory, harvesting, MailAuth.DISABLED, null);
    }

    /**
     * @param mailAuth the SPF, DKIM and DMARC checks of MX listeners' mail ({@code [mail-auth]})
     * @param dns what those checks look up; only used when {@code mailAuth} is enabled
     */
    public <S extends Directory & Mailboxes> SmtpService(
            String hostname, S store, AuthService auth, ExecutorService blocking, Clock clock,
                       SmtpLimits limits, Optional<Duration> loginTimeout, Path spoolDirectory, Smtp harvesting,
                       MailAuth mailAuth, DnsLookup dns) {
        this(hostname, store, auth, blocking, clock, limits, loginTimeout, spoolDirectory, harvesting, mailAuth, dns,
                Optional.empty());
    }

    /**
     * @param outbound the delivery engine whose queue takes authenticated submissions' remote
     *     recipients; empty refuses them (550 5.7.1)
     */
    public <S extends Directory & Mailboxes> SmtpService(
            String hostname, S store, AuthService auth, ExecutorService blocking, Clock clock,
                       SmtpLimits limits, Optional<Duration> loginTimeout, Path spoolDirectory, Smtp harvesting,
                       MailAuth mailAuth, DnsLookup dns, Optional<OutboundEngine> outbound) {
        this.outbound = Objects.requireNonNull(outbound, "outbound");
        this.inboundChecks = mailAuth.enabled()
                ? Optional.of(new InboundChecks(mailAuth, Objects.requireNonNull(dns, "dns"), hostname, clock, PER_THREAD_RANDOM))
                : Optional.empty();
        this.spoolDirectory = Objects.requireNonNull(spoolDirectory, "spoolDirectory");
        this.unknownRecipients = new UnknownRecipients(Objects.requireNonNull(harvesting, "harvesting"), clock);
        this.loginTimeout = Objects.requireNonNull(loginTimeout, "loginTimeout");
        this.hostname = Objects.requireNonNull(hostname, "hostname");
        this.store = Objects.requireNonNull(store, "store");
        this.directory = store;
        this.auth = Objects.requireNonNull(auth, "auth");
        this.blocking = Objects.requireNonNull(blocking, "blocking");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    @Override
    public void open(Connection connection, ChannelPipeline pipeline) {
        if (connection.listener().protocol() == Protocol.SMTP) {
            String host = UnknownRecipients.host(connection.remote().getAddress());
            if (unknownRecipients.refused(host)) {
                // RFC 5321 §3.8: 421 may come at any time, the greeting's place included; a mail server retries later.
                SmtpSession.log().info("{} smtp refused: {} has tried {} unknown recipients within {}", connection.logId(),
                        host, unknownRecipients.count(host), unknownRecipients.limits().unknownRecipientWindow());
                pipeline.channel().writeAndFlush(Unpooled.copiedBuffer(
                        refusal("Too many unknown recipients from your address, try again later") + "\r\n",
                        StandardCharsets.US_ASCII)).addListener(ChannelFutureListener.CLOSE);
                return;
            }
        }
        new SmtpSession(this, connection).open(pipeline, limits.idleTimeout());
    }

    /**
     * On a mailbox node's link (docs/roles.md §3): {@code submission} goes on as the edge's
     * client's session after AUTH, as the account the edge asserts; {@code mx} is the edge
     * delivering a message of its relay queue, an MX transaction for the client it came from.
     */
    @Override
    public void openRelayed(Connection connection, ChannelPipeline pipeline, org.castellan.protocol.link.LinkOpening opening) {
        new SmtpSession(this, connection).openRelayed(pipeline, limits.idleTimeout(), opening);
    }

    private Optional<Relay> relay = Optional.empty();
    private Optional<RelayQueueing> relayQueue = Optional.empty();

    /** Makes this the SMTP service of an edge: a submission session goes on at the account's node from its MAIL. */
    public SmtpService relayTo(Relay relay) {
        this.relay = Optional.of(relay);
        return this;
    }

    /**
     * Makes this the SMTP service of an edge: MX mail, its recipients checked against the
     * directory, goes durably into {@code queue} before the 250, and {@code wake} tells its
     * delivery that there is more (docs/roles.md §3).
     */
    public SmtpService relayMailTo(OutboundQueue queue, Runnable wake) {
        this.relayQueue = Optional.of(new RelayQueueing(queue, wake));
        return this;
    }

    /** The edge's MX relay queue and the wake-up of its delivery. */
    record RelayQueueing(OutboundQueue queue, Runnable wake) {}

    Optional<Relay> relay() { return relay; }

    Optional<RelayQueueing> relayQueue() { return relayQueue; }

    /** RFC 5321 §3.1 and §4.2.3: 421 may stand in for the greeting when the server will not serve. */
    @Override
    public String refusal(String reason) {
        return "421 4.7.0 " + hostname + " " + reason;
    }

    /** Submission only: MX listeners take mail without logging in. */
    @Override
    public Optional<Duration> loginTimeout(Listener listener) {
        return listener.protocol() == Protocol.SUBMISSION ? loginTimeout : Optional.empty();
    }

    String hostname() { return hostname; }

    Mailboxes store() { return store; }

    Directory directory() { return directory; }

    AuthService auth() { return auth; }

    ExecutorService blocking() { return blocking; }

    Clock clock() { return clock; }

    SmtpLimits limits() { return limits; }

    Optional<OutboundEngine> outbound() { return outbound; }

    Path spoolDirectory() { return spoolDirectory; }

    UnknownRecipients unknownRecipients() { return unknownRecipients; }

    Optional<InboundChecks> inboundChecks() { return inboundChecks; }
}
