package org.castellan.server.smtp;

import java.util.Optional;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.protocol.smtp.Mailbox;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.protocol.smtp.SmtpError;
import org.castellan.store.Directory;
import org.castellan.store.Route;
import org.castellan.store.StoreException;

/**
 * MAIL (RFC 5321 §4.1.1.2). On submission the client must have authenticated (RFC 6409 §4.3)
 * and the sender must be the account's own address or an alias of it (RFC 6409 §8.1 lets the
 * server refuse rather than rewrite); on an MX listener any syntactically valid sender is taken.
 */
final class Mail {

    private Mail() {}

    static void run(SmtpSession s, SmtpCommand.Mail c) {
        if (c.size().isPresent() && c.size().getAsLong() > s.service().limits().maxMessageSize()) {
            s.error(s.tooBig()); // RFC 1870 §6.1
            return;
        }
        if (c.requireTls() && !s.submission()) {
            // RFC 8689 §4: REQUIRETLS is offered only where mail is relayed on; an MX listener delivers locally
            s.error(new SmtpError(555, "5.5.4", "Parameter REQUIRETLS not supported"));
            return;
        }
        if (c.requireTls() && !s.connection().tls().isPresent()) {
            s.error(new SmtpError(530, "5.7.10", "REQUIRETLS needs TLS")); // RFC 8689 §4.1, RFC 3463 X.7.10
            return;
        }
        if (!s.submission()) {
            accept(s, c);
            return;
        }
        Optional<String> account = s.connection().account();
        if (account.isEmpty()) {
            s.error(new SmtpError(530, "5.7.0", "Authentication required")); // RFC 4954 §6
            return;
        }
        if (c.from().isEmpty()) {
            s.error(new SmtpError(550, "5.7.1", "Sender address must be your own"));
            return;
        }
        Mailbox from = c.from().get();
        Directory directory = s.service().directory();
        Optional<Route> known = from.address().flatMap(directory::knownRoute);
        if (known.isPresent()) {
            senderChecked(s, c, from, isAccount(known.get(), account.get()));
            return;
        }
        s.blocking(() -> belongsTo(directory, from, account.get()), ok -> senderChecked(s, c, from, ok));
    }

    private static void senderChecked(SmtpSession s, SmtpCommand.Mail c, Mailbox from, boolean ok) {
        if (ok) accept(s, c).verifiedSenderKey = from.address().map(EmailAddress::key).orElse(null);
        else s.error(new SmtpError(550, "5.7.1", "Sender address <" + from + "> is not yours"));
    }

    private static Transaction accept(SmtpSession s, SmtpCommand.Mail c) {
        Transaction t = new Transaction(c.from(), c.size(), c.smtpUtf8(), c.ret(), c.envid());
        t.requireTls = c.requireTls();
        t.body = c.body();
        s.transaction(t);
        s.state(SmtpState.MAIL);
        s.reply("250 2.1.0 Ok");
        return t;
    }

    private static boolean isAccount(Route route, String account) {
        return route.account().key().equals(EmailAddress.of(account).key());
    }

    /** Whether mail to {@code address} would reach {@code account}: the account's address or an alias of it. */
    static boolean belongsTo(Directory directory, Mailbox address, String account) {
        Optional<EmailAddress> parsed = address.address();
        if (parsed.isEmpty()) return false;
        try {
            return directory.route(parsed.get()).filter(r -> isAccount(r, account)).isPresent();
        } catch (StoreException e) {
            if (e.isTemporary()) throw e;
            return false; // an alias loop leads nowhere, certainly not to this account
        }
    }
}
