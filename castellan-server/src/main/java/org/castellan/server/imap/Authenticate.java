package org.castellan.server.imap;

import java.util.Base64;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ImapParser;
import org.castellan.security.auth.FailureKind;
import org.castellan.security.auth.SaslExchange;
import org.castellan.security.auth.SaslStep;

/**
 * RFC 9051 §6.2.2 AUTHENTICATE with RFC 4959 SASL-IR: challenges go out as "+ base64", the
 * client answers one base64 line per challenge or "*" to cancel. AuthService decides which
 * mechanisms this connection may use.
 */
final class Authenticate {

    private Authenticate() {}

    static void run(ImapSession s, String tag, ImapCommand.Authenticate c) {
        s.awaitCancellable(s.service().auth().start(s.authContext(), c.mechanism(), c.initialResponse()),
                step -> step(s, tag, step), e -> unavailable(s, tag));
    }

    static void respond(ImapSession s, ImapParser.SaslLine line) {
        String tag = s.saslTag();
        SaslExchange exchange = s.takeSasl();
        var next = line.cancel() ? exchange.abort() : exchange.respond(line.data());
        s.awaitCancellable(next, step -> step(s, tag, step), e -> unavailable(s, tag));
    }

    private static void step(ImapSession s, String tag, SaslStep step) {
        switch (step) {
            case SaslStep.Challenge c -> {
                s.sasl(tag, c.exchange());
                s.write("+ " + Base64.getEncoder().encodeToString(c.data()) + "\r\n");
            }
            case SaslStep.Success ok -> {
                if (ok.serverFinal().length > 0) {
                    // RFC 9051 §6.2.2: data with success may go out as a last challenge, answered empty.
                    s.sasl(tag, SaslExchange.acknowledging(ok));
                    s.write("+ " + Base64.getEncoder().encodeToString(ok.serverFinal()) + "\r\n");
                } else {
                    s.loggedIn(tag, ok.account(), ok.mechanism());
                }
            }
            // RFC 9051 §6.2.2: a cancelled exchange ends with BAD.
            case SaslStep.Failure f when f.kind() == FailureKind.ABORTED -> s.bad(tag, "Authentication cancelled");
            case SaslStep.Failure f -> s.authFailed(tag, reply(f.kind()));
        }
    }

    private static void unavailable(ImapSession s, String tag) {
        s.write(tag + " NO [UNAVAILABLE] Authentication unavailable, try again later\r\n");
    }

    /** RFC 5530 codes; never which of user name or password was wrong. */
    static String reply(FailureKind kind) {
        return switch (kind) {
            case INVALID_CREDENTIALS -> "[AUTHENTICATIONFAILED] Authentication failed";
            case MALFORMED -> "[AUTHENTICATIONFAILED] Malformed authentication exchange";
            case MECHANISM_UNAVAILABLE -> "[CANNOT] Unsupported authentication mechanism";
            case ENCRYPTION_REQUIRED -> "[PRIVACYREQUIRED] TLS required; use STARTTLS or the IMAPS port first";
            case TEMPORARY -> "[UNAVAILABLE] Authentication temporarily unavailable, try again later";
            case ABORTED -> "Authentication cancelled";
        };
    }
}
