package org.castellan.server.outbound;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.protocol.smtp.Xtext;
import org.castellan.server.config.Outbound;
import org.castellan.server.config.OutboundTls;
import org.castellan.server.dns.MailRouting.TlsaRecord;

/**
 * One SMTP client session to one address of a receiving host (RFC 5321 §4, §3.3): greeting,
 * EHLO (HELO when EHLO is refused), STARTTLS (RFC 3207), then any number of transactions with
 * RSET between them, then QUIT.
 *
 * <p>SECURITY: trusts nothing the receiver says beyond the reply codes. Each reply line is bounded
 * ({@link Reply#MAX_LINE}), each reply's line count ({@link Reply#MAX_LINES}) and each wait
 * (RFC 5321 §4.5.3.2, by a deadline for the whole reply, so a receiver trickling bytes cannot
 * extend it; writes by a watchdog that closes the socket). Under {@link OutboundTls#REQUIRE}
 * and {@link OutboundTls#VERIFY_NAME} nothing but EHLO and STARTTLS is sent before TLS.
 *
 * <p>Blocking sockets on virtual threads: a session is a strict request-reply dialogue with at
 * most one outstanding batch, so the straight-line code reads like the RFC, and a blocked
 * virtual thread costs a few kilobytes, not a platform thread. Outbound sessions are few (a
 * handful per destination) and their throughput is the receiver's, so an event loop would buy
 * nothing here; inbound sessions, which are many and hostile, stay on Netty.
 *
 * <p>Failure: {@link #open} and {@link #send} throw {@link Failure} when the session fails before
 * any recipient got a reply; the caller tries the next address. Once recipients have replies,
 * {@link #send} returns an outcome for each, and a later loss of the connection defers the
 * accepted ones (RFC 5321 §6.1: the message may arrive twice rather than never).
 */
final class OutboundSession implements AutoCloseable {

    /** RFC 3030 §2: any chunk size works; a mebibyte keeps the memory per session small and the replies few. */
    static final int CHUNK = 1 << 20;
    /** How much content is written at once under one data-block timeout (RFC 5321 §4.5.3.2.5). */
    private static final int BLOCK = 64 * 1024;
    /** RFC 5321 §4.5.3.1.5 allows 512; a longer reply line ends the session (see {@link Reply#MAX_LINE}). */
    private static final byte[] CRLF = {'\r', '\n'};

    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "outbound-watchdog");
        t.setDaemon(true);
        return t;
    });

    /**
     * Where to connect and how.
     *
     * @param host the receiving host's name: SNI and the name a certificate must carry
     * @param cleartext skip STARTTLS: the retry after a failed handshake under opportunistic TLS
     * @param tlsa DANE (RFC 7672): the usable TLSA records the certificate must match instead of
     *     any CA or name check; empty otherwise
     * @param policy the policy that asked for {@code tls} ("DANE", "MTA-STS"), named in a failure's
     *     reply; empty for a route's own
     */
    record Target(String host, InetSocketAddress address, OutboundTls tls, Optional<Path> caFile, boolean cleartext,
                  List<TlsaRecord> tlsa, String policy) {
        Target {
            tlsa = List.copyOf(tlsa);
        }

        Target(String host, InetSocketAddress address, OutboundTls tls, Optional<Path> caFile, boolean cleartext) {
            this(host, address, tls, caFile, cleartext, List.of(), "");
        }

        /** The same host and address, opened in cleartext. */
        Target inCleartext() {
            return new Target(host, address, tls, caFile, true, tlsa, policy);
        }

        /** Status, then the policy's name, then the text: "4.7.5 DANE: ...". */
        String reason(String status, String text) {
            return status + " " + (policy.isEmpty() ? "" : policy + ": ") + text;
        }

        String describe() {
            String a = address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
            return host + "[" + a + "]:" + address.getPort();
        }
    }

    /**
     * One message's envelope.
     *
     * @param sender the reverse-path, empty for {@code <>}
     * @param size the content's size in octets
     * @param requireTls MAIL's REQUIRETLS (RFC 8689 §4.1), kept in the queue from submission
     */
    record Envelope(String sender, List<String> recipients, long size, SmtpCommand.Body body, boolean smtpUtf8,
                    Dsn.Ret ret, Optional<String> envid, List<Set<Dsn.Notify>> notifyOn, List<Optional<String>> orcpts,
                    boolean requireTls) {
        Envelope(String sender, List<String> recipients, long size, SmtpCommand.Body body, boolean smtpUtf8,
                 Dsn.Ret ret, Optional<String> envid, List<Set<Dsn.Notify>> notifyOn, List<Optional<String>> orcpts) {
            this(sender, recipients, size, body, smtpUtf8, ret, envid, notifyOn, orcpts, false);
        }

        Envelope {
            recipients = List.copyOf(recipients);
            notifyOn = List.copyOf(notifyOn);
            orcpts = List.copyOf(orcpts);
            if (notifyOn.size() != recipients.size() || orcpts.size() != recipients.size()) {
                throw new IllegalArgumentException("one NOTIFY and one ORCPT per recipient");
            }
        }

        /** Without RFC 3461 parameters: NOTIFY left to the receiver's default, no ORCPT, RET and ENVID. */
        Envelope(String sender, List<String> recipients, long size, SmtpCommand.Body body, boolean smtpUtf8) {
            this(sender, recipients, size, body, smtpUtf8, Dsn.Ret.UNSPECIFIED, Optional.empty(),
                    recipients.stream().map(r -> (Set<Dsn.Notify>) EnumSet.of(Dsn.Notify.FAILURE, Dsn.Notify.DELAY)).toList(),
                    recipients.stream().map(r -> Optional.<String>empty()).toList());
        }
    }

    /** What happened to one recipient; {@code reply} is one line, the receiver's or the local reason. */
    sealed interface Outcome {
        String reply();
    }

    record Delivered(String reply) implements Outcome {
    }

    record Failed(String reply) implements Outcome {
    }

    record Deferred(String reply) implements Outcome {
    }

    /** The session failed before any recipient had a reply; {@code reply} starts with an enhanced status code. */
    static final class Failure extends Exception {
        private final boolean handshake;
        private final transient Optional<TlsRptResultType> tlsResult;
        private boolean refusedHop;

        Failure(String reply, boolean handshake) {
            this(reply, handshake, Optional.empty());
        }

        Failure(String reply, boolean handshake, Optional<TlsRptResultType> tlsResult) {
            super(reply);
            this.handshake = handshake;
            this.tlsResult = tlsResult;
        }

        /**
         * The hop cannot keep the message's REQUIRETLS (RFC 8689 §4.2.1): nothing of it was sent, the
         * next MX host may do, and when none does the message fails with this reply.
         */
        static Failure refusedHop(String reply) {
            Failure f = new Failure(reply, false);
            f.refusedHop = true;
            return f;
        }

        boolean refusedHop() {
            return refusedHop;
        }

        /** Why TLS could not be had, as TLS-RPT counts it (RFC 8460 §4.3); empty for any other failure. */
        Optional<TlsRptResultType> tlsResult() {
            return tlsResult;
        }

        String reply() {
            return getMessage();
        }

        /** The TLS handshake failed: under opportunistic TLS the host is tried again in cleartext. */
        boolean handshake() {
            return handshake;
        }
    }

    private final Target target;
    private final Outbound settings;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private final byte[] lineBuffer = new byte[Reply.MAX_LINE];
    private List<String> extensions = List.of();
    private String tls = "none";
    private boolean usable = true;
    private int transactions;

    private OutboundSession(Target target, Outbound settings) {
        this.target = target;
        this.settings = settings;
    }

    /** Connects, reads the greeting, says EHLO and does STARTTLS as the target's policy asks. */
    static OutboundSession open(Target target, Outbound settings, String heloName) throws Failure {
        OutboundSession s = new OutboundSession(target, settings);
        try {
            s.start(heloName);
            return s;
        } catch (Failure f) {
            s.abort();
            throw f;
        } catch (IOException e) {
            s.abort();
            throw new Failure(s.lost(e), false);
        }
    }

    private void start(String heloName) throws IOException, Failure {
        socket = new Socket();
        try {
            socket.connect(target.address(), millis(settings.connectTimeout()));
        } catch (IOException e) {
            throw new Failure("4.4.1 Cannot connect to " + target.describe() + ": " + e.getMessage(), false);
        }
        socket.setTcpNoDelay(true);
        streams();
        Reply greeting = read(settings.greetingTimeout(), "the greeting");
        if (greeting.code() != 220) throw new Failure(refusal(greeting, "greeting"), false); // RFC 5321 §3.1
        hello(heloName);
        boolean offered = extensions.stream().anyMatch(e -> e.equals("STARTTLS"));
        boolean required = target.tls() == OutboundTls.REQUIRE || target.tls() == OutboundTls.VERIFY_NAME;
        if (target.tls() == OutboundTls.NONE || (target.cleartext() && !required)) return;
        if (!offered) {
            if (required) {
                quietQuit();
                // RFC 3463 §3.8: X.7.4 security features not supported; temporary, the receiver may add them.
                throw new Failure(target.reason("4.7.4", "TLS required but not offered by " + target.describe()), false,
                        Optional.of(TlsRptResultType.STARTTLS_NOT_SUPPORTED));
            }
            return;
        }
        command("STARTTLS");
        Reply r = read(settings.greetingTimeout(), "the reply to STARTTLS");
        if (r.code() != 220) {
            if (required) throw new Failure(target.reason("4.7.4", "TLS required but STARTTLS refused by " + target.describe()
                    + ": " + r.oneLine()), false, Optional.of(TlsRptResultType.STARTTLS_NOT_SUPPORTED));
            return; // RFC 3207 §4: the client may go on without TLS
        }
        handshake();
        hello(heloName); // RFC 3207 §4.2: discard what was learnt before TLS
    }

    private void handshake() throws Failure, IOException {
        boolean dane = !target.tlsa().isEmpty();
        boolean verify = !dane && target.tls() == OutboundTls.VERIFY_NAME;
        try {
            // RFC 7672 §3.1: under DANE the TLSA records alone authenticate the server, no CA and no
            // name check (DANE-TA checks the MX host name itself); SNI is the MX host name (§8.1).
            var context = dane ? new DaneTrustManager(target.tlsa(), target.host(), Clock.systemUTC()).sslContext()
                    : verify ? OutboundTlsContexts.verifying(target.caFile()) : OutboundTlsContexts.opportunistic();
            SSLSocket ssl = (SSLSocket) context.getSocketFactory().createSocket(socket, target.host(), target.address().getPort(), true);
            SSLParameters p = ssl.getSSLParameters();
            if (!isAddressLiteral(target.host())) p.setServerNames(List.of(new SNIHostName(target.host())));
            // RFC 9325 §3.1.1: TLS 1.2 at least.
            p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            if (verify) p.setEndpointIdentificationAlgorithm("HTTPS"); // RFC 6125 §6 name checks
            ssl.setSSLParameters(p);
            ssl.setSoTimeout(millis(settings.greetingTimeout()));
            ScheduledFuture<?> watchdog = watch(settings.greetingTimeout());
            try {
                ssl.startHandshake();
            } finally {
                watchdog.cancel(false);
            }
            socket = ssl;
            tls = ssl.getSession().getProtocol() + "/" + ssl.getSession().getCipherSuite();
            streams();
        } catch (SSLException e) {
            // RFC 3463 §3.8: X.7.5 cryptographic failure; a certificate not trusted is X.7.5 too.
            throw new Failure(target.reason("4.7.5", "TLS handshake with " + target.describe() + " failed: " + e.getMessage()),
                    true, Optional.of(TlsRptResultType.ofHandshakeFailure(e)));
        } catch (IllegalStateException e) {
            throw new Failure("4.7.5 TLS configuration: " + e.getMessage(), false);
        }
    }

    private static boolean isAddressLiteral(String host) {
        return host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
    }

    private void hello(String heloName) throws IOException, Failure {
        command("EHLO " + heloName);
        Reply r = read(settings.greetingTimeout(), "the reply to EHLO");
        if (r.positive()) {
            extensions = r.extensions();
            return;
        }
        // RFC 5321 §3.2: a server that does not know EHLO answers 500 or 502; fall back to HELO.
        command("HELO " + heloName);
        r = read(settings.greetingTimeout(), "the reply to HELO");
        if (!r.positive()) throw new Failure(refusal(r, "HELO"), false);
        extensions = List.of();
    }

    /**
     * How this session's TLS authenticated the receiver, for RFC 8689: DANE or MTA-STS only when
     * TLS was had under that policy (a testing-mode retry or a cleartext retry has neither).
     */
    RequireTlsPolicy.Authentication authentication() {
        if (tls.equals("none")) return RequireTlsPolicy.Authentication.NONE;
        return switch (target.policy()) {
            case "DANE" -> RequireTlsPolicy.Authentication.DANE;
            case "MTA-STS" -> RequireTlsPolicy.Authentication.MTA_STS;
            default -> RequireTlsPolicy.Authentication.NONE;
        };
    }

    /** The session's TLS protocol and cipher suite ("TLSv1.3/TLS_AES_256_GCM_SHA384"), or "none". */
    String tls() {
        return tls;
    }

    Target target() {
        return target;
    }

    /**
     * The TLS policy the session was opened under, for the delivery log: {@code DANE} or
     * {@code MTA-STS} where the destination's policy applied, else the route's or the operator's
     * setting as configured ({@code opportunistic}, {@code require}, {@code verify-name}, {@code none}).
     */
    String policy() {
        if (!target.policy().isEmpty()) return target.policy();
        return target.tls().name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Whether another transaction may follow on this connection. */
    boolean usable() {
        return usable;
    }

    /** The receiver offered DSN (RFC 3461 §5.2): the NOTIFY of what it accepted went on, and so did the duty to report. */
    boolean offersDsn() {
        return offers("DSN");
    }

    private boolean offers(String keyword) {
        return extensions.stream().anyMatch(e -> e.equals(keyword) || e.startsWith(keyword + " "));
    }

    /** The SIZE the receiver announced (RFC 1870 §4), when it announced a fixed one. */
    private OptionalLong announcedSize() {
        for (String e : extensions) {
            if (!e.startsWith("SIZE ")) continue;
            try {
                long n = Long.parseLong(e.substring(5).strip());
                return n > 0 ? OptionalLong.of(n) : OptionalLong.empty(); // 0: no fixed limit
            } catch (NumberFormatException x) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.empty();
    }

    /**
     * One transaction: the outcome for each recipient, in the envelope's order.
     *
     * @throws Failure when the session failed before any recipient got a reply
     */
    List<Outcome> send(Envelope e, InputStream content) throws Failure {
        RequireTlsPolicy.Verdict tlsVerdict = RequireTlsPolicy.check(
                e.requireTls() ? RequireTlsPolicy.Demand.REQUIRE_TLS : RequireTlsPolicy.Demand.USUAL, authentication(),
                offers("REQUIRETLS"));
        if (tlsVerdict instanceof RequireTlsPolicy.Refuse refuse) {
            // RFC 8689 §4.2.1: nothing of the message goes to a hop that cannot keep its demand; another MX host may.
            throw Failure.refusedHop(refuse.enhancedCode() + " " + target.describe() + ": " + refuse.text());
        }
        List<Outcome> refused = unsendable(e);
        if (refused != null) return refused;
        try {
            if (transactions++ > 0) {
                command("RSET"); // RFC 5321 §4.1.1.5: a clean state for the next message
                Reply r = read(settings.greetingTimeout(), "the reply to RSET");
                if (!r.positive()) throw new Failure(refusal(r, "RSET"), false);
            }
            return transaction(e, content);
        } catch (IOException x) {
            usable = false;
            abort();
            throw new Failure(lost(x), false);
        }
    }

    /** The message-level refusals that need no exchange, given the receiver's extensions; null when it may go. */
    private List<Outcome> unsendable(Envelope e) {
        String reason = null;
        OptionalLong limit = announcedSize();
        if (e.smtpUtf8() && !offers("SMTPUTF8")) {
            // RFC 6531 §3.4: no downgrade; the message needs SMTPUTF8 and the receiver lacks it.
            reason = "5.6.7 " + target.describe() + " does not support SMTPUTF8, which the message needs";
        } else if (e.body() == SmtpCommand.Body.EIGHT_BIT_MIME && !offers("8BITMIME")) {
            // RFC 6152 §3: 8-bit content must not go to a server without 8BITMIME. Castellan does not
            // downgrade to quoted-printable (that would break signatures), so the message fails.
            reason = "5.6.3 " + target.describe() + " does not support 8BITMIME, which the message needs";
        } else if (limit.isPresent() && e.size() > limit.getAsLong()) {
            reason = "5.3.4 Message of " + e.size() + " octets exceeds the fixed maximum message size of "
                    + limit.getAsLong() + " of " + target.describe(); // RFC 1870 §6.2
        }
        if (reason == null) return null;
        String r = reason;
        return e.recipients().stream().<Outcome>map(x -> new Failed(r)).toList();
    }

    private List<Outcome> transaction(Envelope e, InputStream content) throws IOException, Failure {
        StringBuilder mail = new StringBuilder("MAIL FROM:<").append(e.sender()).append('>');
        if (offers("SIZE")) mail.append(" SIZE=").append(e.size()); // RFC 1870 §6
        if (e.body() == SmtpCommand.Body.EIGHT_BIT_MIME) mail.append(" BODY=8BITMIME"); // RFC 6152 §2
        if (e.smtpUtf8()) mail.append(" SMTPUTF8"); // RFC 6531 §3.4
        if (e.requireTls()) mail.append(" REQUIRETLS"); // RFC 8689 §4.2.1: unsendable() made sure the hop may have it
        boolean dsn = offers("DSN");
        if (dsn) mail.append(mailDsn(e));
        boolean pipelining = offers("PIPELINING");
        List<String> rcpts = new ArrayList<>();
        for (int i = 0; i < e.recipients().size(); i++) {
            rcpts.add("RCPT TO:<" + e.recipients().get(i) + ">" + (dsn ? rcptDsn(e.notifyOn().get(i), e.orcpts().get(i)) : ""));
        }
        Reply mailReply;
        List<Reply> rcptReplies = new ArrayList<>();
        if (pipelining) {
            // RFC 2920 §3.1: MAIL and the RCPTs go in one batch; the replies come in order.
            write(mail.toString());
            for (String r : rcpts) write(r);
            out.flush();
            mailReply = read(settings.mailTimeout(), "the reply to MAIL");
            for (int i = 0; i < rcpts.size(); i++) rcptReplies.add(read(settings.rcptTimeout(), "the reply to RCPT"));
        } else {
            command(mail.toString());
            mailReply = read(settings.mailTimeout(), "the reply to MAIL");
            if (mailReply.positive()) {
                for (String r : rcpts) {
                    command(r);
                    rcptReplies.add(read(settings.rcptTimeout(), "the reply to RCPT"));
                }
            }
        }
        List<Outcome> outcomes = new ArrayList<>();
        if (!mailReply.positive()) {
            for (int i = 0; i < rcpts.size(); i++) outcomes.add(byReply(mailReply));
            return outcomes;
        }
        List<Integer> accepted = new ArrayList<>();
        for (int i = 0; i < rcptReplies.size(); i++) {
            Reply r = rcptReplies.get(i);
            if (r.positive()) accepted.add(i);
            outcomes.add(byReply(r)); // placeholder for accepted ones, replaced after the content
        }
        if (accepted.isEmpty()) return outcomes;
        Outcome after;
        try {
            Reply done = offers("CHUNKING") ? bdat(content) : data(content);
            after = done.positive() ? new Delivered(done.oneLine()) : byReply(done);
        } catch (IOException x) {
            usable = false;
            abort();
            // RFC 5321 §6.1: without the final reply the message may or may not have arrived; try again.
            after = new Deferred(lost(x));
        } catch (Failure f) {
            usable = false;
            after = new Deferred(f.reply());
        }
        for (int i : accepted) outcomes.set(i, after);
        return outcomes;
    }

    /** RFC 3461 §5.2: a DSN-capable receiver is given RET and ENVID as the submitter gave them. */
    private static String mailDsn(Envelope e) {
        StringBuilder b = new StringBuilder();
        if (e.ret() != Dsn.Ret.UNSPECIFIED) b.append(" RET=").append(e.ret().name()); // §4.3
        e.envid().filter(OutboundSession::printableAscii).ifPresent(v -> b.append(" ENVID=").append(Xtext.encode(v))); // §4.4
        return b.toString();
    }

    /** RFC 3461 §5.2: NOTIFY (§4.1, NEVER for none) and ORCPT (§4.2) passed on to a DSN-capable receiver. */
    private static String rcptDsn(Set<Dsn.Notify> notifyOn, Optional<String> orcpt) {
        StringBuilder b = new StringBuilder(" NOTIFY=");
        b.append(notifyOn.isEmpty() ? "NEVER"
                : String.join(",", EnumSet.copyOf(notifyOn).stream().map(Enum::name).toList()));
        // An ORCPT outside printable ASCII (a utf-8 address, RFC 6533) is left out rather than mangled.
        orcpt.filter(OutboundSession::printableAscii).filter(o -> o.indexOf(';') > 0).ifPresent(o -> {
            int semi = o.indexOf(';');
            b.append(" ORCPT=").append(o, 0, semi).append(';').append(Xtext.encode(o.substring(semi + 1)));
        });
        return b.toString();
    }

    private static boolean printableAscii(String s) {
        return s.chars().allMatch(c -> c >= 0x20 && c <= 0x7e);
    }

    private static Outcome byReply(Reply r) {
        if (r.permanent()) return new Failed(r.oneLine());
        if (r.positive()) return new Delivered(r.oneLine());
        return new Deferred(r.oneLine());
    }

    private Reply data(InputStream content) throws IOException, Failure {
        command("DATA");
        Reply r = read(settings.dataTimeout(), "the reply to DATA");
        if (!r.intermediate()) return r.positive() ? new Reply(451, List.of("4.5.0 DATA answered without 354: " + r.oneLine())) : r;
        // RFC 5321 §4.5.2: a line starting with "." gets a second one.
        byte[] buffer = new byte[BLOCK];
        byte[] stuffed = new byte[BLOCK * 2];
        boolean lineStart = true;
        int previous = '\n';
        int n;
        while ((n = content.readNBytes(buffer, 0, BLOCK)) > 0) {
            int k = 0;
            for (int i = 0; i < n; i++) {
                byte b = buffer[i];
                if (lineStart && b == '.') stuffed[k++] = '.';
                stuffed[k++] = b;
                lineStart = b == '\n';
                previous = b;
            }
            writeBlock(stuffed, k);
        }
        if (previous != '\n') writeBlock(CRLF, 2); // the end must start a line (RFC 5321 §4.1.1.4)
        writeBlock(".\r\n".getBytes(StandardCharsets.US_ASCII), 3);
        return read(settings.dataDoneTimeout(), "the reply after the message");
    }

    private Reply bdat(InputStream content) throws IOException, Failure {
        // RFC 3030 §2: the content as it is, in chunks of known size; the last says LAST.
        byte[] chunk = content.readNBytes(CHUNK);
        while (true) {
            byte[] next = chunk.length == CHUNK ? content.readNBytes(CHUNK) : new byte[0];
            boolean last = next.length == 0;
            write("BDAT " + chunk.length + (last ? " LAST" : ""));
            for (int off = 0; off < chunk.length; off += BLOCK) writeBlock(chunk, off, Math.min(BLOCK, chunk.length - off));
            out.flush();
            Reply r = read(last ? settings.dataDoneTimeout() : settings.dataBlockTimeout(), "the reply to BDAT");
            if (last || !r.positive()) return r;
            chunk = next;
        }
    }

    /** Says QUIT and closes; never fails. */
    @Override
    public void close() {
        if (usable && socket != null && !socket.isClosed()) quietQuit();
        abort();
    }

    private void quietQuit() {
        try {
            command("QUIT"); // RFC 5321 §4.1.1.10
            read(settings.greetingTimeout(), "the reply to QUIT");
        } catch (IOException | Failure e) {
            // the receiver went away first: nothing is lost
        }
    }

    private void abort() {
        usable = false;
        if (socket == null) return;
        try {
            socket.close();
        } catch (IOException e) {
            // closing a broken socket
        }
    }

    private void streams() throws IOException {
        in = new BufferedInputStream(socket.getInputStream());
        out = new BufferedOutputStream(socket.getOutputStream());
    }

    private void command(String line) throws IOException {
        write(line);
        out.flush();
    }

    private void write(String line) throws IOException {
        byte[] bytes = (line + "\r\n").getBytes(StandardCharsets.UTF_8);
        writeBlock(bytes, bytes.length);
    }

    private void writeBlock(byte[] bytes, int length) throws IOException {
        writeBlock(bytes, 0, length);
    }

    /** A write the receiver does not take within the data-block timeout closes the socket (RFC 5321 §4.5.3.2.5). */
    private void writeBlock(byte[] bytes, int offset, int length) throws IOException {
        ScheduledFuture<?> watchdog = watch(settings.dataBlockTimeout());
        try {
            out.write(bytes, offset, length);
            if (length >= BLOCK) out.flush();
        } finally {
            watchdog.cancel(false);
        }
    }

    private ScheduledFuture<?> watch(Duration timeout) {
        Socket s = socket;
        return WATCHDOG.schedule(() -> {
            try {
                s.close();
            } catch (IOException e) {
                // already closed
            }
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Reads one whole reply within {@code timeout}; a line or reply over the limits ends the session. */
    private Reply read(Duration timeout, String what) throws IOException, Failure {
        long deadline = System.nanoTime() + timeout.toNanos();
        out.flush();
        List<String> lines = new ArrayList<>();
        int code = -1;
        while (true) {
            if (lines.size() == Reply.MAX_LINES) {
                usable = false;
                throw new Failure("4.5.0 " + target.describe() + " sent a reply of more than " + Reply.MAX_LINES
                        + " lines while we waited for " + what, false);
            }
            int length = readLine(deadline, what);
            Reply.Line line = Reply.parseLine(lineBuffer, length);
            if (line == null || (code >= 0 && line.code() != code)) {
                usable = false;
                throw new Failure("4.5.0 " + target.describe() + " sent a malformed reply while waiting for " + what, false);
            }
            code = line.code();
            lines.add(line.text());
            if (!line.more()) return new Reply(code, lines);
        }
    }

    private int readLine(long deadline, String what) throws IOException, Failure {
        int length = 0;
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) throw timedOut(what);
            socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(left))));
            int b;
            try {
                b = in.read();
            } catch (SocketTimeoutException e) {
                throw timedOut(what);
            }
            if (b < 0) throw new IOException("connection closed by " + target.describe() + " while waiting for " + what);
            if (b == '\n') return length > 0 && lineBuffer[length - 1] == '\r' ? length - 1 : length;
            if (length == Reply.MAX_LINE - 2) {
                usable = false;
                throw new Failure("4.5.0 " + target.describe() + " sent a reply line longer than " + Reply.MAX_LINE
                        + " octets while we waited for " + what, false);
            }
            lineBuffer[length++] = (byte) b;
        }
    }

    private Failure timedOut(String what) {
        usable = false;
        // RFC 3463 §3.5: X.4.2 bad connection.
        return new Failure("4.4.2 " + target.describe() + " timed out while we waited for " + what, false);
    }

    private String lost(IOException e) {
        return "4.4.2 Connection with " + target.describe() + " lost: " + e.getMessage();
    }

    private String refusal(Reply r, String step) {
        return (r.permanent() ? "4" + r.status().substring(1) : r.status()) + " " + target.describe() + " refused the "
                + step.toLowerCase(Locale.ROOT) + ": " + r.oneLine();
    }

    private static int millis(Duration d) {
        return (int) Math.min(Integer.MAX_VALUE, d.toMillis());
    }
}
