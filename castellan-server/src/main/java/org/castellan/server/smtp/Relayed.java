package org.castellan.server.smtp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.protocol.smtp.SmtpError;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.Relay;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An edge's submission session (docs/roles.md §3): the client authenticated here through
 * AuthService; its first MAIL opens the link to the account's mailbox node, which runs the rest
 * of the session — sender checks, recipients, the queue — as its own, already authenticated.
 *
 * <p>The link is opened at MAIL rather than at AUTH so that a node that cannot be reached is a
 * temporary failure of the transaction (451, RFC 5321 §4.2.5 and §4.3.2 allow it for MAIL; RFC
 * 3463 4.4.1, no answer from host) that the client retries like any other, not a failed
 * authentication that would make it ask its user for the password again. The MAIL line goes to the
 * node as the first line of the splice, with whatever the client pipelined behind it; the node's
 * reply to it is the client's reply.
 */
final class Relayed {

    private static final Logger log = LoggerFactory.getLogger(Relayed.class);

    private Relayed() {}

    static void mail(SmtpSession s, Relay relay, byte[] line) {
        Connection client = s.connection();
        String account = client.account().orElseThrow();
        LinkOpening opening = Relay.opening(client, LinkOpening.SUBMISSION, account, client.mechanism().orElse(""), List.of())
                .withEhlo(s.helo());
        s.awaitCancellable(relay.open(client, opening), opened -> {
            switch (opened.answer()) {
                case LinkOpening.Ready ready -> {
                    ByteBuf unread = s.handOverToRelay();
                    ByteBuf first = Unpooled.buffer(line.length + 2 + unread.readableBytes());
                    first.writeBytes(line).writeByte('\r').writeByte('\n').writeBytes(unread);
                    unread.release();
                    opened.splice(client, first);
                }
                case LinkOpening.Refused refused -> {
                    opened.close();
                    log.info("{} smtp relay of {} refused by the node: {} {}", client.logId(), account, refused.code(),
                            refused.text());
                    s.error(new SmtpError(451, "4.3.0", "Mailbox server cannot take your mail now, try again later"));
                }
            }
        }, e -> {
            log.warn("{} smtp relay of {} failed: {}", client.logId(), account, e.getMessage());
            s.error(new SmtpError(451, "4.4.1", "Mailbox server unavailable, try again later"));
        });
    }
}
