package org.castellan.server.imap;

import java.util.Optional;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.store.MailboxNames;
import org.castellan.store.SpecialUse;

/** RFC 9051 §6.3.4 CREATE, with RFC 6154 §3 USE (CREATE-SPECIAL-USE). */
final class Create {

    private Create() {}

    static void run(ImapSession s, String tag, ImapCommand.Create c) {
        String name = c.mailbox();
        // RFC 9051 §6.3.4: a trailing separator only says the client means to create children.
        while (name.length() > 1 && name.charAt(name.length() - 1) == MailboxNames.SEPARATOR) name = name.substring(0, name.length() - 1);
        Optional<SpecialUse> use = Optional.empty();
        if (c.use().size() > 1) {
            s.no(tag, "USEATTR", "Only one special use per mailbox");
            return;
        }
        if (c.use().size() == 1) {
            use = SpecialUse.fromAttribute(c.use().get(0));
            if (use.isEmpty()) {
                s.no(tag, "USEATTR", "Unknown special use " + c.use().get(0));
                return;
            }
        }
        if (name.equalsIgnoreCase(MailboxNames.INBOX)) {
            s.no(tag, "ALREADYEXISTS", "INBOX always exists");
            return;
        }
        String target = name;
        Optional<SpecialUse> specialUse = use;
        s.blocking(tag, () -> s.service().store().createMailbox(s.accountId(), target, specialUse),
                m -> s.ok(tag, "CREATE completed"));
    }
}
