package org.castellan.server.pop3;

import org.castellan.protocol.pop3.Pop3Command;

/** RFC 1939 §5 DELE: only marks; the store removes the message after QUIT (UPDATE state). */
final class Dele {

    private Dele() {}

    static void run(Pop3Session s, Pop3Command.Dele c) {
        switch (s.maildrop().lookup(c.message())) {
            case Maildrop.Lookup.Found f -> {
                s.maildrop().delete(f.message());
                s.ok("Message " + c.message() + " deleted");
            }
            case Maildrop.Lookup.Refused r -> s.err(r.reason());
        }
    }
}
