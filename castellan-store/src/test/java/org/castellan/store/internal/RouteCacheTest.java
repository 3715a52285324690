package org.castellan.store.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalLong;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Route;
import org.junit.jupiter.api.Test;

class RouteCacheTest {

    private static final Route ALICE = new Route(1, EmailAddress.of("alice@example.org"), 1, OptionalLong.empty());

    @Test
    void aRouteStandsUntilAHigherDirectoryVersionIsSeen() {
        RouteCache cache = new RouteCache();
        cache.versionSeen(3);
        cache.put("alice@example.org", ALICE, cache.generation());
        cache.versionSeen(3);
        assertThat(cache.get("alice@example.org")).contains(ALICE);

        cache.versionSeen(4);
        assertThat(cache.get("alice@example.org")).isEmpty();
    }

    @Test
    void aRouteReadWhileTheDirectoryChangedIsNotKeptUnderTheNewVersion() {
        RouteCache cache = new RouteCache();
        cache.versionSeen(3);
        long readUnder = cache.generation();
        cache.versionSeen(4); // a write committed while the lookup ran
        cache.put("alice@example.org", ALICE, readUnder);
        assertThat(cache.get("alice@example.org")).isEmpty();
    }

    /**
     * The periodic recheck reads the version on a connection of its own; a read that started just
     * before an administrative write committed can report after the write has reported its own,
     * higher version. That older version is no change.
     */
    @Test
    void aLowerVersionReportedLateRetiresNothing() {
        RouteCache cache = new RouteCache();
        cache.versionSeen(3);
        cache.versionSeen(4);
        cache.put("alice@example.org", ALICE, cache.generation());

        cache.versionSeen(3);
        assertThat(cache.get("alice@example.org")).contains(ALICE);
        cache.versionSeen(4);
        assertThat(cache.get("alice@example.org")).contains(ALICE);
    }
}
