package org.castellan.server.pop3;

/** RFC 1939 §5 NOOP. */
final class Noop {

    private Noop() {}

    static void run(Pop3Session s) {
        s.ok("");
    }
}
