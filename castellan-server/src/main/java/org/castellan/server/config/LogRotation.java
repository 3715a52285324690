package org.castellan.server.config;

/** When the log file is rotated. Configuration values: {@code "size"}, {@code "daily"}. */
public enum LogRotation {
    /** When the file reaches its maximum size: FILE.1, FILE.2, ... up to the number kept. */
    SIZE,
    /** At midnight, and within a day at the maximum size: FILE.YYYY-MM-DD.N, for the number of days kept. */
    DAILY
}
