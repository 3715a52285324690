package org.castellan.server.testing;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.castellan.server.config.LogFormat;
import org.castellan.server.logging.LogEncoder;
import org.slf4j.LoggerFactory;

/**
 * The server's log as the product writes it ({@link LogEncoder} in one format), collected from
 * every logger while open. Tests in this JVM log through a test configuration; this shows what
 * castellan serve would have written.
 */
public final class LogCapture implements AutoCloseable {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();

    public LogCapture(LogFormat format) {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        appender.setContext(context);
        appender.setEncoder(new LogEncoder(format));
        appender.setOutputStream(out);
        appender.start();
        root().addAppender(appender);
    }

    /** What was written so far. */
    public String text() {
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    /** How often {@code text} occurs in what was written. */
    public int count(String text) {
        String s = text();
        int n = 0;
        for (int i = s.indexOf(text); i >= 0; i = s.indexOf(text, i + 1)) n++;
        return n;
    }

    private static Logger root() {
        return ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(Logger.ROOT_LOGGER_NAME);
    }

    @Override
    public void close() {
        root().detachAppender(appender);
        appender.stop();
    }
}
