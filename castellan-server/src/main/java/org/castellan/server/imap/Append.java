package org.castellan.server.imap;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.OffsetDateTime;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.Literal;
import org.castellan.store.AppendResult;
import org.castellan.store.Flags;
import org.castellan.store.StoreException;

/**
 * RFC 9051 §6.3.12 APPEND with RFC 4315 APPENDUID. The OK goes out only once the store says the
 * message is durable (docs/design.md §4). The size limit (RFC 7889 APPENDLIMIT) is enforced by the
 * parser before the client sends the literal. The message reaches the store as a stream from
 * its {@link Literal}, which is released whatever the outcome.
 */
final class Append {

    private Append() {}

    static void run(ImapSession s, String tag, ImapCommand.Append c) {
        if (c.messages().stream().anyMatch(m -> m.utf8()) && !s.utf8Accept()) {
            // RFC 6855 §4: the UTF8 data item is for clients that enabled UTF8=ACCEPT.
            release(c);
            s.bad(tag, "APPEND UTF8 needs ENABLE UTF8=ACCEPT first");
            return;
        }
        if (c.messages().size() != 1) {
            release(c);
            s.bad(tag, "APPEND takes one message");
            return;
        }
        var store = s.service().store();
        ImapCommand.Append.Message message = c.messages().get(0);
        Instant date = message.date().map(OffsetDateTime::toInstant).orElse(null);
        s.blocking(() -> {
            try (Literal content = message.content()) {
                var flags = Flags.normalize(message.flags());
                var m = store.getMailbox(s.accountId(), c.mailbox()).orElseThrow(() -> StoreException.notFound("no mailbox"));
                return append(store, m.id(), content, flags, date);
            }
        }, r -> s.afterOwnAddition(r.mailboxId(), r.uid(),
                        () -> s.ok(tag, "[APPENDUID " + r.uidValidity() + " " + r.uid() + "] APPEND completed")),
                e -> s.targetFailure(tag, e));
    }

    private static AppendResult append(org.castellan.store.MailStore store, long mailbox, Literal content,
            java.util.Set<String> flags, Instant date) {
        try (InputStream in = content.open()) {
            return store.append(mailbox, in, flags, date);
        } catch (IOException e) {
            throw StoreException.unavailable("cannot read the APPENDed message back: " + e.getMessage(), e);
        }
    }

    /** Releases the messages of a command that will not run. */
    static void release(ImapCommand.Append c) {
        for (ImapCommand.Append.Message m : c.messages()) m.content().close();
    }
}
