package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.FlagOperation;
import org.castellan.store.FlagUpdate;
import org.castellan.store.Flags;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;

/**
 * RFC 9051 §6.4.6 STORE and UID STORE, with RFC 7162 §3.1.3 UNCHANGEDSINCE and the MODIFIED
 * response code. Without .SILENT every named message's flags are returned; with .SILENT and
 * UNCHANGEDSINCE each changed message's new MODSEQ still is.
 */
final class StoreCommand {

    private StoreCommand() {}

    /** One message's flags for the untagged FETCH of a STORE without .SILENT. */
    private record Item(long uid, java.util.Set<String> flags, long modSeq) {}

    private record Done(FlagUpdate update, List<Item> items) {}

    static void run(ImapSession s, String tag, ImapCommand.Store c) {
        SelectedMailbox view = s.selected().orElseThrow();
        SortedSet<Long> uids = view.resolve(c.set(), c.uid());
        if (uids == null) {
            s.bad(tag, "Invalid message sequence number");
            return;
        }
        if (view.readOnly) {
            s.no(tag, "READ-ONLY", "Mailbox is read-only");
            return;
        }
        if (uids.isEmpty()) {
            s.finish(tag, "OK STORE completed", c.uid());
            return;
        }
        FlagOperation op = switch (c.mode()) {
            case ADD -> FlagOperation.ADD;
            case REMOVE -> FlagOperation.REMOVE;
            case REPLACE -> FlagOperation.REPLACE;
        };
        var store = s.service().store();
        long id = view.mailbox.id();
        s.blocking(tag, () -> {
            FlagUpdate u = store.storeFlags(id, uids, op, Flags.normalize(c.flags()), c.unchangedSince());
            for (FlagUpdate.Changed ch : u.changed()) view.ownModSeq(ch.modSeq());
            if (c.silent() && c.unchangedSince().isEmpty()) return new Done(u, List.of());
            // The update says what the changed messages now carry; only the others are read back.
            java.util.SortedMap<Long, Item> items = new java.util.TreeMap<>();
            for (FlagUpdate.Changed ch : u.changed()) items.put(ch.uid(), new Item(ch.uid(), ch.flags(), ch.modSeq()));
            SortedSet<Long> rest = new java.util.TreeSet<>(uids);
            rest.removeAll(items.keySet());
            if (!rest.isEmpty() && !c.silent()) {
                for (MessageMeta m : store.listMessages(id, new UidRange(rest.first(), rest.last()))) {
                    if (rest.contains(m.uid())) items.put(m.uid(), new Item(m.uid(), m.flags(), m.modSeq()));
                }
            }
            return new Done(u, List.copyOf(items.values()));
        }, done -> {
            // RFC 9051 §7.3.5: a keyword new to the mailbox is announced before a FETCH carries it.
            boolean newKeywords = false;
            for (FlagUpdate.Changed ch : done.update().changed()) newKeywords |= view.learnKeywords(ch.flags());
            if (newKeywords) s.announceFlags(view);
            for (Item m : done.items()) {
                int msn = view.msnOf(m.uid());
                if (msn <= 0) continue;
                // RFC 7162 §3.1.3: a conditional STORE tells each message it changed of its new
                // MODSEQ "even if the .SILENT suffix is specified", so the client's cache stays right.
                String item = c.silent() ? "UID " + m.uid() + " MODSEQ (" + m.modSeq() + ")"
                        : s.flagsItem(m.uid(), m.flags(), m.modSeq(), view);
                s.untagged(msn + " FETCH (" + item + ")");
            }
            String code = "";
            if (!done.update().notModified().isEmpty()) {
                List<Long> failed = new ArrayList<>();
                for (long uid : done.update().notModified()) failed.add(c.uid() ? uid : view.msnOf(uid));
                code = "[MODIFIED " + SequenceSet.compact(failed) + "] ";
            }
            s.finish(tag, "OK " + code + "STORE completed", c.uid());
        });
    }
}
