package org.castellan.server.imap;

import org.castellan.protocol.imap.ImapCommand;

/**
 * RFC 4978 COMPRESS=DEFLATE: after authentication (RFC 4978 §5, command-auth), both directions
 * switch to raw DEFLATE right after the tagged OK. Only once per connection.
 */
final class Compress {

    private Compress() {}

    static void run(ImapSession s, String tag, ImapCommand.Compress c) {
        if (!c.mechanism().equals("DEFLATE")) {
            s.bad(tag, "Unknown compression mechanism; this server offers DEFLATE"); // RFC 4978 §3
            return;
        }
        if (s.connection().compressionActive()) {
            // RFC 4978 §3: NO with COMPRESSIONACTIVE (RFC 5530 §3) when it is already on.
            s.no(tag, "COMPRESSIONACTIVE", "DEFLATE is already active");
            return;
        }
        // RFC 4978 §3: the OK is the last uncompressed response; pending mailbox updates go before it.
        s.flushUpdates(() -> s.startCompression(tag));
    }
}
