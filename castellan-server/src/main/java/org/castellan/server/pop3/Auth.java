package org.castellan.server.pop3;

import java.util.Base64;
import java.util.List;
import org.castellan.protocol.pop3.Pop3Command;
import org.castellan.protocol.pop3.Pop3Parser;
import org.castellan.security.auth.FailureKind;
import org.castellan.security.auth.SaslExchange;
import org.castellan.security.auth.SaslStep;

/**
 * RFC 5034 AUTH: challenges go out as "+ base64", the client answers one base64 line per
 * challenge or "*" to cancel. AuthService decides which mechanisms this connection may use.
 */
final class Auth {

    private Auth() {}

    static void run(Pop3Session s, Pop3Command.Auth c) {
        List<String> mechanisms = s.service().auth().mechanisms(s.authContext());
        if (c.mechanism().isEmpty()) {
            // "AUTH" alone lists the mechanisms (RFC 1734 clients such as Outlook ask this way).
            s.okMultiline("", mechanisms);
            return;
        }
        s.awaitCancellable(s.service().auth().start(s.authContext(), c.mechanism().get(), c.initialResponse()),
                step -> step(s, step), e -> unavailable(s));
    }

    /** A line the client sent while an exchange was waiting for it. */
    static void respond(Pop3Session s, Pop3Parser.SaslResponse response) {
        SaslExchange exchange = s.sasl().orElseThrow();
        s.sasl(null);
        var next = switch (response) {
            case Pop3Parser.SaslCancel c -> exchange.abort();
            case Pop3Parser.SaslData d -> exchange.respond(d.data());
        };
        s.awaitCancellable(next, step -> step(s, step), e -> unavailable(s));
    }

    private static void step(Pop3Session s, SaslStep step) {
        switch (step) {
            case SaslStep.Challenge c -> {
                s.sasl(c.exchange());
                s.write("+ " + Base64.getEncoder().encodeToString(c.data()) + "\r\n");
            }
            case SaslStep.Success ok -> {
                if (ok.serverFinal().length > 0) {
                    // RFC 5034 §4: data with success goes out as one more challenge; the client
                    // answers it with an empty line, then gets the +OK.
                    s.sasl(SaslExchange.acknowledging(ok));
                    s.write("+ " + Base64.getEncoder().encodeToString(ok.serverFinal()) + "\r\n");
                } else {
                    s.openMaildrop(ok.account(), ok.mechanism());
                }
            }
            case SaslStep.Failure f when f.kind() == FailureKind.ABORTED -> s.err("Authentication cancelled");
            case SaslStep.Failure f -> s.authFailed(reply(f.kind()));
        }
    }

    private static void unavailable(Pop3Session s) {
        s.err("[SYS/TEMP] Authentication unavailable, try again later");
    }

    /** What the client is told about a failure: RFC 3206 codes, never which part was wrong. */
    static String reply(FailureKind kind) {
        return switch (kind) {
            case INVALID_CREDENTIALS -> "[AUTH] Authentication failed";
            case MALFORMED -> "Malformed authentication exchange";
            case MECHANISM_UNAVAILABLE -> "Unsupported authentication mechanism";
            case ENCRYPTION_REQUIRED -> "[AUTH] TLS required for this mechanism; use STLS or the POP3S port first";
            case TEMPORARY -> "[SYS/TEMP] Authentication temporarily unavailable, try again later";
            case ABORTED -> "Authentication cancelled";
        };
    }
}
