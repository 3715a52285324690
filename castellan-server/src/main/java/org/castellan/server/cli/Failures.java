package org.castellan.server.cli;

import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import org.castellan.server.StartChecks;
import org.castellan.server.config.ConfigException;
import org.castellan.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * Turns what a command throws into one line for the operator and an exit code: bad input is 2,
 * anything else 1. The stack trace goes to the log at debug level, never to the terminal.
 */
final class Failures implements CommandLine.IExecutionExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(Failures.class);

    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        var err = cmd.getErr();
        log.debug("command failed", e);
        switch (e) {
            case BadInput bad -> {
                err.println("castellan: " + bad.getMessage());
                return Main.BAD_INPUT;
            }
            case ConfigException config -> {
                err.println("castellan: configuration error:");
                config.problems().forEach(p -> err.println("  " + p));
                return Main.BAD_INPUT;
            }
            case StartChecks.StartFailure start -> {
                err.println("castellan: configuration error:");
                start.asConfigError().problems().forEach(p -> err.println("  " + p));
                return Main.BAD_INPUT;
            }
            case StoreException store when !store.isTemporary() -> {
                err.println("castellan: " + store.getMessage());
                return Main.BAD_INPUT;
            }
            case FileSystemException fs -> {
                err.println("castellan: " + describe(fs));
                return Main.FAILURE;
            }
            case UncheckedIOException io -> {
                err.println("castellan: " + (io.getCause() instanceof FileSystemException fs ? describe(fs)
                        : io.getCause().getMessage()));
                return Main.FAILURE;
            }
            case RuntimeException bug when e.getMessage() == null -> {
                // No message to show the operator: a fault of Castellan's own, whose trace the bug report needs.
                log.error("internal error", bug);
                err.println("castellan: internal error: " + bug + " (its trace is in the log on standard error)");
                return Main.FAILURE;
            }
            default -> {
                err.println("castellan: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
                return Main.FAILURE;
            }
        }
    }

    /**
     * The file and what went wrong with it. The JDK's message for the commonest failures is the
     * bare path ("castellan: /srv/backup"), which tells the operator nothing; a denied access
     * names the user the command runs as, as that is usually the one to fix.
     */
    static String describe(FileSystemException e) {
        String reason = e.getReason() != null ? e.getReason() : switch (e) {
            case AccessDeniedException denied -> "permission denied to user " + System.getProperty("user.name");
            case NoSuchFileException missing -> "no such file or directory";
            case FileAlreadyExistsException exists -> "exists already";
            case NotDirectoryException notDirectory -> "not a directory";
            case DirectoryNotEmptyException notEmpty -> "directory not empty";
            default -> e.getClass().getSimpleName();
        };
        return e.getFile() + (e.getOtherFile() == null ? "" : " (to " + e.getOtherFile() + ")") + ": " + reason;
    }

    /** An input the operator can fix: the message says what is wrong and what was expected. */
    static final class BadInput extends RuntimeException {
        BadInput(String message) {
            super(message);
        }
    }
}
