package org.castellan.server.imap;

import java.util.ArrayList;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.CopyResult;
import org.castellan.store.StoreException;

/** RFC 9051 §6.4.7 COPY and §6.4.8 MOVE (RFC 6851), with RFC 4315 COPYUID; UID variants. */
final class Copy {

    private Copy() {}

    static void run(ImapSession s, String tag, ImapCommand.Copy c) {
        SelectedMailbox view = s.selected().orElseThrow();
        String name = c.move() ? "MOVE" : "COPY";
        var uids = view.resolve(c.set(), c.uid());
        if (uids == null) {
            s.bad(tag, "Invalid message sequence number");
            return;
        }
        if (c.move() && view.readOnly) {
            s.no(tag, "READ-ONLY", "Mailbox is read-only");
            return;
        }
        var store = s.service().store();
        s.blocking(() -> {
            var target = store.getMailbox(s.accountId(), c.mailbox()).orElseThrow(() -> StoreException.notFound("no mailbox"));
            if (uids.isEmpty()) return new CopyResult(target.id(), target.uidValidity(), new java.util.TreeMap<>());
            return c.move() ? store.move(view.mailbox.id(), uids, target.id()) : store.copy(view.mailbox.id(), uids, target.id());
        }, r -> {
            String code = r.uids().isEmpty() ? "" : "[COPYUID " + r.targetUidValidity() + " "
                    + SequenceSet.compact(new ArrayList<>(r.uids().keySet())) + " "
                    + SequenceSet.compact(new ArrayList<>(r.uids().values())) + "] ";
            if (c.move()) {
                // RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
                if (!code.isEmpty()) s.untagged("OK " + code + "Moved");
                Expunge.reportRemoved(s, view, new ArrayList<>(r.uids().keySet()));
                s.ok(tag, "MOVE completed");
            } else if (r.uids().isEmpty()) {
                s.ok(tag, name + " completed");
            } else {
                // A copy into the selected mailbox itself: its EXISTS comes before the OK.
                long last = java.util.Collections.max(r.uids().values());
                s.afterOwnAddition(r.targetMailboxId(), last, () -> s.ok(tag, code + name + " completed"));
            }
        }, e -> s.targetFailure(tag, e));
    }
}
