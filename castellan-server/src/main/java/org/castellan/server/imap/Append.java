package org.castellan.server.imap;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.Literal;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.AppendResult;
import org.castellan.store.Flags;
import org.castellan.store.MailStore;
import org.castellan.store.NewMessage;
import org.castellan.store.StoreException;

/**
 * RFC 9051 §6.3.12 APPEND with RFC 3502 MULTIAPPEND and RFC 4315 APPENDUID. The OK goes out only
 * once the store says the messages are durable (docs/design.md §4); several messages are stored in
 * one transaction, all or none (RFC 3502 §6.3.11). The size limit (RFC 7889 APPENDLIMIT) is
 * enforced by the parser before the client sends a literal. The messages reach the store as
 * streams from their {@link Literal}s, which are released whatever the outcome.
 */
final class Append {

    private Append() {}

    static void run(ImapSession s, String tag, ImapCommand.Append c) {
        if (c.messages().stream().anyMatch(ImapCommand.Append.Message::utf8) && !s.utf8Accept()) {
            // RFC 6855 §4: the UTF8 data item is for clients that enabled UTF8=ACCEPT.
            release(c);
            s.bad(tag, "APPEND UTF8 needs ENABLE UTF8=ACCEPT first");
            return;
        }
        MailStore store = s.service().store();
        s.blocking(() -> {
            try {
                List<NewMessage> messages = new ArrayList<>();
                for (ImapCommand.Append.Message m : c.messages()) {
                    Instant date = m.date().map(OffsetDateTime::toInstant).orElse(null);
                    messages.add(new NewMessage(m.content()::open, Flags.normalize(m.flags()), date));
                }
                var mailbox = store.getMailbox(s.accountId(), c.mailbox()).orElseThrow(() -> StoreException.notFound("no mailbox"));
                if (messages.size() == 1) return List.of(append(store, mailbox.id(), messages.get(0)));
                return store.appendAll(mailbox.id(), messages);
            } finally {
                release(c);
            }
        }, results -> {
            AppendResult last = results.get(results.size() - 1);
            // RFC 4315 §3: APPENDUID uidvalidity uid-set; RFC 3502 §6.3.11 for several messages.
            String uids = SequenceSet.compact(results.stream().map(AppendResult::uid).toList());
            s.afterOwnAddition(last.mailboxId(), last.uid(),
                    () -> s.ok(tag, "[APPENDUID " + last.uidValidity() + " " + uids + "] APPEND completed"));
        }, e -> s.targetFailure(tag, e));
    }

    private static AppendResult append(MailStore store, long mailbox, NewMessage message) {
        try (InputStream in = message.content().open()) {
            return store.append(mailbox, in, message.flags(), message.internalDate());
        } catch (IOException e) {
            throw StoreException.unavailable("cannot read the APPENDed message back: " + e.getMessage(), e);
        }
    }

    /** Releases the messages of a command that has run or will not run. */
    static void release(ImapCommand.Append c) {
        for (ImapCommand.Append.Message m : c.messages()) m.content().close();
    }
}
