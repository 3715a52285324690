package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.3.9 LIST (with LIST-EXTENDED options, RFC 6154 attributes), RFC 3501 LSUB. */
class ListTest extends ServerPerTest {

    @Test
    void listWithAttributes() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a0 CREATE Work/Projects/Castellan
                    S: a0 OK CREATE completed
                    C: a1 LIST "" ""
                    S: \\* LIST \\(\\\\Noselect\\) "/" ""
                    S: a1 OK LIST completed
                    C: a2 LIST "" %
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Archive\\) "/" Archive
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Drafts\\) "/" Drafts
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Junk\\) "/" Junk
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Sent\\) "/" Sent
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Trash\\) "/" Trash
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Work
                    S: a2 OK LIST completed
                    C: a3 LIST Work/ *
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Work/Projects
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Work/Projects/Castellan
                    S: a3 OK LIST completed
                    C: a4 LIST (SPECIAL-USE) "" * RETURN (SUBSCRIBED STATUS (MESSAGES))
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed \\\\Archive\\) "/" Archive
                    S: \\* STATUS Archive \\(MESSAGES 0\\)
                    S: \\* LIST .* Drafts
                    S: \\* STATUS Drafts .*
                    S: \\* LIST .* Junk
                    S: \\* STATUS Junk .*
                    S: \\* LIST .* Sent
                    S: \\* STATUS Sent .*
                    S: \\* LIST .* Trash
                    S: \\* STATUS Trash .*
                    S: a4 OK LIST completed
                    C: a5 LIST "" inbox
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: a5 OK LIST completed
                    C: a6 LIST (RECURSIVEMATCH) "" *
                    S: a6 BAD RECURSIVEMATCH needs another selection option
                    C: a7 LIST (FROB) "" *
                    S: a7 BAD Unknown LIST selection option FROB
                    """);
        }
    }

    @Test
    void subscriptionsAndLsub() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a0 CREATE Lists/imap
                    S: a0 OK CREATE completed
                    C: a1 SUBSCRIBE Lists/imap
                    S: a1 OK SUBSCRIBE completed
                    C: a2 SUBSCRIBE Gone
                    S: a2 OK SUBSCRIBE completed
                    C: a3 LSUB "" L*
                    S: \\* LSUB \\(\\) "/" Lists/imap
                    S: a3 OK LSUB completed
                    C: a4 LIST (SUBSCRIBED RECURSIVEMATCH) "" %
                    S: \\* LIST .* Archive
                    S: \\* LIST .* Drafts
                    S: \\* LIST \\(\\\\NonExistent \\\\HasNoChildren \\\\Subscribed\\) "/" Gone
                    S: \\* LIST .* INBOX
                    S: \\* LIST .* Junk
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Lists \\("CHILDINFO" \\("SUBSCRIBED"\\)\\)
                    S: \\* LIST .* Sent
                    S: \\* LIST .* Trash
                    S: a4 OK LIST completed
                    C: a5 UNSUBSCRIBE Gone
                    S: a5 OK UNSUBSCRIBE completed
                    C: a6 LSUB "" Gone
                    S: a6 OK LSUB completed
                    """);
        }
    }
}
