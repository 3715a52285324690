package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Store;
import jakarta.mail.internet.InternetAddress;
import java.nio.file.Path;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Address fields in ENVELOPE (RFC 9051 §7.5.2), SEARCH FROM/TO/CC (§6.4.4), SORT (RFC 5256 §3,
 * RFC 5957 §3), over fields written the ways RFC 5322 allows: legacy comment names (§3.4),
 * comments inside addresses, obsolete local parts (§4.4), quoted strings, groups, encoded words,
 * and a display name that is itself an address.
 */
class AddressesTest {

    @TempDir Path dir;
    ImapTestServer imap;

    static final String[] MESSAGES = {
        "From: user@example.com (Real Name)\r\nTo: Undisclosed recipients:;\r\nCc: zoe@x.test\r\nSubject: one\r\n\r\n1\r\n",
        "From: pete(his account)@silly.test\r\nTo: \"Amy\" <zz@x.test>\r\nCc: zgroup: aaron@x.test;\r\nSubject: two\r\n\r\n2\r\n",
        "From: john . q . public@example.com\r\nTo: bob@x.test (Bob Real)\r\nCc: mike@x.test\r\nSubject: three\r\n\r\n3\r\n",
        "From: \"J\\\"o\\\"e\" <joe@x.test>\r\nTo: Team: \"Carl\" <carl@x.test>;\r\nCc: undisclosed-recipients:;\r\n"
                + "Subject: four\r\n\r\n4\r\n",
        "From: demo@example.test <bob@example.test>\r\nTo: =?utf-8?q?J=C3=B6rg?= <j@x.test>\r\nSubject: five\r\n\r\n5\r\n",
    };

    @BeforeEach
    void start() {
        imap = ImapTestServer.start(dir);
        imap.seed(MESSAGES);
    }

    @AfterEach
    void stop() {
        imap.close();
    }

    /** RFC 5322 §3.4 note: the comment after a bare addr-spec is the personal name, as Dovecot and Cyrus read it. */
    @Test
    void envelopeNamesFromLegacyComments() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 1 ENVELOPE
                    S: \\* 1 FETCH \\(ENVELOPE \\(NIL "one" \\(\\("Real Name" NIL "user" "example.com"\\)\\) \\(\\("Real Name" NIL "user" "example.com"\\)\\) \\(\\("Real Name" NIL "user" "example.com"\\)\\) \\(\\(NIL NIL "Undisclosed recipients" NIL\\)\\(NIL NIL NIL NIL\\)\\) \\(\\(NIL NIL "zoe" "x.test"\\)\\) NIL NIL NIL\\)\\)
                    S: a1 OK FETCH completed
                    C: a2 FETCH 3 ENVELOPE
                    S: \\* 3 FETCH \\(ENVELOPE \\(NIL "three" \\(\\(NIL NIL "john.q.public" "example.com"\\)\\) .* \\(\\("Bob Real" NIL "bob" "x.test"\\)\\) \\(\\(NIL NIL "mike" "x.test"\\)\\) NIL NIL NIL\\)\\)
                    S: a2 OK FETCH completed
                    """);
        }
    }

    /** The address a reader shows is the one submission checks (docs/imap.md, FromHeader). */
    @Test
    void envelopeOfADisplayNameThatIsAnAddress() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 5 (ENVELOPE)
                    S: \\* 5 FETCH \\(ENVELOPE \\(NIL "five" \\(\\("demo@example.test" NIL "bob" "example.test"\\)\\) .* \\(\\("=\\?utf-8\\?q\\?J=C3=B6rg\\?=" NIL "j" "x.test"\\)\\) NIL NIL NIL NIL\\)\\)
                    S: a1 OK FETCH completed
                    """);
        }
    }

    /** RFC 9051 §6.4.4: FROM matches "the envelope structure's FROM field", whatever form the field had. */
    @Test
    void searchMatchesTheEnvelopesAddresses() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 SEARCH FROM pete@silly.test
                    S: \\* SEARCH 2
                    S: a1 OK SEARCH completed
                    C: a2 SEARCH FROM "his account"
                    S: \\* SEARCH
                    S: a2 OK SEARCH completed
                    C: a3 SEARCH FROM john.q.public@example.com
                    S: \\* SEARCH 3
                    S: a3 OK SEARCH completed
                    C: a4 SEARCH FROM "J\\"o\\"e <joe@"
                    S: \\* SEARCH 4
                    S: a4 OK SEARCH completed
                    C: a5 SEARCH FROM "real name <user@example.com>"
                    S: \\* SEARCH 1
                    S: a5 OK SEARCH completed
                    C: a6 SEARCH OR CC zgroup CC aaron@x.test
                    S: \\* SEARCH 2
                    S: a6 OK SEARCH completed
                    C: a7 SEARCH TO "bob real"
                    S: \\* SEARCH 3
                    S: a7 OK SEARCH completed
                    C: a8 SEARCH FROM bob@example.test
                    S: \\* SEARCH 5
                    S: a8 OK SEARCH completed
                    """);
        }
    }

    /**
     * RFC 5256 §3 sorts by the addr-mailbox of the first address, RFC 5957 §3 by its display
     * value: for a field that opens with a group, the group's start marker — its name.
     */
    @Test
    void sortByTheFirstAddressStructure() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 SORT (CC) UTF-8 ALL
                    S: \\* SORT 5 3 4 2 1
                    S: a1 OK SORT completed
                    C: a2 SORT (DISPLAYTO) UTF-8 ALL
                    S: \\* SORT 2 3 5 4 1
                    S: a2 OK SORT completed
                    C: a3 SORT (TO) UTF-8 ALL
                    S: \\* SORT 3 5 4 1 2
                    S: a3 OK SORT completed
                    C: a4 SORT (DISPLAYFROM) UTF-8 ALL
                    S: \\* SORT 5 4 3 2 1
                    S: a4 OK SORT completed
                    C: a5 SORT (REVERSE CC) UTF-8 ALL
                    S: \\* SORT 1 2 4 3 5
                    S: a5 OK SORT completed
                    """);
        }
    }

    /** A real client decodes the encoded words ENVELOPE passes on as written, and shows the comment name. */
    @Test
    void angusMailShowsTheNames() throws Exception {
        Store store = imap.angusSession().getStore("imaps");
        store.connect("localhost", imap.port("imaps"), ImapTestServer.USER, ImapTestServer.PASSWORD);
        try {
            Folder inbox = store.getFolder("INBOX");
            inbox.open(Folder.READ_ONLY);
            InternetAddress from = (InternetAddress) inbox.getMessage(1).getFrom()[0];
            assertThat(from.getPersonal()).isEqualTo("Real Name");
            assertThat(from.getAddress()).isEqualTo("user@example.com");
            InternetAddress to = (InternetAddress) inbox.getMessage(5).getRecipients(Message.RecipientType.TO)[0];
            assertThat(to.getPersonal()).isEqualTo("Jörg");
            assertThat(((InternetAddress) inbox.getMessage(5).getFrom()[0]).getAddress()).isEqualTo("bob@example.test");
        } finally {
            store.close();
        }
    }
}
