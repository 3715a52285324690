package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.List;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ImapStrings;
import org.castellan.protocol.imap.ImapUrl;
import org.castellan.store.Mailbox;
import org.castellan.store.Mailboxes;
import org.castellan.store.UidRange;

/**
 * RFC 4467 §7 GENURLAUTH: authorizes URL rumps of the user's own messages with the INTERNAL
 * mechanism, making the mailbox's access key first when it has none. Every URL is checked before
 * any key is made; one bad URL makes the whole command BAD and nothing is generated.
 */
final class GenUrlAuth {

    private GenUrlAuth() {}

    /** What the store step found: the authorized URLs, or why one rump was refused. */
    private record Outcome(List<String> urls, String refusal) {}

    static void run(ImapSession s, String tag, ImapCommand.GenUrlAuth c) {
        List<ImapUrl> rumps = new ArrayList<>();
        for (ImapCommand.UrlRump r : c.rumps()) {
            if (!r.mechanism().equals(UrlAccess.INTERNAL)) {
                s.bad(tag, "Unsupported URLAUTH mechanism " + r.mechanism());
                return;
            }
            String refusal = check(s, r.url());
            if (refusal != null) {
                s.bad(tag, refusal);
                return;
            }
            rumps.add(((ImapUrl.Parsed) ImapUrl.parse(r.url())).url());
        }
        Mailboxes store = s.service().store();
        s.blocking(tag, () -> {
            List<Mailbox> mailboxes = new ArrayList<>();
            for (ImapUrl url : rumps) {
                // RFC 4467 §7 (1) and (4): an existing mailbox of the user, and a message in it.
                Mailbox m = store.getMailbox(s.accountId(), url.mailbox().orElseThrow()).orElse(null);
                if (m == null) return new Outcome(List.of(), "No such mailbox in " + url.urlAuth().orElseThrow().rump());
                boolean validity = url.uidValidity().isEmpty() || url.uidValidity().getAsLong() == m.uidValidity();
                if (!validity || store.listMessages(m.id(), UidRange.of(url.uid().getAsLong())).isEmpty()) {
                    return new Outcome(List.of(), "No such message in " + url.urlAuth().orElseThrow().rump());
                }
                mailboxes.add(m);
            }
            List<String> urls = new ArrayList<>();
            for (int i = 0; i < rumps.size(); i++) {
                String rump = rumps.get(i).urlAuth().orElseThrow().rump();
                byte[] key = store.ensureAccessKey(mailboxes.get(i).id());
                urls.add(rump + ":internal:" + UrlAccess.token(key, rump));
            }
            return new Outcome(urls, null);
        }, outcome -> {
            if (outcome.refusal() != null) {
                s.bad(tag, outcome.refusal());
                return;
            }
            StringBuilder line = new StringBuilder("GENURLAUTH");
            for (String url : outcome.urls()) line.append(' ').append(ImapStrings.quote(url));
            s.untagged(line.toString());
            s.ok(tag, "GENURLAUTH completed");
        });
    }

    /** Why a rump cannot be authorized by this session (RFC 4467 §7 (2), (3)), or null. */
    private static String check(ImapSession s, String text) {
        if (!(ImapUrl.parse(text) instanceof ImapUrl.Parsed(ImapUrl url))) return "Invalid IMAP URL " + text;
        if (url.form() != ImapUrl.Form.ABSOLUTE || !url.messagePart() || url.urlAuth().isEmpty()) {
            return "GENURLAUTH needs an absolute URL of a message with ;URLAUTH=access";
        }
        if (url.urlAuth().get().verified()) return "GENURLAUTH takes a URL without mechanism and token";
        if (!UrlAccess.ourHost(s.service(), url)) return "The URL names another server";
        // RFC 4467 §7 (2): the user of the URL owns the key; only the user's own messages are authorized.
        var user = url.server().orElseThrow().user();
        if (user.isEmpty() || !UrlAccess.sameAccount(user.get(), s.account())) return "The URL must name the logged-in user";
        return null;
    }
}
