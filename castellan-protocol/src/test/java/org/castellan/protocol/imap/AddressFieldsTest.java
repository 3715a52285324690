package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Address fields as IMAP reads them, all through one RFC 5322 parser: the ENVELOPE's address
 * structures (RFC 9051 §7.5.2), the text SEARCH FROM/TO/CC/BCC look in (RFC 9051 §6.4.4), and the
 * SORT keys of RFC 5256 §3 (addr-mailbox of the first address) and RFC 5957 §3 (display value).
 */
class AddressFieldsTest {

    private static MessageStructure message(String header) {
        return MessageStructure.parse((header + "\r\n\r\nbody\r\n").getBytes(StandardCharsets.UTF_8));
    }

    /** The From member of the ENVELOPE. */
    private static String envelopeFrom(String from) {
        String env = message("From: " + from).envelope(true);
        // (date subject from sender reply-to to cc bcc in-reply-to message-id): date and subject are NIL here
        String rest = env.substring("(NIL NIL ".length());
        int depth = 0;
        for (int i = 0; i < rest.length(); i++) {
            char c = rest.charAt(i);
            if (c == '"') {
                for (i++; rest.charAt(i) != '"'; i++) if (rest.charAt(i) == '\\') i++;
            } else if (c == '(') {
                depth++;
            } else if (c == ')' && --depth == 0) {
                return rest.substring(0, i + 1);
            } else if (depth == 0 && c == ' ') {
                return rest.substring(0, i);
            }
        }
        return rest;
    }

    @ParameterizedTest(name = "From: {0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        // RFC 5322 §3.4 note: the legacy form's comment is the personal name (as Dovecot and Cyrus read it)
        "user@example.com (Real Name)|((\"Real Name\" NIL \"user\" \"example.com\"))",
        "`user@example.com\r\n (Real Name)`|((\"Real Name\" NIL \"user\" \"example.com\"))",
        "Real Name <user@example.com> (comment)|((\"Real Name\" NIL \"user\" \"example.com\"))",
        "<user@example.com> (comment)|((NIL NIL \"user\" \"example.com\"))",
        "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>|((\"Pete\" NIL \"pete\" \"silly.test\"))",
        "<@node.test,@node2.test:jdoe@example.net>|((NIL \"@node.test,@node2.test\" \"jdoe\" \"example.net\"))",
        "=?utf-8?q?J=C3=B6rg?= <j@x.test>|((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.test\"))",
        "demo@example.test <bob@example.test>|((\"demo@example.test\" NIL \"bob\" \"example.test\"))",
        "\"a b\"@example.com|((NIL NIL \"a b\" \"example.com\"))",
        "root|((NIL NIL \"root\" \"\"))",
        "Undisclosed recipients:;|((NIL NIL \"Undisclosed recipients\" NIL)(NIL NIL NIL NIL))",
        "a@x.test, , b@y.test|((NIL NIL \"a\" \"x.test\")(NIL NIL \"b\" \"y.test\"))",
    })
    void envelopeAddresses(String from, String expected) {
        assertThat(envelopeFrom(from)).isEqualTo(expected);
    }

    /** RFC 9051 §7.5.2: Sender and Reply-To "absent ... or present but empty" are the From member. */
    @Test
    void emptySenderAndReplyToAreFrom() {
        String env = message("From: a@x.test\r\nSender:\r\nReply-To: (nobody)\r\nTo:").envelope(false);
        String from = "((NIL NIL \"a\" \"x.test\"))";
        assertThat(env).isEqualTo("(NIL NIL " + from + " " + from + " " + from + " NIL NIL NIL NIL NIL)");
    }

    @ParameterizedTest(name = "From: {0}")
    @CsvSource(delimiter = '|', value = {
        "user(comment)@example.com|user@example.com",
        "user@example.com (Real Name)|Real Name <user@example.com>",
        "=?utf-8?q?J=C3=B6rg?= <j@x.test>|Jörg <j@x.test>",
        "Mary Smith <@node.test:mary@example.net>|Mary Smith <mary@example.net>",
        "\"a b\"@example.com|\"a b\"@example.com",
        "\"a\\\"b\"@example.com|\"a\\\"b\"@example.com",
        "\"ab\"@example.com|ab@example.com",
        "john . q . public@example.com|john.q.public@example.com",
        "A Group:Ed Jones <c@a.test>,joe@where.test;|A Group: Ed Jones <c@a.test>, joe@where.test;",
        "\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>|Giant; \"Big\" Box <sysservices@example.net>",
    })
    void searchText(String from, String expected) {
        assertThat(message("From: " + from).addressText("From")).containsExactly(expected);
    }

    @Test
    void searchTextOfEveryFieldOfThatName() {
        assertThat(message("To: a@x.test\r\nTo: B <b@y.test>").addressText("to")).containsExactly("a@x.test", "B <b@y.test>");
        assertThat(message("Subject: none").addressText("Cc")).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        // RFC 5256 §3 "addr-mailbox of the first address"; RFC 5957 §3 rule 3 gives a group's name.
        "Undisclosed recipients:;|Undisclosed recipients|Undisclosed recipients",
        "A Group:Ed Jones <c@a.test>;, z@x.test|A Group|A Group",
        "\"Zed\" <a@x.test>|a|Zed",
        "a@x.test (Real Name)|a|Real Name",
        "=?utf-8?q?J=C3=B6rg?= <j@x.test>|j|Jörg",
        "<a@x.test>|a|a@x.test",
        "\"\" <a@x.test>|a|a@x.test",
        "root|root|root",
    })
    void sortKeys(String to, String mailbox, String display) {
        MessageStructure.FirstAddress first = message("To: " + to).firstAddress("To").orElseThrow();
        assertThat(first.mailbox()).isEqualTo(mailbox);
        assertThat(first.display()).isEqualTo(display);
    }
}
