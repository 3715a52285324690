package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SortedSet;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.Flags;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;

/**
 * RFC 9051 §6.4.3 EXPUNGE and §6.4.9 UID EXPUNGE (RFC 4315). With QRESYNC the client hears
 * VANISHED instead of EXPUNGE (RFC 7162 §3.2.10); with CONDSTORE the OK carries the mailbox's
 * new HIGHESTMODSEQ (RFC 7162 §3.2.7).
 */
final class Expunge {

    private Expunge() {}

    static void run(ImapSession s, String tag, ImapCommand.Expunge c) {
        SelectedMailbox view = s.selected().orElseThrow();
        if (view.readOnly) {
            s.no(tag, "READ-ONLY", "Mailbox is read-only");
            return;
        }
        SortedSet<Long> only = c.uids().map(set -> view.resolve(set, true)).orElse(null);
        var store = s.service().store();
        s.blocking(tag, () -> {
            var uids = store.listMessages(view.mailbox.id(), UidRange.all()).stream()
                    .filter(m -> m.flags().contains(Flags.DELETED) && view.msnOf(m.uid()) > 0)
                    .map(MessageMeta::uid).filter(u -> only == null || only.contains(u)).toList();
            return uids.isEmpty() ? null : store.expungeDeleted(view.mailbox.id(), uids);
        }, removed -> {
            if (removed == null || removed.uids().isEmpty()) {
                s.ok(tag, "EXPUNGE completed");
                return;
            }
            reportRemoved(s, view, new ArrayList<>(removed.uids()));
            s.ok(tag, (s.condStoreOn(view) ? "[HIGHESTMODSEQ " + removed.modSeq() + "] " : "") + "EXPUNGE completed");
        });
    }

    /**
     * One EXPUNGE per message this session removed, highest first so numbers do not shift; with
     * QRESYNC one VANISHED naming them all (RFC 7162 §3.2.10).
     */
    static void reportRemoved(ImapSession s, SelectedMailbox view, List<Long> uids) {
        s.searchContexts().removing(s, view, uids); // RFC 5267 §4.3.4: REMOVEFROM before the EXPUNGE
        List<Long> desc = new ArrayList<>(uids);
        desc.sort(Collections.reverseOrder());
        List<Long> known = new ArrayList<>();
        for (long uid : desc) {
            int msn = view.remove(uid);
            if (msn > 0 && !s.qresync()) s.untagged(msn + " EXPUNGE");
            if (msn > 0) known.add(0, uid);
        }
        if (s.qresync() && !known.isEmpty()) s.untagged("VANISHED " + SequenceSet.compact(known));
    }
}
