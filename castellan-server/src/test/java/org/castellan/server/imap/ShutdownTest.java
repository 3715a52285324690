package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** Graceful shutdown: an idle or waiting session gets BYE (RFC 9051 §7.1.5) and is closed. */
class ShutdownTest extends ServerPerTest {

    @Test
    void idlingSessionGetsBye() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: w1 IDLE
                    S: \\+ idling
                    """);
            stopped = true;
            imap.close();
            t.run("""
                    S: \\* BYE Server shutting down, try again later
                    S: <closed>
                    """);
        }
    }
}
