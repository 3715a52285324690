package org.castellan.server.cli;

import java.util.concurrent.CountDownLatch;
import org.castellan.server.Castellan;
import sun.misc.Signal;

/**
 * Keeps a started server in the foreground until SIGTERM or SIGINT, then stops it gracefully and
 * returns, so the process exits 0 (a plain shutdown hook would exit 143).
 */
final class Foreground {

    private Foreground() {
    }

    static int serveUntilSignalled(Castellan server) {
        CountDownLatch stop = new CountDownLatch(1);
        for (String name : new String[] {"TERM", "INT"}) Signal.handle(new Signal(name), s -> stop.countDown());
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server.close();
        return Main.OK;
    }
}
