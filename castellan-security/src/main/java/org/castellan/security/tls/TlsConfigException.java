package org.castellan.security.tls;

/**
 * A TLS policy cannot be built: a certificate, key, CA or CRL file is missing or unusable, or a
 * setting cannot be honoured. The message names the file or setting and how to fix it.
 */
public final class TlsConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public TlsConfigException(String message) {
        super(message);
    }

    public TlsConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
