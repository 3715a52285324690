package org.castellan.store;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.Set;

/**
 * One message for {@link MailStore#appendAll}: where to read its content, its flags and its
 * internal date (null for now). The store opens the content once, when it stores the message,
 * and closes the stream.
 */
public record NewMessage(Content content, Set<String> flags, Instant internalDate) {

    public NewMessage {
        flags = Set.copyOf(flags);
    }

    /** Opens the message's content; a failure fails the whole {@link MailStore#appendAll}. */
    @FunctionalInterface
    public interface Content {
        InputStream open() throws IOException;
    }
}
