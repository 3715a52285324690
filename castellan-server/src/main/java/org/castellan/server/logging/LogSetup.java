package org.castellan.server.logging;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy;
import ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy;
import ch.qos.logback.core.util.Duration;
import ch.qos.logback.core.util.FileSize;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.castellan.server.StartChecks;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.Log;
import org.slf4j.LoggerFactory;

/**
 * Puts the {@code [log]} table into effect when the server starts: the format on standard error
 * and, when {@code file} is set, a rotated file beside it. Until then (and for the short-lived
 * administration commands) logback.xml's text on standard error applies.
 *
 * <p>Each destination gets an appender of its own behind an {@link AsyncAppender}, as logback.xml
 * sets up standard error: event loops hand events to a writer thread, nothing is discarded, a
 * full queue blocks rather than drops (a security event is never lost), and the queue is drained
 * when the process stops.
 */
public final class LogSetup {

    /** As logback.xml: room for a burst of sessions without making an event loop wait. */
    private static final int QUEUE_SIZE = 8192;
    /** As logback.xml: how long a stop waits for the queue to reach the file. */
    private static final int MAX_FLUSH_MILLIS = 5000;
    /**
     * The file's size is looked up before each event (a stat on the writer thread, not an event
     * loop) rather than once a minute, Logback's default, which lets a busy minute run far past max-size.
     */
    private static final Duration SIZE_CHECK_EVERY_EVENT = Duration.buildByMilliseconds(0);

    private LogSetup() {}

    /**
     * Replaces the root logger's appenders with the ones {@code config.log()} describes; does
     * nothing when it describes logback.xml's own (text, no file).
     *
     * @throws StartChecks.StartFailure naming {@code log.file} when the file cannot be written
     */
    public static void apply(CastellanConfig config) {
        Log log = config.log();
        if (log.isDefault() || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        StartChecks.logFile(config);
        List<Appender<ILoggingEvent>> appenders = new ArrayList<>();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setTarget("System.err");
        appenders.add(async(context, "async", started(context, "stderr", stderr, log)));
        if (log.file().isPresent()) {
            RollingFileAppender<ILoggingEvent> file = rollingFile(context, log, log.file().get());
            if (!file.isStarted()) {
                String why = context.getStatusManager().getCopyOfStatusList().stream()
                        .filter(s -> s.getOrigin() == file || s.getOrigin() == file.getRollingPolicy())
                        .map(s -> s.getMessage() + (s.getThrowable() == null ? "" : ": " + s.getThrowable().getMessage()))
                        .reduce((a, b) -> b).orElse("Logback could not open it");
                throw StartChecks.logFileFailure(config, log.file().get(), why);
            }
            appenders.add(async(context, "async-file", file));
        }
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        // The old appenders are stopped (their queues drained) before the new ones take over, so
        // lines keep their order; only this thread logs this early in the start.
        List<Appender<ILoggingEvent>> old = new ArrayList<>();
        root.iteratorForAppenders().forEachRemaining(old::add);
        for (Appender<ILoggingEvent> a : old) {
            root.detachAppender(a);
            a.stop();
        }
        appenders.forEach(root::addAppender);
    }

    private static RollingFileAppender<ILoggingEvent> rollingFile(LoggerContext context, Log log, Path path) {
        RollingFileAppender<ILoggingEvent> file = new RollingFileAppender<>();
        file.setContext(context);
        file.setFile(path.toString());
        file.setAppend(true);
        switch (log.rotate()) {
            case SIZE -> {
                FixedWindowRollingPolicy rolling = new FixedWindowRollingPolicy();
                rolling.setContext(context);
                rolling.setParent(file);
                rolling.setFileNamePattern(path + ".%i");
                rolling.setMinIndex(1);
                rolling.setMaxIndex(log.keep());
                rolling.start();
                SizeBasedTriggeringPolicy<ILoggingEvent> trigger = new SizeBasedTriggeringPolicy<>();
                trigger.setContext(context);
                trigger.setMaxFileSize(new FileSize(log.maxSize()));
                trigger.setCheckIncrement(SIZE_CHECK_EVERY_EVENT);
                trigger.start();
                file.setRollingPolicy(rolling);
                file.setTriggeringPolicy(trigger);
            }
            case DAILY -> {
                SizeAndTimeBasedRollingPolicy<ILoggingEvent> rolling = new SizeAndTimeBasedRollingPolicy<>();
                rolling.setContext(context);
                rolling.setParent(file);
                rolling.setFileNamePattern(path + ".%d{yyyy-MM-dd}.%i");
                rolling.setMaxFileSize(new FileSize(log.maxSize()));
                rolling.setMaxHistory(log.keep());
                rolling.setTotalSizeCap(new FileSize(log.maxSize() * log.keep()));
                rolling.start();
                file.setRollingPolicy(rolling);
            }
        }
        return started(context, "file", file, log);
    }

    private static <A extends OutputStreamAppender<ILoggingEvent>> A started(LoggerContext context, String name,
                                                                             A appender, Log log) {
        LogEncoder encoder = new LogEncoder(log.format());
        encoder.setContext(context);
        encoder.start();
        appender.setContext(context);
        appender.setName(name);
        appender.setEncoder(encoder);
        appender.start();
        return appender;
    }

    private static AsyncAppender async(LoggerContext context, String name, Appender<ILoggingEvent> target) {
        AsyncAppender async = new AsyncAppender();
        async.setContext(context);
        async.setName(name);
        async.setQueueSize(QUEUE_SIZE);
        async.setDiscardingThreshold(0);
        async.setMaxFlushTime(MAX_FLUSH_MILLIS);
        async.addAppender(target);
        async.start();
        return async;
    }
}
