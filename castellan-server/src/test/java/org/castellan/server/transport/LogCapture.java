package org.castellan.server.transport;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * Collects what the server logs that a fuzzed session must never cause: anything at WARN or
 * above (an internal error, a failed listener, a store failure) and an exception that reached a
 * session's pipeline ("connection error", see {@link LineSession#exceptionCaught}) — except a
 * DEFLATE stream that does not inflate, which is how a client's garbage after COMPRESS ends the
 * connection. While installed, the per-connection INFO lines of the gate and AuthService are
 * not printed: fuzzing opens thousands of connections.
 */
final class LogCapture extends AppenderBase<ILoggingEvent> {

    private static final List<String> QUIETED = List.of("org.castellan.server.transport.ConnectionGate",
            "org.castellan.security.auth", "io.netty");

    private final List<String> seen = new ArrayList<>();
    private final Map<String, Level> levels = new HashMap<>();

    void install() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        setContext(context);
        start();
        context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(this);
        for (String name : QUIETED) {
            Logger logger = context.getLogger(name);
            levels.put(name, logger.getLevel());
            logger.setLevel(Level.WARN);
        }
    }

    void uninstall() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        context.getLogger(Logger.ROOT_LOGGER_NAME).detachAppender(this);
        levels.forEach((name, level) -> context.getLogger(name).setLevel(level));
        stop();
    }

    @Override
    protected synchronized void append(ILoggingEvent event) {
        String message = event.getFormattedMessage();
        boolean exception = message.contains(" connection error: ") && !message.contains("compressed input");
        if (event.getLevel().isGreaterOrEqual(Level.WARN) || exception) {
            seen.add(event.getLevel() + " " + event.getLoggerName() + ": " + message
                    + (event.getThrowableProxy() == null ? "" : " " + event.getThrowableProxy().getClassName()
                            + ": " + event.getThrowableProxy().getMessage()));
        }
    }

    /** What was logged since the last call, and forgets it. */
    synchronized List<String> drain() {
        List<String> out = List.copyOf(seen);
        seen.clear();
        return out;
    }
}
