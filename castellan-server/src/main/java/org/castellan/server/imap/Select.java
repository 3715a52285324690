package org.castellan.server.imap;

import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.Flags;
import org.castellan.store.MailboxStatus;
import org.castellan.store.Mailboxes;
import org.castellan.store.MessageMeta;
import org.castellan.store.StoreException;
import org.castellan.store.UidRange;

/**
 * RFC 9051 §6.3.2 SELECT and §6.3.3 EXAMINE, with RFC 7162 §3.1.8 CONDSTORE and §3.2.5 QRESYNC:
 * a client that says what it knew (UIDVALIDITY, MODSEQ, known UIDs) hears what was expunged
 * since ({@code VANISHED (EARLIER)}) and which messages changed ({@code FETCH}), before the OK.
 */
final class Select {

    private Select() {}

    /** What the client resynchronizes: UIDs expunged since its MODSEQ, and messages changed since. */
    private record Resync(SortedSet<Long> vanished, List<MessageMeta> changed) {}

    /**
     * What the blocking part found: the view, the store's published MODSEQ when it subscribed, the
     * status, the keywords in use, the first recent UID for this session (RFC 3501 §2.3.2), the
     * sequence number of the first unseen message (0 for none) and the resync data.
     */
    private record Opened(SelectedMailbox view, long published, MailboxStatus status, java.util.Set<String> keywords,
            long firstRecent, int firstUnseen, Resync resync) {}

    /** RFC 9051 §6.3.2: the previous mailbox is closed even if this SELECT fails; [CLOSED] marks the switch. */
    static void closePrevious(ImapSession s) {
        if (s.selected().isPresent()) {
            s.deselect();
            s.untagged("OK [CLOSED] Previous mailbox closed");
        }
    }

    static void run(ImapSession s, String tag, ImapCommand.Select c) {
        if (c.qresync().isPresent() && !s.qresync()) {
            s.bad(tag, "QRESYNC parameter needs ENABLE QRESYNC first"); // RFC 7162 §3.2.5
            return;
        }
        closePrevious(s);
        Mailboxes store = s.service().store();
        long account = s.accountId();
        boolean rev1 = !s.rev2();
        s.blocking(tag, () -> {
            var mailbox = store.getMailbox(account, c.mailbox())
                    .orElseThrow(() -> StoreException.notFound("no mailbox " + c.mailbox()));
            SelectedMailbox view = new SelectedMailbox(mailbox, c.readOnly(), c.condStore() || c.qresync().isPresent());
            view.subscription(store.subscribe(mailbox.id(), s.listener(view)));
            try {
                // After subscribing: every change above this MODSEQ reaches the listener.
                long published = store.publishedModSeq(mailbox.id());
                MailboxStatus status = store.status(mailbox.id());
                List<MessageMeta> metas = store.listMessages(mailbox.id(), UidRange.all());
                view.init(metas.stream().map(MessageMeta::uid).toList(), status.uidNext());
                java.util.Set<String> keywords = new java.util.HashSet<>();
                int firstUnseen = 0;
                for (int i = 0; i < metas.size(); i++) {
                    keywords.addAll(metas.get(i).flags());
                    if (firstUnseen == 0 && !metas.get(i).flags().contains(Flags.SEEN)) firstUnseen = i + 1;
                }
                // RFC 3501 §2.3.2, §6.3.2: SELECT takes the unclaimed messages as its recent ones (an
                // IMAP4rev2 session too, silently); EXAMINE shows them without taking them.
                long firstRecent = Long.MAX_VALUE;
                long last = view.maxUid();
                if (!c.readOnly() && last > 0) firstRecent = store.claimRecent(mailbox.id(), last);
                else if (c.readOnly() && rev1) firstRecent = store.firstRecentUid(mailbox.id());
                Resync resync = null;
                // RFC 7162 §3.2.5.1: with another UIDVALIDITY the client's knowledge is void; a plain SELECT follows.
                var q = c.qresync().filter(x -> x.uidValidity() == status.uidValidity());
                if (q.isPresent()) {
                    // Every expunge is remembered, so the sequence match data of §3.2.5.2 is never needed.
                    var known = q.get().knownUids();
                    SortedSet<Long> vanished = new TreeSet<>();
                    for (long uid : store.expungedSince(mailbox.id(), q.get().modSeq())) {
                        if (known.isEmpty() || known.get().contains(uid, SequenceSet.STAR)) vanished.add(uid);
                    }
                    List<MessageMeta> changed = metas.stream().filter(m -> m.modSeq() > q.get().modSeq())
                            .filter(m -> known.isEmpty() || known.get().contains(m.uid(), SequenceSet.STAR)).toList();
                    resync = new Resync(vanished, changed);
                }
                return new Opened(view, published, status, keywords, firstRecent, firstUnseen, resync);
            } catch (RuntimeException e) {
                view.close();
                throw e;
            }
        }, opened -> {
            SelectedMailbox view = opened.view();
            MailboxStatus st = opened.status();
            s.select(view);
            view.opened(opened.published(), st.highestModSeq());
            view.learnKeywords(opened.keywords());
            s.untagged(view.count() + " EXISTS");
            if (rev1) {
                // RFC 3501 §6.3.1: RECENT is required, UNSEEN too when a message is unseen; IMAP4rev2 dropped both.
                view.recentFrom(opened.firstRecent(), view.uidsInOrder());
                s.untagged(view.recentCount() + " RECENT");
                if (opened.firstUnseen() > 0) s.untagged("OK [UNSEEN " + opened.firstUnseen() + "] First unseen message");
            }
            view.flagsLines().forEach(s::untagged);
            s.untagged("OK [UIDVALIDITY " + st.uidValidity() + "] UIDs valid");
            s.untagged("OK [UIDNEXT " + st.uidNext() + "] Predicted next UID");
            if (s.condStoreOn(view)) s.untagged("OK [HIGHESTMODSEQ " + st.highestModSeq() + "] Highest");
            // RFC 4467 §8: the URLAUTH mechanisms for this mailbox; INTERNAL carries no data, so no secret.
            s.untagged("OK [URLMECH INTERNAL] URLAUTH mechanisms");
            // RFC 9051 §6.3.2: the mailbox's LIST line, telling the client its canonical name.
            if (s.rev2()) s.untagged("LIST () \"/\" " + ImapSession.mailboxOut(view.mailbox.name(), true));
            Resync resync = opened.resync();
            if (resync != null) {
                // RFC 7162 §3.2.5: VANISHED (EARLIER) first, then the changed messages with their UID and MODSEQ.
                if (!resync.vanished().isEmpty()) {
                    s.untagged("VANISHED (EARLIER) " + SequenceSet.compact(List.copyOf(resync.vanished())));
                }
                for (MessageMeta m : resync.changed()) {
                    int msn = view.msnOf(m.uid());
                    if (msn > 0) s.untagged(msn + " FETCH (" + s.flagsItem(m, view) + ")");
                }
            }
            s.ok(tag, (view.readOnly ? "[READ-ONLY] " : "[READ-WRITE] ") + (view.readOnly ? "EXAMINE" : "SELECT") + " completed");
        });
    }
}
