package org.castellan.protocol.mail;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * RFC 5322 §3.4 address lists: every address field of the RFC's Appendix A examples, the obsolete
 * forms of §4.4, the legacy comment name of §3.4's note, and hostile input. Each row: the field
 * value, what is read ({@code name/route/local/domain} per mailbox, NIL for none, groups as
 * {@code name:[...]}), and whether it is RFC 5322.
 */
class AddressListTest {

    static String render(AddressList list) {
        return list.addresses().stream().map(a -> switch (a) {
            case AddressList.Mailbox m -> render(m);
            case AddressList.Group g -> g.name() + ":[" + g.members().stream().map(AddressListTest::render)
                    .collect(Collectors.joining(" ")) + "]";
        }).collect(Collectors.joining(" "));
    }

    static String render(AddressList.Mailbox m) {
        return nil(m.name()) + "/" + nil(m.route()) + "/" + m.localPart() + "/" + nil(m.domain());
    }

    static String nil(String s) {
        return s == null ? "NIL" : s;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        // RFC 5322 A.1.1, A.1.2
        "John Doe <jdoe@machine.example>|John Doe/NIL/jdoe/machine.example|true",
        "\"Joe Q. Public\" <john.q.public@example.com>|Joe Q. Public/NIL/john.q.public/example.com|true",
        "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>"
                + "|Mary Smith/NIL/mary/x.test NIL/NIL/jdoe/example.org Who?/NIL/one/y.test|true",
        "<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>"
                + "|NIL/NIL/boss/nil.test Giant; \"Big\" Box/NIL/sysservices/example.net|true",
        // A.1.3 groups
        "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"
                + "|A Group:[Ed Jones/NIL/c/a.test NIL/NIL/joe/where.test John/NIL/jdoe/one.test]|true",
        "Undisclosed recipients:;|Undisclosed recipients:[]|true",
        // A.5 white space, comments
        "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>|Pete/NIL/pete/silly.test|true",
        "`A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n"
                + "  John <jdoe@one.test> (my dear friend); (the end of the group)`"
                + "|A Group:[Chris Jones/NIL/c/public.example NIL/NIL/joe/example.org John/NIL/jdoe/one.test]|true",
        "(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;|Hidden recipients:[]|true",
        // A.6.1 obsolete route, empty element, CFWS around the dot of a domain; A.6.3 comments in a domain
        "Joe Q. Public <john.q.public@example.com>|Joe Q. Public/NIL/john.q.public/example.com|true",
        "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example"
                + "|Mary Smith/@node.test/mary/example.net NIL/NIL/jdoe/test.example|true",
        "John Doe <jdoe@machine(comment).  example>|John Doe/NIL/jdoe/machine.example|true",
        "`Mary Smith\r\n  \r\n          <mary@example.net>`|Mary Smith/NIL/mary/example.net|true",
        // §4.4 obs-route with several domains, obs-local-part with CFWS, quoted local parts, literals
        "<@a.test,@b.test:x@y.test>|NIL/@a.test,@b.test/x/y.test|true",
        "<@a.test, ,@b.test:x@y.test>|NIL/@a.test,@b.test/x/y.test|true",
        "john . q . public@example.com|NIL/NIL/john.q.public/example.com|true",
        "\"a b\"@example.com|NIL/NIL/a b/example.com|true",
        "\"a@b\"@example.com|NIL/NIL/a@b/example.com|true",
        "x@[192.0.2.1]|NIL/NIL/x/[192.0.2.1]|true",
        // §3.4 note: the comment following the addr-spec is the name (the last of several); others are not
        "user@example.com (Real Name)|Real Name/NIL/user/example.com|true",
        "`user@example.com\r\n (Real Name)`|Real Name/NIL/user/example.com|true",
        "user@example.com (Real) (Name)|Name/NIL/user/example.com|true",
        "(Real Name) user@example.com|NIL/NIL/user/example.com|true",
        "user(comment)@example.com|NIL/NIL/user/example.com|true",
        "user(first)@example.com (second)|second/NIL/user/example.com|true",
        "<user@example.com> (not a name)|NIL/NIL/user/example.com|true",
        "user@example.com ()|NIL/NIL/user/example.com|true",
        // encoded words stay as written; UTF-8 (RFC 6532)
        "=?utf-8?q?J=C3=B6rg?= <joerg@example.org>|=?utf-8?q?J=C3=B6rg?=/NIL/joerg/example.org|true",
        "Jörg <jörg@bücher.example>|Jörg/NIL/jörg/bücher.example|true",
        "\"\" <empty@example.org>|NIL/NIL/empty/example.org|true",
        // not RFC 5322: read as a reader would show it, and said so
        "demo@example.test <bob@example.test>|demo@example.test/NIL/bob/example.test|false",
        "Smith, John <j@x.test>|NIL/NIL/Smith/NIL John/NIL/j/x.test|false",
        "root|NIL/NIL/root/NIL|false",
        "A <a@x.test|A/NIL/a/x.test|false",
        "a@x.test>|NIL/NIL/a/x.test>|false",
        "<a@x.test> junk|NIL/NIL/a/x.test|false",
        "\"unclosed <a@x.test>|NIL/NIL/unclosed <a@x.test>/NIL|false",
        "a@x.test; b@y.test|NIL/NIL/a/x.test|false",
        "team: a@x.test, b@y.test|team:[NIL/NIL/a/x.test NIL/NIL/b/y.test]|false",
        "a@|NIL/NIL/a/|false",
        "@x.test|NIL/NIL//x.test|false",
        "a.@x.test|NIL/NIL/a./x.test|false",
        "a@x.test.|NIL/NIL/a/x.test.|false",
        "<@a.test x@y.test>|NIL/NIL//a.test x@y.test|false",
        "(unclosed comment a@x.test|NIL|false",
        "a@b@c.test|NIL/NIL/a/b@c.test|false",
    })
    void rfc5322Corpus(String value, String read, boolean wellFormed) {
        AddressList list = AddressList.parse(value);
        assertThat(render(list)).isEqualTo(read.equals("NIL") ? "" : read);
        assertThat(list.wellFormed()).as("well-formed").isEqualTo(wellFormed);
    }

    @Test
    void emptyAndCommentOnlyFieldsHoldNoAddress() {
        assertThat(AddressList.parse(null).addresses()).isEmpty();
        assertThat(AddressList.parse("").addresses()).isEmpty();
        assertThat(AddressList.parse(" , ,(nobody) ").addresses()).isEmpty();
        assertThat(AddressList.parse(" , ,(nobody) ").wellFormed()).isTrue();
    }

    @Test
    void controlCharactersAreNotRfc5322() {
        AddressList list = AddressList.parse("a\u0000b@x.test");
        assertThat(render(list)).isEqualTo("NIL/NIL/a\u0000b/x.test");
        assertThat(list.wellFormed()).isFalse();
    }

    @Test
    void decodedNames() {
        AddressList.Mailbox m = (AddressList.Mailbox) AddressList.parse("=?utf-8?q?J=C3=B6rg?= =?utf-8?q?_M?= <j@x.test>")
                .addresses().get(0);
        assertThat(m.decodedName()).isEqualTo("Jörg M");
        assertThat(m.addrSpec()).isEqualTo("j@x.test");
        assertThat(m.address()).isEqualTo("j@x.test");
        AddressList.Mailbox quoted = AddressList.parse("\"a b\\\"c\"@x.test").mailboxes().get(0);
        assertThat(quoted.addrSpec()).isEqualTo("a b\"c@x.test");
        assertThat(quoted.address()).isEqualTo("\"a b\\\"c\"@x.test");
        assertThat(AddressList.parse("g: a@x.test, b <b@y.test>;").mailboxes()).extracting(AddressList.Mailbox::addrSpec)
                .containsExactly("a@x.test", "b@y.test");
    }

    /**
     * RFC 5322 §3.2.3: a dot-atom has atext between every two dots, so a local part with two dots
     * in a row, or one at either end, is a quoted-string (§3.4.1) and is written back quoted.
     */
    @Test
    void aLocalPartThatIsNoDotAtomIsWrittenQuoted() {
        for (String local : List.of("john..doe", ".john", "john.")) {
            AddressList.Mailbox m = AddressList.parse("\"" + local + "\"@x.test").mailboxes().get(0);
            assertThat(m.addrSpec()).isEqualTo(local + "@x.test");
            assertThat(m.address()).isEqualTo("\"" + local + "\"@x.test");
        }
        assertThat(AddressList.parse("john.doe@x.test").mailboxes().get(0).address()).isEqualTo("john.doe@x.test");
    }

    /** Hostile input: deep comment nesting, huge lists, long runs; linear, bounded, never throws. */
    @Test
    void hostileInput() {
        AddressList deep = AddressList.parse("(".repeat(200_000) + "x" + ")".repeat(200_000) + " a@x.test");
        assertThat(deep.mailboxes()).extracting(AddressList.Mailbox::addrSpec).containsExactly("a@x.test");
        assertThat(deep.wellFormed()).isTrue();
        assertThat(AddressList.parse("(".repeat(200_000)).addresses()).isEmpty();
        AddressList many = AddressList.parse("a@x.test,".repeat(AddressList.MAX_ADDRESSES + 5));
        assertThat(many.addresses()).hasSize(AddressList.MAX_ADDRESSES);
        assertThat(many.wellFormed()).isFalse();
        AddressList groups = AddressList.parse("g:" + "a@x.test,".repeat(AddressList.MAX_ADDRESSES + 5) + ";");
        assertThat(groups.mailboxes()).hasSize(AddressList.MAX_ADDRESSES);
        assertThat(groups.wellFormed()).isFalse();
        assertThat(AddressList.parse("<".repeat(100_000)).wellFormed()).isFalse();
        assertThat(AddressList.parse("\"".repeat(100_001)).wellFormed()).isFalse();
        assertThat(AddressList.parse("@".repeat(100_000)).wellFormed()).isFalse();
        assertThat(AddressList.parse(":".repeat(100_000) + ";".repeat(100_000)).wellFormed()).isFalse();
    }

    /** RFC 5322 §4.4 obs-domain-list: an element without its "@" makes the route malformed and is passed over. */
    @Test
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // the reading must end, not loop
    void aRouteElementWithoutItsAtIsPassedOver() {
        AddressList list = AddressList.parse("<@a.test,b.test:x@y.test>");
        assertThat(render(list)).isEqualTo("NIL/@a.test/x/y.test");
        assertThat(list.wellFormed()).isFalse();
    }

    /** Every prefix of every corpus value parses without throwing (what a truncated header gives). */
    @Test
    void everyPrefixParses() {
        String all = "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>, A Group(Some people)\r\n"
                + " :Chris Jones <c@(Chris's host.)public.example>, \"q\\\"x\" <@a,@b:x@[1.2.3.4]>;";
        for (int i = 0; i <= all.length(); i++) AddressList.parse(all.substring(0, i));
    }
}
