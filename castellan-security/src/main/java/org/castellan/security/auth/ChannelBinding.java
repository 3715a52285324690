package org.castellan.security.auth;

import java.util.Objects;

/**
 * TLS channel-binding data for SCRAM-SHA-256-PLUS (RFC 5802 §6).
 *
 * @param type {@value #TLS_EXPORTER} (RFC 9266, TLS 1.3) or {@value #TLS_SERVER_END_POINT}
 *     (RFC 5929 §4, TLS 1.2)
 * @param data the binding bytes the TLS engine produced for this connection
 */
public record ChannelBinding(String type, byte[] data) {

    /** RFC 9266 §2: the binding for TLS 1.3, where tls-unique is undefined. */
    public static final String TLS_EXPORTER = "tls-exporter";
    /** RFC 5929 §4: the hash of the server certificate, usable on TLS 1.2. */
    public static final String TLS_SERVER_END_POINT = "tls-server-end-point";

    public ChannelBinding {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        if (!type.equals(TLS_EXPORTER) && !type.equals(TLS_SERVER_END_POINT)) {
            throw new IllegalArgumentException("unsupported channel binding type '" + type + "'; expected "
                    + TLS_EXPORTER + " or " + TLS_SERVER_END_POINT);
        }
        if (data.length == 0) throw new IllegalArgumentException("the channel binding data is empty");
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    @Override
    public String toString() {
        return "ChannelBinding[" + type + "]";
    }
}
