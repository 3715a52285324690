package org.castellan.store.queue;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;

/**
 * A message in the outbound queue, with all its recipients. {@code size} is in octets.
 *
 * @param tlsReport a TLS report of the server's own (RFC 8460 §3: delivered despite TLS failures)
 */
public record QueuedMessage(
        long id,
        String sender,
        Optional<String> envid,
        Dsn.Ret ret,
        SmtpCommand.Body body,
        boolean smtpUtf8,
        boolean requireTls,
        Optional<String> submitter,
        String receivedFrom,
        Instant arrival,
        long size,
        boolean held,
        List<QueuedRecipient> recipients,
        boolean tlsReport) {

    /** Any message but a TLS report. */
    public QueuedMessage(long id, String sender, Optional<String> envid, Dsn.Ret ret, SmtpCommand.Body body,
            boolean smtpUtf8, boolean requireTls, Optional<String> submitter, String receivedFrom, Instant arrival,
            long size, boolean held, List<QueuedRecipient> recipients) {
        this(id, sender, envid, ret, body, smtpUtf8, requireTls, submitter, receivedFrom, arrival, size, held, recipients,
                false);
    }

    public QueuedMessage {
        recipients = List.copyOf(recipients);
    }
}
