package org.castellan.server.imap;

import org.castellan.protocol.imap.ImapCommand;
import org.castellan.store.MailStore;
import org.castellan.store.MailboxStatus;
import org.castellan.store.MessageMeta;
import org.castellan.store.StoreException;
import org.castellan.store.UidRange;

/** RFC 9051 §6.3.2 SELECT and §6.3.3 EXAMINE, with RFC 7162 §3.1.8 CONDSTORE. */
final class Select {

    private Select() {}

    /** RFC 9051 §2.3.2: the flags every mailbox takes; keywords too ("\*" in PERMANENTFLAGS). */
    static final String FLAGS = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft)";

    private record Opened(SelectedMailbox view, MailboxStatus status) {}

    static void run(ImapSession s, String tag, ImapCommand.Select c) {
        if (s.selected().isPresent()) {
            // RFC 9051 §6.3.2: the previous mailbox is closed even if this SELECT fails; [CLOSED] marks the switch.
            s.deselect();
            s.untagged("OK [CLOSED] Previous mailbox closed");
        }
        MailStore store = s.service().store();
        long account = s.accountId();
        s.blocking(tag, () -> {
            var mailbox = store.getMailbox(account, c.mailbox())
                    .orElseThrow(() -> StoreException.notFound("no mailbox " + c.mailbox()));
            SelectedMailbox view = new SelectedMailbox(mailbox, c.readOnly(), c.condStore());
            view.subscription(store.subscribe(mailbox.id(), s.listener(view)));
            try {
                MailboxStatus status = store.status(mailbox.id());
                view.init(store.listMessages(mailbox.id(), UidRange.all()).stream().map(MessageMeta::uid).toList());
                return new Opened(view, status);
            } catch (RuntimeException e) {
                view.close();
                throw e;
            }
        }, opened -> {
            SelectedMailbox view = opened.view();
            MailboxStatus st = opened.status();
            s.select(view);
            s.untagged(view.count() + " EXISTS");
            if (!s.rev2()) s.untagged("0 RECENT"); // RFC 3501 §6.3.1: required for IMAP4rev1 clients
            s.untagged("FLAGS " + FLAGS);
            s.untagged("OK [PERMANENTFLAGS " + (view.readOnly ? "()" : FLAGS.replace(")", " \\*)")) + "] Flags permitted");
            s.untagged("OK [UIDVALIDITY " + st.uidValidity() + "] UIDs valid");
            s.untagged("OK [UIDNEXT " + st.uidNext() + "] Predicted next UID");
            if (s.condStoreOn(view)) s.untagged("OK [HIGHESTMODSEQ " + st.highestModSeq() + "] Highest");
            // RFC 9051 §6.3.2: the mailbox's LIST line, telling the client its canonical name.
            if (s.rev2()) s.untagged("LIST () \"/\" " + ImapSession.mailboxOut(view.mailbox.name(), true));
            s.ok(tag, (view.readOnly ? "[READ-ONLY] " : "[READ-WRITE] ") + (view.readOnly ? "EXAMINE" : "SELECT") + " completed");
        });
    }
}
