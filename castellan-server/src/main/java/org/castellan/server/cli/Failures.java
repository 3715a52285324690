package org.castellan.server.cli;

import java.io.UncheckedIOException;
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
            case UncheckedIOException io -> {
                err.println("castellan: " + io.getCause().getMessage());
                return Main.FAILURE;
            }
            default -> {
                err.println("castellan: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
                return Main.FAILURE;
            }
        }
    }

    /** An input the operator can fix: the message says what is wrong and what was expected. */
    static final class BadInput extends RuntimeException {
        BadInput(String message) {
            super(message);
        }
    }
}
