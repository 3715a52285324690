package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The syntax of QRESYNC (RFC 7162), QUOTA (RFC 9208), BINARY (RFC 3516), UTF8=ACCEPT (RFC 6855)
 * and COMPRESS (RFC 4978), fed whole and one byte at a time; the RFCs' examples where they give one.
 */
class ImapExtensionsParserTest {

    private static final long BIG = 1 << 20;

    private static List<ImapParser.Result> whole(byte[] input, boolean utf8) {
        ImapParser p = new ImapParser();
        ByteBuffer in = ByteBuffer.wrap(input);
        List<ImapParser.Result> out = new ArrayList<>();
        while (in.hasRemaining()) {
            ImapParser.Result r = p.next(in, ImapParser.Mode.COMMAND, BIG, utf8);
            if (!(r instanceof ImapParser.NeedMore)) out.add(r);
        }
        return out;
    }

    /** One byte per call: every byte that is not the end of a line gives NeedMore (or Continue at a literal). */
    private static List<ImapParser.Result> byteAtATime(byte[] input, boolean utf8) {
        ImapParser p = new ImapParser();
        List<ImapParser.Result> out = new ArrayList<>();
        for (byte b : input) {
            ImapParser.Result r = p.next(ByteBuffer.wrap(new byte[] {b}), ImapParser.Mode.COMMAND, BIG, utf8);
            if (!(r instanceof ImapParser.NeedMore)) out.add(r);
            if (b != '\n') assertThat(r).isInstanceOf(ImapParser.NeedMore.class);
        }
        return out;
    }

    private static ImapParser.Result last(String input, boolean utf8) {
        byte[] bytes = input.getBytes(StandardCharsets.UTF_8);
        List<ImapParser.Result> a = whole(bytes, utf8);
        List<ImapParser.Result> b = byteAtATime(bytes, utf8);
        assertThat(b).isEqualTo(a);
        return a.get(a.size() - 1);
    }

    static ImapCommand parse(String input) {
        ImapParser.Result r = last(input, false);
        assertThat(r).as(input).isInstanceOf(ImapParser.Command.class);
        return ((ImapParser.Command) r).command();
    }

    static ImapParser.Error error(String input, boolean utf8) {
        ImapParser.Result r = last(input, utf8);
        assertThat(r).as(input).isInstanceOf(ImapParser.Error.class);
        assertThat(((ImapParser.Error) r).tag()).contains("a1");
        return (ImapParser.Error) r;
    }

    private static SequenceSet set(long... bounds) {
        List<SequenceSet.Range> ranges = new ArrayList<>();
        for (int i = 0; i < bounds.length; i += 2) ranges.add(new SequenceSet.Range(bounds[i], bounds[i + 1]));
        return new SequenceSet(ranges, false);
    }

    static Stream<Arguments> commands() {
        return Stream.of(
                // RFC 7162 §3.2.5.2's example, and its shorter forms.
                Arguments.of("a1 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
                        new ImapCommand.Select("INBOX", false, false, Optional.of(new ImapCommand.QResync(67890007L,
                                20050715194045000L, Optional.of(set(41, 41, 43, 211, 214, 541)), Optional.empty(),
                                Optional.empty())))),
                Arguments.of("a1 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))\r\n",
                        new ImapCommand.Select("INBOX", false, false, Optional.of(new ImapCommand.QResync(67890007L,
                                90060115194045000L, Optional.of(set(41, 211, 214, 541)), Optional.empty(), Optional.empty())))),
                Arguments.of("a1 EXAMINE INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 "
                        + "15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))\r\n",
                        new ImapCommand.Select("INBOX", true, false, Optional.of(new ImapCommand.QResync(67890007L,
                                90060115194045000L, Optional.of(set(1, 29997)),
                                Optional.of(set(5000, 5000, 7500, 7500, 9000, 9000, 9990, 9999)),
                                Optional.of(set(15000, 15000, 22500, 22500, 27000, 27000, 29970, 29970, 29973, 29973, 29976,
                                        29976, 29979, 29979, 29982, 29982, 29985, 29985, 29988, 29988, 29991, 29991, 29994,
                                        29994, 29997, 29997)))))),
                Arguments.of("a1 SELECT INBOX (QRESYNC (1 0))\r\n", new ImapCommand.Select("INBOX", false, false,
                        Optional.of(new ImapCommand.QResync(1, 0, Optional.empty(), Optional.empty(), Optional.empty())))),
                Arguments.of("a1 SELECT INBOX (CONDSTORE QRESYNC (1 5 (1 2)))\r\n", new ImapCommand.Select("INBOX", false, true,
                        Optional.of(new ImapCommand.QResync(1, 5, Optional.empty(), Optional.of(set(1, 1)),
                                Optional.of(set(2, 2)))))),
                // RFC 7162 §3.2.6's example.
                Arguments.of("a1 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
                        new ImapCommand.Fetch(true, set(300, 500), List.of(new FetchAttribute.Flags()), OptionalLong.of(12345),
                                true)),
                Arguments.of("a1 UID FETCH 1:* FLAGS (VANISHED CHANGEDSINCE 7)\r\n",
                        new ImapCommand.Fetch(true, set(1, SequenceSet.STAR), List.of(new FetchAttribute.Flags()),
                                OptionalLong.of(7), true)),
                // RFC 3516 §4.2.
                Arguments.of("a1 FETCH 1 (BINARY[1.2]<0.100> BINARY.PEEK[] BINARY.SIZE[3])\r\n",
                        new ImapCommand.Fetch(false, set(1, 1), List.of(
                                new FetchAttribute.Binary(false, List.of(1, 2), OptionalLong.of(0), OptionalLong.of(100)),
                                new FetchAttribute.Binary(true, List.of(), OptionalLong.empty(), OptionalLong.empty()),
                                new FetchAttribute.BinarySize(List.of(3))), OptionalLong.empty())),
                Arguments.of("a1 FETCH 2 BINARY.PEEK[1]\r\n", new ImapCommand.Fetch(false, set(2, 2), List.of(
                        new FetchAttribute.Binary(true, List.of(1), OptionalLong.empty(), OptionalLong.empty())),
                        OptionalLong.empty())),
                // RFC 3516 §4.4: literal8; RFC 6855 §4: the UTF8 data item.
                Arguments.of("a1 APPEND INBOX (\\Seen) ~{3}\r\na\u0000b\r\n",
                        new ImapCommand.Append("INBOX", List.of("\\Seen"), Optional.empty(), new byte[] {'a', 0, 'b'})),
                Arguments.of("a1 APPEND INBOX ~{2+}\r\nHi\r\n",
                        new ImapCommand.Append("INBOX", List.of(), Optional.empty(), "Hi".getBytes())),
                Arguments.of("a1 APPEND Drafts UTF8 (~{2+}\r\nHi)\r\n",
                        new ImapCommand.Append("Drafts", List.of(), Optional.empty(), "Hi".getBytes(), true)),
                // RFC 3502 §6.3.11: several messages, each with its own options.
                Arguments.of("a1 APPEND saved (\\Seen) {3}\r\none \" 7-Feb-1994 21:52:25 -0800\" ~{3+}\r\ntwo {5+}\r\nthree\r\n",
                        new ImapCommand.Append("saved", List.of(
                                new ImapCommand.Append.Message(List.of("\\Seen"), Optional.empty(), Literal.of("one".getBytes()), false),
                                new ImapCommand.Append.Message(List.of(), Optional.of(OffsetDateTime.of(1994, 2, 7, 21, 52, 25, 0,
                                        ZoneOffset.ofHours(-8))), Literal.of("two".getBytes()), false),
                                new ImapCommand.Append.Message(List.of(), Optional.empty(), Literal.of("three".getBytes()), false)))),
                // RFC 9208 §4.1.1 - §4.1.3.
                Arguments.of("a1 GETQUOTA \"\"\r\n", new ImapCommand.GetQuota("")),
                Arguments.of("a1 GETQUOTAROOT INBOX\r\n", new ImapCommand.GetQuotaRoot("INBOX")),
                Arguments.of("a1 SETQUOTA \"\" (STORAGE 512)\r\n",
                        new ImapCommand.SetQuota("", List.of(new ImapCommand.ResourceLimit("STORAGE", 512)))),
                Arguments.of("a1 SETQUOTA \"\" (storage 512 MESSAGE 1000)\r\n", new ImapCommand.SetQuota("", List.of(
                        new ImapCommand.ResourceLimit("STORAGE", 512), new ImapCommand.ResourceLimit("MESSAGE", 1000)))),
                Arguments.of("a1 SETQUOTA \"\" ()\r\n", new ImapCommand.SetQuota("", List.of())),
                // RFC 4978 §3.
                Arguments.of("a1 COMPRESS deflate\r\n", new ImapCommand.Compress("DEFLATE")));
    }

    @ParameterizedTest
    @MethodSource("commands")
    void parsesWholeAndByteAtATime(String input, ImapCommand expected) {
        assertThat(parse(input)).isEqualTo(expected);
    }

    @Test
    void literal8AsksForContinuationLikeALiteral() {
        ImapParser p = new ImapParser();
        assertThat(p.next(ByteBuffer.wrap("a1 APPEND INBOX ~{3}\r\n".getBytes()), ImapParser.Mode.COMMAND, BIG, false))
                .isInstanceOf(ImapParser.Continue.class);
        assertThat(p.next(ByteBuffer.wrap(new byte[] {0, 1, 2, '\r', '\n'}), ImapParser.Mode.COMMAND, BIG, false))
                .isEqualTo(new ImapParser.Command("a1", new ImapCommand.Append("INBOX", List.of(), Optional.empty(),
                        new byte[] {0, 1, 2})));
    }

    /** Keeps what the parser hands over, and whether each was released. */
    private static final class RecordingSink implements Literal.Sink {
        final List<ByteArrayOutputStream> received = new ArrayList<>();
        final List<Boolean> released = new ArrayList<>();

        @Override
        public Literal.Receiver receive(long size) {
            int i = received.size();
            received.add(new ByteArrayOutputStream());
            released.add(false);
            return new Literal.Receiver() {
                @Override
                public void write(ByteBuffer octets) {
                    byte[] b = new byte[octets.remaining()];
                    octets.get(b);
                    received.get(i).writeBytes(b);
                }

                @Override
                public Literal finish() {
                    return new Literal() {
                        public long size() { return size; }

                        public java.io.InputStream open() { return new java.io.ByteArrayInputStream(received.get(i).toByteArray()); }

                        public void close() { released.set(i, true); }
                    };
                }

                @Override
                public void abort() {
                    released.set(i, true);
                }
            };
        }
    }

    @Test
    void appendMessagesGoToTheSinkNotTheCommandBuffer() throws Exception {
        // A message far above MAX_COMMAND, non-synchronizing, arrives in pieces (RFC 7888, RFC 7889).
        RecordingSink sink = new RecordingSink();
        ImapParser p = new ImapParser(sink);
        int size = ImapParser.MAX_COMMAND * 3;
        byte[] message = new byte[size];
        java.util.Arrays.fill(message, (byte) 'm');
        assertThat(p.next(ByteBuffer.wrap(("a1 APPEND INBOX {" + size + "+}\r\n").getBytes()), ImapParser.Mode.COMMAND, BIG))
                .isInstanceOf(ImapParser.NeedMore.class);
        for (int off = 0; off < size; off += 10_000) {
            ByteBuffer piece = ByteBuffer.wrap(message, off, Math.min(10_000, size - off));
            assertThat(p.next(piece, ImapParser.Mode.COMMAND, BIG)).isInstanceOf(ImapParser.NeedMore.class);
            assertThat(piece.hasRemaining()).isFalse();
        }
        ImapParser.Command c = (ImapParser.Command) p.next(ByteBuffer.wrap("\r\n".getBytes()), ImapParser.Mode.COMMAND, BIG);
        Literal content = ((ImapCommand.Append.Data.Octets) ((ImapCommand.Append) c.command()).messages().get(0).data()).content();
        assertThat(content.size()).isEqualTo(size);
        try (var in = content.open()) {
            assertThat(in.readAllBytes()).isEqualTo(message);
        }
        assertThat(sink.released).containsExactly(false); // the command's receiver owns it now
    }

    @Test
    void literalsOfARefusedOrAbandonedAppendAreReleased() {
        RecordingSink sink = new RecordingSink();
        ImapParser p = new ImapParser(sink);
        // Bad syntax after two messages: both released.
        ImapParser.Result r = p.next(ByteBuffer.wrap("a1 APPEND INBOX {1+}\r\nx {1+}\r\ny FOO\r\n".getBytes()),
                ImapParser.Mode.COMMAND, BIG);
        assertThat(r).isInstanceOf(ImapParser.Error.class);
        assertThat(sink.released).containsExactly(true, true);
        // The connection ends in the middle of the second message.
        p.next(ByteBuffer.wrap("a2 APPEND INBOX {1+}\r\nx {5+}\r\nab".getBytes()), ImapParser.Mode.COMMAND, BIG);
        assertThat(p.inCommand()).isTrue();
        p.reset();
        assertThat(sink.released).containsExactly(true, true, true, true);
        assertThat(p.inCommand()).isFalse();
        // A mailbox name in a literal: the sink kept it in memory, the grammar reads it as a string.
        ImapParser.Command c = (ImapParser.Command) new ImapParser().next(ByteBuffer.wrap("a3 APPEND {5+}\r\nINBOX {2+}\r\nhi\r\n".getBytes()),
                ImapParser.Mode.COMMAND, BIG);
        assertThat(((ImapCommand.Append) c.command()).mailbox()).isEqualTo("INBOX");
    }

    @Test
    void tooManyMessagesInOneAppendAreRefusedBeforeTheyAreSent() {
        ImapParser p = new ImapParser();
        StringBuilder b = new StringBuilder("a1 APPEND INBOX {1+}\r\nx");
        for (int i = 1; i < ImapParser.MAX_SPOOLED_LITERALS; i++) b.append(" {1+}\r\nx");
        b.append(" {1}\r\n");
        ImapParser.Result r = p.next(ByteBuffer.wrap(b.toString().getBytes()), ImapParser.Mode.COMMAND, BIG);
        assertThat(r).isEqualTo(new ImapParser.Error(Optional.of("a1"), "Too many messages", false, Optional.of("TOOBIG"),
                Optional.of("MAX_SPOOLED_LITERALS")));
    }

    @Test
    void utf8InQuotedStringsOnlyWhenAllowed() {
        String create = "a1 CREATE \"R\u00e9sum\u00e9s\"\r\n";
        assertThat(((ImapParser.Command) last(create, true)).command()).isEqualTo(new ImapCommand.Create("R\u00e9sum\u00e9s",
                List.of()));
        assertThat(error(create, false).message()).contains("UTF8=ACCEPT");
        // A literal carries 8-bit text either way (RFC 3501 §4.3).
        assertThat(parse("a1 CREATE {9+}\r\nR\u00e9sum\u00e9s\r\n")).isEqualTo(new ImapCommand.Create("R\u00e9sum\u00e9s", List.of()));
        byte[] invalid = {'a', '1', ' ', 'C', 'R', 'E', 'A', 'T', 'E', ' ', '"', (byte) 0xc3, '(', '"', '\r', '\n'};
        ImapParser.Result r = whole(invalid, true).get(0);
        assertThat(((ImapParser.Error) r).message()).isEqualTo("Invalid UTF-8 in quoted string");
        assertThat(byteAtATime(invalid, true)).containsExactly(r);
    }

    @Test
    void badExtensionSyntaxIsATaggedError() {
        assertThat(error("a1 FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)\r\n", false).message())
                .isEqualTo("VANISHED needs UID FETCH and CHANGEDSINCE");
        assertThat(error("a1 UID FETCH 1:* FLAGS (VANISHED)\r\n", false).message())
                .isEqualTo("VANISHED needs UID FETCH and CHANGEDSINCE");
        assertThat(error("a1 UID FETCH 1:* FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)\r\n", false).message())
                .startsWith("Unknown or repeated FETCH modifier");
        assertThat(error("a1 SELECT INBOX (QRESYNC (0 1))\r\n", false).message()).isEqualTo("Expected a non-zero number");
        assertThat(error("a1 SELECT INBOX (QRESYNC (1 1 1:*))\r\n", false).message()).contains("not allowed");
        assertThat(error("a1 SELECT INBOX (QRESYNC (1 1 (1:2)))\r\n", false).message()).isEqualTo("Expected a space");
        assertThat(error("a1 SELECT INBOX (FOO)\r\n", false).message()).startsWith("Unknown or repeated SELECT parameter");
        assertThat(error("a1 FETCH 1 BINARY[1.TEXT]\r\n", false).message()).isEqualTo("Expected a number");
        assertThat(error("a1 FETCH 1 BINARY[1]<0.0>\r\n", false).message()).isEqualTo("Partial length must not be zero");
        assertThat(error("a1 FETCH 1 BINARY.SIZE\r\n", false).message()).isEqualTo("Expected '['");
        assertThat(error("a1 APPEND INBOX UTF8 ({2+}\r\nHi)\r\n", false).message()).contains("literal8");
        assertThat(error("a1 SETQUOTA \"\" (STORAGE)\r\n", false).message()).isEqualTo("Expected a space");
        assertThat(error("a1 SETQUOTA \"\" (" + "STORAGE 1 ".repeat(ImapParser.MAX_QUOTA_RESOURCES) + "STORAGE 1)\r\n", false)
                .message()).isEqualTo("Too many quota resources");
        assertThat(error("a1 GETQUOTAROOT\r\n", false).message()).isEqualTo("Missing argument");
        assertThat(error("a1 COMPRESS\r\n", false).message()).isEqualTo("Missing argument");
    }

    // ---- URLAUTH (RFC 4467), URLFETCH BINARY (RFC 5524), CATENATE (RFC 4469)

    static Stream<Arguments> urlAuthCommands() {
        String url = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred";
        String full = url + ":internal:91354a473744909de610943775f92055";
        return Stream.of(
                Arguments.of("a1 GENURLAUTH \"" + url + "\" INTERNAL\r\n", new ImapCommand.GenUrlAuth(
                        List.of(new ImapCommand.UrlRump(url, "INTERNAL")))),
                Arguments.of("a1 GENURLAUTH \"" + url + "\" internal " + url + " x-other\r\n", new ImapCommand.GenUrlAuth(
                        List.of(new ImapCommand.UrlRump(url, "INTERNAL"), new ImapCommand.UrlRump(url, "X-OTHER")))),
                Arguments.of("a1 RESETKEY\r\n", new ImapCommand.ResetKey(Optional.empty(), List.of())),
                Arguments.of("a1 RESETKEY INBOX\r\n", new ImapCommand.ResetKey(Optional.of("INBOX"), List.of())),
                Arguments.of("a1 RESETKEY INBOX XSAMPLE internal\r\n",
                        new ImapCommand.ResetKey(Optional.of("INBOX"), List.of("XSAMPLE", "INTERNAL"))),
                Arguments.of("a1 URLFETCH \"" + full + "\"\r\n", new ImapCommand.UrlFetch(List.of(
                        new ImapCommand.UrlFetchItem(full, false, false, ImapCommand.UrlData.BODY)))),
                Arguments.of("a1 URLFETCH (\"" + full + "\" BODYPARTSTRUCTURE BINARY) (" + full + ") (x bodypartstructure)"
                        + " {3+}\r\nurl\r\n", new ImapCommand.UrlFetch(List.of(
                                new ImapCommand.UrlFetchItem(full, true, true, ImapCommand.UrlData.BINARY),
                                new ImapCommand.UrlFetchItem(full, true, false, ImapCommand.UrlData.BODY),
                                new ImapCommand.UrlFetchItem("x", true, true, ImapCommand.UrlData.NONE),
                                new ImapCommand.UrlFetchItem("url", false, false, ImapCommand.UrlData.BODY)))),
                Arguments.of("a1 APPEND Drafts (\\Seen) CATENATE (URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER\""
                        + " TEXT {4+}\r\n\r\nhi URL ;UID=30)\r\n", new ImapCommand.Append("Drafts", List.of(
                                new ImapCommand.Append.Message(List.of("\\Seen"), Optional.empty(), catenated(
                                        new ImapCommand.CatPart.Url("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER"),
                                        new ImapCommand.CatPart.Text(Literal.of("\r\nhi".getBytes(StandardCharsets.US_ASCII))),
                                        new ImapCommand.CatPart.Url(";UID=30")))))),
                // RFC 4469 §5 with RFC 3502 §6.3.11: each message of a MULTIAPPEND a literal or a CATENATE.
                Arguments.of("a1 APPEND Drafts (\\Seen) {3}\r\none (\\Draft) \" 7-Feb-1994 21:52:25 -0800\" catenate"
                        + " (url \"/INBOX/;UID=7\" text {2}\r\n!!) ~{5+}\r\nthree CATENATE (TEXT {1+}\r\nx)\r\n",
                        new ImapCommand.Append("Drafts", List.of(
                                new ImapCommand.Append.Message(List.of("\\Seen"), Optional.empty(), Literal.of("one".getBytes()), false),
                                new ImapCommand.Append.Message(List.of("\\Draft"), Optional.of(OffsetDateTime.of(1994, 2, 7, 21, 52, 25, 0,
                                        ZoneOffset.ofHours(-8))), catenated(new ImapCommand.CatPart.Url("/INBOX/;UID=7"),
                                        new ImapCommand.CatPart.Text(Literal.of("!!".getBytes())))),
                                new ImapCommand.Append.Message(List.of(), Optional.empty(), Literal.of("three".getBytes()), false),
                                new ImapCommand.Append.Message(List.of(), Optional.empty(),
                                        catenated(new ImapCommand.CatPart.Text(Literal.of("x".getBytes()))))))));
    }

    private static ImapCommand.Append.Data catenated(ImapCommand.CatPart... parts) {
        return new ImapCommand.Append.Data.Catenated(List.of(parts));
    }

    @ParameterizedTest
    @MethodSource
    void urlAuthCommands(String input, ImapCommand expected) {
        assertThat(parse(input)).isEqualTo(expected);
    }

    @Test
    void badUrlAuthSyntaxIsATaggedError() {
        assertThat(error("a1 GENURLAUTH \"imap://h/INBOX/;UID=1;URLAUTH=anonymous\"\r\n", false).message())
                .isEqualTo("Missing argument");
        assertThat(error("a1 GENURLAUTH x INT_ERNAL\r\n", false).message()).isEqualTo("Invalid URLAUTH mechanism");
        assertThat(error("a1 URLFETCH\r\n", false).message()).isEqualTo("Missing argument");
        assertThat(error("a1 URLFETCH (x BODY BINARY)\r\n", false).message()).isEqualTo("URLFETCH takes one of BODY and BINARY");
        assertThat(error("a1 URLFETCH (x ENVELOPE)\r\n", false).message()).isEqualTo("Unknown URLFETCH parameter ENVELOPE");
        assertThat(error("a1 APPEND Drafts CATENATE ()\r\n", false).message()).isEqualTo("Expected an atom");
        assertThat(error("a1 APPEND Drafts CATENATE (TEXT \"x\")\r\n", false).message()).isEqualTo("CATENATE TEXT needs a literal");
        assertThat(error("a1 APPEND Drafts CATENATE (BODY x)\r\n", false).message()).isEqualTo("CATENATE parts are TEXT or URL");
        assertThat(error("a1 APPEND Drafts CONCATENATE (URL x)\r\n", false).message()).isEqualTo("APPEND needs the message as a literal");
        // The parts limit counts the whole MULTIAPPEND, whose URL-only messages carry no literal.
        assertThat(error("a1 APPEND Drafts" + " CATENATE (URL x)".repeat(ImapParser.MAX_URLS + 1) + "\r\n", false).message())
                .isEqualTo("CATENATE takes at most " + ImapParser.MAX_URLS + " parts");
        assertThat(error("a1 URLFETCH" + " x".repeat(ImapParser.MAX_URLS + 1) + "\r\n", false).message())
                .isEqualTo("URLFETCH takes at most " + ImapParser.MAX_URLS + " URLs");
    }

    private static SearchKey junkFree() {
        return new SearchKey.And(List.of(new SearchKey.Flag("\\Deleted", false), new SearchKey.Flag("$Junk", false)));
    }

    /** ESORT and CONTEXT=SEARCH/SORT (RFC 5267) and PARTIAL (RFC 9394), with the RFCs' example commands. */
    static Stream<Arguments> searchReturns() {
        Optional<ImapCommand.PartialRange> none = Optional.empty();
        return Stream.of(
                // RFC 5267 §3.3.
                Arguments.of("E01 UID SORT RETURN () (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk\r\n",
                        new ImapCommand.Sort(true, List.of(new ImapCommand.SortCriterion(true, ImapCommand.SortKey.DATE)),
                                "UTF-8", junkFree(), Optional.of(List.of("ALL")), none)),
                Arguments.of("a1 SORT RETURN (min MAX count) (SUBJECT) US-ASCII ALL\r\n",
                        new ImapCommand.Sort(false, List.of(new ImapCommand.SortCriterion(false, ImapCommand.SortKey.SUBJECT)),
                                "US-ASCII", new SearchKey.All(), Optional.of(List.of("MIN", "MAX", "COUNT")), none)),
                // RFC 5267 §4.2 and §4.3.1.
                Arguments.of("A01 SEARCH RETURN (CONTEXT COUNT) UNDELETED UNKEYWORD $Junk\r\n",
                        new ImapCommand.Search(false, Optional.of(List.of("CONTEXT", "COUNT")), Optional.empty(), junkFree())),
                Arguments.of("B02 UID SORT RETURN (UPDATE COUNT) (ARRIVAL) UTF-8 KEYWORD $Junk\r\n",
                        new ImapCommand.Sort(true, List.of(new ImapCommand.SortCriterion(false, ImapCommand.SortKey.ARRIVAL)),
                                "UTF-8", new SearchKey.Flag("$Junk", true), Optional.of(List.of("UPDATE", "COUNT")), none)),
                Arguments.of("B04 CANCELUPDATE \"B01\" \"B02\"\r\n", new ImapCommand.CancelUpdate(List.of("B01", "B02"))),
                // RFC 9394 §3.1 and §3.3.
                Arguments.of("A01 UID SEARCH RETURN (PARTIAL -1:-100) UNDELETED UNKEYWORD $Junk\r\n",
                        new ImapCommand.Search(true, Optional.of(List.of("PARTIAL")), Optional.empty(), junkFree(),
                                Optional.of(new ImapCommand.PartialRange(-1, -100)))),
                Arguments.of("A02 UID SEARCH RETURN (COUNT PARTIAL 23500:24000 SAVE) UNDELETED UNKEYWORD $Junk\r\n",
                        new ImapCommand.Search(true, Optional.of(List.of("COUNT", "PARTIAL", "SAVE")), Optional.empty(), junkFree(),
                                Optional.of(new ImapCommand.PartialRange(23500, 24000)))),
                Arguments.of("10 UID FETCH 25900:26600 (UID FLAGS) (PARTIAL -1:-3)\r\n",
                        new ImapCommand.Fetch(true, set(25900, 26600), List.of(new FetchAttribute.Uid(), new FetchAttribute.Flags()),
                                OptionalLong.empty(), false, Optional.of(new ImapCommand.PartialRange(-1, -3)))),
                Arguments.of("a1 UID FETCH 1:* FLAGS (CHANGEDSINCE 12345 PARTIAL 1:500)\r\n",
                        new ImapCommand.Fetch(true, set(1, SequenceSet.STAR), List.of(new FetchAttribute.Flags()),
                                OptionalLong.of(12345), false, Optional.of(new ImapCommand.PartialRange(1, 500)))),
                // RFC 5258 §3: which LIST commands are extended, whatever their options hold.
                Arguments.of("a1 LIST \"\" (\"\")\r\n",
                        new ImapCommand.ListMailboxes(false, List.of(), "", List.of(""), List.of(), List.of(), true)),
                Arguments.of("A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n",
                        new ImapCommand.ListMailboxes(false, List.of(), "", List.of("%"), List.of("CHILDREN"), List.of(), true)),
                Arguments.of("a1 LIST \"\" \"\" RETURN ()\r\n",
                        new ImapCommand.ListMailboxes(false, List.of(), "", List.of(""), List.of(), List.of(), true)),
                Arguments.of("a1 LIST \"\" \"\"\r\n",
                        new ImapCommand.ListMailboxes(false, List.of(), "", List.of(""), List.of(), List.of(), false)));
    }

    @ParameterizedTest
    @MethodSource("searchReturns")
    void parsesSearchReturnsWholeAndByteAtATime(String input, ImapCommand expected) {
        ImapParser.Result r = last(input, false);
        assertThat(r).as(input).isInstanceOf(ImapParser.Command.class);
        assertThat(((ImapParser.Command) r).command()).isEqualTo(expected);
    }

    @Test
    void badSearchReturnSyntaxIsATaggedError() {
        // RFC 9394 §3.1: one PARTIAL or one ALL.
        assertThat(error("a1 SEARCH RETURN (PARTIAL 1:5 ALL) ALL\r\n", false).message()).contains("one PARTIAL or one ALL");
        assertThat(error("a1 SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL\r\n", false).message()).contains("one PARTIAL");
        assertThat(error("a1 SORT RETURN (ALL ALL) (DATE) UTF-8 ALL\r\n", false).message()).contains("one ALL");
        // RFC 9394 §4: nz-number ":" nz-number, or both negative; no "*".
        assertThat(error("a1 SEARCH RETURN (PARTIAL) ALL\r\n", false).message()).isEqualTo("Expected a space");
        assertThat(error("a1 SEARCH RETURN (PARTIAL 0:5) ALL\r\n", false).message()).isEqualTo("Expected a non-zero number");
        assertThat(error("a1 SEARCH RETURN (PARTIAL 1:*) ALL\r\n", false).message()).isEqualTo("Expected a number");
        assertThat(error("a1 SEARCH RETURN (PARTIAL -1:5) ALL\r\n", false).message()).contains("same side");
        assertThat(error("a1 SEARCH RETURN (PARTIAL 5) ALL\r\n", false).message()).isEqualTo("Expected ':'");
        assertThat(error("a1 SEARCH RETURN (PARTIAL 1:4294967296) ALL\r\n", false).message()).isEqualTo("Number too large");
        // RFC 9394 §3.3: a UID FETCH modifier, once.
        assertThat(error("a1 FETCH 1:* FLAGS (PARTIAL 1:5)\r\n", false).message()).startsWith("Unknown or repeated FETCH modifier");
        assertThat(error("a1 UID FETCH 1:* FLAGS (PARTIAL 1:5 PARTIAL 1:2)\r\n", false).message())
                .startsWith("Unknown or repeated FETCH modifier");
        assertThat(error("a1 SORT RETURN MIN (DATE) UTF-8 ALL\r\n", false).message()).isEqualTo("Expected '('");
        assertThat(error("a1 SORT REVERSE (DATE) UTF-8 ALL\r\n", false).message()).contains("Expected RETURN");
        // RFC 5267 §5: command-select =/ "CANCELUPDATE" 1*(SP quoted).
        assertThat(error("a1 CANCELUPDATE\r\n", false).message()).isEqualTo("Missing argument");
        assertThat(error("a1 CANCELUPDATE B01\r\n", false).message()).contains("quoted");
    }
}
