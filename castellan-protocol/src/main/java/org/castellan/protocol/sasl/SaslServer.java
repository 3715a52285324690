package org.castellan.protocol.sasl;

import java.util.Optional;

/**
 * The server side of one SASL exchange. An instance serves one exchange and is not thread-safe:
 * the caller drives it one step at a time.
 *
 * <p>Failure: client input never makes a method throw. Bad syntax, oversized or non-UTF-8
 * messages and wrong proofs are {@link SaslResult.Failed} values; so is any message after the
 * exchange ended, after which the instance only ever answers {@link SaslFailure#OUT_OF_SEQUENCE}.
 */
public interface SaslServer {

    /** The registered mechanism name (RFC 4422 §3.1). */
    String mechanism();

    /**
     * Begins the exchange. {@code initialResponse} is present when the client sent one with the
     * command (RFC 4422 §5 item 2); an empty array is an empty initial response ({@code "="}).
     */
    SaslResult start(Optional<byte[]> initialResponse);

    /** The client's answer to the last {@link SaslResult.Challenge}. */
    SaslResult respond(byte[] response);
}
