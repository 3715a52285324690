package org.castellan.server.pop3;

import java.util.ArrayList;
import java.util.List;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Directory;
import org.castellan.store.Mailbox;
import org.castellan.store.Mailboxes;
import org.castellan.store.MessageMeta;
import org.castellan.store.StoreException;
import org.castellan.store.UidRange;

/**
 * An account's INBOX as one POP3 session sees it: a snapshot taken at login, numbered 1..n in
 * UID order (RFC 1939 §5), with the session's deletion marks. Messages delivered later appear in
 * the next session; deletions reach the store only in the UPDATE state. Event-loop confined.
 */
final class Maildrop {

    /** One message of the snapshot; {@code size} is in octets as sent, with CRLF line ends. */
    record Message(int number, long uid, long size) {
    }

    /** What a message number names: a message, or why it names none. */
    sealed interface Lookup {
        record Found(Message message) implements Lookup {
        }

        record Refused(String reason) implements Lookup {
        }
    }

    private final long mailboxId;
    private final long uidValidity;
    private final List<Message> messages;
    private final boolean[] deleted;

    private Maildrop(long mailboxId, long uidValidity, List<Message> messages) {
        this.mailboxId = mailboxId;
        this.uidValidity = uidValidity;
        this.messages = List.copyOf(messages);
        this.deleted = new boolean[messages.size()];
    }

    /**
     * Blocking: reads the account's INBOX from the store.
     *
     * @throws StoreException if the account or its INBOX is gone, or the store is unavailable
     */
    static Maildrop load(Directory directory, Mailboxes store, WireSizes sizes, String account) {
        var address = EmailAddress.of(account);
        long accountId = directory.getAccount(address)
                .orElseThrow(() -> StoreException.notFound("account " + account + " does not exist")).id();
        Mailbox inbox = store.getMailbox(accountId, "INBOX")
                .orElseThrow(() -> StoreException.notFound("account " + account + " has no INBOX"));
        List<MessageMeta> metas = store.listMessages(inbox.id(), UidRange.all());
        List<Message> messages = new ArrayList<>(metas.size());
        for (MessageMeta m : metas) {
            messages.add(new Message(messages.size() + 1, m.uid(), sizes.size(store, inbox.id(), m)));
        }
        return new Maildrop(inbox.id(), inbox.uidValidity(), messages);
    }

    long mailboxId() {
        return mailboxId;
    }

    Lookup lookup(int number) {
        if (number < 1 || number > messages.size()) return new Lookup.Refused("No such message");
        if (deleted[number - 1]) return new Lookup.Refused("Message " + number + " already deleted");
        return new Lookup.Found(messages.get(number - 1));
    }

    /** The messages not marked deleted, in number order. */
    List<Message> live() {
        List<Message> out = new ArrayList<>();
        for (Message m : messages) {
            if (!deleted[m.number() - 1]) out.add(m);
        }
        return out;
    }

    int count() {
        return live().size();
    }

    long octets() {
        return live().stream().mapToLong(Message::size).sum();
    }

    void delete(Message m) {
        deleted[m.number() - 1] = true;
    }

    /** RFC 1939 §5 RSET. */
    void undeleteAll() {
        java.util.Arrays.fill(deleted, false);
    }

    List<Long> deletedUids() {
        List<Long> out = new ArrayList<>();
        for (Message m : messages) {
            if (deleted[m.number() - 1]) out.add(m.uid());
        }
        return out;
    }

    /**
     * RFC 1939 §7 UIDL: the same message keeps its id across sessions and restarts, and a
     * recreated mailbox (new UIDVALIDITY) never repeats one. Printable ASCII, at most 41 octets.
     */
    String uniqueId(Message m) {
        return uidValidity + "." + m.uid();
    }
}
