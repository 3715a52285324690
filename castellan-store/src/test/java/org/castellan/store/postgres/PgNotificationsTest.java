package org.castellan.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.castellan.store.AccountEvent;
import org.castellan.store.StoreEvent;
import org.junit.jupiter.api.Test;

/** The payload other nodes read: every kind of event comes back equal, names with spaces and all. */
class PgNotificationsTest {

    @Test
    void everyEventKindSurvivesTheTrip() {
        List<AccountEvent> events = List.of(
                new AccountEvent.MailboxChanged(7, new StoreEvent.MessageAdded(3, new TreeSet<>(List.of(1L, 2L, 3L, 9L)), 12,
                        Set.of("$Work", "$Late"))),
                new AccountEvent.MailboxChanged(7, new StoreEvent.MessageAdded(3, new TreeSet<>(List.of(10L)), 13)),
                new AccountEvent.MailboxChanged(7, new StoreEvent.FlagsChanged(3, new TreeSet<>(List.of(4L, 6L, 7L)), 14)),
                new AccountEvent.MailboxChanged(7, new StoreEvent.MessagesExpunged(3, new TreeSet<>(List.of(1L)), 15)),
                new AccountEvent.MailboxChanged(7, new StoreEvent.MailboxRenamed(4, "Old stuff/2024", "Archive/Old stuff")),
                new AccountEvent.MailboxChanged(7, new StoreEvent.MailboxDeleted(5, "Déjà vu")),
                new AccountEvent.MailboxCreated(7, 6, "New one"),
                new AccountEvent.SubscriptionChanged(7, "Not there", true),
                new AccountEvent.SubscriptionChanged(7, "Gone", false));

        assertThat(PgNotifications.decode(PgNotifications.encode(events))).isEqualTo(events);
    }

    @Test
    void uidSetsTravelAsRanges() {
        assertThat(PgNotifications.uids(new TreeSet<>(List.of(1L, 2L, 3L, 5L, 7L, 8L)))).isEqualTo("1:3,5,7:8");
        assertThat(PgNotifications.uids("1:3,5,7:8")).containsExactly(1L, 2L, 3L, 5L, 7L, 8L);
        assertThat(PgNotifications.uids(new TreeSet<>())).isEmpty();
    }
}
