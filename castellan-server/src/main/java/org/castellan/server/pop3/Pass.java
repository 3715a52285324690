package org.castellan.server.pop3;

import java.util.Arrays;
import org.castellan.protocol.pop3.Pop3Command;
import org.castellan.security.auth.SaslStep;

/** RFC 1939 §7 PASS: verified by AuthService, which also slows repeated failures. */
final class Pass {

    private Pass() {}

    static void run(Pop3Session s, Pop3Command.Pass c) {
        if (s.pendingUser().isEmpty()) {
            s.error("USER first");
            return;
        }
        String user = s.pendingUser().get();
        s.pendingUser(null);
        char[] password = c.password();
        s.awaitCancellable(s.service().auth().login(s.authContext(), user, password, "USER"), step -> {
            Arrays.fill(password, '\0');
            switch (step) {
                case SaslStep.Success ok -> s.openMaildrop(ok.account(), ok.mechanism());
                case SaslStep.Failure f -> s.authFailed(Auth.reply(f.kind()));
                case SaslStep.Challenge ch -> {
                    ch.exchange().abort();
                    s.authFailed(Auth.reply(org.castellan.security.auth.FailureKind.MALFORMED));
                }
            }
        }, e -> {
            Arrays.fill(password, '\0');
            s.err("[SYS/TEMP] Authentication unavailable, try again later");
        });
    }
}
