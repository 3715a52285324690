package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.List;
import org.castellan.protocol.imap.ImapCommand;

/**
 * RFC 5161 ENABLE: IMAP4rev2 (RFC 9051 §6.3.1), CONDSTORE (RFC 7162 §3.1), QRESYNC (RFC 7162
 * §3.2.3) and UTF8=ACCEPT (RFC 6855 §3); others are ignored.
 */
final class Enable {

    private Enable() {}

    static void run(ImapSession s, String tag, ImapCommand.Enable c) {
        List<String> enabled = new ArrayList<>();
        for (String cap : c.capabilities()) {
            if (cap.equals("IMAP4REV2") && !enabled.contains("IMAP4rev2")) {
                s.enableRev2();
                enabled.add("IMAP4rev2");
            } else if (cap.equals("CONDSTORE") && !enabled.contains("CONDSTORE")) {
                s.enableCondStore();
                enabled.add("CONDSTORE");
            } else if (cap.equals("QRESYNC") && !enabled.contains("QRESYNC")) {
                s.enableQResync();
                enabled.add("QRESYNC");
            } else if (cap.equals("UTF8=ACCEPT") && !enabled.contains("UTF8=ACCEPT")) {
                s.enableUtf8Accept();
                enabled.add("UTF8=ACCEPT");
            }
        }
        s.untagged("ENABLED" + (enabled.isEmpty() ? "" : " " + String.join(" ", enabled)));
        s.ok(tag, "ENABLE completed");
    }
}
