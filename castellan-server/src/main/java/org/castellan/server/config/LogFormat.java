package org.castellan.server.config;

/** How log lines are written. Configuration values: {@code "text"}, {@code "json"}. */
public enum LogFormat {
    /** One line per event: time, level, logger's class name, message. For people reading the journal. */
    TEXT,
    /** One JSON object per line: time, level, logger, thread, connection, message, exception. For log collectors. */
    JSON
}
