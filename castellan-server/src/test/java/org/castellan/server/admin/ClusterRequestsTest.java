package org.castellan.server.admin;

import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.AuthSettings;
import org.castellan.server.StoreCredentials;
import org.castellan.server.config.Role;
import org.castellan.server.transport.SessionRegistry;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a node's cluster requests cannot be answered without is asked for when they are set up, not at the first request. */
class ClusterRequestsTest {

    @TempDir Path tmp;

    @Test
    void requestsWithoutTheNodesSessionsAreRefusedWhenBuiltNamingThem() {
        try (EmbeddedMailStore store = EmbeddedMailStore.open(tmp.resolve("store"));
             AuthService auth = new AuthService(new StoreCredentials(store), AuthSettings.defaults(), Clock.systemUTC())) {
            SharedDirectory shared = new SharedDirectory(store, auth, List.of(), List.of(), Optional.empty(),
                    new SessionRegistry(), Clock.systemUTC());
            assertThatNullPointerException()
                    .isThrownBy(() -> new ClusterRequests(store, "node-1", Role.ALL, null, request -> null, shared))
                    .withMessage("sessions");
        }
    }
}
