package org.castellan.server.imap;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ImapUrl;
import org.castellan.protocol.imap.Literal;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.AppendResult;
import org.castellan.store.Flags;
import org.castellan.store.Mailboxes;
import org.castellan.store.NewMessage;
import org.castellan.store.StoreException;

/**
 * RFC 9051 §6.3.12 APPEND with RFC 3502 MULTIAPPEND, RFC 4469 CATENATE and RFC 4315 APPENDUID.
 * The OK goes out only once the store says the messages are durable (docs/design.md §4); several
 * messages are stored in one transaction, all or none (RFC 3502 §6.3.11). Each message is a
 * literal or a CATENATE ({@link Catenate}); every CATENATE is checked (BADURL, TOOBIG) before
 * anything is stored (RFC 4469 §5). The size limit of a literal (RFC 7889 APPENDLIMIT) is enforced
 * by the parser before the client sends it. The messages reach the store as streams from their
 * {@link Literal}s, which are released whatever the outcome.
 */
final class Append {

    private Append() {}

    /** What the store step came to: the messages appended, or the CATENATE refusal. */
    private record Outcome(List<AppendResult> appended, Catenate.Refusal refusal) {}

    static void run(ImapSession s, String tag, ImapCommand.Append c) {
        if (c.messages().stream().anyMatch(ImapCommand.Append.Message::utf8) && !s.utf8Accept()) {
            // RFC 6855 §4: the UTF8 data item is for clients that enabled UTF8=ACCEPT.
            release(c);
            s.bad(tag, "APPEND UTF8 needs ENABLE UTF8=ACCEPT first");
            return;
        }
        boolean catenate = c.messages().stream().anyMatch(m -> m.data() instanceof ImapCommand.Append.Data.Catenated);
        ImapUrl base = Catenate.base(s);
        Instant now = Instant.now();
        Mailboxes store = s.service().store();
        s.blocking(() -> {
            try {
                var mailbox = store.getMailbox(s.accountId(), c.mailbox()).orElseThrow(() -> StoreException.notFound("no mailbox"));
                List<NewMessage> messages = new ArrayList<>();
                for (ImapCommand.Append.Message m : c.messages()) {
                    NewMessage.Content content;
                    switch (m.data()) {
                        case ImapCommand.Append.Data.Octets o -> content = o.content()::open;
                        case ImapCommand.Append.Data.Catenated cat -> {
                            Catenate.Built built = Catenate.build(s, cat, base, now);
                            if (built.refusal() != null) return new Outcome(null, built.refusal());
                            content = built.content();
                        }
                    }
                    Instant date = m.date().map(OffsetDateTime::toInstant).orElse(null);
                    messages.add(new NewMessage(content, Flags.normalize(m.flags()), date));
                }
                if (messages.size() == 1) return new Outcome(List.of(append(store, mailbox.id(), messages.get(0))), null);
                return new Outcome(store.appendAll(mailbox.id(), messages), null);
            } finally {
                release(c);
            }
        }, o -> {
            if (o.refusal() != null) {
                s.no(tag, o.refusal().code(), o.refusal().text());
                return;
            }
            List<AppendResult> results = o.appended();
            AppendResult last = results.get(results.size() - 1);
            // RFC 4315 §3: APPENDUID uidvalidity uid-set; RFC 3502 §6.3.11 for several messages.
            String uids = SequenceSet.compact(results.stream().map(AppendResult::uid).toList());
            String done = catenate ? "CATENATE completed" : "APPEND completed";
            s.afterOwnAddition(last.mailboxId(), last.uid(),
                    () -> s.ok(tag, "[APPENDUID " + last.uidValidity() + " " + uids + "] " + done));
        }, e -> s.targetFailure(tag, e));
    }

    private static AppendResult append(Mailboxes store, long mailbox, NewMessage message) {
        try (InputStream in = message.content().open()) {
            return store.append(mailbox, in, message.flags(), message.internalDate());
        } catch (IOException e) {
            throw StoreException.unavailable("cannot read the APPENDed message back: " + e.getMessage(), e);
        }
    }

    /** Releases the literals of a command that has run or will not run (a spooled one deletes its file). */
    static void release(ImapCommand.Append c) {
        for (ImapCommand.Append.Message m : c.messages()) m.literals().forEach(Literal::close);
    }
}
