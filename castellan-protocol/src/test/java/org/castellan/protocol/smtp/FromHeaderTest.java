package org.castellan.protocol.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.castellan.protocol.smtp.FromHeader.Claim;
import org.castellan.protocol.smtp.FromHeader.Originators;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The originator fields a submission server checks (RFC 5322 §3.6.2, §3.6.6; RFC 6409 §8). */
class FromHeaderTest {

    private static Originators originators(String message) {
        byte[] b = message.getBytes(StandardCharsets.UTF_8);
        return FromHeader.originators(b, b.length);
    }

    private static List<Claim> claims(String message) {
        return ((Originators.Claims) originators(message)).claims();
    }

    /** The From mailboxes, as the old check read them. */
    private static List<String> from(String message) {
        return claims(message).stream().filter(c -> c.field().equals("From") && !c.inDisplayName()).map(Claim::address).toList();
    }

    @Test
    void findsAddressesInEveryForm() {
        assertThat(from("From: alice@example.org\r\nTo: b@c\r\n\r\nbody\r\n")).containsExactly("alice@example.org");
        assertThat(from("Subject: x\r\nfrom: \"Smith, Alice\" <alice@example.org>, bob@example.org (Bob)\r\n\r\n"))
                .containsExactly("alice@example.org", "bob@example.org");
        assertThat(from("From: =?utf-8?q?J=C3=B6rg?=\r\n <joerg@example.org>\r\n\r\n")).containsExactly("joerg@example.org");
        assertThat(from("From: friends: a@x.example, b@y.example;\r\n\r\n")).containsExactly("a@x.example", "b@y.example");
        // RFC 5322 §4.4 obsolete forms: a route, comments and white space inside the addr-spec.
        assertThat(from("From: Mary <@node.test:mary@example.net>\r\n\r\n")).containsExactly("mary@example.net");
        assertThat(from("From: John <jdoe@machine(comment).  example>\r\n\r\n")).containsExactly("jdoe@machine.example");
        assertThat(from("From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\r\n\r\n"))
                .containsExactly("pete@silly.test");
    }

    @Test
    void onlyTheHeaderSectionCounts() {
        assertThat(from("Subject: none\r\n\r\nFrom: mallory@evil.example\r\n")).isEmpty();
        assertThat(from("Subject: none\r\nFrom-Alias: x@y\r\n\r\n")).isEmpty();
        assertThat(((Originators.Claims) originators("Subject: none\r\n\r\n")).fromAddresses()).isZero();
        assertThat(((Originators.Claims) originators("From: undisclosed:;\r\n\r\n")).fromAddresses()).isZero();
    }

    @Test
    void senderResentFromAndResentSenderAreClaimsReplyToIsNot() {
        assertThat(claims("From: a@x.example\r\nSender: s@x.example\r\nReply-To: anyone@elsewhere.example\r\n"
                + "Resent-From: r@x.example\r\nResent-Sender: rs@x.example\r\n\r\n"))
                .containsExactly(new Claim("From", "a@x.example", false), new Claim("Sender", "s@x.example", false),
                        new Claim("Resent-From", "r@x.example", false), new Claim("Resent-Sender", "rs@x.example", false));
    }

    /** The display name a reader shows in place of the address is claimed as much as the address. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "\"demo@example.test\" <bob@example.test>|demo@example.test",
        "\"ceo@bank.example \" <bob@example.test>|ceo@bank.example",
        "\"Alice (ceo@bank.example)\" <bob@example.test>|ceo@bank.example",
        "=?utf-8?q?ceo=40bank.example?= <bob@example.test>|ceo@bank.example",
        "\"ceo\uFF20bank.example\" <bob@example.test>|ceo@bank.example",
        "bob@example.test (ceo@bank.example)|ceo@bank.example",
        "\"CEO@Bank.Example.\" <bob@example.test>|CEO@bank.example",
    })
    void addressesShownInDisplayNames(String field, String shown) {
        assertThat(claims("From: " + field + "\r\n\r\n")).contains(new Claim("From", "bob@example.test", false))
                .contains(new Claim("From", shown, true));
    }

    @Test
    void namesWithoutAnAddressClaimNothingMore() {
        assertThat(claims("From: \"Bob @ home\" <bob@example.test>\r\n\r\n")).containsExactly(new Claim("From", "bob@example.test", false));
        assertThat(claims("From: Bob <bob@example.test>\r\n\r\n")).containsExactly(new Claim("From", "bob@example.test", false));
    }

    /** What is not RFC 5322 is refused, not guessed at: readers guess differently (the ENVELOPE did). */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "From|From: demo@example.test <bob@example.test>",
        "From|From: bob@example.test <ceo@bank.example>",
        "From|From: Smith, Bob <bob@example.test>",
        "From|From: <bob@example.test> ceo@bank.example",
        "From|From: \"Bob <bob@example.test>",
        "From|From: Bob <bob@example.test",
        "From|From: bob",
        "From|From: bob@example.test; ceo@bank.example",
        "Sender|Sender: ceo@bank.example@bob.example.test",
        "Resent-From|Resent-From: team: bob@example.test",
    })
    void malformedOriginatorFieldsAreNamed(String field, String header) {
        assertThat(originators("From: bob@example.test\r\n" + header + "\r\n\r\n"))
                .isEqualTo(new Originators.Malformed(field));
    }

    private static java.util.Optional<String> misuse(String message) {
        return ((Originators.Claims) originators(message)).misuse();
    }

    /** RFC 5322 §3.6: From and Sender at most once; §3.6.2: several authors need one Sender mailbox. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "From: a@x.example\\r\\nFrom: b@x.example|From: field appears more than once (RFC 5322 3.6)",
        "From: a@x.example\\r\\nSender: a@x.example\\r\\nsender: a@x.example|Sender: field appears more than once (RFC 5322 3.6)",
        "From: a@x.example, b@x.example|From: names several authors, so a Sender: field is required (RFC 5322 3.6.2)",
        "From: team: a@x.example, b@x.example;|From: names several authors, so a Sender: field is required (RFC 5322 3.6.2)",
        "From: a@x.example\\r\\nSender: a@x.example, b@x.example|Sender: names more than one mailbox (RFC 5322 3.6.2)",
    })
    void originatorFieldsUsedAgainstRfc5322AreMisuse(String header, String why) {
        assertThat(misuse(header.replace("\\r\\n", "\r\n") + "\r\n\r\n")).contains(why);
    }

    @Test
    void severalAuthorsWithOneSenderAndResentBlocksAreFine() {
        assertThat(misuse("From: a@x.example, b@x.example\r\nSender: a@x.example\r\n\r\n")).isEmpty();
        assertThat(misuse("Resent-From: r@x.example\r\nResent-From: s@x.example\r\nFrom: a@x.example\r\n\r\n")).isEmpty();
    }

    /**
     * A header section longer than what was read hides fields from the check that a reader
     * still shows (a Sender after 128 KiB of padding); unless those octets are the whole message.
     */
    @Test
    void aHeaderSectionThatDoesNotEndWithinWhatWasReadIsRefused() {
        String head = "From: bob@example.test\r\nX-Pad: " + "x".repeat(2000) + "\r\n";
        byte[] b = (head + "Sender: ceo@bank.example\r\n\r\nbody\r\n").getBytes(StandardCharsets.UTF_8);
        assertThat(FromHeader.originators(b, head.length(), false)).isEqualTo(new Originators.HeaderTooLong(head.length()));
        assertThat(FromHeader.originators(b, b.length, false)).isInstanceOf(Originators.Claims.class);
        byte[] headerOnly = "From: bob@example.test\r\n".getBytes(StandardCharsets.UTF_8);
        assertThat(FromHeader.originators(headerOnly, headerOnly.length, true)).isInstanceOf(Originators.Claims.class);
        byte[] huge = ("From: bob@example.test\r\nX-Pad: " + "x".repeat(FromHeader.MAX_HEADER_SECTION) + "\r\n")
                .getBytes(StandardCharsets.UTF_8);
        assertThat(FromHeader.originators(huge, huge.length, true)).isInstanceOf(Originators.HeaderTooLong.class);
    }

    /** RFC 5322 §3.5: a message may be a header section alone; its last field counts as much as the others. */
    @Test
    void theLastFieldOfAMessageWithoutBodyCounts() {
        assertThat(from("Subject: x\r\nFrom: bob@example.test")).containsExactly("bob@example.test");
        assertThat(((Originators.Claims) originators("From: bob@example.test\r\nFrom: ceo@bank.example")).misuse())
                .hasValue("From: field appears more than once (RFC 5322 3.6)");
    }

    /** A whole message of exactly the searched size is read to its end; one octet more and it is refused. */
    @Test
    void aWholeMessageOfExactlyTheSearchedSizeIsRead() {
        String head = "From: bob@example.test\r\nX-Pad: ";
        byte[] exact = (head + "x".repeat(FromHeader.MAX_HEADER_SECTION - head.length())).getBytes(StandardCharsets.UTF_8);
        assertThat(FromHeader.originators(exact, exact.length, true)).isInstanceOf(Originators.Claims.class);
        byte[] over = (head + "x".repeat(FromHeader.MAX_HEADER_SECTION + 1 - head.length())).getBytes(StandardCharsets.UTF_8);
        assertThat(FromHeader.originators(over, over.length, true)).isEqualTo(new Originators.HeaderTooLong(FromHeader.MAX_HEADER_SECTION));
    }

    /** The quotes around a display name frame the address it shows; they are not part of it. */
    @Test
    void quotesAroundAShownAddressAreNotPartOfIt() {
        assertThat(claims("From: \"ceo@bank.example\" <bob@example.test>\r\n\r\n")).allSatisfy(
                c -> assertThat(c.address()).isIn("bob@example.test", "ceo@bank.example"));
    }
}
