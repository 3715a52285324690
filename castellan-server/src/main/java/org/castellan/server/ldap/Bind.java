package org.castellan.server.ldap;

import com.unboundid.ldap.protocol.BindRequestProtocolOp;
import com.unboundid.ldap.sdk.DN;
import com.unboundid.ldap.sdk.LDAPException;
import com.unboundid.ldap.sdk.ResultCode;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.castellan.protocol.sasl.Utf8;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.SaslStep;
import org.castellan.server.transport.Connection;

/**
 * The bind operation (RFC 4511 §4.2, RFC 4513 §5.1): an empty name and password are anonymous;
 * a name with an empty password (an unauthenticated bind) is refused; a name and password are
 * checked by AuthService as a password login of protocol {@value #PROTOCOL}, for the account the
 * name stands for: an entry of this directory ({@code mail=<address>,ou=people,<base>}) or the
 * bare address. SASL is not offered.
 */
final class Bind {

    /** The protocol name AuthService logs and limits binds under. */
    static final String PROTOCOL = "ldap";
    /** The only LDAP version spoken (RFC 4511 §4.2). */
    private static final int VERSION = 3;

    /** What a bind comes to: the result, and the account when it succeeded as one. */
    record Outcome(ResultCode code, String message, Optional<SaslStep.Success> account) {
        static CompletionStage<Outcome> now(ResultCode code, String message) {
            return CompletableFuture.completedFuture(new Outcome(code, message, Optional.empty()));
        }
    }

    private final AuthService auth;
    private final DirectoryTree tree;

    Bind(AuthService auth, DirectoryTree tree) {
        this.auth = auth;
        this.tree = tree;
    }

    /** The outcome of {@code request} on {@code connection}; completes on AuthService's threads. */
    CompletionStage<Outcome> run(Connection connection, BindRequestProtocolOp request) {
        if (request.getVersion() != VERSION) return Outcome.now(ResultCode.PROTOCOL_ERROR, "only LDAPv3 is supported");
        if (request.getCredentialsType() != BindRequestProtocolOp.CRED_TYPE_SIMPLE) {
            return Outcome.now(ResultCode.AUTH_METHOD_NOT_SUPPORTED, "only simple binds are supported");
        }
        String name = request.getBindDN();
        byte[] password = request.getSimplePassword().getValue();
        if (name.isEmpty() && password.length == 0) return Outcome.now(ResultCode.SUCCESS, null);
        if (password.length == 0) {
            return Outcome.now(ResultCode.UNWILLING_TO_PERFORM, "unauthenticated binds are not allowed"); // RFC 4513 §5.1.2
        }
        // RFC 4513 §6.3.3: a password only where the connection is confidential.
        if (connection.clientTls().isEmpty()) return Outcome.now(ResultCode.CONFIDENTIALITY_REQUIRED, "a password needs TLS");
        Optional<String> account = account(name);
        char[] chars = Utf8.decode(password, 0, password.length);
        Arrays.fill(password, (byte) 0);
        if (account.isEmpty() || chars == null) return Outcome.now(ResultCode.INVALID_CREDENTIALS, null);
        try {
            return auth.login(connection.authContext(PROTOCOL), account.get(), chars, "SIMPLE").thenApply(Bind::outcome);
        } finally {
            Arrays.fill(chars, '\0');
        }
    }

    private static Outcome outcome(SaslStep step) {
        return switch (step) {
            case SaslStep.Success s -> new Outcome(ResultCode.SUCCESS, null, Optional.of(s));
            case SaslStep.Failure f -> new Outcome(switch (f.kind()) {
                case ENCRYPTION_REQUIRED -> ResultCode.CONFIDENTIALITY_REQUIRED;
                case TEMPORARY -> ResultCode.BUSY; // the limiter: try later (RFC 4511 §4.1.9)
                default -> ResultCode.INVALID_CREDENTIALS;
            }, null, Optional.empty());
            // A password login never asks for another step.
            case SaslStep.Challenge c -> new Outcome(ResultCode.OTHER, null, Optional.empty());
        };
    }

    /** The account a bind name stands for: an entry's address, or a bare address as Active Directory's UPN form. */
    private Optional<String> account(String name) {
        if (DN.isValidDN(name)) {
            try {
                Optional<String> address = tree.addressOf(new DN(name));
                if (address.isPresent()) return address;
            } catch (LDAPException e) {
                return Optional.empty();
            }
        }
        return name.indexOf('@') > 0 && name.indexOf('=') < 0 ? Optional.of(name) : Optional.empty();
    }
}
