package org.castellan.server.imap;

import org.castellan.protocol.link.LinkOpening;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.Relay;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An edge's IMAP login (docs/roles.md §3): the client authenticated here, and the session goes on
 * at the account's mailbox node. The tagged OK waits for the node's ready, so that a node that
 * cannot be reached is {@code NO [UNAVAILABLE]} to the login (RFC 5530 §3), never an OK and then a
 * dropped connection; its capabilities are the node's list after login (RFC 9051 §6.2.3).
 */
final class Relayed {

    private static final Logger log = LoggerFactory.getLogger(Relayed.class);

    private Relayed() {}

    static void login(ImapSession s, Relay relay, String tag, String address, String mechanism) {
        Connection client = s.connection();
        s.awaitCancellable(relay.open(client, Relay.opening(client, "imap", address, mechanism, s.clientId())), opened -> {
            switch (opened.answer()) {
                case LinkOpening.Ready ready -> {
                    client.authenticated(address, mechanism);
                    s.write(tag + " OK [CAPABILITY " + ready.text() + "] Logged in\r\n");
                    opened.splice(client, s.handOverToRelay());
                }
                case LinkOpening.Refused refused -> {
                    opened.close();
                    log.info("{} imap relay of {} refused by the node: {} {}", client.logId(), address, refused.code(),
                            refused.text());
                    if (refused.code().equals(LinkOpening.Refused.DENIED)) {
                        // RFC 5530 §3: CONTACTADMIN; the node's rules refuse the client's network, retrying will not help.
                        s.no(tag, "CONTACTADMIN", "Not allowed from your network");
                    } else {
                        // RFC 5530 §3: UNAVAILABLE, temporary.
                        s.no(tag, "UNAVAILABLE", "Mailbox temporarily unavailable, try again later");
                    }
                }
            }
        }, e -> {
            log.warn("{} imap relay of {} failed: {}", client.logId(), address, e.getMessage());
            s.no(tag, "UNAVAILABLE", "Mailbox server unavailable, try again later");
        });
    }

    /** A node's refusal as {@code closeWith} writes it. */
    static String refusal(String code, String text) {
        return new LinkOpening.Refused(code, text).line().stripTrailing();
    }
}
