package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.castellan.protocol.imap.FetchAttribute.Section;
import org.castellan.protocol.imap.ImapCommand.StoreMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The parser fed whole commands and one byte at a time; RFC 9051 examples. */
class ImapParserTest {

    private static final long BIG = 1 << 20;

    /** Feeds everything at once; returns every result that is not NeedMore. */
    private static List<ImapParser.Result> whole(String input) {
        ImapParser p = new ImapParser();
        ByteBuffer in = ByteBuffer.wrap(input.getBytes(StandardCharsets.UTF_8));
        List<ImapParser.Result> out = new ArrayList<>();
        while (in.hasRemaining()) {
            ImapParser.Result r = p.next(in, ImapParser.Mode.COMMAND, BIG);
            if (!(r instanceof ImapParser.NeedMore)) out.add(r);
        }
        return out;
    }

    /** One byte per call: NeedMore for every byte that completes nothing. */
    private static List<ImapParser.Result> byteAtATime(String input) {
        ImapParser p = new ImapParser();
        byte[] bytes = input.getBytes(StandardCharsets.UTF_8);
        List<ImapParser.Result> out = new ArrayList<>();
        for (byte b : bytes) {
            ImapParser.Result r = p.next(ByteBuffer.wrap(new byte[] {b}), ImapParser.Mode.COMMAND, BIG);
            if (!(r instanceof ImapParser.NeedMore)) out.add(r);
            if (b != '\n' && !(r instanceof ImapParser.Error)) assertThat(r).isInstanceOf(ImapParser.NeedMore.class);
        }
        return out;
    }

    private static ImapCommand parse(String line) {
        List<ImapParser.Result> a = whole(line);
        List<ImapParser.Result> b = byteAtATime(line);
        assertThat(b).hasSize(a.size());
        ImapParser.Result last = a.get(a.size() - 1);
        assertThat(last).as(line).isInstanceOf(ImapParser.Command.class);
        assertThat(b.get(b.size() - 1)).isEqualTo(last);
        assertThat(((ImapParser.Command) last).tag()).isEqualTo("a1");
        return ((ImapParser.Command) last).command();
    }

    private static ImapParser.Error error(String line) {
        List<ImapParser.Result> a = whole(line);
        assertThat(byteAtATime(line)).isEqualTo(a);
        return (ImapParser.Error) a.get(a.size() - 1);
    }

    static Stream<Arguments> commands() {
        SequenceSet all = SequenceSet.of(new SequenceSet.Range(1, SequenceSet.STAR));
        return Stream.of(
                Arguments.of("a1 CAPABILITY\r\n", new ImapCommand.Capability()),
                Arguments.of("a1 noop\n", new ImapCommand.Noop()),
                Arguments.of("a1 LOGIN SMITH SESAME\r\n", new ImapCommand.Login("SMITH", "SESAME".toCharArray())),
                Arguments.of("a1 LOGIN \"fred \\\"x\\\"\" {3}\r\nf\"o\r\n", new ImapCommand.Login("fred \"x\"", "f\"o".toCharArray())),
                Arguments.of("a1 LOGIN {4+}\r\nuser {0+}\r\n\r\n", new ImapCommand.Login("user", new char[0])),
                Arguments.of("a1 AUTHENTICATE PLAIN =\r\n", new ImapCommand.Authenticate("PLAIN", Optional.of(new byte[0]))),
                Arguments.of("a1 AUTHENTICATE plain AGEAYg==\r\n",
                        new ImapCommand.Authenticate("PLAIN", Optional.of(new byte[] {0, 'a', 0, 'b'}))),
                Arguments.of("a1 ENABLE IMAP4rev2 CONDSTORE\r\n", new ImapCommand.Enable(List.of("IMAP4REV2", "CONDSTORE"))),
                Arguments.of("a1 ID (\"name\" \"sodr\" \"version\" NIL)\r\n",
                        new ImapCommand.Id(java.util.Arrays.asList("name", "sodr", "version", null))),
                Arguments.of("a1 ID NIL\r\n", new ImapCommand.Id(List.of())),
                Arguments.of("a1 SELECT INBOX\r\n", new ImapCommand.Select("INBOX", false, false)),
                Arguments.of("a1 EXAMINE \"blurdybloop\" (CONDSTORE)\r\n", new ImapCommand.Select("blurdybloop", true, true)),
                Arguments.of("a1 CREATE owatagusiam/\r\n", new ImapCommand.Create("owatagusiam/", List.of())),
                Arguments.of("a1 CREATE MySpecial (USE (\\Drafts \\Sent))\r\n",
                        new ImapCommand.Create("MySpecial", List.of("\\Drafts", "\\Sent"))),
                Arguments.of("a1 RENAME blurdybloop sarasoop\r\n", new ImapCommand.Rename("blurdybloop", "sarasoop")),
                Arguments.of("a1 LIST \"\" %\r\n",
                        new ImapCommand.ListMailboxes(false, List.of(), "", List.of("%"), List.of(), List.of())),
                Arguments.of("a1 LIST (SUBSCRIBED) \"\" (\"INBOX\" \"Drafts\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n",
                        new ImapCommand.ListMailboxes(false, List.of("SUBSCRIBED"), "", List.of("INBOX", "Drafts"),
                                List.of("CHILDREN", "STATUS"), List.of("MESSAGES", "UNSEEN"))),
                Arguments.of("a1 LSUB \"#news.\" comp.mail.*\r\n",
                        new ImapCommand.ListMailboxes(true, List.of(), "#news.", List.of("comp.mail.*"), List.of(), List.of())),
                Arguments.of("a1 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
                        new ImapCommand.Status("blurdybloop", List.of("UIDNEXT", "MESSAGES"))),
                Arguments.of("a1 APPEND saved-messages (\\Seen) {5}\r\nHello\r\n",
                        new ImapCommand.Append("saved-messages", List.of("\\Seen"), Optional.empty(), "Hello".getBytes())),
                Arguments.of("a1 APPEND INBOX \" 7-Feb-1994 21:52:25 -0800\" {2+}\r\nHi\r\n",
                        new ImapCommand.Append("INBOX", List.of(),
                                Optional.of(OffsetDateTime.of(1994, 2, 7, 21, 52, 25, 0, ZoneOffset.ofHours(-8))), "Hi".getBytes())),
                Arguments.of("a1 UID EXPUNGE 3000:3002\r\n",
                        new ImapCommand.Expunge(Optional.of(SequenceSet.of(new SequenceSet.Range(3000, 3002))))),
                Arguments.of("a1 FETCH 1:* FAST\r\n", new ImapCommand.Fetch(false, all, List.of(new FetchAttribute.Flags(),
                        new FetchAttribute.InternalDate(), new FetchAttribute.Rfc822Size()), OptionalLong.empty())),
                Arguments.of("a1 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
                        new ImapCommand.Fetch(false, SequenceSet.of(new SequenceSet.Range(2, 4)), List.of(new FetchAttribute.Flags(),
                                new FetchAttribute.Body(false, new Section(List.of(), Section.Kind.HEADER_FIELDS, List.of("DATE", "FROM")),
                                        OptionalLong.empty(), OptionalLong.empty())), OptionalLong.empty())),
                Arguments.of("a1 UID FETCH 4827313:4828442 (BODY.PEEK[1.2.MIME]<0.100> UID) (CHANGEDSINCE 12345)\r\n",
                        new ImapCommand.Fetch(true, SequenceSet.of(new SequenceSet.Range(4827313, 4828442)), List.of(
                                new FetchAttribute.Body(true, new Section(List.of(1, 2), Section.Kind.MIME, List.of()),
                                        OptionalLong.of(0), OptionalLong.of(100)), new FetchAttribute.Uid()), OptionalLong.of(12345))),
                Arguments.of("a1 FETCH 5 BODY[]\r\n", new ImapCommand.Fetch(false, SequenceSet.of(new SequenceSet.Range(5, 5)),
                        List.of(new FetchAttribute.Body(false, new Section(List.of(), Section.Kind.ALL, List.of()),
                                OptionalLong.empty(), OptionalLong.empty())), OptionalLong.empty())),
                Arguments.of("a1 STORE 2:4 +FLAGS.SILENT (\\Deleted)\r\n",
                        new ImapCommand.Store(false, SequenceSet.of(new SequenceSet.Range(2, 4)), StoreMode.ADD, true,
                                List.of("\\Deleted"), OptionalLong.empty())),
                Arguments.of("a1 UID STORE 1,3 (UNCHANGEDSINCE 7) FLAGS $Forwarded \\Seen\r\n",
                        new ImapCommand.Store(true, SequenceSet.of(new SequenceSet.Range(1, 1), new SequenceSet.Range(3, 3)),
                                StoreMode.REPLACE, false, List.of("$Forwarded", "\\Seen"), OptionalLong.of(7))),
                Arguments.of("a1 UID MOVE 42:69 foo\r\n",
                        new ImapCommand.Copy(true, true, SequenceSet.of(new SequenceSet.Range(42, 69)), "foo")),
                Arguments.of("a1 COPY $ Trash\r\n", new ImapCommand.Copy(false, false, SequenceSet.SAVED, "Trash")),
                Arguments.of("a1 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
                        new ImapCommand.Search(false, Optional.empty(), Optional.empty(), new SearchKey.And(List.of(
                                new SearchKey.Flag("\\Flagged", true),
                                new SearchKey.Date(false, SearchKey.Comparison.SINCE, LocalDate.of(1994, 2, 1)),
                                new SearchKey.Not(new SearchKey.Text(SearchKey.Field.FROM, "Smith")))))),
                Arguments.of("a1 UID SEARCH RETURN () CHARSET UTF-8 OR (1:3 SEEN) UID 5 TEXT {3}\r\nr\u00e9\r\n",
                        new ImapCommand.Search(true, Optional.of(List.of("ALL")), Optional.of("UTF-8"), new SearchKey.And(List.of(
                                new SearchKey.Or(new SearchKey.And(List.of(
                                        new SearchKey.Numbers(false, SequenceSet.of(new SequenceSet.Range(1, 3))),
                                        new SearchKey.Flag("\\Seen", true))),
                                        new SearchKey.Numbers(true, SequenceSet.of(new SequenceSet.Range(5, 5)))),
                                new SearchKey.Text(SearchKey.Field.TEXT, "r\u00e9"))))),
                // RFC 3501 §6.4.4: NEW is (RECENT UNSEEN), OLD is NOT RECENT.
                Arguments.of("a1 SEARCH NEW OLD\r\n",
                        new ImapCommand.Search(false, Optional.empty(), Optional.empty(), new SearchKey.And(List.of(
                                new SearchKey.And(List.of(new SearchKey.Recent(), new SearchKey.Flag("\\Seen", false))),
                                new SearchKey.Not(new SearchKey.Recent()))))),
                Arguments.of("a1 SEARCH RETURN (MIN COUNT) HEADER X-Spam \"\" LARGER 100 MODSEQ 620162338\r\n",
                        new ImapCommand.Search(false, Optional.of(List.of("MIN", "COUNT")), Optional.empty(), new SearchKey.And(List.of(
                                new SearchKey.Header("X-Spam", ""), new SearchKey.Size(true, 100), new SearchKey.ModSeq(620162338))))),
                // RFC 5256 §3 examples
                Arguments.of("a1 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n",
                        new ImapCommand.Sort(false, List.of(new ImapCommand.SortCriterion(false, ImapCommand.SortKey.SUBJECT)),
                                "UTF-8", new SearchKey.Date(false, SearchKey.Comparison.SINCE, LocalDate.of(1994, 2, 1)))),
                Arguments.of("a1 UID SORT (REVERSE date displayFROM) US-ASCII UNDELETED SUBJECT {3}\r\nr\u00e9\r\n",
                        new ImapCommand.Sort(true, List.of(new ImapCommand.SortCriterion(true, ImapCommand.SortKey.DATE),
                                new ImapCommand.SortCriterion(false, ImapCommand.SortKey.DISPLAYFROM)), "US-ASCII",
                                new SearchKey.And(List.of(new SearchKey.Flag("\\Deleted", false),
                                        new SearchKey.Text(SearchKey.Field.SUBJECT, "r\u00e9"))))),
                Arguments.of("a1 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000\r\n",
                        new ImapCommand.Thread(false, Threading.Algorithm.ORDEREDSUBJECT, "UTF-8",
                                new SearchKey.Date(false, SearchKey.Comparison.SINCE, LocalDate.of(2000, 3, 5)))),
                Arguments.of("a1 UID THREAD references \"UTF-8\" ALL\r\n",
                        new ImapCommand.Thread(true, Threading.Algorithm.REFERENCES, "UTF-8", new SearchKey.All())),
                Arguments.of("a1 IDLE\r\n", new ImapCommand.Idle()));
    }

    @ParameterizedTest
    @MethodSource("commands")
    void parsesWholeAndByteAtATime(String input, ImapCommand expected) {
        assertThat(parse(input)).isEqualTo(expected);
    }

    @Test
    void synchronizingLiteralAsksForContinuation() {
        ImapParser p = new ImapParser();
        assertThat(p.next(buf("a1 LOGIN {5}\r\n"), ImapParser.Mode.COMMAND, BIG)).isInstanceOf(ImapParser.Continue.class);
        assertThat(p.next(buf("alice {3}\r\n"), ImapParser.Mode.COMMAND, BIG)).isInstanceOf(ImapParser.Continue.class);
        assertThat(p.next(buf("pw1\r\n"), ImapParser.Mode.COMMAND, BIG))
                .isEqualTo(new ImapParser.Command("a1", new ImapCommand.Login("alice", "pw1".toCharArray())));
    }

    @Test
    void nonSynchronizingLiteralDoesNot() {
        assertThat(whole("a1 LOGIN {5+}\r\nalice pw\r\n")).hasSize(1);
    }

    @Test
    void pipelinedCommandsComeOneAtATime() {
        assertThat(whole("a1 NOOP\r\na2 CAPABILITY\r\n")).containsExactly(
                new ImapParser.Command("a1", new ImapCommand.Noop()),
                new ImapParser.Command("a2", new ImapCommand.Capability()));
    }

    @Test
    void badSyntaxIsATaggedErrorAndTheNextCommandStillParses() {
        List<ImapParser.Result> r = whole("a1 FROB\r\na2 FETCH 0 FLAGS\r\na3 FETCH 1 (FLAGS\r\n* NOOP\r\na4 NOOP\r\n");
        assertThat(r).hasSize(5);
        assertThat(r.get(0)).isEqualTo(new ImapParser.Error(Optional.of("a1"), "Unknown command", false, Optional.empty()));
        assertThat(((ImapParser.Error) r.get(1)).tag()).contains("a2");
        assertThat(((ImapParser.Error) r.get(1)).message()).contains("0 is not a message number");
        assertThat(((ImapParser.Error) r.get(2)).tag()).contains("a3");
        assertThat(((ImapParser.Error) r.get(3)).tag()).isEmpty();
        assertThat(r.get(4)).isInstanceOf(ImapParser.Command.class);
    }

    @Test
    void errorsNameWhatIsWrong() {
        assertThat(error("a1 LOGIN alice\r\n").message()).isEqualTo("Missing argument");
        assertThat(error("a1 SEARCH FOO\r\n").message()).isEqualTo("Unknown search key FOO");
        assertThat(error("a1 FETCH 1 BINARY.TEXT[]\r\n").message()).startsWith("Unknown fetch attribute");
        assertThat(error("a1 SEARCH BEFORE 30-Feb-2020\r\n").message()).startsWith("Invalid date");
        assertThat(error("a1 FETCH 99999999999 FLAGS\r\n").message()).isEqualTo("Number too large");
        assertThat(error("a1 SORT (SENDER) UTF-8 ALL\r\n").message()).isEqualTo("Unknown sort key SENDER");
        assertThat(error("a1 SORT () UTF-8 ALL\r\n").message()).isEqualTo("Expected an atom");
        assertThat(error("a1 SORT (DATE) ALL\r\n").message()).isEqualTo("Missing argument");
        assertThat(error("a1 THREAD FOO UTF-8 ALL\r\n").message()).isEqualTo("Unknown threading algorithm FOO");
        assertThat(error("a1 SORT (" + "DATE ".repeat(ImapParser.MAX_SORT_CRITERIA) + "SIZE) UTF-8 ALL\r\n").message())
                .isEqualTo("Too many sort criteria");
        assertThat(error("a1 SEARCH " + "NOT ".repeat(ImapParser.MAX_DEPTH + 1) + "ALL\r\n").message())
                .isEqualTo("Search keys nested too deeply");
    }

    /**
     * RFC 9051 §9: date-day is 1*2DIGIT, date-year 4DIGIT, time 2DIGIT ":" 2DIGIT ":" 2DIGIT and
     * zone ("+" / "-") 4DIGIT, DIGIT being ASCII 0-9 (RFC 5234 B.1): no signs inside numbers, no
     * other scripts' digits, and no hour, minute or offset out of range.
     */
    @Test
    void datesAreAsciiDigitsInRange() {
        assertThat(error("a1 SEARCH SINCE +1-Feb-2024\r\n").message()).startsWith("Invalid date");
        assertThat(error("a1 SEARCH SINCE 1-Feb-+202\r\n").message()).startsWith("Invalid date");
        assertThat(error("a1 SEARCH SINCE \"\u0661-Feb-2024\"\r\n").message()).startsWith("Invalid date");
        assertThat(error("a1 APPEND INBOX \" 7-Feb-1994 +1:52:25 -0800\" {2+}\r\nHi\r\n").message())
                .startsWith("Invalid date-time");
        assertThat(error("a1 APPEND INBOX \" 7-Feb-1994 21:52:25 --800\" {2+}\r\nHi\r\n").message())
                .startsWith("Invalid date-time");
        assertThat(error("a1 APPEND INBOX \" 7-Feb-1994 24:52:25 -0800\" {2+}\r\nHi\r\n").message())
                .startsWith("Invalid date-time");
        assertThat(error("a1 APPEND INBOX \" 7-Feb-1994 21:52:25 -1900\" {2+}\r\nHi\r\n").message())
                .startsWith("Invalid date-time");
        assertThat(parse("a1 SEARCH SINCE 1-Feb-2024\r\n")).isInstanceOf(ImapCommand.Search.class);
    }

    @Test
    void anOversizedLineIsATaggedBadAndTheNextCommandStillParses() {
        String line = "a1 NOOP " + "x".repeat(ImapParser.MAX_LINE) + "\r\na2 NOOP\r\n";
        ImapParser.Error tooLong = new ImapParser.Error(Optional.of("a1"), "Line too long", false, Optional.of("TOOBIG"),
                Optional.of("MAX_LINE"));
        assertThat(whole(line)).containsExactly(tooLong, new ImapParser.Command("a2", new ImapCommand.Noop()));
        assertThat(byteAtATime(line)).containsExactly(tooLong, new ImapParser.Command("a2", new ImapCommand.Noop()));
    }

    @Test
    void aLineOfTheLimitIsTaken() {
        // RFC 2971 §3.3's largest ID: 30 pairs, fields of 30 octets, values of 1024.
        StringBuilder id = new StringBuilder("a1 ID (");
        for (int i = 0; i < ImapParser.MAX_ID_PAIRS; i++) {
            id.append(i == 0 ? "" : " ").append('"').append(("f" + i + "x".repeat(30)), 0, 30).append("\" \"")
                    .append("v".repeat(1024)).append('"');
        }
        id.append(")\r\n");
        assertThat(((ImapCommand.Id) parse(id.toString())).fieldsAndValues()).hasSize(2 * ImapParser.MAX_ID_PAIRS);
        String uids = "a1 UID FETCH " + "1,".repeat((ImapParser.MAX_LINE - 40) / 2) + "1 FLAGS\r\n";
        assertThat(parse(uids)).isInstanceOf(ImapCommand.Fetch.class);
    }

    @Test
    void aRefusedCommandsNonSynchronizingLiteralIsSkippedNotRunAsCommands() {
        // RFC 7888 §4: the literal is on its way; its octets must never be taken for a command.
        String injected = "a9 DELETE INBOX\r\n";
        String input = "a1 NOOP " + "x".repeat(ImapParser.MAX_LINE) + " {" + injected.length() + "+}\r\n" + injected
                + " more\r\na2 NOOP\r\n";
        List<ImapParser.Result> r = whole(input);
        assertThat(r).hasSize(2);
        assertThat(((ImapParser.Error) r.get(0)).tag()).contains("a1");
        assertThat(r.get(1)).isEqualTo(new ImapParser.Command("a2", new ImapCommand.Noop()));
        assertThat(byteAtATime(input)).isEqualTo(r);
        String tooMany = "a1 LOGIN {" + (ImapParser.MAX_COMMAND + 1) + "+}\r\n" + "y".repeat(ImapParser.MAX_COMMAND + 1)
                + " x\r\na2 NOOP\r\n";
        List<ImapParser.Result> t = whole(tooMany);
        assertThat(t.get(0)).isEqualTo(new ImapParser.Error(Optional.of("a1"), "Command too large", false,
                Optional.of("TOOBIG"), Optional.of("MAX_COMMAND")));
        assertThat(t.get(1)).isEqualTo(new ImapParser.Command("a2", new ImapCommand.Noop()));
    }

    @Test
    void oversizedLiteralIsRefusedBeforeTheClientSendsIt() {
        ImapParser p = new ImapParser();
        ImapParser.Result r = p.next(buf("a1 APPEND INBOX {2000}\r\n"), ImapParser.Mode.COMMAND, 1000);
        assertThat(r).isEqualTo(new ImapParser.Error(Optional.of("a1"), "Literal too large", false, Optional.of("TOOBIG"),
                Optional.of("maxLiteral")));
        assertThat(p.next(buf("a2 NOOP\r\n"), ImapParser.Mode.COMMAND, 1000)).isInstanceOf(ImapParser.Command.class);
        assertThat(((ImapParser.Error) p.next(buf("a3 APPEND INBOX {2000+}\r\n"), ImapParser.Mode.COMMAND, 1000)).fatal()).isTrue();
    }

    /** RFC 9051 §4.3: a literal is CHAR8 (%x01-ff); RFC 3516 §4.4: NUL only in a literal8. */
    @Test
    void nulIsRefusedInALiteralButNotInALiteral8() {
        String nul = "\u0000";
        for (String command : new String[] {"a1 APPEND INBOX {3}\r\na" + nul + "b\r\n", "a1 APPEND INBOX {3+}\r\n" + nul + "ab\r\n",
                "a1 APPEND INBOX CATENATE (TEXT {2}\r\n" + nul + "x)\r\n", "a1 CREATE {3}\r\na" + nul + "b\r\n",
                "a1 LOGIN {1}\r\n" + nul + " x\r\n"}) {
            assertThat(error(command)).as(command).isEqualTo(new ImapParser.Error(Optional.of("a1"),
                    "NUL octet in a literal; send binary content as a literal8 (~{n})", false, Optional.empty()));
        }
        ImapCommand.Append append = (ImapCommand.Append) parse("a1 APPEND INBOX ~{3}\r\na" + nul + "b\r\n");
        assertThat(append.messages()).hasSize(1);
        // A NUL in an earlier command's literal does not taint the next one.
        List<ImapParser.Result> two = whole("a1 APPEND INBOX ~{1}\r\n" + nul + "\r\na2 APPEND INBOX {1}\r\nx\r\n");
        assertThat(two).filteredOn(r -> !(r instanceof ImapParser.Continue)).hasSize(2).allMatch(r -> r instanceof ImapParser.Command);
    }

    @Test
    void saslAndIdleLines() {
        ImapParser p = new ImapParser();
        assertThat(((ImapParser.SaslLine) p.next(buf("*\r\n"), ImapParser.Mode.SASL_RESPONSE, BIG)).cancel()).isTrue();
        assertThat(((ImapParser.SaslLine) p.next(buf("YWJj\r\n"), ImapParser.Mode.SASL_RESPONSE, BIG)).data()).containsExactly('a', 'b', 'c');
        assertThat(p.next(buf("!!\r\n"), ImapParser.Mode.SASL_RESPONSE, BIG)).isInstanceOf(ImapParser.Error.class);
        assertThat(p.next(buf("done\r\n"), ImapParser.Mode.IDLE, BIG)).isInstanceOf(ImapParser.Done.class);
    }

    @Test
    void sequenceSetsMatch() {
        SequenceSet s = ((ImapCommand.Fetch) parse("a1 FETCH 5:2,9,*:20 FLAGS\r\n")).set();
        assertThat(s.toString()).isEqualTo("5:2,9,*:20");
        assertThat(s.contains(3, 30)).isTrue();
        assertThat(s.contains(25, 30)).isTrue();
        assertThat(s.contains(6, 30)).isFalse();
        assertThat(SequenceSet.compact(List.of(1L, 2L, 3L, 7L, 9L, 10L))).isEqualTo("1:3,7,9:10");
    }

    /** RFC 9051 §9 seq-range: both ends included, in either order, "*" the largest number in use even below the other end. */
    @Test
    void sequenceRangesIncludeBothEndsAndStarIsTheLargestInUse() {
        SequenceSet s = SequenceSet.of(new SequenceSet.Range(4, 2));
        assertThat(List.of(1L, 2L, 3L, 4L, 5L).stream().filter(n -> s.contains(n, 10)).toList()).containsExactly(2L, 3L, 4L);
        SequenceSet star = SequenceSet.of(new SequenceSet.Range(5, SequenceSet.STAR));
        assertThat(List.of(2L, 3L, 4L, 5L, 6L).stream().filter(star.matcher(3)::test).toList()).containsExactly(3L, 4L, 5L);
        assertThat(star.usesStar()).isTrue();
        assertThat(SequenceSet.of(new SequenceSet.Range(SequenceSet.STAR, 1)).usesStar()).isTrue();
        assertThat(s.usesStar()).isFalse();
        assertThat(SequenceSet.of(new SequenceSet.Range(SequenceSet.STAR, SequenceSet.STAR), new SequenceSet.Range(7, 7)))
                .hasToString("*,7");
        assertThat(SequenceSet.SAVED).hasToString("$");
    }

    /** RFC 4315 §3 and RFC 4731 §3.1: the compact form keeps the given order and joins only runs going up by one. */
    @Test
    void compactSetsJoinOnlyRunsGoingUpByOne() {
        assertThat(SequenceSet.compact(List.of())).isEmpty();
        assertThat(SequenceSet.compact(List.of(4L))).isEqualTo("4");
        assertThat(SequenceSet.compact(List.of(5L, 3L, 4L))).isEqualTo("5,3:4");
        assertThat(SequenceSet.compact(List.of(1L, 3L, 4L, 5L))).isEqualTo("1,3:5");
        assertThat(SequenceSet.compact(List.of(3L, 2L, 1L))).isEqualTo("3,2,1");
    }

    /** RFC 9051 §4.3: a quoted string escapes only '"' and '\\' and holds no CR, LF or NUL; anything else is a literal. */
    @Test
    void stringsAreQuotedWhenTheyCanBeAndLiteralsOtherwise() {
        assertThat(ImapStrings.string("a \"b\" \\c", false)).isEqualTo("\"a \\\"b\\\" \\\\c\"");
        assertThat(ImapStrings.string("a\r\nb", false)).isEqualTo("{4}\r\na\r\nb");
        assertThat(ImapStrings.string("a\u0000b", false)).isEqualTo("{3}\r\na\u0000b");
        assertThat(ImapStrings.string("a\nb", false)).isEqualTo("{3}\r\na\nb");
        // RFC 9051 §4.3: 8-bit only in a literal, unless UTF8=ACCEPT (RFC 9051 §6.3.1) lets quoted strings carry UTF-8.
        assertThat(ImapStrings.string("grüß", false)).isEqualTo("{6}\r\ngrüß");
        assertThat(ImapStrings.string("grüß", true)).isEqualTo("\"grüß\"");
        assertThat(ImapStrings.string("\u007f", false)).isEqualTo("\"\u007f\"");
        assertThat(ImapStrings.string("q".repeat(1024), false)).isEqualTo("\"" + "q".repeat(1024) + "\"");
        assertThat(ImapStrings.string("q".repeat(1025), false)).startsWith("{1025}\r\n");
        assertThat(ImapStrings.nstring(null, false)).isEqualTo("NIL");
        assertThat(ImapStrings.nstring("x", false)).isEqualTo("\"x\"");
    }

    /** RFC 9051 §9 astring = 1*ASTRING-CHAR / string: an atom (']' included) goes bare; "NIL" and the empty string cannot. */
    @Test
    void astringsGoBareOnlyWhenTheyAreAtoms() {
        assertThat(ImapStrings.astring("INBOX.a]b", false)).isEqualTo("INBOX.a]b");
        assertThat(ImapStrings.astring("", false)).isEqualTo("\"\"");
        assertThat(ImapStrings.astring("NIL", false)).isEqualTo("\"NIL\"");
        assertThat(ImapStrings.astring("nil", false)).isEqualTo("\"nil\"");
        assertThat(ImapStrings.astring("a b", false)).isEqualTo("\"a b\"");
        assertThat(ImapStrings.astring("ab(", false)).isEqualTo("\"ab(\"");
        assertThat(ImapStrings.dateTime(java.time.Instant.parse("1996-07-07T02:44:25Z"))).isEqualTo("\"07-Jul-1996 02:44:25 +0000\"");
    }

    static Stream<Arguments> searchKeys() {
        return Stream.of(
                Arguments.of("ALL", new SearchKey.All()),
                Arguments.of("answered", new SearchKey.Flag("\\Answered", true)),
                Arguments.of("DELETED", new SearchKey.Flag("\\Deleted", true)),
                Arguments.of("DRAFT", new SearchKey.Flag("\\Draft", true)),
                Arguments.of("FLAGGED", new SearchKey.Flag("\\Flagged", true)),
                Arguments.of("SEEN", new SearchKey.Flag("\\Seen", true)),
                Arguments.of("UNANSWERED", new SearchKey.Flag("\\Answered", false)),
                Arguments.of("UNDELETED", new SearchKey.Flag("\\Deleted", false)),
                Arguments.of("UNDRAFT", new SearchKey.Flag("\\Draft", false)),
                Arguments.of("UNFLAGGED", new SearchKey.Flag("\\Flagged", false)),
                Arguments.of("UNSEEN", new SearchKey.Flag("\\Seen", false)),
                Arguments.of("KEYWORD $Junk", new SearchKey.Flag("$Junk", true)),
                Arguments.of("UNKEYWORD $Junk", new SearchKey.Flag("$Junk", false)),
                Arguments.of("RECENT", new SearchKey.Recent()),
                Arguments.of("BCC b", new SearchKey.Text(SearchKey.Field.BCC, "b")),
                Arguments.of("BODY \"b c\"", new SearchKey.Text(SearchKey.Field.BODY, "b c")),
                Arguments.of("CC c", new SearchKey.Text(SearchKey.Field.CC, "c")),
                Arguments.of("FROM f", new SearchKey.Text(SearchKey.Field.FROM, "f")),
                Arguments.of("SUBJECT s", new SearchKey.Text(SearchKey.Field.SUBJECT, "s")),
                Arguments.of("TEXT t", new SearchKey.Text(SearchKey.Field.TEXT, "t")),
                Arguments.of("TO t", new SearchKey.Text(SearchKey.Field.TO, "t")),
                Arguments.of("HEADER List-Id \"<a.example>\"", new SearchKey.Header("List-Id", "<a.example>")),
                Arguments.of("BEFORE 1-Feb-1994", new SearchKey.Date(false, SearchKey.Comparison.BEFORE, LocalDate.of(1994, 2, 1))),
                Arguments.of("ON 1-Feb-1994", new SearchKey.Date(false, SearchKey.Comparison.ON, LocalDate.of(1994, 2, 1))),
                Arguments.of("SINCE 1-Feb-1994", new SearchKey.Date(false, SearchKey.Comparison.SINCE, LocalDate.of(1994, 2, 1))),
                Arguments.of("SENTBEFORE 1-Feb-1994", new SearchKey.Date(true, SearchKey.Comparison.BEFORE, LocalDate.of(1994, 2, 1))),
                Arguments.of("SENTON 1-Feb-1994", new SearchKey.Date(true, SearchKey.Comparison.ON, LocalDate.of(1994, 2, 1))),
                Arguments.of("SENTSINCE 1-Feb-1994", new SearchKey.Date(true, SearchKey.Comparison.SINCE, LocalDate.of(1994, 2, 1))),
                Arguments.of("LARGER 10", new SearchKey.Size(true, 10)),
                Arguments.of("SMALLER 10", new SearchKey.Size(false, 10)),
                Arguments.of("UID 2:4", new SearchKey.Numbers(true, SequenceSet.of(new SequenceSet.Range(2, 4)))),
                Arguments.of("2:4", new SearchKey.Numbers(false, SequenceSet.of(new SequenceSet.Range(2, 4)))),
                Arguments.of("NOT SEEN", new SearchKey.Not(new SearchKey.Flag("\\Seen", true))),
                Arguments.of("OR SEEN DRAFT", new SearchKey.Or(new SearchKey.Flag("\\Seen", true), new SearchKey.Flag("\\Draft", true))),
                // RFC 7162 §3.1.5: the entry name and type are read and passed over.
                Arguments.of("MODSEQ \"/flags/\\\\draft\" all 620162338", new SearchKey.ModSeq(620162338)));
    }

    /** RFC 9051 §6.4.4: every search key, each to its own flag, field, comparison or sense. */
    @ParameterizedTest
    @MethodSource("searchKeys")
    void everySearchKeyParsesToItsMeaning(String key, SearchKey expected) {
        assertThat(parse("a1 SEARCH " + key + "\r\n"))
                .isEqualTo(new ImapCommand.Search(false, Optional.empty(), Optional.empty(), expected));
    }

    static Stream<Arguments> fetchAttributes() {
        return Stream.of(
                Arguments.of("FLAGS", new FetchAttribute.Flags()),
                Arguments.of("uid", new FetchAttribute.Uid()),
                Arguments.of("INTERNALDATE", new FetchAttribute.InternalDate()),
                Arguments.of("RFC822.SIZE", new FetchAttribute.Rfc822Size()),
                Arguments.of("ENVELOPE", new FetchAttribute.Envelope()),
                Arguments.of("BODYSTRUCTURE", new FetchAttribute.BodyStructure(true)),
                Arguments.of("BODY", new FetchAttribute.BodyStructure(false)),
                Arguments.of("MODSEQ", new FetchAttribute.ModSeq()),
                Arguments.of("RFC822", new FetchAttribute.Rfc822(Section.Kind.ALL)),
                Arguments.of("RFC822.HEADER", new FetchAttribute.Rfc822(Section.Kind.HEADER)),
                Arguments.of("RFC822.TEXT", new FetchAttribute.Rfc822(Section.Kind.TEXT)),
                Arguments.of("BINARY.SIZE[2]", new FetchAttribute.BinarySize(List.of(2))),
                Arguments.of("BINARY[1.2]<0.10>", new FetchAttribute.Binary(false, List.of(1, 2), OptionalLong.of(0), OptionalLong.of(10))),
                Arguments.of("BINARY.PEEK[]", new FetchAttribute.Binary(true, List.of(), OptionalLong.empty(), OptionalLong.empty())));
    }

    /** RFC 9051 §6.4.5 and RFC 3516 §4.1: every fetch attribute, each to its own item. */
    @ParameterizedTest
    @MethodSource("fetchAttributes")
    void everyFetchAttributeParsesToItsItem(String attribute, FetchAttribute expected) {
        ImapCommand.Fetch f = (ImapCommand.Fetch) parse("a1 FETCH 1 " + attribute + "\r\n");
        assertThat(f.attributes()).containsExactly(expected);
    }

    /** RFC 9051 §4.3 and §9: a literal's count is any number of digits "0" to "9", zero included, with "+" for LITERAL+. */
    @Test
    void literalCountsTakeEveryDigitAndZero() {
        ImapCommand.Login login = (ImapCommand.Login) parse("a1 LOGIN {9}\r\n123456789 {0}\r\n\r\n");
        assertThat(login.user()).isEqualTo("123456789");
        assertThat(login.password()).isEmpty();
        ImapCommand.Login plus = (ImapCommand.Login) parse("a1 LOGIN {10+}\r\n1234567890 {1}\r\n9\r\n");
        assertThat(plus.user()).isEqualTo("1234567890");
        assertThat(plus.password()).containsExactly('9');
    }

    /** RFC 9051 §9 ATOM-CHAR: any CHAR but atom-specials, so "!" and "~" are atom characters and DEL is not. */
    @Test
    void atomsRunFromExclamationMarkToTilde() {
        assertThat(parse("a1 CREATE !a~\r\n")).isEqualTo(new ImapCommand.Create("!a~", List.of()));
        assertThat(ImapParser.isAtomChar('!')).isTrue();
        assertThat(ImapParser.isAtomChar('~')).isTrue();
        assertThat(ImapParser.isAtomChar(0x7f)).isFalse();
        assertThat(ImapParser.isAtomChar(' ')).isFalse();
        assertThat(ImapParser.isAtomChar(']')).isFalse();
    }

    /** {@link ImapParser#MAX_LINE} counts the octets before LF, CR included: a line of exactly that many is taken, one more refused. */
    @Test
    void theLineLimitIsExact() {
        String prefix = "a1 LOGIN \"";
        int n = ImapParser.MAX_LINE - prefix.length() - "\" p\r".length();
        ImapParser.Result exact = whole(prefix + "u".repeat(n) + "\" p\r\n").get(0);
        assertThat(((ImapCommand.Login) ((ImapParser.Command) exact).command()).user()).hasSize(n);
        assertThat(whole(prefix + "u".repeat(n + 1) + "\" p\r\n").get(0)).isEqualTo(new ImapParser.Error(Optional.of("a1"),
                "Line too long", false, Optional.of("TOOBIG"), Optional.of("MAX_LINE")));
    }

    /** RFC 9051 §7.1 TOOBIG: a literal of exactly the limit is taken (a continuation follows), one octet more refused. */
    @Test
    void aLiteralOfExactlyTheLimitIsTaken() {
        ImapParser p = new ImapParser();
        assertThat(p.next(buf("a1 APPEND INBOX {1000}\r\n"), ImapParser.Mode.COMMAND, 1000)).isEqualTo(new ImapParser.Continue());
        ImapParser q = new ImapParser();
        assertThat(q.next(buf("a1 LOGIN {1000}\r\n"), ImapParser.Mode.COMMAND, 1000)).isEqualTo(new ImapParser.Continue());
        assertThat(((ImapParser.Error) new ImapParser().next(buf("a1 LOGIN {1001}\r\n"), ImapParser.Mode.COMMAND, 1000)).limit())
                .hasValue("maxLiteral");
    }

    /** {@link ImapParser#MAX_LITERALS} literals in one command are taken; one more is refused as too many. */
    @Test
    void theLiteralCountLimitIsExact() {
        String most = "a1 SEARCH" + " TEXT {1+}\r\nx".repeat(ImapParser.MAX_LITERALS) + "\r\n";
        List<ImapParser.Result> taken = whole(most);
        assertThat(taken.get(taken.size() - 1)).isInstanceOf(ImapParser.Command.class);
        String over = "a1 SEARCH" + " TEXT {1}\r\nx".repeat(ImapParser.MAX_LITERALS + 1) + "\r\n";
        assertThat(whole(over)).anySatisfy(r -> assertThat(r).isInstanceOfSatisfying(ImapParser.Error.class,
                e -> assertThat(e.message()).isEqualTo("Too many literals")));
    }

    private static ByteBuffer buf(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }
}
