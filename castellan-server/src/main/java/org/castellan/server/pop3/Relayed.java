package org.castellan.server.pop3;

import java.util.List;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.Relay;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An edge's POP3 login (docs/roles.md §3): the client authenticated here, the maildrop is locked
 * and served by the account's mailbox node. The {@code +OK} waits for the node's ready, so that a
 * node that cannot be reached is {@code -ERR [SYS/TEMP]} to the login (RFC 3206 §4) and a maildrop
 * another session holds {@code -ERR [IN-USE]} (RFC 2449 §8.1.1).
 */
final class Relayed {

    private static final Logger log = LoggerFactory.getLogger(Relayed.class);

    private Relayed() {}

    static void login(Pop3Session s, Relay relay, String address, String mechanism) {
        Connection client = s.connection();
        s.awaitCancellable(relay.open(client, Relay.opening(client, "pop3", address, mechanism, List.of())), opened -> {
            switch (opened.answer()) {
                case LinkOpening.Ready ready -> {
                    client.authenticated(address, mechanism);
                    s.ok(ready.text());
                    opened.splice(client, s.handOverToRelay());
                }
                case LinkOpening.Refused refused -> {
                    opened.close();
                    log.info("{} pop3 relay of {} refused by the node: {} {}", client.logId(), address, refused.code(),
                            refused.text());
                    s.err(switch (refused.code()) {
                        case LinkOpening.Refused.IN_USE -> "[IN-USE] Maildrop already locked, is another POP3 session running?";
                        // RFC 3206 §5: AUTH covers an attempt in violation of policy, such as from an invalid location.
                        case LinkOpening.Refused.DENIED -> "[AUTH] Not allowed from your network";
                        default -> "[SYS/TEMP] Maildrop temporarily unavailable, try again later";
                    });
                }
            }
        }, e -> {
            log.warn("{} pop3 relay of {} failed: {}", client.logId(), address, e.getMessage());
            s.err("[SYS/TEMP] Mail server unavailable, try again later");
        });
    }
}
