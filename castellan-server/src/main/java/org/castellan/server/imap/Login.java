package org.castellan.server.imap;

import java.util.Arrays;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.security.auth.FailureKind;
import org.castellan.security.auth.SaslStep;

/** RFC 9051 §6.2.3 LOGIN: verified by AuthService, which also slows repeated failures. */
final class Login {

    private Login() {}

    static void run(ImapSession s, String tag, ImapCommand.Login c) {
        char[] password = c.password();
        if (!s.service().auth().passwordAllowed(s.authContext())) {
            // docs/design.md §5.1; RFC 9051 §6.2.3: LOGINDISABLED is advertised, the command refused.
            Arrays.fill(password, '\0');
            s.write(tag + " NO [PRIVACYREQUIRED] Cleartext login not allowed here; use STARTTLS or the IMAPS port first\r\n");
            return;
        }
        s.awaitCancellable(s.service().auth().login(s.authContext(), c.user(), password, "LOGIN"), step -> {
            Arrays.fill(password, '\0');
            switch (step) {
                case SaslStep.Success ok -> s.loggedIn(tag, ok.account(), ok.mechanism());
                case SaslStep.Failure f -> s.authFailed(tag, Authenticate.reply(f.kind()));
                case SaslStep.Challenge ch -> {
                    ch.exchange().abort();
                    s.authFailed(tag, Authenticate.reply(FailureKind.MALFORMED));
                }
            }
        }, e -> {
            Arrays.fill(password, '\0');
            s.write(tag + " NO [UNAVAILABLE] Authentication unavailable, try again later\r\n");
        });
    }
}
