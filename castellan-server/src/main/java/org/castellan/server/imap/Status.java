package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.List;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.store.Flags;
import org.castellan.store.Mailbox;
import org.castellan.store.Mailboxes;
import org.castellan.store.StoreException;
import org.castellan.store.UidRange;

/**
 * RFC 9051 §6.3.11 STATUS, with RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ and RFC 9208 §4.1.4
 * DELETED-STORAGE.
 */
final class Status {

    private Status() {}

    static final java.util.Set<String> ITEMS = java.util.Set.of("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
            "DELETED", "SIZE", "HIGHESTMODSEQ", "RECENT", "DELETED-STORAGE");

    static void run(ImapSession s, String tag, ImapCommand.Status c) {
        for (String item : c.items()) {
            if (!ITEMS.contains(item)) {
                s.bad(tag, "Unknown STATUS item " + item);
                return;
            }
        }
        Mailboxes store = s.service().store();
        s.blocking(tag, () -> {
            Mailbox m = store.getMailbox(s.accountId(), c.mailbox()).orElseThrow(() -> StoreException.notFound("no mailbox"));
            return line(store, m, c.items(), s.utf8Names());
        }, line -> {
            s.untagged(line);
            s.ok(tag, "STATUS completed");
        });
    }

    /** Blocking: the {@code STATUS name (...)} line. */
    static String line(Mailboxes store, Mailbox m, List<String> items, boolean utf8) {
        var st = store.status(m.id());
        List<String> out = new ArrayList<>();
        for (String item : items) {
            long value = switch (item) {
                case "MESSAGES" -> st.messages();
                case "UIDNEXT" -> st.uidNext();
                case "UIDVALIDITY" -> st.uidValidity();
                case "UNSEEN" -> st.unseen();
                case "SIZE" -> st.totalSize();
                case "HIGHESTMODSEQ" -> st.highestModSeq();
                case "DELETED" -> store.listMessages(m.id(), UidRange.all()).stream()
                        .filter(x -> x.flags().contains(Flags.DELETED)).count();
                // RFC 9208 §4.1.4: what EXPUNGE would free, in the STORAGE unit, rounded up.
                case "DELETED-STORAGE" -> (store.listMessages(m.id(), UidRange.all()).stream()
                        .filter(x -> x.flags().contains(Flags.DELETED)).mapToLong(x -> x.size()).sum()
                        + GetQuota.STORAGE_UNIT - 1) / GetQuota.STORAGE_UNIT;
                // RFC 3501 §6.3.10: the messages no session has claimed as recent yet (RFC 9051 has no RECENT).
                case "RECENT" -> store.listMessages(m.id(), new UidRange(store.firstRecentUid(m.id()), Long.MAX_VALUE)).size();
                default -> 0;
            };
            out.add(item + " " + value);
        }
        return "STATUS " + ImapSession.mailboxOut(m.name(), utf8) + " (" + String.join(" ", out) + ")";
    }
}
