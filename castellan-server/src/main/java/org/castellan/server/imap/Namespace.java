package org.castellan.server.imap;

/** RFC 9051 §6.3.10 NAMESPACE: one personal namespace, no shared or other users' yet. */
final class Namespace {

    private Namespace() {}

    static void run(ImapSession s, String tag) {
        s.untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
        s.ok(tag, "NAMESPACE completed");
    }
}
