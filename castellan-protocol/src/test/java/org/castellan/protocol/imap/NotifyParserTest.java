package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.protocol.imap.ImapExtensionsParserTest.error;
import static org.castellan.protocol.imap.ImapExtensionsParserTest.parse;

import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.castellan.protocol.imap.NotifyGroup.Event;
import org.castellan.protocol.imap.NotifyGroup.Filter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** RFC 5465 §8 NOTIFY syntax, fed whole and one byte at a time; the §3.1 examples as corrected by errata 1804. */
class NotifyParserTest {

    private static final List<String> NONE = List.of();

    private static Event event(String name) {
        return new Event(name, List.of());
    }

    private static NotifyGroup group(Filter filter, List<String> mailboxes, Event... events) {
        return new NotifyGroup(filter, mailboxes, List.of(events));
    }

    static Stream<Arguments> commands() {
        Event newWithHeaders = new Event("MessageNew", List.of(new FetchAttribute.Uid(), new FetchAttribute.Body(true,
                new FetchAttribute.Section(List.of(), FetchAttribute.Section.Kind.HEADER_FIELDS, List.of("FROM", "TO", "SUBJECT")),
                OptionalLong.empty(), OptionalLong.empty())));
        return Stream.of(
                Arguments.of("a1 notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)])"
                        + " MessageExpunge)) (subtree Lists (MessageNew))\r\n",
                        new ImapCommand.Notify(true, List.of(
                                group(Filter.SELECTED, NONE, newWithHeaders, event("MessageExpunge")),
                                group(Filter.SUBTREE, List.of("Lists"), event("MessageNew"))))),
                Arguments.of("a1 notify set (selected (MessageNew (uid body.peek[header.fields (from to subject)])"
                        + " MessageExpunge)) (subtree Lists (MessageNew)) (mailboxes misc (MessageNew))\r\n",
                        new ImapCommand.Notify(false, List.of(
                                group(Filter.SELECTED, NONE, newWithHeaders, event("MessageExpunge")),
                                group(Filter.SUBTREE, List.of("Lists"), event("MessageNew")),
                                group(Filter.MAILBOXES, List.of("misc"), event("MessageNew"))))),
                Arguments.of("a1 NOTIFY NONE\r\n", new ImapCommand.Notify(false, List.of())),
                Arguments.of("a1 NOTIFY SET (SELECTED-DELAYED (messagenew MESSAGEEXPUNGE flagchange)) (personal"
                        + " (MailboxName SubscriptionChange)) (inboxes NONE) (SUBSCRIBED (AnnotationChange Frobnicate))\r\n",
                        new ImapCommand.Notify(false, List.of(
                                group(Filter.SELECTED_DELAYED, NONE, event("MessageNew"), event("MessageExpunge"),
                                        event("FlagChange")),
                                group(Filter.PERSONAL, NONE, event("MailboxName"), event("SubscriptionChange")),
                                group(Filter.INBOXES, NONE),
                                group(Filter.SUBSCRIBED, NONE, event("AnnotationChange"), event("Frobnicate"))))),
                Arguments.of("a1 NOTIFY SET (mailboxes (INBOX \"Sent Items\" {4+}\r\nWork) (MessageNew MessageExpunge))\r\n",
                        new ImapCommand.Notify(false, List.of(group(Filter.MAILBOXES, List.of("INBOX", "Sent Items", "Work"),
                                event("MessageNew"), event("MessageExpunge"))))));
    }

    @ParameterizedTest
    @MethodSource("commands")
    void parsesWholeAndByteAtATime(String input, ImapCommand expected) {
        assertThat(parse(input)).isEqualTo(expected);
    }

    @Test
    void badNotifySyntaxIsATaggedError() {
        assertThat(error("a1 NOTIFY\r\n", false).message()).isEqualTo("Missing argument");
        assertThat(error("a1 NOTIFY RESET\r\n", false).message()).isEqualTo("NOTIFY takes SET or NONE");
        assertThat(error("a1 NOTIFY SET\r\n", false).message()).isEqualTo("Missing argument");
        assertThat(error("a1 NOTIFY SET STATUS\r\n", false).message()).isEqualTo("Missing argument");
        assertThat(error("a1 NOTIFY SET LOUDLY (personal NONE)\r\n", false).message())
                .isEqualTo("Expected STATUS or an event group");
        assertThat(error("a1 NOTIFY SET (elsewhere (MessageNew))\r\n", false).message())
                .isEqualTo("Unknown NOTIFY mailbox specifier elsewhere");
        assertThat(error("a1 NOTIFY SET (subtree (MessageNew))\r\n", false).message()).isEqualTo("Expected a space");
        assertThat(error("a1 NOTIFY SET (personal ())\r\n", false).message()).isEqualTo("Expected an atom");
        assertThat(error("a1 NOTIFY SET (personal ALL)\r\n", false).message()).isEqualTo("Expected a list of events or NONE");
        assertThat(error("a1 NOTIFY SET (selected (MessageNew ()))\r\n", false).message())
                .isEqualTo("Expected a fetch attribute");
        assertThat(error("a1 NOTIFY SET (selected (MessageNew (FAST)))\r\n", false).message())
                .isEqualTo("Unknown fetch attribute FAST");
        assertThat(error("a1 NOTIFY SET (personal NONE)(inboxes NONE)\r\n", false).message())
                .isEqualTo("Unexpected characters at end of command");
    }
}
