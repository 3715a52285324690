package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.castellan.server.testing.Transcript;
import org.castellan.store.AccountEvent;
import org.castellan.store.MailStore;
import org.junit.jupiter.api.Test;

/**
 * RFC 5465 NOTIFY. A second connection (or the store, as a delivery would) makes the changes; the
 * first hears of them without asking: STATUS for other mailboxes (§5.1 - §5.3), LIST for mailbox
 * names and subscriptions (§5.4, §5.5), EXISTS and FETCH for the selected mailbox (§5.2). A
 * notification the client must not get is shown absent by the one it gets next: events reach a
 * session in commit order.
 */
class NotifyTest extends ServerPerTest {

    /** RFC 5465 §3: what BADEVENT lists, the events Castellan supports. */
    private static final String BADEVENT = "\\[BADEVENT \\(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange\\)\\]";

    private long account() {
        return imap.store().getMailbox(imap.inbox).orElseThrow().accountId();
    }

    private long mailbox(String name) {
        MailStore store = imap.store();
        return store.getMailbox(account(), name).orElseGet(() -> store.createMailbox(account(), name)).id();
    }

    @Test
    void notifyIsAdvertisedAfterLogin() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 CAPABILITY
                    S: \\* CAPABILITY .* NOTIFY .*
                    S: a1 OK CAPABILITY completed
                    """);
        }
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 NOTIFY NONE
                    S: a1 BAD Command not valid in this state
                    """);
        }
    }

    /**
     * RFC 5465 §3.1's example (with errata 1804's parentheses, and MessageExpunge beside
     * MessageNew, which §5 requires): STATUS for each mailbox of the subtree before the OK, then a
     * STATUS for each change there, a FETCH with the asked-for attributes for a new message of
     * the selected mailbox, and an EXPUNGE from it as it happens.
     */
    @Test
    void theRfcExampleWatchesASubtreeAndTheSelectedMailbox() {
        mailbox("Lists/lemonade");
        imap.append(mailbox("Lists/ietf"), "Subject: ietf\r\n\r\nlist mail\r\n", Set.of());
        mailbox("misc");
        long third = uidNext();
        try (Transcript watcher = imap.selected(); Transcript actor = imap.loggedIn()) {
            watcher.run("""
                    C: b notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) \
                    MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))
                    S: \\* STATUS Lists \\(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \\d+ UNSEEN 0\\)
                    S: \\* STATUS Lists/ietf \\(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \\d+ UNSEEN 1\\)
                    S: \\* STATUS Lists/lemonade \\(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \\d+ UNSEEN 0\\)
                    S: b OK NOTIFY completed
                    """);
            actor.run("""
                    C: a1 APPEND Lists/lemonade {19+}
                    C: Subject: lemonade
                    C:
                    S: a1 OK \\[APPENDUID \\d+ 1\\] APPEND completed
                    """);
            watcher.expect("\\* STATUS Lists/lemonade \\(MESSAGES 1 UIDNEXT 2\\)");
            actor.run("""
                    C: a2 APPEND misc {15+}
                    C: Subject: misc
                    C:
                    S: a2 OK .*
                    C: a3 APPEND INBOX {56+}
                    C: From: carol@example.net
                    C: Subject: while you wait
                    C:
                    C: hi
                    C:
                    S: a3 OK .*
                    """);
            // Nothing about misc, which no group names: the next thing the watcher hears is the new message.
            watcher.run("""
                    S: \\* 3 EXISTS
                    S: \\* \\d+ RECENT
                    S: \\* 3 FETCH \\(UID %d BODY\\[HEADER.FIELDS \\(FROM TO SUBJECT\\)\\] \\{52\\}
                    S: From: carol@example.net
                    S: Subject: while you wait
                    S:
                    S: \\)
                    """.formatted(third));
            actor.send("a4 SELECT Lists/lemonade");
            while (!actor.readLine().startsWith("a4 OK ")) {
                // SELECT's untagged data; what it holds is SelectTest's concern
            }
            actor.run("""
                    C: a5 STORE 1 +FLAGS.SILENT (\\Deleted)
                    S: a5 OK .*
                    C: a6 EXPUNGE
                    S: \\* 1 EXPUNGE
                    S: a6 OK EXPUNGE completed
                    """);
            // FlagChange was not asked for: the flag change is not reported, the expunge is.
            watcher.expect("\\* STATUS Lists/lemonade \\(MESSAGES 0 UIDNEXT 2\\)");
            // SELECTED: the selected mailbox's expunge is reported at once, between commands.
            imap.store().expunge(imap.inbox, List.of(firstUid));
            watcher.expect("\\* 1 EXPUNGE");
            watcher.run("""
                    C: c NOOP
                    S: c OK NOOP completed
                    """);
        }
    }

    /**
     * RFC 5465 §5.2 with SELECTED-DELAYED (§6.1): expunges wait for a command that may report
     * them, FETCH responses for new messages follow their EXISTS, and the session's own APPEND
     * gets none.
     */
    @Test
    void selectedDelayedHoldsExpungesAndOwnAppendsGetNoFetch() {
        long sent = mailbox("Sent");
        try (Transcript watcher = imap.selected()) {
            watcher.run("""
                    C: n1 NOTIFY SET (SELECTED-DELAYED (MessageNew (FLAGS) MessageExpunge)) (PERSONAL (MessageNew MessageExpunge))
                    S: n1 OK NOTIFY completed
                    """);
            imap.store().expunge(imap.inbox, List.of(firstUid));
            imap.append(sent, "Subject: sent\r\n\r\nx\r\n", Set.of());
            // The expunge came first, yet only the STATUS may go out between commands.
            watcher.run("""
                    S: \\* STATUS Sent \\(MESSAGES 1 UIDNEXT %d\\)
                    C: n2 FETCH 1:2 (UID)
                    S: \\* 2 FETCH \\(UID %d\\)
                    S: n2 NO \\[EXPUNGEISSUED\\] .*
                    C: n3 NOOP
                    S: \\* 1 EXPUNGE
                    S: n3 OK NOOP completed
                    C: n4 APPEND INBOX {14+}
                    C: Subject: own
                    C:
                    S: \\* 2 EXISTS
                    S: \\* \\d+ RECENT
                    S: n4 OK \\[APPENDUID \\d+ \\d+\\] APPEND completed
                    C: n5 IDLE
                    S: \\+ idling
                    """.formatted(uidNext("Sent"), secondUid));
            long uid = imap.append("Subject: theirs\r\n\r\nx\r\n");
            watcher.run("""
                    S: \\* 3 EXISTS
                    S: \\* \\d+ RECENT
                    S: \\* 3 FETCH \\(UID %d FLAGS \\(\\\\Recent\\)\\)
                    C: DONE
                    S: n5 OK IDLE terminated
                    """.formatted(uid));
        }
    }

    /** RFC 5465 §5.2: the session's own APPEND to another mailbox takes nothing from the selected one's new messages. */
    @Test
    void anOwnAppendElsewhereLeavesTheSelectedMailboxsFetchesAlone() {
        long trash = mailbox("Trash");
        long sent = uidNext("Sent");
        try (Transcript watcher = imap.selected()) {
            watcher.run("""
                    C: n1 NOTIFY SET (SELECTED-DELAYED (MessageNew (FLAGS) MessageExpunge)) (PERSONAL (MessageNew MessageExpunge))
                    S: n1 OK NOTIFY completed
                    """);
            long theirs = imap.append("Subject: theirs\r\n\r\nx\r\n");
            imap.append(trash, "Subject: trash\r\n\r\nx\r\n", Set.of());
            // The Trash STATUS shows the INBOX message, committed before it, has reached the session.
            watcher.run("""
                    S: \\* STATUS Trash \\(MESSAGES 1 UIDNEXT %d\\)
                    C: n2 APPEND Sent {14+}
                    C: Subject: own
                    C:
                    S: \\* 3 EXISTS
                    S: \\* \\d+ RECENT
                    S: n2 OK \\[APPENDUID \\d+ %d\\] APPEND completed
                    S: \\* 3 FETCH \\(UID %d FLAGS \\(\\\\Recent\\)\\)
                    S: \\* STATUS Sent \\(MESSAGES 1 UIDNEXT %d\\)
                    """.formatted(uidNext("Trash"), sent, theirs, sent + 1));
        }
    }

    /**
     * RFC 5465 §5.1 - §5.3 with CONDSTORE enabled: STATUS for another mailbox carries MESSAGES and
     * UIDNEXT for a new message, UIDVALIDITY and UNSEEN for a flag change, and HIGHESTMODSEQ.
     */
    @Test
    void flagChangesElsewhereCarryUnseenAndModSeq() {
        long sent = mailbox("Sent");
        try (Transcript watcher = imap.loggedIn()) {
            watcher.run("""
                    C: e1 ENABLE CONDSTORE
                    S: \\* ENABLED CONDSTORE
                    S: e1 OK ENABLE completed
                    C: n1 NOTIFY SET (PERSONAL (MessageNew MessageExpunge FlagChange))
                    S: n1 OK NOTIFY completed
                    """);
            long uid = imap.append(sent, "Subject: sent\r\n\r\nx\r\n", Set.of());
            long added = imap.store().status(sent).highestModSeq();
            watcher.expect("\\* STATUS Sent \\(MESSAGES 1 UIDNEXT %d HIGHESTMODSEQ %d\\)".formatted(uidNext("Sent"), added));
            imap.store().storeFlags(sent, List.of(uid), org.castellan.store.FlagOperation.ADD, Set.of("\\Seen"),
                    java.util.OptionalLong.empty());
            watcher.expect("\\* STATUS Sent \\(UIDVALIDITY %d UNSEEN 0 HIGHESTMODSEQ %d\\)"
                    .formatted(imap.store().status(sent).uidValidity(), added + 1));
        }
    }

    /** RFC 5465 §5.4: created, renamed and deleted mailboxes are LIST responses, a rename with OLDNAME. */
    @Test
    void mailboxNamesAreListResponses() {
        try (Transcript watcher = imap.loggedIn(); Transcript actor = imap.loggedIn()) {
            watcher.run("""
                    C: n1 NOTIFY SET (PERSONAL (MailboxName))
                    S: n1 OK NOTIFY completed
                    """);
            actor.run("""
                    C: a1 CREATE Projects/castellan
                    S: a1 OK CREATE completed
                    """);
            watcher.run("""
                    S: \\* LIST \\(\\) "/" Projects
                    S: \\* LIST \\(\\) "/" Projects/castellan
                    """);
            actor.run("""
                    C: a2 RENAME Projects/castellan "Projects/keep safe"
                    S: a2 OK RENAME completed
                    C: a3 DELETE "Projects/keep safe"
                    S: a3 OK DELETE completed
                    """);
            watcher.run("""
                    S: \\* LIST \\(\\) "/" "Projects/keep safe" \\("OLDNAME" \\(Projects/castellan\\)\\)
                    S: \\* LIST \\(\\\\NonExistent\\) "/" "Projects/keep safe"
                    """);
        }
    }

    /**
     * RFC 5465 §5.5: a subscription change is a LIST response with \\Subscribed exactly when the
     * name is subscribed now; the SUBSCRIBED filter (§6) follows the subscriptions.
     */
    @Test
    void subscriptionChangesAreListResponsesAndMoveTheSubscribedFilter() {
        long fun = mailbox("Fun");
        try (Transcript watcher = imap.loggedIn(); Transcript actor = imap.loggedIn()) {
            watcher.run("""
                    C: n1 NOTIFY SET (SUBSCRIBED (MessageNew MessageExpunge)) (PERSONAL (SubscriptionChange))
                    S: n1 OK NOTIFY completed
                    """);
            imap.append(fun, "Subject: unwatched\r\n\r\nx\r\n", Set.of());
            actor.run("""
                    C: a1 SUBSCRIBE Fun
                    S: a1 OK SUBSCRIBE completed
                    """);
            // Fun was not subscribed when its first message came: the subscription is the next news.
            watcher.expect("\\* LIST \\(\\\\Subscribed\\) \"/\" Fun");
            imap.append(fun, "Subject: watched\r\n\r\nx\r\n", Set.of());
            watcher.expect("\\* STATUS Fun \\(MESSAGES 2 UIDNEXT 3\\)");
            actor.run("""
                    C: a2 UNSUBSCRIBE Fun
                    S: a2 OK UNSUBSCRIBE completed
                    C: a3 SUBSCRIBE Ghost
                    S: a3 OK SUBSCRIBE completed
                    """);
            watcher.run("""
                    S: \\* LIST \\(\\) "/" Fun
                    S: \\* LIST \\(\\\\NonExistent \\\\Subscribed\\) "/" Ghost
                    """);
        }
    }

    /** RFC 5465 §3: after NOTIFY NONE nothing is notified; the idling client hears only its selected mailbox. */
    @Test
    void notifyNoneStopsNotifications() {
        try (Transcript watcher = imap.selected(); Transcript actor = imap.loggedIn()) {
            watcher.run("""
                    C: n1 NOTIFY SET (PERSONAL (MailboxName MessageNew MessageExpunge))
                    S: n1 OK NOTIFY completed
                    """);
            actor.run("""
                    C: a1 CREATE Before
                    S: a1 OK CREATE completed
                    """);
            watcher.run("""
                    S: \\* LIST \\(\\) "/" Before
                    C: n2 NOTIFY NONE
                    S: n2 OK NOTIFY completed
                    C: n3 IDLE
                    S: \\+ idling
                    """);
            actor.run("""
                    C: a2 CREATE After
                    S: a2 OK CREATE completed
                    C: a3 APPEND Before {10+}
                    C: Subject:
                    C:
                    S: a3 OK .*
                    """);
            imap.append("Subject: last\r\n\r\nx\r\n");
            watcher.run("""
                    S: \\* 3 EXISTS
                    S: \\* \\d+ RECENT
                    C: DONE
                    S: n3 OK IDLE terminated
                    """);
        }
    }

    /** RFC 5465 §3, §5: unsupported events are NO [BADEVENT], broken rules BAD; neither changes what was asked before. */
    @Test
    void unsupportedEventsAndBrokenRulesAreRefused() {
        try (Transcript t = imap.loggedIn(); Transcript actor = imap.loggedIn()) {
            t.run("""
                    C: n0 NOTIFY SET (PERSONAL (MailboxName))
                    S: n0 OK NOTIFY completed
                    C: n1 NOTIFY SET (PERSONAL (MessageNew MessageExpunge AnnotationChange))
                    S: n1 NO %1$s .*
                    C: n2 NOTIFY SET (PERSONAL (MailboxMetadataChange))
                    S: n2 NO %1$s .*
                    C: n3 NOTIFY SET (INBOXES NONE) (PERSONAL (ServerMetadataChange))
                    S: n3 NO %1$s .*
                    C: n4 NOTIFY SET (SUBSCRIBED (Frobnicate))
                    S: n4 NO %1$s Event Frobnicate is not supported
                    C: n5 NOTIFY SET (PERSONAL (MessageNew))
                    S: n5 BAD MessageNew and MessageExpunge must be given together
                    C: n6 NOTIFY SET (PERSONAL (FlagChange MailboxName))
                    S: n6 BAD FlagChange and AnnotationChange need MessageNew and MessageExpunge
                    C: n7 NOTIFY SET (SELECTED (MessageNew MessageExpunge MailboxName))
                    S: n7 BAD SELECTED takes message events only, not MailboxName
                    C: n8 NOTIFY SET (SELECTED NONE) (SELECTED-DELAYED (MessageNew MessageExpunge))
                    S: n8 BAD Only one SELECTED or SELECTED-DELAYED event group is allowed
                    C: n9 NOTIFY RESET (PERSONAL NONE)
                    S: n9 BAD NOTIFY takes SET or NONE
                    """.formatted(BADEVENT));
            actor.run("""
                    C: a1 CREATE Still
                    S: a1 OK CREATE completed
                    """);
            t.expect("\\* LIST \\(\\) \"/\" Still");
        }
    }

    /**
     * Names are per account (docs/imap.md): no name reaches another account's mailboxes, so bob's
     * mail is never reported to alice, whatever she names.
     */
    @Test
    void aNotifyCannotReachAnotherAccount() {
        long third = uidNext();
        try (Transcript alice = imap.loggedIn(); Transcript bob = imap.connect("imap")) {
            alice.run("""
                    C: n1 NOTIFY SET STATUS (MAILBOXES ("bob@example.org/INBOX" "Other Users/bob/INBOX" "#user/bob/INBOX" \
                    Lost) (MessageNew MessageExpunge)) (INBOXES (MessageNew MessageExpunge)) (PERSONAL (MailboxName))
                    S: \\* STATUS INBOX \\(MESSAGES 2 UIDNEXT %d UIDVALIDITY \\d+ UNSEEN 2\\)
                    S: n1 OK NOTIFY completed
                    """.formatted(third));
            bob.run("""
                    S: \\* OK .*
                    C: b1 LOGIN %s "%s"
                    S: b1 OK .*
                    C: b2 APPEND INBOX {14+}
                    C: Subject: bob
                    C:
                    S: b2 OK .*
                    C: b3 CREATE Lost
                    S: b3 OK CREATE completed
                    """.formatted(ImapTestServer.OTHER, ImapTestServer.PASSWORD));
            imap.append("Subject: for alice\r\n\r\nx\r\n");
            alice.expect("\\* STATUS INBOX \\(MESSAGES 3 UIDNEXT %d\\)".formatted(uidNext()));
        }
    }

    /**
     * RFC 5465 §5.8: a client that does not read while notifications pile up gets
     * NOTIFICATIONOVERFLOW once, then nothing more from NOTIFY. The watcher stops reading in the
     * middle of a FETCH of a message too large for the socket buffers; meanwhile more mailboxes are
     * created than may wait.
     */
    @Test
    void aClientThatDoesNotReadGetsNotificationOverflow() {
        String line = "x".repeat(998) + "\r\n";
        String big = "Subject: big\r\n\r\n" + line.repeat(24_000);
        try (Transcript watcher = imap.selected()) {
            watcher.run("""
                    C: n1 NOTIFY SET (SELECTED (MessageNew (BODY.PEEK[]) MessageExpunge)) (PERSONAL (MailboxName))
                    S: n1 OK NOTIFY completed
                    """);
            // Registered after the watcher's: when it has heard an event, the watcher's session has been handed it.
            List<AccountEvent> heard = new CopyOnWriteArrayList<>();
            imap.store().subscribeAccount(account(), heard::add);
            long uid = imap.append(big);
            watcher.run("""
                    S: \\* 3 EXISTS
                    S: \\* \\d+ RECENT
                    S: \\* 3 FETCH \\(UID %d BODY\\[\\] \\{%d\\}
                    """.formatted(uid, size(big)));
            String deep = String.join("/", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN".split(""));
            int created = 0;
            for (int i = 0; created <= Notifier.MAX_PENDING; i++) {
                imap.store().createMailbox(account(), "n" + i + "/" + deep.substring(2));
                created += deep.split("/").length;
            }
            int expected = created;
            await().atMost(Duration.ofSeconds(20)).until(() -> heard.size() >= expected + 1);
            for (String l; !(l = watcher.readLine()).equals(")"); ) {
                assertThat(l).isIn("Subject: big", "", line.strip());
            }
            watcher.run("""
                    S: \\* OK \\[NOTIFICATIONOVERFLOW\\] .*
                    C: n2 IDLE
                    S: \\+ idling
                    """);
            imap.store().createMailbox(account(), "After");
            imap.append("Subject: small\r\n\r\nx\r\n");
            watcher.run("""
                    S: \\* 4 EXISTS
                    S: \\* \\d+ RECENT
                    C: DONE
                    S: n2 OK IDLE terminated
                    """);
        }
    }
}
