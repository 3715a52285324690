package org.castellan.server.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.castellan.server.Castellan;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Keeps a started server in the foreground until SIGTERM or SIGINT, then stops it gracefully and
 * returns, so the process exits 0 (a plain shutdown hook would exit 143).
 *
 * <p>The handlers are installed before the server starts ({@link #trapStopSignals}): a signal
 * that arrives while the store opens or the listeners bind is kept, and stops the server as
 * soon as it is up. Installed only afterwards, the JVM's own handler would take such a signal
 * and end the process with 143 halfway through the start, which is what a supervisor sees when
 * it stops a service right after starting it.
 */
final class Foreground implements AutoCloseable {

    private static final String[] STOP_SIGNALS = {"TERM", "INT"};

    private final CountDownLatch stop = new CountDownLatch(1);
    private final List<Runnable> restore = new ArrayList<>();

    private Foreground() {
    }

    /** Catches SIGTERM and SIGINT from now on; {@link #close} gives them back to the JVM. */
    static Foreground trapStopSignals() {
        Foreground foreground = new Foreground();
        for (String name : STOP_SIGNALS) {
            Signal signal = new Signal(name);
            SignalHandler previous = Signal.handle(signal, s -> foreground.stop.countDown());
            foreground.restore.add(() -> Signal.handle(signal, previous));
        }
        return foreground;
    }

    /** Waits for a stop signal (at once if one came during the start), then stops {@code server} gracefully. */
    int serveUntilSignalled(Castellan server) {
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server.close();
        return Main.OK;
    }

    /** Gives the signals back, such as when the start failed and the command returns an error. */
    @Override
    public void close() {
        restore.forEach(Runnable::run);
    }
}
