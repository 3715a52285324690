package org.castellan.server.smtp;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.Mailbox;
import org.castellan.server.transport.MessageSpool;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.QueuedMessage;

/**
 * The end of a message on an edge's MX listener (docs/roles.md §3): the recipients were checked
 * against the directory at RCPT; the message, with the edge's Received field, goes into the edge's
 * relay queue on its own disk, and the 250 is written only once that returned, i.e. once it is
 * durable (docs/design.md §4). The queue's delivery takes it to each recipient's mailbox node,
 * which runs its own delivery-time checks (SPF, DKIM, DMARC, quota) as for mail it took itself.
 *
 * <p>The queue keeps, as where the message came from, the client's address and its EHLO domain,
 * which the delivery asserts to the node ({@link #receivedFrom}).
 */
final class EdgeQueueing {

    private EdgeQueueing() {}

    static void queue(SmtpSession s, SmtpService.RelayQueueing relay) {
        Transaction t = s.transaction();
        MessageSpool spool = s.takeSpool();
        String id = s.connection().logId();
        NewQueuedMessage message = new NewQueuedMessage(t.from.map(Mailbox::toString).orElse(""), t.envid, t.ret, t.body,
                t.smtpUtf8, false, Optional.empty(), receivedFrom(s.connection().remote().getAddress().getHostAddress(),
                        s.connection().remote().getPort(), s.helo()),
                s.service().clock().instant(), recipients(t));
        s.blocking(() -> {
            try (spool; InputStream content = spool.open()) {
                return relay.queue().enqueue(message, content);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the spooled message: " + e.getMessage(), e);
            }
        }, (QueuedMessage queued) -> {
            SmtpSession.log().info("{} queued {} octets for {} recipient(s) at the edge as {}", id, spool.size(),
                    t.recipients.size(), queued.id());
            relay.wake().run();
            s.resetTransaction();
            s.reply("250 2.0.0 Ok: queued as " + queued.id());
        });
    }

    /** The recipients as given at RCPT; the node follows aliases again when it delivers. */
    private static List<NewQueuedRecipient> recipients(Transaction t) {
        return t.recipients.stream().map(r -> new NewQueuedRecipient(r.address().toString(),
                r.notifyOn().orElse(EnumSet.of(Dsn.Notify.FAILURE, Dsn.Notify.DELAY)), r.orcpt())).toList();
    }

    /** "ADDRESS PORT EHLO-DOMAIN": what the queue keeps of where a message came from. */
    static String receivedFrom(String address, int port, String ehlo) {
        return address + " " + port + " " + ehlo;
    }
}
