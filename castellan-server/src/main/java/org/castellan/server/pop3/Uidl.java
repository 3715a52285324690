package org.castellan.server.pop3;

import org.castellan.protocol.pop3.Pop3Command;

/** RFC 1939 §7 UIDL: "n unique-id" of one message or of all not marked deleted. */
final class Uidl {

    private Uidl() {}

    static void run(Pop3Session s, Pop3Command.Uidl c) {
        Maildrop drop = s.maildrop();
        if (c.message().isPresent()) {
            switch (drop.lookup(c.message().getAsInt())) {
                case Maildrop.Lookup.Found f -> s.ok(f.message().number() + " " + drop.uniqueId(f.message()));
                case Maildrop.Lookup.Refused r -> s.err(r.reason());
            }
            return;
        }
        s.okMultiline("", drop.live().stream().map(m -> m.number() + " " + drop.uniqueId(m)).toList());
    }
}
