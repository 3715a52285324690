package org.castellan.store.queue;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;

/**
 * A message to enqueue, with its envelope as accepted by submission (RFC 5321 §4.1.1.2, RFC 3461,
 * RFC 6152, RFC 6531, RFC 8689).
 *
 * @param sender the reverse-path; empty for the null reverse-path {@code <>}, which never gets a
 *     notification (RFC 5321 §4.5.5)
 * @param submitter the account that submitted the message, when one did
 * @param receivedFrom who handed it over, for the operator's view (client host and address)
 * @param tlsReport a TLS report of the server's own (RFC 8460 §3: delivered despite TLS failures)
 */
public record NewQueuedMessage(
        String sender,
        Optional<String> envid,
        Dsn.Ret ret,
        SmtpCommand.Body body,
        boolean smtpUtf8,
        boolean requireTls,
        Optional<String> submitter,
        String receivedFrom,
        Instant arrival,
        List<NewQueuedRecipient> recipients,
        boolean tlsReport) {

    /** Any message but a TLS report. */
    public NewQueuedMessage(String sender, Optional<String> envid, Dsn.Ret ret, SmtpCommand.Body body, boolean smtpUtf8,
            boolean requireTls, Optional<String> submitter, String receivedFrom, Instant arrival,
            List<NewQueuedRecipient> recipients) {
        this(sender, envid, ret, body, smtpUtf8, requireTls, submitter, receivedFrom, arrival, recipients, false);
    }

    public NewQueuedMessage {
        recipients = List.copyOf(recipients);
        if (recipients.isEmpty()) throw new IllegalArgumentException("a queued message needs a recipient");
    }
}
