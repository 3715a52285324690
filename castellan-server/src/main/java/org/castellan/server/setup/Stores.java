package org.castellan.server.setup;

import org.castellan.server.config.Store;
import org.castellan.store.MailStore;
import org.castellan.store.embedded.EmbeddedMailStore;

/**
 * Opens the mail store the configuration names ({@code [store] kind}): the one place that knows
 * the implementations, so that the server, the administration commands and {@code castellan
 * init} open the same store the same way (docs/store.md, "Scale-out: the seam"). The embedded
 * store creates and migrates its schema on opening.
 */
public final class Stores {

    private Stores() {
    }

    /** The store {@code config} describes, open; the caller closes it. */
    public static MailStore open(Store config) {
        return switch (config.kind()) {
            case EMBEDDED -> EmbeddedMailStore.open(config.directory());
        };
    }
}
