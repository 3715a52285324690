package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.List;
import org.castellan.protocol.imap.ImapState;

/**
 * RFC 9051 §6.1.1 CAPABILITY. Before login, AUTH= lists what AuthService allows on this
 * connection, LOGINDISABLED appears where passwords may not be used (RFC 9051 §6.2.3), STARTTLS
 * only while it can be used.
 */
final class Capability {

    private Capability() {}

    /** Extensions every authenticated session has. */
    private static final String EXTENSIONS = "ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN LIST-EXTENDED "
            + "LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE ESEARCH SEARCHRES CONDSTORE QRESYNC STATUS=SIZE "
            + "QUOTA QUOTA=RES-STORAGE BINARY MULTIAPPEND UTF8=ACCEPT SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES NOTIFY "
            + "ESORT CONTEXT=SEARCH CONTEXT=SORT PARTIAL URLAUTH URLAUTH=BINARY CATENATE APPENDLIMIT=" + ImapSession.APPEND_LIMIT;

    static String list(ImapSession s) {
        List<String> caps = new ArrayList<>(List.of("IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID"));
        if (s.state() == ImapState.NOT_AUTHENTICATED) {
            var auth = s.service().auth();
            var ctx = s.authContext();
            if (s.startTlsAvailable()) caps.add("STARTTLS");
            if (!auth.passwordAllowed(ctx)) caps.add("LOGINDISABLED");
            for (String m : auth.mechanisms(ctx)) caps.add("AUTH=" + m);
        } else {
            caps.add(EXTENSIONS);
            // RFC 4978 §3: once per connection; not offered again while active.
            if (!s.connection().compressionActive()) caps.add("COMPRESS=DEFLATE");
        }
        return String.join(" ", caps);
    }

    static void run(ImapSession s, String tag) {
        s.untagged("CAPABILITY " + list(s));
        s.ok(tag, "CAPABILITY completed");
    }
}
