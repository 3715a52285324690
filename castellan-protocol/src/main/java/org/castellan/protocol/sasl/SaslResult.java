package org.castellan.protocol.sasl;

import java.util.Objects;
import java.util.Optional;

/** What a {@link SaslServer} step produced. */
public sealed interface SaslResult {

    /** Send {@code data} to the client (it may be empty) and feed the answer to {@code respond}. */
    record Challenge(byte[] data) implements SaslResult {
        public Challenge {
            Objects.requireNonNull(data, "data");
        }
    }

    /**
     * PLAIN or LOGIN has read a user name and password; the caller checks them.
     *
     * @param authzid the requested authorization identity; empty if none
     */
    record PasswordCredentials(String authzid, String username, char[] password) implements SaslResult {
        public PasswordCredentials {
            Objects.requireNonNull(authzid, "authzid");
            Objects.requireNonNull(username, "username");
            Objects.requireNonNull(password, "password");
        }

        @Override
        public String toString() {
            return "PasswordCredentials[" + username + "]";
        }
    }

    /**
     * SCRAM needs the stored credential of {@code username}: answer with
     * {@link ScramServer#credential} or {@link ScramServer#unknownUser}.
     *
     * @param authzid the requested authorization identity; empty if none
     * @param username the name as sent, with {@code =2C}/{@code =3D} decoded, not yet SASLprepped
     */
    record NeedCredential(String authzid, String username) implements SaslResult {
        public NeedCredential {
            Objects.requireNonNull(authzid, "authzid");
            Objects.requireNonNull(username, "username");
        }
    }

    /** EXTERNAL: authenticate as the certificate's account; {@code authzid} is empty or must equal it. */
    record ExternalIdentity(String authzid) implements SaslResult {
        public ExternalIdentity {
            Objects.requireNonNull(authzid, "authzid");
        }
    }

    /**
     * SCRAM verified the client's proof.
     *
     * @param serverFinal the server-final-message ({@code v=...}) to send with the success
     */
    record Verified(String authzid, String username, byte[] serverFinal) implements SaslResult {
        public Verified {
            Objects.requireNonNull(authzid, "authzid");
            Objects.requireNonNull(username, "username");
            Objects.requireNonNull(serverFinal, "serverFinal");
        }
    }

    /**
     * OAUTHBEARER or XOAUTH2 has read a bearer token; the caller verifies it, and answers a refused
     * one with {@link BearerServer#refuse}.
     *
     * @param authzid OAUTHBEARER's {@code a=} or XOAUTH2's {@code user=}: empty, or the account the token must name
     * @param token the RFC 6750 b64token; never logged
     * @param host the {@code host} the client says it connected to, if sent
     * @param port the {@code port} the client says it connected to, if sent
     */
    record BearerToken(String authzid, String token, Optional<String> host,
            Optional<Integer> port) implements SaslResult {
        public BearerToken {
            Objects.requireNonNull(authzid, "authzid");
            Objects.requireNonNull(token, "token");
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(port, "port");
        }

        @Override
        public String toString() {
            return "BearerToken[" + authzid + "]";
        }
    }

    /**
     * A mechanism that verifies the client by itself (GSSAPI: the Kerberos ticket) has proved it
     * to be {@code principal}; the caller maps the principal to an account.
     *
     * @param authzid the requested authorization identity; empty if none
     */
    record Principal(String authzid, String principal) implements SaslResult {
        public Principal {
            Objects.requireNonNull(authzid, "authzid");
            Objects.requireNonNull(principal, "principal");
        }
    }

    /** The exchange failed; it accepts no further messages. */
    record Failed(SaslFailure reason) implements SaslResult {
        public Failed {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
