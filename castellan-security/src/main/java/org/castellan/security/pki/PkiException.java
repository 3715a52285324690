package org.castellan.security.pki;

/**
 * A PKI operation failed: a file is missing, unreadable or not what it should be, or a request
 * (a name, a validity, a serial) is not acceptable. The message names the file or value and says
 * how to fix it; it never contains key material.
 */
public final class PkiException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public PkiException(String message) {
        super(message);
    }

    public PkiException(String message, Throwable cause) {
        super(message, cause);
    }
}
