package org.castellan.server.pop3;

import org.castellan.protocol.pop3.MessageEncoder;
import org.castellan.protocol.pop3.Pop3Command;

/** RFC 1939 §7 TOP: the header, the blank line and the first n lines of the body. */
final class Top {

    private Top() {}

    static void run(Pop3Session s, Pop3Command.Top c) {
        switch (s.maildrop().lookup(c.message())) {
            case Maildrop.Lookup.Found f -> {
                MessageStreamer.send(s, f.message(), MessageEncoder.top(c.lines()), "Top of message follows");
            }
            case Maildrop.Lookup.Refused r -> s.err(r.reason());
        }
    }
}
