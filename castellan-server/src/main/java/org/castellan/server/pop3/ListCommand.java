package org.castellan.server.pop3;

import org.castellan.protocol.pop3.Pop3Command;

/** RFC 1939 §5 LIST: scan listings "n size" of one message or of all not marked deleted. */
final class ListCommand {

    private ListCommand() {}

    static void run(Pop3Session s, Pop3Command.List c) {
        Maildrop drop = s.maildrop();
        if (c.message().isPresent()) {
            switch (drop.lookup(c.message().getAsInt())) {
                case Maildrop.Lookup.Found f -> s.ok(f.message().number() + " " + f.message().size());
                case Maildrop.Lookup.Refused r -> s.err(r.reason());
            }
            return;
        }
        s.okMultiline(drop.count() + " messages (" + drop.octets() + " octets)",
                drop.live().stream().map(m -> m.number() + " " + m.size()).toList());
    }
}
