package org.castellan.server.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The {@code [node]} table: the node certificate this node presents on links (docs/roles.md §2),
 * issued by the node CA with {@code castellan node add NAME --role edge|mailbox}. Required on an
 * edge; on a mailbox node the link listeners present it instead of the server certificate.
 *
 * <p>The constructor throws {@code NullPointerException} if a component is null.
 */
public record NodeCertificate(Path certificate, Path key) {
    public NodeCertificate {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(key, "key");
    }
}
