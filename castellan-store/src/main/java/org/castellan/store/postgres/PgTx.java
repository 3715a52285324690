package org.castellan.store.postgres;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.castellan.store.AccountEvent;
import org.castellan.store.StoreEvent;

/** One write transaction of the PostgreSQL mailboxes: its connection and the events to publish once it commits. */
final class PgTx {

    private final Connection connection;
    final List<AccountEvent> events = new ArrayList<>();
    /** What the transaction wrote to mailboxes' messages, for this node's listings once it has committed. */
    final List<PgListings.Write> writes = new ArrayList<>();
    /** How many of {@link #events} a write of the transaction has already announced to the other nodes. */
    private int announced;

    PgTx(Connection connection) {
        this.connection = connection;
    }

    Connection connection() {
        return connection;
    }

    /** Publishes {@code event}, a change in a mailbox of {@code accountId}, once the transaction has committed. */
    void publish(long accountId, StoreEvent event) {
        events.add(new AccountEvent.MailboxChanged(accountId, event));
    }

    /** Records {@code write}, one change of a mailbox's messages under its locked row. */
    void wrote(PgListings.Write write) {
        writes.add(write);
    }

    void publish(AccountEvent event) {
        events.add(event);
    }

    /** The events no statement of the transaction has announced to the other nodes yet. */
    List<AccountEvent> unannounced() {
        return events.subList(announced, events.size());
    }

    /** The events published so far went to the other nodes with a write of the transaction. */
    void announcedAll() {
        announced = events.size();
    }
}
