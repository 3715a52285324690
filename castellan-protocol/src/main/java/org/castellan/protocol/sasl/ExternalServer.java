package org.castellan.protocol.sasl;

import java.util.Optional;

/**
 * EXTERNAL (RFC 4422 App. A): the identity comes from outside SASL — here the verified TLS
 * client certificate — and the client sends only an authorization identity, usually empty.
 */
public final class ExternalServer implements SaslServer {

    public static final String NAME = "EXTERNAL";
    /** An authzid is an address: RFC 5321 §4.5.3.1.3 bounds a path at 256 octets. */
    public static final int MAX_AUTHZID = 256;

    private boolean done;

    @Override
    public String mechanism() {
        return NAME;
    }

    @Override
    public SaslResult start(Optional<byte[]> initialResponse) {
        if (initialResponse.isPresent()) return respond(initialResponse.get());
        // RFC 4422 App. A.1: the server's first challenge is empty.
        return new SaslResult.Challenge(new byte[0]);
    }

    @Override
    public SaslResult respond(byte[] response) {
        if (done) return new SaslResult.Failed(SaslFailure.OUT_OF_SEQUENCE);
        done = true;
        String authzid = response.length > MAX_AUTHZID ? null : Utf8.string(response, 0, response.length);
        if (authzid == null || authzid.indexOf('\0') >= 0) return new SaslResult.Failed(SaslFailure.MALFORMED);
        return new SaslResult.ExternalIdentity(authzid);
    }
}
