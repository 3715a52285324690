package org.castellan.server.imap;

import java.time.Instant;
import java.time.OffsetDateTime;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.store.Flags;
import org.castellan.store.StoreException;

/**
 * RFC 9051 §6.3.12 APPEND with RFC 4315 APPENDUID. The OK goes out only once the store says the
 * message is durable (docs/design.md §4). The size limit (RFC 7889 APPENDLIMIT) is enforced by the
 * parser before the client sends the literal.
 */
final class Append {

    private Append() {}

    static void run(ImapSession s, String tag, ImapCommand.Append c) {
        if (c.utf8() && !s.utf8Accept()) {
            // RFC 6855 §4: the UTF8 data item is for clients that enabled UTF8=ACCEPT.
            s.bad(tag, "APPEND UTF8 needs ENABLE UTF8=ACCEPT first");
            return;
        }
        var store = s.service().store();
        Instant date = c.date().map(OffsetDateTime::toInstant).orElse(null);
        s.blocking(() -> {
            var flags = Flags.normalize(c.flags());
            var m = store.getMailbox(s.accountId(), c.mailbox()).orElseThrow(() -> StoreException.notFound("no mailbox"));
            return store.append(m.id(), c.message(), flags, date);
        }, r -> s.afterOwnAddition(r.mailboxId(), r.uid(),
                        () -> s.ok(tag, "[APPENDUID " + r.uidValidity() + " " + r.uid() + "] APPEND completed")),
                e -> s.targetFailure(tag, e));
    }
}
