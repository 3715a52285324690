package org.castellan.protocol.sasl;

import java.util.Objects;

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
