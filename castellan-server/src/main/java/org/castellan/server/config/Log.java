package org.castellan.server.config;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code [log]} table: the format of log lines, and a file they are written to besides
 * standard error, with its rotation. Ranges are checked by the reader, which reports them with
 * the line.
 *
 * <p>The constructor throws {@code NullPointerException} if a component is null.
 *
 * @param file absolute once read from a file; empty: standard error only
 * @param maxSize bytes at which the file is rotated
 * @param keep rotated files kept ({@link LogRotation#SIZE}), or days of them ({@link LogRotation#DAILY})
 */
public record Log(LogFormat format, Optional<Path> file, LogRotation rotate, long maxSize, int keep) {

    /** Small enough for a test to fill; a server writes this in a handful of lines. */
    public static final long MIN_MAX_SIZE = 1024;
    /** A larger file is more than a viewer or grep handles comfortably; keep more files instead. */
    public static final long MAX_MAX_SIZE = 10L * 1024 * 1024 * 1024;
    public static final long DEFAULT_MAX_SIZE = 100L * 1024 * 1024;
    /** Logback renames every kept file on each size rotation and allows at most 20 of them. */
    public static final int MAX_KEEP = 20;
    public static final int DEFAULT_KEEP = 10;

    public Log {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(rotate, "rotate");
    }

    /** Whether the log goes anywhere else, or in another form, than logback.xml's text on standard error. */
    public boolean isDefault() {
        return format == LogFormat.TEXT && file.isEmpty();
    }
}
