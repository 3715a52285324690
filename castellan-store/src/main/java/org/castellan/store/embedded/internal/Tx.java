package org.castellan.store.embedded.internal;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.castellan.store.AccountEvent;
import org.castellan.store.StoreEvent;

/**
 * One request's view of the writer's transaction: the connection, the events to publish and
 * the blobs to collect if the transaction commits.
 */
public final class Tx {

    private final Connection connection;
    final List<AccountEvent> events = new ArrayList<>();
    final List<String> unreferencedBlobs = new ArrayList<>();

    Tx(Connection connection) {
        this.connection = connection;
    }

    public Connection connection() {
        return connection;
    }

    /** Publishes {@code event}, a change in a mailbox of {@code accountId}, once the transaction has committed. */
    public void publish(long accountId, StoreEvent event) {
        events.add(new AccountEvent.MailboxChanged(accountId, event));
    }

    /** Publishes {@code event} once the transaction has committed. */
    public void publish(AccountEvent event) {
        events.add(event);
    }

    /** The blob lost its last reference: its file is removed once the transaction has committed. */
    public void blobUnreferenced(String blobId) {
        unreferencedBlobs.add(blobId);
    }
}
