package org.castellan.server.smtp;

import java.util.Base64;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.protocol.smtp.SmtpError;
import org.castellan.security.auth.AuthContext;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.FailureKind;
import org.castellan.security.auth.SaslExchange;
import org.castellan.security.auth.SaslStep;

/**
 * AUTH (RFC 4954) through {@link AuthService}, which owns the mechanisms, the cleartext policy and
 * the brute-force limiter; this class only carries the exchange over SMTP: 334 challenges in
 * base64, "*" to cancel, the initial response of SASL-IR (§4), and SCRAM's server-final data as
 * one more 334 that the client answers with an empty line (§4, "additional data with success").
 * Offered on submission listeners only.
 */
final class Auth {

    private Auth() {}

    static void run(SmtpSession s, SmtpCommand.Auth c) {
        if (!s.submission()) {
            s.error(new SmtpError(503, "5.5.1", "AUTH is not available on this listener"));
            return;
        }
        if (s.connection().account().isPresent()) {
            s.error(new SmtpError(503, "5.5.1", "Already authenticated")); // RFC 4954 §4
            return;
        }
        AuthService auth = s.service().auth();
        AuthContext ctx = s.authContext();
        if (!auth.passwordAllowed(ctx) && !c.mechanism().equals(AuthService.EXTERNAL)) {
            s.error(new SmtpError(538, "5.7.11", "Encryption required for requested authentication mechanism"));
            return;
        }
        s.mode(SmtpSession.Mode.AUTH_RESPONSE);
        s.awaitCancellable(auth.start(ctx, c.mechanism(), c.initialResponse()), step -> step(s, step), e -> failed(s, e));
    }

    /** The client's answer to a 334 challenge. */
    static void response(SmtpSession s, byte[] line) {
        SaslExchange exchange = s.sasl();
        if (exchange == null) {
            fail(s, FailureKind.MALFORMED);
            return;
        }
        if (line.length == 1 && line[0] == '*') {
            s.await(exchange.abort(), step -> fail(s, FailureKind.ABORTED), e -> fail(s, FailureKind.ABORTED));
            return;
        }
        byte[] data;
        try {
            data = Base64.getDecoder().decode(line);
        } catch (IllegalArgumentException e) {
            exchange.abort();
            fail(s, FailureKind.MALFORMED);
            return;
        }
        s.awaitCancellable(exchange.respond(data), step -> step(s, step), e -> failed(s, e));
    }

    /** An overlong response line ends the exchange. */
    static void abandon(SmtpSession s) {
        if (s.sasl() != null) s.sasl().abort();
        s.sasl(null);
        s.mode(SmtpSession.Mode.COMMAND);
    }

    private static void step(SmtpSession s, SaslStep step) {
        switch (step) {
            case SaslStep.Challenge ch -> {
                s.sasl(ch.exchange());
                s.reply("334 " + Base64.getEncoder().encodeToString(ch.data()));
            }
            case SaslStep.Success ok when ok.serverFinal().length > 0 -> {
                // RFC 4954 §4: the server-final data goes out as a last 334, answered empty.
                s.sasl(SaslExchange.acknowledging(ok));
                s.reply("334 " + Base64.getEncoder().encodeToString(ok.serverFinal()));
            }
            case SaslStep.Success ok -> succeed(s, ok);
            case SaslStep.Failure f -> fail(s, f.kind());
        }
    }

    private static void succeed(SmtpSession s, SaslStep.Success ok) {
        s.sasl(null);
        s.mode(SmtpSession.Mode.COMMAND);
        s.connection().authenticated(ok.account(), ok.mechanism());
        s.reply("235 2.7.0 Authentication successful");
    }

    private static void failed(SmtpSession s, Throwable e) {
        SmtpSession.log().warn("{} authentication error: {}", s.connection().logId(), e.toString());
        fail(s, FailureKind.TEMPORARY);
    }

    /** RFC 4954 §6 replies. */
    private static void fail(SmtpSession s, FailureKind kind) {
        s.sasl(null);
        s.mode(SmtpSession.Mode.COMMAND);
        SmtpError e = switch (kind) {
            case INVALID_CREDENTIALS -> new SmtpError(535, "5.7.8", "Authentication credentials invalid");
            case ENCRYPTION_REQUIRED -> new SmtpError(538, "5.7.11", "Encryption required for requested authentication mechanism");
            case TEMPORARY -> new SmtpError(454, "4.7.0", "Temporary authentication failure");
            case MALFORMED -> new SmtpError(501, "5.5.2", "Cannot decode response");
            case ABORTED -> new SmtpError(501, "5.0.0", "Authentication cancelled");
            case MECHANISM_UNAVAILABLE -> new SmtpError(504, "5.5.4", "Unrecognized authentication mechanism");
        };
        if (kind == FailureKind.INVALID_CREDENTIALS && s.authFailed()) {
            s.reply(e.toString());
            s.closeWith("421 4.7.0 " + s.service().hostname() + " Too many failed authentications");
            return;
        }
        s.error(e);
    }
}
