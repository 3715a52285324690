package org.castellan.server.pop3;

import org.castellan.protocol.pop3.MessageEncoder;
import org.castellan.protocol.pop3.Pop3Command;

/** RFC 1939 §5 RETR: the whole message, streamed from the store. */
final class Retr {

    private Retr() {}

    static void run(Pop3Session s, Pop3Command.Retr c) {
        switch (s.maildrop().lookup(c.message())) {
            case Maildrop.Lookup.Found f -> {
                MessageStreamer.send(s, f.message(), MessageEncoder.whole(), f.message().size() + " octets");
            }
            case Maildrop.Lookup.Refused r -> s.err(r.reason());
        }
    }
}
