package org.castellan.protocol.imap;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Incremental IMAP command parser (RFC 9051 §9 grammar, RFC 3501 forms, RFC 7888 LITERAL+):
 * bytes in, one {@link Result} per call. Pure: no I/O, no clock, no exceptions for bad input.
 *
 * <p>It works in two steps. Framing collects one command: its lines and the literals announced
 * at their ends ({@code {n}} asks for a continuation request, {@link Continue}; {@code {n+}} does
 * not). Once the last line has arrived, the grammar step turns the frame into an
 * {@link ImapCommand} or a {@link Error} carrying the tag, so the session can answer BAD.
 *
 * <p>The literals of an APPEND (its messages, RFC 3502 MULTIAPPEND) are not held here: their
 * octets go, as they arrive, to the {@link Literal.Sink} the parser was built with, and the
 * command carries them as {@link Literal}s. The parser does no I/O itself; the sink decides
 * where octets go, and the parser closes the literals of a command it refuses or abandons.
 *
 * <p>Limits bound what a client can make the server hold: {@link #MAX_LINE} per line,
 * {@code maxLiteral} (an argument, so the session can allow large APPENDs only after login) per
 * literal, {@link #MAX_COMMAND} for everything else in one command, {@link #MAX_SPOOLED_LITERALS}
 * and {@link #MAX_SPOOLED_OCTETS} for what one APPEND hands to the sink. A command over a limit
 * is refused with its tag and skipped to its end; only a non-synchronizing literal above
 * {@code maxLiteral} is fatal. Not thread-safe.
 */
public final class ImapParser {

    /**
     * Octets per line. RFC 7162 §4 asks servers to take at least 8192; large UID sets, SEARCH
     * and a full RFC 2971 ID need more, so 64 KiB, as Dovecot's default.
     */
    public static final int MAX_LINE = 64 * 1024;
    /**
     * No RFC limit: the text and the literals held in memory of one command (big SEARCH, long UID
     * sets, a few lines of {@link #MAX_LINE}). APPEND's messages are not held here but handed to
     * the {@link Literal.Sink}.
     */
    public static final int MAX_COMMAND = 256 * 1024;
    /** The literals of one command handed to the sink (RFC 3502 MULTIAPPEND messages): each may be a temporary file. */
    public static final int MAX_SPOOLED_LITERALS = 1000;
    /**
     * The octets of one command's literals handed to the sink together: bounds the temporary disk
     * one command can take; an upload of a large folder is split over several APPENDs.
     */
    public static final long MAX_SPOOLED_OCTETS = 2L * 1024 * 1024 * 1024;
    /** Literals per command; real clients send one or two (LOGIN, APPEND, SEARCH with 8-bit text). */
    public static final int MAX_LITERALS = 64;
    /** Parentheses nested in SEARCH; clients nest a handful of levels, recursion must stay bounded. */
    public static final int MAX_DEPTH = 32;
    /** Ranges in one sequence set; a client listing every UID of a large mailbox stays far below. */
    public static final int MAX_SEQUENCE_RANGES = 100_000;
    /** RFC 9051 §9 {@code tag}: no RFC limit; longer than any client's counter. */
    public static final int MAX_TAG = 64;
    /** RFC 9051 §9 {@code number}: 32-bit unsigned. */
    public static final long MAX_NUMBER = 4_294_967_295L;
    /** RFC 9051 §9 {@code mod-sequence-value}: 63-bit. */
    public static final long MAX_MODSEQ = Long.MAX_VALUE;
    /** RFC 2971 §3.3: at most 30 field/value pairs. */
    public static final int MAX_ID_PAIRS = 30;
    /** RFC 9208 §4.1.3: a SETQUOTA names each resource once; no server knows more than a handful. */
    public static final int MAX_QUOTA_RESOURCES = 16;
    /** RFC 9051 §9 {@code number64}: 63-bit, as RFC 9208 SETQUOTA limits are. */
    public static final long MAX_NUMBER64 = Long.MAX_VALUE;
    /** RFC 5256 defines nine keys; a few more allow repeats, many more is abuse. */
    public static final int MAX_SORT_CRITERIA = 16;

    /**
     * URLs in one GENURLAUTH or URLFETCH, parts in one CATENATE: no RFC limit; each costs a store
     * read, and a client composing or forwarding a message names a few dozen at most.
     */
    public static final int MAX_URLS = 100;

    /** What the session expects next. */
    public enum Mode {
        /** A tagged command. */
        COMMAND,
        /** The client's line answering an AUTHENTICATE challenge: base64 or "*" (RFC 9051 §6.2.2). */
        SASL_RESPONSE,
        /** The line ending IDLE: "DONE" (RFC 2177 §3). */
        IDLE
    }

    /** What one call to {@link #next} produced. */
    public sealed interface Result {}

    /** The input ended inside a command; call again with more bytes. */
    public record NeedMore() implements Result {}

    /** A synchronizing literal was announced: send a continuation request, then call again. */
    public record Continue() implements Result {}

    public record Command(String tag, ImapCommand command) implements Result {}

    /** An AUTHENTICATE response line: the decoded data, or {@code cancel} for "*". */
    public record SaslLine(boolean cancel, byte[] data) implements Result {
        @Override
        public String toString() { return cancel ? "SaslLine[cancel]" : "SaslLine[***]"; }
    }

    /** DONE, ending IDLE. */
    public record Done() implements Result {}

    /**
     * Bad input. {@code tag} is present when the command had a usable one (answer {@code tag BAD});
     * {@code fatal} when the input cannot be resynchronized (an oversized non-synchronizing
     * literal): answer {@code * BYE} and close. Otherwise the parser skips the rest of the
     * refused command by itself and goes on with the next. {@code code} is a response code such
     * as TOOBIG, or empty; {@code limit} names the limit that was exceeded, for the log.
     */
    public record Error(Optional<String> tag, String message, boolean fatal, Optional<String> code, Optional<String> limit)
            implements Result {
        public Error(Optional<String> tag, String message, boolean fatal, Optional<String> code) {
            this(tag, message, fatal, code, Optional.empty());
        }
    }

    private enum State {
        /** Collecting a line. */
        LINE,
        /** Collecting a literal into {@link #literal}. */
        LITERAL,
        /** Handing a literal to {@link #receiver}. */
        SINK,
        /** Dropping the rest of a refused command's line; a literal announced at its end is dropped too. */
        SKIP_LINE,
        /** Dropping a non-synchronizing literal of a refused command. */
        SKIP_LITERAL
    }

    /** Stands in the frame for a literal handed to the sink; the literal itself is in {@link #sunk}. */
    private static final byte[] SUNK = new byte[0];
    /** The longest literal marker, {@code {4294967295+}}, and a CR: what skipping keeps of a line's end. */
    private static final int MARKER_TAIL = 16;

    private final Literal.Sink sink;
    private State state = State.LINE;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final List<byte[]> parts = new ArrayList<>();
    private final Map<Integer, Literal> sunk = new HashMap<>();
    /** The indexes in {@link #parts} of sunk literals that held a NUL octet. */
    private final java.util.Set<Integer> sunkNul = new java.util.HashSet<>();
    /** Whether the literal going to the sink has held a NUL octet so far. */
    private boolean sinkNul;
    private byte[] literal;
    private int literalFilled;
    private Literal.Receiver receiver;
    private long remaining;
    private long commandSize;
    private long sunkSize;
    private final byte[] tail = new byte[MARKER_TAIL];
    private int tailLength;

    /** A parser that keeps every literal in memory. */
    public ImapParser() {
        this(Literal.IN_MEMORY);
    }

    /** @param sink takes the messages of APPEND as they arrive, so they never sit in the command buffer */
    public ImapParser(Literal.Sink sink) {
        this.sink = sink;
    }

    /**
     * Forgets any partial command (after STARTTLS, RFC 9051 §6.2.1) and releases the literals it
     * had received; call it when the connection ends too.
     */
    public void reset() {
        state = State.LINE;
        line.reset();
        releaseFrame();
    }

    /** Whether a command has begun arriving and not ended yet (a line or literal in progress). */
    public boolean inCommand() {
        return state != State.LINE || line.size() > 0 || !parts.isEmpty();
    }

    private void releaseFrame() {
        parts.clear();
        for (Literal l : sunk.values()) l.close();
        sunk.clear();
        sunkNul.clear();
        sinkNul = false;
        if (receiver != null) receiver.abort();
        receiver = null;
        literal = null;
        literalFilled = 0;
        commandSize = 0;
        sunkSize = 0;
    }

    /**
     * Consumes bytes from {@code in} up to the end of one command (or all of it) and says what
     * it found.
     *
     * @param maxLiteral the largest literal accepted now; a larger synchronizing literal is
     *     refused with a tagged error before the client sends it, a larger non-synchronizing one
     *     is fatal (RFC 7888 §4)
     */
    public Result next(ByteBuffer in, Mode mode, long maxLiteral) {
        return next(in, mode, maxLiteral, true);
    }

    /**
     * As {@link #next(ByteBuffer, Mode, long)}, saying whether quoted strings may carry UTF-8:
     * RFC 3501 §9 allows only 7-bit text there, RFC 9051 §9 and RFC 6855 §3 (after
     * {@code ENABLE UTF8=ACCEPT}) allow UTF-8. Invalid UTF-8 is refused either way.
     */
    public Result next(ByteBuffer in, Mode mode, long maxLiteral, boolean utf8) {
        while (in.hasRemaining()) {
            switch (state) {
                case LITERAL -> {
                    int n = Math.min(in.remaining(), literal.length - literalFilled);
                    in.get(literal, literalFilled, n);
                    literalFilled += n;
                    if (literalFilled == literal.length) {
                        parts.add(literal);
                        literal = null;
                        state = State.LINE;
                    }
                    continue;
                }
                case SINK -> {
                    int n = (int) Math.min(in.remaining(), remaining);
                    ByteBuffer chunk = in.slice(in.position(), n);
                    in.position(in.position() + n);
                    for (int i = 0; i < n && !sinkNul; i++) sinkNul = chunk.get(i) == 0;
                    receiver.write(chunk);
                    remaining -= n;
                    if (remaining == 0) sinkDone();
                    continue;
                }
                case SKIP_LITERAL -> {
                    int n = (int) Math.min(in.remaining(), remaining);
                    in.position(in.position() + n);
                    remaining -= n;
                    if (remaining == 0) state = State.SKIP_LINE;
                    continue;
                }
                case SKIP_LINE -> {
                    skipLine(in);
                    continue;
                }
                case LINE -> { }
            }
            byte b = in.get();
            if (b != '\n') {
                if (line.size() >= MAX_LINE) {
                    return tooLong(mode, "Line too long", "MAX_LINE");
                }
                line.write(b);
                continue;
            }
            byte[] text = line.toByteArray();
            line.reset();
            int len = text.length;
            if (len > 0 && text[len - 1] == '\r') len--;
            byte[] segment = java.util.Arrays.copyOf(text, len);
            if (mode != Mode.COMMAND) {
                reset();
                return mode == Mode.IDLE ? idleLine(segment) : saslLine(segment);
            }
            commandSize += segment.length;
            parts.add(segment);
            LiteralMark mark = literalAtEnd(segment);
            if (mark == null) {
                if (commandSize > MAX_COMMAND) return refused("Command too large", "MAX_COMMAND", null, false);
                List<byte[]> frame = List.copyOf(parts);
                Map<Integer, Literal> literals = Map.copyOf(sunk);
                java.util.Set<Integer> nul = java.util.Set.copyOf(sunkNul);
                parts.clear();
                sunk.clear();
                sunkNul.clear();
                commandSize = 0;
                sunkSize = 0;
                return new Grammar(frame, literals, nul, utf8).command();
            }
            if (mark.size > maxLiteral) {
                if (mark.nonSync) {
                    // RFC 7888 §4: octets the server will not take are on their way; it may close the connection.
                    Optional<String> tag = tagOf(parts.get(0));
                    reset();
                    return new Error(tag, "Literal too large", true, Optional.of("TOOBIG"), Optional.of("maxLiteral"));
                }
                return refused("Literal too large", "maxLiteral", mark, true);
            }
            if (isAppend(parts.get(0))) {
                if (sunk.size() >= MAX_SPOOLED_LITERALS) return refused("Too many messages", "MAX_SPOOLED_LITERALS", mark, true);
                if (sunkSize + mark.size > MAX_SPOOLED_OCTETS) return refused("Command too large", "MAX_SPOOLED_OCTETS", mark, true);
                sunkSize += mark.size;
                receiver = sink.receive(mark.size);
                remaining = mark.size;
                state = State.SINK;
                if (mark.size == 0) sinkDone();
            } else {
                if (parts.size() / 2 >= MAX_LITERALS) return refused("Too many literals", "MAX_LITERALS", mark, true);
                if (mark.size + commandSize > MAX_COMMAND) return refused("Command too large", "MAX_COMMAND", mark, true);
                commandSize += mark.size;
                literal = new byte[(int) mark.size];
                literalFilled = 0;
                if (mark.size > 0) state = State.LITERAL;
                else parts.add(literal);
            }
            if (!mark.nonSync) return new Continue();
        }
        return new NeedMore();
    }

    /**
     * An RFC 9051 §9 {@code section-spec} on its own (the text between the brackets of
     * {@code BODY[...]}), as IMAP URLs carry it (RFC 5092 {@code enc-section}); empty when it is
     * not one.
     */
    public static Optional<FetchAttribute.Section> section(String spec) {
        byte[] bytes = ("[" + spec + "]").getBytes(StandardCharsets.UTF_8);
        Grammar g = new Grammar(List.of(bytes), Map.of(), java.util.Set.of(), true);
        try {
            FetchAttribute.Section section = g.section();
            return g.atEnd() ? Optional.of(section) : Optional.empty();
        } catch (Bad e) {
            return Optional.empty();
        }
    }

    private void sinkDone() {
        if (sinkNul) sunkNul.add(parts.size());
        sinkNul = false;
        sunk.put(parts.size(), receiver.finish());
        parts.add(SUNK);
        receiver = null;
        state = State.LINE;
    }

    /**
     * A line longer than {@link #MAX_LINE}: the command is refused and the rest of the line
     * skipped; outside a command (an AUTHENTICATE response, IDLE) the line is refused as a whole.
     */
    private Result tooLong(Mode mode, String message, String limit) {
        Optional<String> tag = mode == Mode.COMMAND ? tagOf(parts.isEmpty() ? line.toByteArray() : parts.get(0)) : Optional.empty();
        line.reset();
        releaseFrame();
        tailLength = 0;
        state = State.SKIP_LINE;
        return new Error(tag, message, false, Optional.of("TOOBIG"), Optional.of(limit));
    }

    /**
     * Refuses the command whose last complete line is in the frame. A synchronizing literal
     * announced at its end will not come (the client sees the tagged answer instead of a
     * continuation request, RFC 9051 §7.5); a non-synchronizing one is on its way and is skipped,
     * with whatever follows it up to the command's end.
     */
    private Result refused(String message, String limit, LiteralMark mark, boolean tooBig) {
        Optional<String> tag = tagOf(parts.get(0));
        releaseFrame();
        if (mark != null && mark.nonSync) {
            remaining = mark.size;
            tailLength = 0;
            state = mark.size == 0 ? State.SKIP_LINE : State.SKIP_LITERAL;
        } else {
            state = State.LINE;
        }
        return new Error(tag, message, false, tooBig ? Optional.of("TOOBIG") : Optional.empty(), Optional.of(limit));
    }

    /** Drops octets up to the end of the line; a non-synchronizing literal announced there is dropped next. */
    private void skipLine(ByteBuffer in) {
        while (in.hasRemaining()) {
            byte b = in.get();
            if (b != '\n') {
                if (tailLength == MARKER_TAIL) {
                    System.arraycopy(tail, 1, tail, 0, MARKER_TAIL - 1);
                    tailLength--;
                }
                tail[tailLength++] = b;
                continue;
            }
            int len = tailLength > 0 && tail[tailLength - 1] == '\r' ? tailLength - 1 : tailLength;
            LiteralMark mark = literalAtEnd(java.util.Arrays.copyOf(tail, len));
            tailLength = 0;
            if (mark != null && mark.nonSync && mark.size > 0) {
                remaining = mark.size;
                state = State.SKIP_LITERAL;
            } else {
                // The command ends here; a synchronizing literal is not sent without a continuation request.
                state = State.LINE;
            }
            return;
        }
    }

    /** Whether the command's first line is an APPEND, whose messages go to the sink. */
    private static boolean isAppend(byte[] firstLine) {
        Optional<String> tag = tagOf(firstLine);
        if (tag.isEmpty()) return false;
        int at = tag.get().length() + 1;
        byte[] name = "APPEND ".getBytes(StandardCharsets.US_ASCII);
        if (firstLine.length < at + name.length) return false;
        for (int i = 0; i < name.length; i++) {
            if (Character.toUpperCase(firstLine[at + i]) != name[i]) return false;
        }
        return true;
    }

    private static Result idleLine(byte[] segment) {
        String s = new String(segment, StandardCharsets.US_ASCII);
        if (s.equalsIgnoreCase("DONE")) return new Done();
        return new Error(Optional.empty(), "Expected DONE", false, Optional.empty());
    }

    private static Result saslLine(byte[] segment) {
        String s = new String(segment, StandardCharsets.US_ASCII);
        if (s.equals("*")) return new SaslLine(true, new byte[0]);
        try {
            return new SaslLine(false, Base64.getDecoder().decode(s));
        } catch (IllegalArgumentException e) {
            return new Error(Optional.empty(), "Invalid base64", false, Optional.empty());
        }
    }

    private record LiteralMark(long size, boolean nonSync) {}

    /** A {@code {n}} or {@code {n+}} at the end of a line, or null. */
    private static LiteralMark literalAtEnd(byte[] s) {
        int end = s.length;
        if (end < 3 || s[end - 1] != '}') return null;
        int i = end - 2;
        boolean nonSync = s[i] == '+';
        if (nonSync) i--;
        int digitsEnd = i + 1;
        while (i >= 0 && s[i] >= '0' && s[i] <= '9') i--;
        if (i < 0 || s[i] != '{' || i + 1 == digitsEnd || digitsEnd - (i + 1) > 10) return null;
        long n = Long.parseLong(new String(s, i + 1, digitsEnd - (i + 1), StandardCharsets.US_ASCII));
        if (n > MAX_NUMBER) return null;
        return new LiteralMark(n, nonSync);
    }

    private static Optional<String> tagOf(byte[] firstLine) {
        int i = 0;
        while (i < firstLine.length && i <= MAX_TAG && isTagChar(firstLine[i] & 0xff)) i++;
        if (i == 0 || i > MAX_TAG || i >= firstLine.length || firstLine[i] != ' ') return Optional.empty();
        return Optional.of(new String(firstLine, 0, i, StandardCharsets.US_ASCII));
    }

    static boolean isAtomChar(int c) {
        return c > 0x20 && c < 0x7f && "(){ %*\"\\]".indexOf(c) < 0;
    }

    private static boolean isTagChar(int c) {
        return isAtomChar(c) && c != '+';
    }

    /** The commands UID may prefix, for the refusal of another: "FETCH, STORE, ... or EXPUNGE". */
    private static final String UID_COMMANDS = uidCommands();

    private static String uidCommands() {
        List<String> names = Arrays.stream(ImapCommand.Name.values()).filter(ImapCommand.Name::takesUid)
                .map(Enum::name).toList();
        return String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast();
    }

    /** Thrown inside the grammar step only; never leaves the parser. */
    private static final class Bad extends Exception {
        Bad(String message) { super(message, null, false, false); }
    }

    /** The grammar over one framed command: lines and literals alternating. */
    private static final class Grammar {
        private final List<byte[]> parts;
        /** Literals the sink took, by their index in {@link #parts}. */
        private final Map<Integer, Literal> sunk;
        /** The indexes of sunk literals that hold a NUL octet. */
        private final java.util.Set<Integer> sunkNul;
        /** The sunk literals the command carries; the others are closed once the command is parsed. */
        private final java.util.Set<Literal> taken = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        private int seg;
        private int pos;
        private String tag;
        private int depth;
        private final boolean utf8;

        Grammar(List<byte[]> parts, Map<Integer, Literal> sunk, java.util.Set<Integer> sunkNul, boolean utf8) {
            this.parts = parts;
            this.sunk = sunk;
            this.sunkNul = sunkNul;
            this.utf8 = utf8;
        }

        Result command() {
            Result r = parse();
            for (Literal l : sunk.values()) {
                if (!(r instanceof Command) || !taken.contains(l)) l.close();
            }
            return r;
        }

        private Result parse() {
            try {
                tag = tagOf(parts.get(0)).orElse(null);
                if (tag == null) {
                    return new Error(Optional.empty(), "Missing or invalid tag", false, Optional.empty());
                }
                pos = tag.length() + 1;
                ImapCommand c = body();
                if (!atEnd()) throw new Bad("Unexpected characters at end of command");
                return new Command(tag, c);
            } catch (Bad e) {
                return new Error(Optional.ofNullable(tag), e.getMessage(), false, Optional.empty());
            }
        }

        private ImapCommand body() throws Bad {
            String word = atom().toUpperCase(Locale.ROOT);
            boolean uid = word.equals("UID");
            if (uid) {
                sp();
                word = atom().toUpperCase(Locale.ROOT);
            }
            ImapCommand.Name name = ImapCommand.Name.of(word).orElse(null);
            if (uid && (name == null || !name.takesUid())) {
                throw new Bad("UID must be followed by " + UID_COMMANDS);
            }
            if (name == null) throw new Bad("Unknown command");
            // Exhaustive: a command added to the table does not compile until its grammar is here.
            return switch (name) {
                case CAPABILITY -> new ImapCommand.Capability();
                case NOOP -> new ImapCommand.Noop();
                case LOGOUT -> new ImapCommand.Logout();
                case STARTTLS -> new ImapCommand.StartTls();
                case NAMESPACE -> new ImapCommand.Namespace();
                case IDLE -> new ImapCommand.Idle();
                case CHECK -> new ImapCommand.Check();
                case CLOSE -> new ImapCommand.Close();
                case UNSELECT -> new ImapCommand.Unselect();
                case LOGIN -> new ImapCommand.Login(argument(), argument().toCharArray());
                case AUTHENTICATE -> authenticate();
                case ENABLE -> {
                    List<String> caps = new ArrayList<>();
                    do {
                        sp();
                        caps.add(atom().toUpperCase(Locale.ROOT));
                    } while (peek() == ' ');
                    yield new ImapCommand.Enable(caps);
                }
                case ID -> id();
                case SELECT, EXAMINE -> select(name == ImapCommand.Name.EXAMINE);
                case CREATE -> create();
                case DELETE -> new ImapCommand.Delete(argument());
                case RENAME -> new ImapCommand.Rename(argument(), argument());
                case SUBSCRIBE -> new ImapCommand.Subscribe(argument());
                case UNSUBSCRIBE -> new ImapCommand.Unsubscribe(argument());
                case LIST -> list(false);
                case LSUB -> list(true);
                case STATUS -> {
                    String mailbox = argument();
                    sp();
                    yield new ImapCommand.Status(mailbox, atomList(false));
                }
                case APPEND -> append();
                case EXPUNGE -> {
                    if (!uid) yield new ImapCommand.Expunge(Optional.empty());
                    sp();
                    yield new ImapCommand.Expunge(Optional.of(sequenceSet()));
                }
                case SEARCH -> search(uid);
                case SORT -> sort(uid);
                case CANCELUPDATE -> cancelUpdate();
                case THREAD -> thread(uid);
                case FETCH -> fetch(uid);
                case STORE -> store(uid);
                case COPY, MOVE -> {
                    sp();
                    SequenceSet set = sequenceSet();
                    yield new ImapCommand.Copy(uid, name == ImapCommand.Name.MOVE, set, argument());
                }
                case GETQUOTA -> new ImapCommand.GetQuota(argument());
                case GETQUOTAROOT -> new ImapCommand.GetQuotaRoot(argument());
                case SETQUOTA -> setQuota();
                case COMPRESS -> {
                    sp();
                    yield new ImapCommand.Compress(atom().toUpperCase(Locale.ROOT));
                }
                case GENURLAUTH -> genUrlAuth();
                case RESETKEY -> resetKey();
                case URLFETCH -> urlFetch();
                case NOTIFY -> notifyCommand();
            };
        }

        private ImapCommand authenticate() throws Bad {
            sp();
            String mechanism = atom().toUpperCase(Locale.ROOT);
            if (peek() != ' ') return new ImapCommand.Authenticate(mechanism, Optional.empty());
            sp();
            String ir = atom();
            if (ir.equals("=")) return new ImapCommand.Authenticate(mechanism, Optional.of(new byte[0])); // RFC 4959 §3
            try {
                return new ImapCommand.Authenticate(mechanism, Optional.of(Base64.getDecoder().decode(ir)));
            } catch (IllegalArgumentException e) {
                throw new Bad("Invalid base64 in initial response");
            }
        }

        private ImapCommand id() throws Bad {
            sp();
            if (peek() != '(') {
                nil();
                return new ImapCommand.Id(List.of());
            }
            pos++;
            List<String> pairs = new ArrayList<>();
            while (true) {
                if (pairs.size() / 2 >= MAX_ID_PAIRS) throw new Bad("ID takes at most " + MAX_ID_PAIRS + " pairs");
                pairs.add(string());
                sp();
                pairs.add(nstring());
                if (peek() == ')') break;
                sp();
            }
            pos++;
            return new ImapCommand.Id(pairs);
        }

        private ImapCommand select(boolean readOnly) throws Bad {
            sp();
            String mailbox = astring();
            boolean condStore = false;
            Optional<ImapCommand.QResync> qresync = Optional.empty();
            if (peek() == ' ') {
                sp();
                expect('(');
                while (peek() != ')') {
                    if (condStore || qresync.isPresent()) sp();
                    String p = atom().toUpperCase(Locale.ROOT);
                    if (p.equals("CONDSTORE") && !condStore) {
                        condStore = true;
                    } else if (p.equals("QRESYNC") && qresync.isEmpty()) {
                        sp();
                        qresync = Optional.of(qresync());
                    } else {
                        throw new Bad("Unknown or repeated SELECT parameter " + p);
                    }
                }
                pos++;
            }
            return new ImapCommand.Select(mailbox, readOnly, condStore, qresync);
        }

        /** RFC 7162 §7 {@code "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"}. */
        private ImapCommand.QResync qresync() throws Bad {
            expect('(');
            long uidValidity = nzNumber();
            sp();
            long modSeq = number(MAX_MODSEQ);
            Optional<SequenceSet> knownUids = Optional.empty();
            Optional<SequenceSet> knownSequences = Optional.empty();
            Optional<SequenceSet> knownSequenceUids = Optional.empty();
            if (peek() == ' ') {
                sp();
                if (peek() != '(') {
                    knownUids = Optional.of(knownSet());
                    if (peek() == ' ') sp();
                }
                if (peek() == '(') {
                    pos++;
                    knownSequences = Optional.of(knownSet());
                    sp();
                    knownSequenceUids = Optional.of(knownSet());
                    expect(')');
                }
            }
            expect(')');
            return new ImapCommand.QResync(uidValidity, modSeq, knownUids, knownSequences, knownSequenceUids);
        }

        /** RFC 7162 §7 {@code known-uids} and friends: a sequence set without "*" or "$". */
        private SequenceSet knownSet() throws Bad {
            if (peek() == '$') throw new Bad("A saved search result is not a set of known UIDs");
            SequenceSet set = sequenceSet();
            if (set.usesStar()) throw new Bad("\"*\" is not allowed in QRESYNC known UIDs"); // RFC 7162 §7
            return set;
        }

        private long nzNumber() throws Bad {
            long n = number();
            if (n == 0) throw new Bad("Expected a non-zero number");
            return n;
        }

        /** RFC 5465 §8 {@code notify}: {@code NONE}, or {@code SET [STATUS] event-group *(SP event-group)}. */
        private ImapCommand notifyCommand() throws Bad {
            sp();
            String verb = atom().toUpperCase(Locale.ROOT);
            if (verb.equals("NONE")) return new ImapCommand.Notify(false, List.of());
            if (!verb.equals("SET")) throw new Bad("NOTIFY takes SET or NONE");
            sp();
            boolean status = false;
            if (peek() != '(') {
                if (!atom().toUpperCase(Locale.ROOT).equals("STATUS")) throw new Bad("Expected STATUS or an event group");
                status = true;
                sp();
            }
            List<NotifyGroup> groups = new ArrayList<>();
            groups.add(notifyGroup());
            while (peek() == ' ') {
                sp();
                groups.add(notifyGroup());
            }
            return new ImapCommand.Notify(status, groups);
        }

        /** RFC 5465 §8 {@code event-group = "(" filter-mailboxes SP events ")"}. */
        private NotifyGroup notifyGroup() throws Bad {
            expect('(');
            String keyword = atom();
            NotifyGroup.Filter filter = NotifyGroup.Filter.of(keyword)
                    .orElseThrow(() -> new Bad("Unknown NOTIFY mailbox specifier " + keyword));
            List<String> mailboxes = List.of();
            if (filter.takesMailboxes()) {
                sp();
                // one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")"
                mailboxes = peek() == '(' ? spaceList(this::astring) : List.of(astring());
            }
            sp();
            List<NotifyGroup.Event> events = List.of();
            if (peek() == '(') {
                events = spaceList(this::notifyEvent);
            } else if (!atom().toUpperCase(Locale.ROOT).equals("NONE")) {
                throw new Bad("Expected a list of events or NONE");
            }
            expect(')');
            return new NotifyGroup(filter, mailboxes, events);
        }

        /** RFC 5465 §8 {@code event}; only MessageNew takes {@code SP "(" fetch-att *(SP fetch-att) ")"}. */
        private NotifyGroup.Event notifyEvent() throws Bad {
            String name = NotifyGroup.Event.canonical(atom());
            List<FetchAttribute> fetch = List.of();
            if (name.equals("MessageNew") && peek() == ' ' && next() == '(') {
                pos++;
                fetch = spaceList(this::fetchAtt);
            }
            return new NotifyGroup.Event(name, fetch);
        }

        /** One item of {@link #spaceList}. */
        private interface Item<T> {
            T read() throws Bad;
        }

        /** {@code "(" item *(SP item) ")"}. */
        private <T> List<T> spaceList(Item<T> item) throws Bad {
            expect('(');
            List<T> out = new ArrayList<>();
            out.add(item.read());
            while (peek() == ' ') {
                sp();
                out.add(item.read());
            }
            expect(')');
            return out;
        }

        /** The character after the next one, or -1. */
        private int next() {
            byte[] cur = parts.get(seg);
            return pos + 1 < cur.length ? cur[pos + 1] & 0xff : -1;
        }

        /** RFC 9208 §4.1.3 {@code SETQUOTA root (resource limit ...)}. */
        private ImapCommand setQuota() throws Bad {
            sp();
            String root = astring();
            sp();
            expect('(');
            List<ImapCommand.ResourceLimit> limits = new ArrayList<>();
            while (peek() != ')') {
                if (!limits.isEmpty()) sp();
                if (limits.size() >= MAX_QUOTA_RESOURCES) throw new Bad("Too many quota resources");
                String resource = atom().toUpperCase(Locale.ROOT);
                sp();
                limits.add(new ImapCommand.ResourceLimit(resource, number(MAX_NUMBER64)));
            }
            pos++;
            return new ImapCommand.SetQuota(root, limits);
        }

        private ImapCommand create() throws Bad {
            sp();
            String mailbox = astring();
            List<String> use = List.of();
            if (peek() == ' ') {
                sp();
                expect('(');
                if (!atom().equalsIgnoreCase("USE")) throw new Bad("Unknown CREATE parameter");
                sp();
                use = flagList();
                expect(')');
            }
            return new ImapCommand.Create(mailbox, use);
        }

        private ImapCommand list(boolean lsub) throws Bad {
            sp();
            List<String> selection = List.of();
            boolean extended = false; // RFC 5258 §3: any of its syntax makes the command an extended LIST
            if (!lsub && peek() == '(') {
                selection = atomList(false);
                extended = true;
                sp();
            }
            String reference = astring();
            sp();
            List<String> patterns = new ArrayList<>();
            if (!lsub && peek() == '(') {
                pos++;
                extended = true;
                do {
                    if (peek() == ' ') pos++;
                    patterns.add(listMailbox());
                } while (peek() == ' ');
                expect(')');
            } else {
                patterns.add(listMailbox());
            }
            List<String> returns = new ArrayList<>();
            List<String> statusItems = new ArrayList<>();
            if (!lsub && peek() == ' ') {
                sp();
                if (!atom().equalsIgnoreCase("RETURN")) throw new Bad("Expected RETURN");
                extended = true;
                sp();
                expect('(');
                while (peek() != ')') {
                    if (!returns.isEmpty()) sp();
                    String option = atom().toUpperCase(Locale.ROOT);
                    returns.add(option);
                    if (option.equals("STATUS")) {
                        sp();
                        statusItems.addAll(atomList(false));
                    }
                }
                pos++;
            }
            return new ImapCommand.ListMailboxes(lsub, selection, reference, patterns, returns, statusItems, extended);
        }

        /**
         * RFC 9051 §6.3.12, RFC 3502 §6.3.11: {@code APPEND mailbox 1*(SP append-message)}, where
         * RFC 4469 §5 lets each message be a CATENATE as well as a literal.
         */
        private ImapCommand append() throws Bad {
            sp();
            String mailbox = astring();
            List<ImapCommand.Append.Message> messages = new ArrayList<>();
            int catParts = 0;
            do {
                sp();
                ImapCommand.Append.Message m = appendMessage(catParts);
                if (m.data() instanceof ImapCommand.Append.Data.Catenated cat) catParts += cat.parts().size();
                messages.add(m);
            } while (peek() == ' ');
            return new ImapCommand.Append(mailbox, messages);
        }

        /**
         * RFC 3502 §6.3.11 {@code append-message = append-opts SP append-data}, with RFC 4469 §5
         * {@code append-data =/ catenate}; {@code catParts} are the CATENATE parts of the messages before.
         */
        private ImapCommand.Append.Message appendMessage(int catParts) throws Bad {
            List<String> flags = List.of();
            if (peek() == '(') {
                flags = flagList();
                sp();
            }
            Optional<OffsetDateTime> date = Optional.empty();
            if (peek() == '"') {
                date = Optional.of(dateTime(quoted()));
                sp();
            }
            if (peek() == 'C' || peek() == 'c') {
                return new ImapCommand.Append.Message(flags, date, new ImapCommand.Append.Data.Catenated(catenate(catParts)));
            }
            if (peek() == 'U' || peek() == 'u') {
                // RFC 6855 §4: append-data =/ "UTF8" SP "(" literal8 ")"
                if (!atom().equalsIgnoreCase("UTF8")) throw new Bad("APPEND needs the message as a literal");
                sp();
                expect('(');
                if (peek() != '~') throw new Bad("APPEND UTF8 needs the message as a literal8 (~{n})");
                pos++;
                Literal message = literalContent(true);
                expect(')');
                return new ImapCommand.Append.Message(flags, date, message, true);
            }
            boolean literal8 = peek() == '~'; // RFC 3516 §4.4
            if (literal8) pos++;
            else if (peek() != '{') throw new Bad("APPEND needs the message as a literal");
            return new ImapCommand.Append.Message(flags, date, literalContent(literal8), false);
        }

        /**
         * RFC 4469 §5 {@code catenate = "CATENATE" SP "(" cat-part *(SP cat-part) ")"},
         * {@code cat-part = "TEXT" SP literal / "URL" SP astring}. {@link #MAX_URLS} bounds the parts
         * of the whole APPEND, {@code before} of them in earlier messages: a MULTIAPPEND of URL-only
         * CATENATEs has no literal for the literal limit to count.
         */
        private List<ImapCommand.CatPart> catenate(int before) throws Bad {
            if (!atom().equalsIgnoreCase("CATENATE")) throw new Bad("APPEND needs the message as a literal");
            sp();
            expect('(');
            List<ImapCommand.CatPart> parts = new ArrayList<>();
            while (true) {
                if (before + parts.size() >= MAX_URLS) throw new Bad("CATENATE takes at most " + MAX_URLS + " parts");
                String kind = atom().toUpperCase(Locale.ROOT);
                sp();
                switch (kind) {
                    case "TEXT" -> {
                        if (peek() != '{') throw new Bad("CATENATE TEXT needs a literal");
                        parts.add(new ImapCommand.CatPart.Text(literalContent(false)));
                    }
                    case "URL" -> parts.add(new ImapCommand.CatPart.Url(astring()));
                    default -> throw new Bad("CATENATE parts are TEXT or URL");
                }
                if (peek() == ')') break;
                sp();
            }
            pos++;
            return parts;
        }

        /** RFC 4467 §9 {@code genurlauth = "GENURLAUTH" 1*(SP url-rump SP mechanism)}. */
        private ImapCommand genUrlAuth() throws Bad {
            List<ImapCommand.UrlRump> rumps = new ArrayList<>();
            do {
                if (rumps.size() >= MAX_URLS) throw new Bad("GENURLAUTH takes at most " + MAX_URLS + " URLs");
                sp();
                String rump = astring();
                sp();
                rumps.add(new ImapCommand.UrlRump(rump, mechanism()));
            } while (peek() == ' ');
            return new ImapCommand.GenUrlAuth(rumps);
        }

        /** RFC 4467 §9 {@code resetkey = "RESETKEY" [SP mailbox *(SP mechanism)]}. */
        private ImapCommand resetKey() throws Bad {
            if (peek() != ' ') return new ImapCommand.ResetKey(Optional.empty(), List.of());
            sp();
            String mailbox = astring();
            List<String> mechanisms = new ArrayList<>();
            while (peek() == ' ') {
                sp();
                if (mechanisms.size() >= MAX_URLS) throw new Bad("Too many mechanisms");
                mechanisms.add(mechanism());
            }
            return new ImapCommand.ResetKey(Optional.of(mailbox), mechanisms);
        }

        /** RFC 4467 §9 {@code mechanism = "INTERNAL" / 1*(ALPHA / DIGIT / "-" / ".")}, upper-cased. */
        private String mechanism() throws Bad {
            String m = atom();
            if (!m.matches("[A-Za-z0-9.-]+")) throw new Bad("Invalid URLAUTH mechanism");
            return m.toUpperCase(Locale.ROOT);
        }

        /**
         * RFC 4467 §9 {@code urlfetch = "URLFETCH" 1*(SP url-full)}, with RFC 5524 §3.1's
         * {@code "(" url-full *(SP ("BODYPARTSTRUCTURE" / "BODY" / "BINARY")) ")"}.
         */
        private ImapCommand urlFetch() throws Bad {
            List<ImapCommand.UrlFetchItem> items = new ArrayList<>();
            do {
                if (items.size() >= MAX_URLS) throw new Bad("URLFETCH takes at most " + MAX_URLS + " URLs");
                sp();
                if (peek() != '(') {
                    items.add(new ImapCommand.UrlFetchItem(astring(), false, false, ImapCommand.UrlData.BODY));
                    continue;
                }
                pos++;
                String url = astring();
                boolean structure = false;
                ImapCommand.UrlData data = null;
                while (peek() == ' ') {
                    sp();
                    String param = atom().toUpperCase(Locale.ROOT);
                    switch (param) {
                        case "BODYPARTSTRUCTURE" -> structure = true;
                        case "BODY", "BINARY" -> {
                            // RFC 5524 §3.1: at most one of BODY and BINARY.
                            if (data != null) throw new Bad("URLFETCH takes one of BODY and BINARY");
                            data = ImapCommand.UrlData.valueOf(param);
                        }
                        default -> throw new Bad("Unknown URLFETCH parameter " + param);
                    }
                }
                expect(')');
                if (data == null) data = structure ? ImapCommand.UrlData.NONE : ImapCommand.UrlData.BODY;
                items.add(new ImapCommand.UrlFetchItem(url, true, structure, data));
            } while (peek() == ' ');
            return new ImapCommand.UrlFetch(items);
        }

        private ImapCommand search(boolean uid) throws Bad {
            sp();
            ReturnOptions returns = ReturnOptions.NONE;
            Optional<String> charset = Optional.empty();
            int save = pos;
            String first = peek() == '(' ? "" : atomOrEmpty();
            if (first.equalsIgnoreCase("RETURN")) {
                sp();
                returns = returnOptions();
                sp();
                save = pos;
                first = peek() == '(' ? "" : atomOrEmpty();
            }
            if (first.equalsIgnoreCase("CHARSET")) {
                sp();
                charset = Optional.of(astring());
                sp();
            } else {
                pos = save;
            }
            List<SearchKey> keys = new ArrayList<>();
            keys.add(searchKey());
            while (peek() == ' ') {
                sp();
                keys.add(searchKey());
            }
            return new ImapCommand.Search(uid, returns.options(), charset, keys.size() == 1 ? keys.get(0) : new SearchKey.And(keys),
                    returns.partial());
        }

        /** What RETURN (...) asked for: the options upper-cased, and PARTIAL's range. */
        private record ReturnOptions(Optional<List<String>> options, Optional<ImapCommand.PartialRange> partial) {
            static final ReturnOptions NONE = new ReturnOptions(Optional.empty(), Optional.empty());
        }

        /**
         * RFC 4466 §2.6 {@code search-return-opts}, with RFC 9394 §4 {@code "PARTIAL" SP partial-range}.
         * Which options the server knows is the command's business; the form is checked here.
         */
        private ReturnOptions returnOptions() throws Bad {
            expect('(');
            List<String> opts = new ArrayList<>();
            Optional<ImapCommand.PartialRange> partial = Optional.empty();
            while (peek() != ')') {
                if (!opts.isEmpty()) sp();
                String option = atom().toUpperCase(Locale.ROOT);
                if (option.equals("PARTIAL")) {
                    sp();
                    partial = Optional.of(partialRange());
                }
                opts.add(option);
            }
            pos++;
            // RFC 9394 §3.1 (and RFC 5267 §4.4): one PARTIAL, one ALL, or neither.
            if (opts.stream().filter(o -> o.equals("PARTIAL") || o.equals("ALL")).count() > 1) {
                throw new Bad("RETURN takes one PARTIAL or one ALL, not more");
            }
            if (opts.isEmpty()) opts.add("ALL"); // RFC 4731 §3.1: RETURN () means ALL
            return new ReturnOptions(Optional.of(opts), partial);
        }

        /**
         * RFC 9394 §4: {@code partial-range-first = nz-number ":" nz-number} or {@code
         * partial-range-last = "-" nz-number ":" "-" nz-number}; never "*", never mixed signs.
         */
        private ImapCommand.PartialRange partialRange() throws Bad {
            long first = signedNzNumber();
            expect(':');
            long last = signedNzNumber();
            if ((first < 0) != (last < 0)) throw new Bad("A PARTIAL range has both ends counted from the same side");
            return new ImapCommand.PartialRange(first, last);
        }

        private long signedNzNumber() throws Bad {
            boolean minus = peek() == '-';
            if (minus) pos++;
            long n = nzNumber();
            return minus ? -n : n;
        }

        /** RFC 5267 §5: {@code "CANCELUPDATE" 1*(SP quoted)}. */
        private ImapCommand cancelUpdate() throws Bad {
            List<String> tags = new ArrayList<>();
            do {
                sp();
                if (peek() != '"') throw new Bad("CANCELUPDATE takes the tags as quoted strings");
                tags.add(quoted());
            } while (peek() == ' ');
            return new ImapCommand.CancelUpdate(tags);
        }

        /**
         * RFC 5256 §5: sort-criteria SP charset 1*(SP search-key); RFC 5957 DISPLAY keys; RFC 5267
         * §5 {@code extended-sort}: RETURN (...) first.
         */
        private ImapCommand sort(boolean uid) throws Bad {
            sp();
            ReturnOptions returns = ReturnOptions.NONE;
            if (peek() != '(') {
                if (!atom().equalsIgnoreCase("RETURN")) throw new Bad("Expected RETURN or sort criteria");
                sp();
                returns = returnOptions();
                sp();
            }
            expect('(');
            List<ImapCommand.SortCriterion> criteria = new ArrayList<>();
            while (true) {
                String name = atom().toUpperCase(Locale.ROOT);
                boolean reverse = name.equals("REVERSE");
                if (reverse) {
                    sp();
                    name = atom().toUpperCase(Locale.ROOT);
                }
                ImapCommand.SortKey key;
                try {
                    key = ImapCommand.SortKey.valueOf(name);
                } catch (IllegalArgumentException e) {
                    throw new Bad("Unknown sort key " + name);
                }
                criteria.add(new ImapCommand.SortCriterion(reverse, key));
                if (criteria.size() > MAX_SORT_CRITERIA) throw new Bad("Too many sort criteria");
                if (peek() != ' ') break;
                sp();
            }
            expect(')');
            sp();
            String charset = astring();
            return new ImapCommand.Sort(uid, criteria, charset, searchCriteria(), returns.options(), returns.partial());
        }

        /** RFC 5256 §5: thread-alg SP charset 1*(SP search-key). */
        private ImapCommand thread(boolean uid) throws Bad {
            sp();
            String name = atom().toUpperCase(Locale.ROOT);
            Threading.Algorithm algorithm;
            try {
                algorithm = Threading.Algorithm.valueOf(name);
            } catch (IllegalArgumentException e) {
                throw new Bad("Unknown threading algorithm " + name);
            }
            sp();
            String charset = astring();
            return new ImapCommand.Thread(uid, algorithm, charset, searchCriteria());
        }

        private SearchKey searchCriteria() throws Bad {
            sp();
            List<SearchKey> keys = new ArrayList<>();
            keys.add(searchKey());
            while (peek() == ' ') {
                sp();
                keys.add(searchKey());
            }
            return keys.size() == 1 ? keys.get(0) : new SearchKey.And(keys);
        }

        private SearchKey searchKey() throws Bad {
            int c = peek();
            if (c == '(') {
                if (++depth > MAX_DEPTH) throw new Bad("Search keys nested too deeply");
                pos++;
                List<SearchKey> keys = new ArrayList<>();
                keys.add(searchKey());
                while (peek() == ' ') {
                    sp();
                    keys.add(searchKey());
                }
                expect(')');
                depth--;
                return keys.size() == 1 ? keys.get(0) : new SearchKey.And(keys);
            }
            if (c == '*' || c == '$' || (c >= '0' && c <= '9')) return new SearchKey.Numbers(false, sequenceSet());
            String name = atom().toUpperCase(Locale.ROOT);
            switch (name) {
                case "ALL": return new SearchKey.All();
                case "ANSWERED": return new SearchKey.Flag("\\Answered", true);
                case "DELETED": return new SearchKey.Flag("\\Deleted", true);
                case "DRAFT": return new SearchKey.Flag("\\Draft", true);
                case "FLAGGED": return new SearchKey.Flag("\\Flagged", true);
                case "SEEN": return new SearchKey.Flag("\\Seen", true);
                case "UNANSWERED": return new SearchKey.Flag("\\Answered", false);
                case "UNDELETED": return new SearchKey.Flag("\\Deleted", false);
                case "UNDRAFT": return new SearchKey.Flag("\\Draft", false);
                case "UNFLAGGED": return new SearchKey.Flag("\\Flagged", false);
                case "UNSEEN": return new SearchKey.Flag("\\Seen", false);
                case "KEYWORD": sp(); return new SearchKey.Flag(atom(), true);
                case "UNKEYWORD": sp(); return new SearchKey.Flag(atom(), false);
                case "RECENT": return new SearchKey.Recent(); // RFC 3501 §6.4.4
                // RFC 3501 §6.4.4: NEW is "functionally equivalent to (RECENT UNSEEN)".
                case "NEW": return new SearchKey.And(List.of(new SearchKey.Recent(), new SearchKey.Flag("\\Seen", false)));
                case "OLD": return new SearchKey.Not(new SearchKey.Recent());
                case "BCC": sp(); return new SearchKey.Text(SearchKey.Field.BCC, astring());
                case "BODY": sp(); return new SearchKey.Text(SearchKey.Field.BODY, astring());
                case "CC": sp(); return new SearchKey.Text(SearchKey.Field.CC, astring());
                case "FROM": sp(); return new SearchKey.Text(SearchKey.Field.FROM, astring());
                case "SUBJECT": sp(); return new SearchKey.Text(SearchKey.Field.SUBJECT, astring());
                case "TEXT": sp(); return new SearchKey.Text(SearchKey.Field.TEXT, astring());
                case "TO": sp(); return new SearchKey.Text(SearchKey.Field.TO, astring());
                case "HEADER": {
                    sp();
                    String field = astring();
                    sp();
                    return new SearchKey.Header(field, astring());
                }
                case "BEFORE": sp(); return new SearchKey.Date(false, SearchKey.Comparison.BEFORE, date());
                case "ON": sp(); return new SearchKey.Date(false, SearchKey.Comparison.ON, date());
                case "SINCE": sp(); return new SearchKey.Date(false, SearchKey.Comparison.SINCE, date());
                case "SENTBEFORE": sp(); return new SearchKey.Date(true, SearchKey.Comparison.BEFORE, date());
                case "SENTON": sp(); return new SearchKey.Date(true, SearchKey.Comparison.ON, date());
                case "SENTSINCE": sp(); return new SearchKey.Date(true, SearchKey.Comparison.SINCE, date());
                case "LARGER": sp(); return new SearchKey.Size(true, number());
                case "SMALLER": sp(); return new SearchKey.Size(false, number());
                case "UID": sp(); return new SearchKey.Numbers(true, sequenceSet());
                case "MODSEQ": {
                    sp();
                    if (peek() == '"') {
                        // RFC 7162 §3.1.5: entry name and type, meaningless without per-flag MODSEQs.
                        quoted();
                        sp();
                        atom();
                        sp();
                    }
                    return new SearchKey.ModSeq(number(MAX_MODSEQ));
                }
                case "NOT": {
                    sp();
                    if (++depth > MAX_DEPTH) throw new Bad("Search keys nested too deeply");
                    SearchKey k = searchKey();
                    depth--;
                    return new SearchKey.Not(k);
                }
                case "OR": {
                    sp();
                    if (++depth > MAX_DEPTH) throw new Bad("Search keys nested too deeply");
                    SearchKey a = searchKey();
                    sp();
                    SearchKey b = searchKey();
                    depth--;
                    return new SearchKey.Or(a, b);
                }
                default: throw new Bad("Unknown search key " + name);
            }
        }

        private ImapCommand fetch(boolean uid) throws Bad {
            sp();
            SequenceSet set = sequenceSet();
            sp();
            List<FetchAttribute> atts = new ArrayList<>();
            if (peek() == '(') {
                pos++;
                atts.add(fetchAtt());
                while (peek() == ' ') {
                    sp();
                    atts.add(fetchAtt());
                }
                expect(')');
            } else {
                int save = pos;
                String macro = atomUntilBracket().toUpperCase(Locale.ROOT);
                switch (macro) {
                    case "ALL" -> atts.addAll(List.of(new FetchAttribute.Flags(), new FetchAttribute.InternalDate(),
                            new FetchAttribute.Rfc822Size(), new FetchAttribute.Envelope()));
                    case "FAST" -> atts.addAll(List.of(new FetchAttribute.Flags(), new FetchAttribute.InternalDate(),
                            new FetchAttribute.Rfc822Size()));
                    case "FULL" -> atts.addAll(List.of(new FetchAttribute.Flags(), new FetchAttribute.InternalDate(),
                            new FetchAttribute.Rfc822Size(), new FetchAttribute.Envelope(),
                            new FetchAttribute.BodyStructure(false)));
                    default -> {
                        pos = save;
                        atts.add(fetchAtt());
                    }
                }
            }
            OptionalLong changedSince = OptionalLong.empty();
            boolean vanished = false;
            Optional<ImapCommand.PartialRange> partial = Optional.empty();
            if (peek() == ' ') {
                sp();
                expect('(');
                do {
                    if (peek() == ' ') pos++;
                    String modifier = atom().toUpperCase(Locale.ROOT);
                    if (modifier.equals("CHANGEDSINCE") && changedSince.isEmpty()) {
                        sp();
                        changedSince = OptionalLong.of(number(MAX_MODSEQ));
                    } else if (modifier.equals("VANISHED") && !vanished) {
                        vanished = true;
                    } else if (modifier.equals("PARTIAL") && partial.isEmpty() && uid) {
                        // RFC 9394 §3.3: a UID FETCH modifier only.
                        sp();
                        partial = Optional.of(partialRange());
                    } else {
                        throw new Bad("Unknown or repeated FETCH modifier " + modifier);
                    }
                } while (peek() == ' ');
                expect(')');
            }
            // RFC 7162 §3.2.6: VANISHED only in UID FETCH, and only with CHANGEDSINCE.
            if (vanished && (!uid || changedSince.isEmpty())) {
                throw new Bad("VANISHED needs UID FETCH and CHANGEDSINCE");
            }
            return new ImapCommand.Fetch(uid, set, atts, changedSince, vanished, partial);
        }

        private FetchAttribute fetchAtt() throws Bad {
            String name = atomUntilBracket().toUpperCase(Locale.ROOT);
            switch (name) {
                case "FLAGS": return new FetchAttribute.Flags();
                case "UID": return new FetchAttribute.Uid();
                case "INTERNALDATE": return new FetchAttribute.InternalDate();
                case "RFC822.SIZE": return new FetchAttribute.Rfc822Size();
                case "ENVELOPE": return new FetchAttribute.Envelope();
                case "BODYSTRUCTURE": return new FetchAttribute.BodyStructure(true);
                case "MODSEQ": return new FetchAttribute.ModSeq();
                case "RFC822": return new FetchAttribute.Rfc822(FetchAttribute.Section.Kind.ALL);
                case "RFC822.HEADER": return new FetchAttribute.Rfc822(FetchAttribute.Section.Kind.HEADER);
                case "RFC822.TEXT": return new FetchAttribute.Rfc822(FetchAttribute.Section.Kind.TEXT);
                case "BINARY", "BINARY.PEEK": {
                    List<Integer> part = sectionBinary();
                    Partial p = partial();
                    return new FetchAttribute.Binary(name.equals("BINARY.PEEK"), part, p.offset(), p.length());
                }
                case "BINARY.SIZE": return new FetchAttribute.BinarySize(sectionBinary());
                case "BODY", "BODY.PEEK": {
                    if (peek() != '[') {
                        if (name.equals("BODY")) return new FetchAttribute.BodyStructure(false);
                        throw new Bad("BODY.PEEK needs a section");
                    }
                    FetchAttribute.Section section = section();
                    Partial p = partial();
                    return new FetchAttribute.Body(name.equals("BODY.PEEK"), section, p.offset(), p.length());
                }
                default: throw new Bad("Unknown fetch attribute " + name);
            }
        }

        private FetchAttribute.Section section() throws Bad {
            expect('[');
            List<Integer> part = new ArrayList<>();
            FetchAttribute.Section.Kind kind = FetchAttribute.Section.Kind.ALL;
            List<String> fields = List.of();
            while (peek() >= '0' && peek() <= '9') {
                long n = number();
                if (n == 0 || n > 10_000) throw new Bad("Invalid section part");
                part.add((int) n);
                if (part.size() > MAX_DEPTH) throw new Bad("Section nested too deeply");
                if (peek() != '.') break;
                pos++;
            }
            if (peek() != ']') {
                String text = atomUntilBracket().toUpperCase(Locale.ROOT);
                switch (text) {
                    case "HEADER" -> kind = FetchAttribute.Section.Kind.HEADER;
                    case "TEXT" -> kind = FetchAttribute.Section.Kind.TEXT;
                    case "MIME" -> {
                        if (part.isEmpty()) throw new Bad("MIME needs a part number");
                        kind = FetchAttribute.Section.Kind.MIME;
                    }
                    case "HEADER.FIELDS", "HEADER.FIELDS.NOT" -> {
                        kind = text.endsWith(".NOT") ? FetchAttribute.Section.Kind.HEADER_FIELDS_NOT
                                : FetchAttribute.Section.Kind.HEADER_FIELDS;
                        sp();
                        expect('(');
                        List<String> f = new ArrayList<>();
                        f.add(astring().toUpperCase(Locale.ROOT));
                        while (peek() == ' ') {
                            sp();
                            f.add(astring().toUpperCase(Locale.ROOT));
                        }
                        expect(')');
                        fields = f;
                    }
                    default -> throw new Bad("Invalid section " + text);
                }
            } else if (!part.isEmpty() && lastWasDot()) {
                throw new Bad("Invalid section");
            }
            expect(']');
            return new FetchAttribute.Section(part, kind, fields);
        }

        private record Partial(OptionalLong offset, OptionalLong length) {}

        /** RFC 9051 §9 {@code partial = "<" number64 "." nz-number64 ">"}, when present. */
        private Partial partial() throws Bad {
            if (peek() != '<') return new Partial(OptionalLong.empty(), OptionalLong.empty());
            pos++;
            long offset = number();
            expect('.');
            long length = number();
            if (length == 0) throw new Bad("Partial length must not be zero");
            expect('>');
            return new Partial(OptionalLong.of(offset), OptionalLong.of(length));
        }

        /** RFC 3516 §6 {@code section-binary = "[" [section-part] "]"}: part numbers only. */
        private List<Integer> sectionBinary() throws Bad {
            expect('[');
            List<Integer> part = new ArrayList<>();
            while (peek() != ']') {
                if (!part.isEmpty()) expect('.');
                long n = number();
                if (n == 0 || n > 10_000) throw new Bad("Invalid section part");
                part.add((int) n);
                if (part.size() > MAX_DEPTH) throw new Bad("Section nested too deeply");
            }
            pos++;
            return part;
        }

        private boolean lastWasDot() {
            return pos > 0 && parts.get(seg)[pos - 1] == '.';
        }

        private ImapCommand store(boolean uid) throws Bad {
            sp();
            SequenceSet set = sequenceSet();
            sp();
            OptionalLong unchangedSince = OptionalLong.empty();
            if (peek() == '(') {
                pos++;
                if (!atom().equalsIgnoreCase("UNCHANGEDSINCE")) throw new Bad("Unknown STORE modifier");
                sp();
                unchangedSince = OptionalLong.of(number(MAX_MODSEQ));
                expect(')');
                sp();
            }
            String item = atom().toUpperCase(Locale.ROOT);
            ImapCommand.StoreMode mode = ImapCommand.StoreMode.REPLACE;
            if (item.startsWith("+")) {
                mode = ImapCommand.StoreMode.ADD;
                item = item.substring(1);
            } else if (item.startsWith("-")) {
                mode = ImapCommand.StoreMode.REMOVE;
                item = item.substring(1);
            }
            boolean silent = item.equals("FLAGS.SILENT");
            if (!silent && !item.equals("FLAGS")) throw new Bad("STORE takes FLAGS, +FLAGS or -FLAGS");
            sp();
            List<String> flags;
            if (peek() == '(') {
                flags = flagList();
            } else {
                flags = new ArrayList<>();
                flags.add(flag());
                while (peek() == ' ') {
                    sp();
                    flags.add(flag());
                }
            }
            return new ImapCommand.Store(uid, set, mode, silent, flags, unchangedSince);
        }

        // ---- tokens

        private int peek() {
            byte[] cur = parts.get(seg);
            return pos < cur.length ? cur[pos] & 0xff : -1;
        }

        private boolean atEnd() {
            return seg == parts.size() - 1 && pos == parts.get(seg).length;
        }

        private void expect(char c) throws Bad {
            if (peek() != c) throw new Bad("Expected '" + c + "'");
            pos++;
        }

        private void sp() throws Bad {
            if (peek() != ' ') throw new Bad(peek() < 0 ? "Missing argument" : "Expected a space");
            pos++;
        }

        private String atom() throws Bad {
            int start = pos;
            while (peek() >= 0 && isAtomChar(peek())) pos++;
            if (pos == start) throw new Bad(peek() < 0 ? "Missing argument" : "Expected an atom");
            return new String(parts.get(seg), start, pos - start, StandardCharsets.UTF_8);
        }

        private String atomOrEmpty() {
            int start = pos;
            while (peek() >= 0 && isAtomChar(peek())) pos++;
            return new String(parts.get(seg), start, pos - start, StandardCharsets.UTF_8);
        }

        /** An atom that stops at '[' and '&lt;' too (fetch attribute names). */
        private String atomUntilBracket() throws Bad {
            int start = pos;
            while (peek() >= 0 && isAtomChar(peek()) && peek() != '[' && peek() != '<') pos++;
            if (pos == start) throw new Bad("Expected a fetch attribute");
            return new String(parts.get(seg), start, pos - start, StandardCharsets.US_ASCII);
        }

        /** {@code SP astring}: the next argument of a command. */
        private String argument() throws Bad {
            sp();
            return astring();
        }

        private String astring() throws Bad {
            int c = peek();
            if (c == '"' || c == '{') return string();
            int start = pos;
            // RFC 9051 §9: ASTRING-CHAR = ATOM-CHAR / resp-specials ("]")
            while (peek() >= 0 && (isAtomChar(peek()) || peek() == ']')) pos++;
            if (pos == start) throw new Bad(peek() < 0 ? "Missing argument" : "Expected a string");
            return new String(parts.get(seg), start, pos - start, StandardCharsets.UTF_8);
        }

        private String listMailbox() throws Bad {
            int c = peek();
            if (c == '"' || c == '{') return string();
            int start = pos;
            while (peek() >= 0 && (isAtomChar(peek()) || peek() == ']' || peek() == '%' || peek() == '*')) pos++;
            if (pos == start) throw new Bad("Expected a mailbox pattern");
            return new String(parts.get(seg), start, pos - start, StandardCharsets.UTF_8);
        }

        private String string() throws Bad {
            if (peek() == '"') return quoted();
            if (peek() == '{') return new String(literal(), StandardCharsets.UTF_8);
            throw new Bad("Expected a string");
        }

        private String nstring() throws Bad {
            if (peek() == 'N' || peek() == 'n') {
                nil();
                return null;
            }
            return string();
        }

        private void nil() throws Bad {
            if (!atom().equalsIgnoreCase("NIL")) throw new Bad("Expected NIL");
        }

        private String quoted() throws Bad {
            expect('"');
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            boolean eightBit = false;
            while (true) {
                int c = peek();
                if (c < 0) throw new Bad("Unterminated quoted string");
                pos++;
                if (c == '"') break;
                if (c >= 0x80) {
                    // RFC 3501 §9: quoted strings are 7-bit; RFC 9051 §9 and RFC 6855 §3 allow UTF-8.
                    if (!utf8) throw new Bad("8-bit text in a quoted string needs ENABLE UTF8=ACCEPT; send a literal");
                    eightBit = true;
                }
                if (c == '\\') {
                    int e = peek();
                    if (e != '"' && e != '\\') throw new Bad("Invalid escape in quoted string");
                    pos++;
                    c = e;
                }
                out.write(c);
            }
            return eightBit ? utf8(out.toByteArray()) : out.toString(StandardCharsets.US_ASCII);
        }

        private static String utf8(byte[] bytes) throws Bad {
            try {
                return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new Bad("Invalid UTF-8 in quoted string");
            }
        }

        /** A literal's bytes: the marker ends this line, the bytes are the next part. */
        private byte[] literal() throws Bad {
            int at = literalPart();
            refuseNul(at, false);
            Literal l = sunk.get(at);
            if (l == null) return parts.get(at);
            // A sunk literal stands for a string here (a mailbox name in APPEND): only a small one is in memory.
            if (!(l instanceof Literal.InMemory m)) throw new Bad("Literal too large for a string");
            return m.octets();
        }

        /**
         * A literal as the command carries it: in memory, or as the sink received it.
         *
         * @param literal8 whether it was announced as an RFC 3516 literal8, which may hold NUL
         */
        private Literal literalContent(boolean literal8) throws Bad {
            int at = literalPart();
            refuseNul(at, literal8);
            Literal l = sunk.get(at);
            if (l == null) return Literal.of(parts.get(at));
            taken.add(l);
            return l;
        }

        /**
         * RFC 9051 §4.3 and §9: a literal is CHAR8, %x01-ff; only a literal8 (RFC 3516 §4.4) may
         * carry NUL. A client that has binary content to send uses {@code ~{n}}.
         */
        private void refuseNul(int at, boolean literal8) throws Bad {
            if (literal8) return;
            boolean nul = sunk.containsKey(at) ? sunkNul.contains(at) : indexOfNul(parts.get(at)) >= 0;
            if (nul) throw new Bad("NUL octet in a literal; send binary content as a literal8 (~{n})");
        }

        private static int indexOfNul(byte[] b) {
            for (int i = 0; i < b.length; i++) {
                if (b[i] == 0) return i;
            }
            return -1;
        }

        /** Moves past a literal marker and the literal; returns the literal's index in {@link #parts}. */
        private int literalPart() throws Bad {
            expect('{');
            while (peek() >= '0' && peek() <= '9') pos++;
            if (peek() == '+') pos++;
            expect('}');
            if (pos != parts.get(seg).length || seg + 2 >= parts.size()) throw new Bad("Invalid literal");
            int at = seg + 1;
            seg += 2;
            pos = 0;
            return at;
        }

        private long number() throws Bad {
            return number(MAX_NUMBER);
        }

        private long number(long max) throws Bad {
            int start = pos;
            long n = 0;
            while (peek() >= '0' && peek() <= '9') {
                n = n * 10 + (peek() - '0');
                if (n > max || pos - start > 19) throw new Bad("Number too large");
                pos++;
            }
            if (pos == start) throw new Bad("Expected a number");
            return n;
        }

        private SequenceSet sequenceSet() throws Bad {
            if (peek() == '$') {
                pos++;
                return SequenceSet.SAVED;
            }
            List<SequenceSet.Range> ranges = new ArrayList<>();
            while (true) {
                long a = seqNumber();
                long b = a;
                if (peek() == ':') {
                    pos++;
                    b = seqNumber();
                }
                ranges.add(new SequenceSet.Range(a, b));
                if (ranges.size() > MAX_SEQUENCE_RANGES) throw new Bad("Sequence set too long");
                if (peek() != ',') break;
                pos++;
            }
            return new SequenceSet(ranges, false);
        }

        private long seqNumber() throws Bad {
            if (peek() == '*') {
                pos++;
                return SequenceSet.STAR;
            }
            long n = number();
            if (n == 0) throw new Bad("Invalid sequence set: 0 is not a message number");
            return n;
        }

        private List<String> atomList(boolean allowBackslash) throws Bad {
            expect('(');
            List<String> out = new ArrayList<>();
            while (peek() != ')') {
                if (!out.isEmpty()) sp();
                out.add(allowBackslash ? flag() : atom().toUpperCase(Locale.ROOT));
            }
            pos++;
            return out;
        }

        private List<String> flagList() throws Bad {
            return atomList(true);
        }

        /** RFC 9051 §9 {@code flag}: "\" atom or a keyword atom. */
        private String flag() throws Bad {
            if (peek() == '\\') {
                pos++;
                return "\\" + atom();
            }
            return atom();
        }

        private static final List<String> MONTHS = List.of("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG",
                "SEP", "OCT", "NOV", "DEC");

        /** RFC 9051 §9 {@code date}: {@code d-Mon-yyyy}, possibly quoted. */
        private LocalDate date() throws Bad {
            String s = peek() == '"' ? quoted() : atom();
            return parseDate(s);
        }

        private static LocalDate parseDate(String s) throws Bad {
            String[] p = s.split("-", -1);
            String day = p.length == 3 ? p[0].strip() : "";
            int month = p.length == 3 ? MONTHS.indexOf(p[1].toUpperCase(Locale.ROOT)) + 1 : 0;
            // RFC 9051 §9: date-day 1*2DIGIT, date-year 4DIGIT; DIGIT is ASCII (RFC 5234 B.1), so
            // Integer.parseInt's signs and other scripts' digits are not dates.
            if (month == 0 || !digits(day, 1, 2) || !digits(p[2], 4, 4)) {
                throw new Bad("Invalid date, expected e.g. 1-Feb-2024");
            }
            try {
                return LocalDate.of(Integer.parseInt(p[2]), month, Integer.parseInt(day));
            } catch (DateTimeException e) { // 30-Feb, 0-Jan
                throw new Bad("Invalid date, expected e.g. 1-Feb-2024");
            }
        }

        /** RFC 9051 §9 {@code date-time}: {@code dd-Mon-yyyy hh:mm:ss +zzzz}, day possibly space-padded. */
        private static OffsetDateTime dateTime(String s) throws Bad {
            String[] p = s.strip().split(" ");
            if (p.length != 3 || p[1].length() != 8 || p[2].length() != 5) throw new Bad("Invalid date-time");
            LocalDate d = parseDate(p[0]);
            // time = 2DIGIT ":" 2DIGIT ":" 2DIGIT; zone = ("+" / "-") 4DIGIT
            String[] t = p[1].split(":", -1);
            char sign = p[2].charAt(0);
            if (t.length != 3 || !digits(t[0], 2, 2) || !digits(t[1], 2, 2) || !digits(t[2], 2, 2)
                    || (sign != '+' && sign != '-') || !digits(p[2].substring(1), 4, 4)) {
                throw new Bad("Invalid date-time");
            }
            int direction = sign == '-' ? -1 : 1;
            try {
                ZoneOffset zone = ZoneOffset.ofHoursMinutes(direction * Integer.parseInt(p[2].substring(1, 3)),
                        direction * Integer.parseInt(p[2].substring(3, 5)));
                return OffsetDateTime.of(d.getYear(), d.getMonthValue(), d.getDayOfMonth(), Integer.parseInt(t[0]),
                        Integer.parseInt(t[1]), Integer.parseInt(t[2]), 0, zone);
            } catch (DateTimeException e) { // hour 24, minute 60, an offset beyond ±18:00
                throw new Bad("Invalid date-time");
            }
        }

        /** Whether {@code s} is {@code min} to {@code max} ASCII digits. */
        private static boolean digits(String s, int min, int max) {
            if (s.length() < min || s.length() > max) return false;
            for (int i = 0; i < s.length(); i++) {
                if (s.charAt(i) < '0' || s.charAt(i) > '9') return false;
            }
            return true;
        }
    }
}
