package org.castellan.security.escrow;

/** A refusal of the key escrow, with a message for the operator saying what is wrong and what to do. */
public final class EscrowException extends RuntimeException {

    public EscrowException(String message) {
        super(message);
    }

    public EscrowException(String message, Throwable cause) {
        super(message, cause);
    }
}
