package org.castellan.security.auth.internal;

import java.io.File;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.kerberos.KerberosPrincipal;
import javax.security.auth.kerberos.KeyTab;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslException;
import org.castellan.protocol.sasl.SaslFailure;
import org.castellan.protocol.sasl.SaslResult;
import org.castellan.protocol.sasl.SaslServer;
import org.ietf.jgss.GSSException;

/**
 * GSSAPI (Kerberos V5, RFC 4752) through the JDK's own GSSAPI SASL server: the Kerberos work
 * (decrypting the ticket with the service key, checking its times and the authenticator against
 * the replay cache) is the JDK's; this class gives it the service's keys and reads its outcome
 * as a {@link SaslResult}.
 *
 * <p>Unlike the mechanisms of {@code org.castellan.protocol.sasl} this one is not pure: the first
 * token reads the keytab and the JDK's replay cache, so the caller runs it on a worker thread.
 * No JAAS configuration is read: the acceptor's credentials are a {@link Subject} holding the
 * service principal and a {@link KeyTab} bound to it, so it accepts tickets for that principal
 * only, and the JDK code runs inside {@link Subject#callAs}.
 *
 * <p>Only the "no security layer" is offered (RFC 4752 §3.3, bit 1): the session is protected by
 * TLS, and Castellan's protocol sessions have no SASL integrity or confidentiality layer.
 *
 * <p>Failure: a token the JDK refuses is a {@link SaslFailure#TOKEN_REJECTED} value, whose cause
 * {@link #refusal()} names for the log; a server without usable service keys (missing or
 * unreadable keytab, no key for the principal) throws {@link IllegalStateException}, so that the
 * client gets a temporary failure and not a counted one.
 */
public final class GssapiServer implements SaslServer {

    public static final String NAME = "GSSAPI";
    /**
     * A Kerberos AP-REQ is a few hundred octets from MIT and Heimdal; an Active Directory ticket
     * carrying a large PAC runs to about 12 KB, and Windows caps tokens at 48,000 octets
     * (MaxTokenSize); anything beyond is not a ticket.
     */
    public static final int MAX_TOKEN = 48_000;
    /** RFC 4752 §3.3: "auth" is the "no security layer" bit. */
    private static final Map<String, String> PROPERTIES = Map.of(Sasl.QOP, "auth");
    /** "... (Mechanism level: Ticket expired (32))": the last bracketed number of the JDK's message. */
    private static final Pattern KRB5_CODE = Pattern.compile("\\((\\d{1,3})\\)\\)?\\s*$");

    private final KerberosPrincipal principal;
    private final KeyTab keytab;
    private final Path keytabFile;
    private final Subject acceptor;
    private final String service;
    private javax.security.sasl.SaslServer jdk;
    private String authzid = "";
    private String refusal;
    private boolean done;

    /**
     * @param servicePrincipal the full principal tickets must be for, such as {@code imap/mail.example.org@EXAMPLE.ORG}
     * @param keytab the keytab holding its keys; read at the first token, not here
     */
    public GssapiServer(String servicePrincipal, Path keytab) {
        KerberosPrincipal principal = new KerberosPrincipal(servicePrincipal, KerberosPrincipal.KRB_NT_SRV_HST);
        this.principal = principal;
        this.keytabFile = keytab;
        this.keytab = KeyTab.getInstance(principal, new File(keytab.toString()));
        Subject subject = new Subject();
        subject.getPrincipals().add(principal);
        subject.getPrivateCredentials().add(this.keytab);
        subject.setReadOnly();
        this.acceptor = subject;
        int slash = servicePrincipal.indexOf('/');
        this.service = slash > 0 ? servicePrincipal.substring(0, slash) : servicePrincipal;
    }

    @Override
    public String mechanism() {
        return NAME;
    }

    @Override
    public SaslResult start(Optional<byte[]> initialResponse) {
        if (initialResponse.isPresent()) return respond(initialResponse.get());
        // RFC 4752 §3.1: the client speaks first; without an initial response the server's challenge is empty.
        return new SaslResult.Challenge(new byte[0]);
    }

    @Override
    public SaslResult respond(byte[] response) {
        if (done) return new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE);
        if (response.length > MAX_TOKEN) return end(new SaslResult.Failed(SaslFailure.MALFORMED));
        try {
            if (jdk == null) {
                // Checked before the token: without keys every ticket would look bad, and be counted against its client.
                if (keytab.getKeys(principal).length == 0) {
                    done = true;
                    throw new IllegalStateException("the keytab " + keytabFile + " is missing, unreadable or holds no key of "
                            + principal.getName());
                }
                // A null server name: the acceptor's credentials (the bound keytab) decide which tickets are good.
                jdk = Subject.callAs(acceptor, () -> Sasl.createSaslServer(NAME, service, null, PROPERTIES,
                        this::authorize));
            }
            byte[] challenge = Subject.callAs(acceptor, () -> jdk.evaluateResponse(response));
            if (!jdk.isComplete()) return new SaslResult.Challenge(challenge == null ? new byte[0] : challenge);
            String peer = jdk.getAuthorizationID();
            return end(new SaslResult.Principal(authzid, principalOf(peer)));
        } catch (CompletionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            GSSException gss = gssCause(cause);
            if (gss != null && gss.getMajor() == GSSException.NO_CRED) {
                done = true;
                throw new IllegalStateException("no usable key for the service principal in the keytab: "
                        + gss.getMessage(), gss);
            }
            refusal = gss != null ? "gss-major=" + gss.getMajor() + krb5Error(gss)
                    : cause instanceof SaslException ? "sasl" : cause.getClass().getSimpleName();
            return end(new SaslResult.Failed(SaslFailure.TOKEN_REJECTED));
        }
    }

    /** Why the last token was refused, for the log: the GSS major status and the Kerberos error code (RFC 4120 §7.5.9). */
    public Optional<String> refusal() {
        return Optional.ofNullable(refusal);
    }

    private SaslResult end(SaslResult result) {
        done = true;
        if (jdk != null) {
            try {
                jdk.dispose();
            } catch (SaslException ignored) {
                // Nothing is left to release that matters: the context is dropped with this object.
            }
        }
        return result;
    }

    /**
     * RFC 4752 §3.1: the client's last message names an authorization identity, or none. The JDK
     * fills in the authenticated principal when none was sent; that is recorded as "none". The
     * decision is AuthService's, after the principal is mapped to an account.
     */
    private void authorize(Callback[] callbacks) throws UnsupportedCallbackException {
        for (Callback callback : callbacks) {
            if (!(callback instanceof AuthorizeCallback ac)) throw new UnsupportedCallbackException(callback);
            String requested = ac.getAuthorizationID();
            authzid = requested == null || requested.equals(ac.getAuthenticationID()) ? "" : requested;
            ac.setAuthorized(true);
            ac.setAuthorizedID(ac.getAuthenticationID());
        }
    }

    /** The authenticated principal: the JDK hands it back as the authorization id it authorized. */
    private static String principalOf(String peer) {
        return peer == null ? "" : peer;
    }

    /**
     * The Kerberos error code (RFC 4120 §7.5.9: 31 integrity check failed, 32 ticket expired, 34
     * replay, 41 modified message, …). The JDK's Kerberos mechanism leaves the GSS minor status
     * at -1 and ends its message with the code in brackets ("Request is a replay (34)"); the
     * exception carrying it is internal to the JDK, so the code is read from the message.
     */
    private static String krb5Error(GSSException gss) {
        if (gss.getMinor() > 0) return " krb5-error=" + gss.getMinor();
        Matcher m = KRB5_CODE.matcher(String.valueOf(gss.getMessage()));
        return m.find() ? " krb5-error=" + m.group(1) : "";
    }

    private static GSSException gssCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof GSSException g) return g;
        }
        return null;
    }
}
