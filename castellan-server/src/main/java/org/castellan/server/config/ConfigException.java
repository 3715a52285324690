package org.castellan.server.config;

import java.util.List;
import java.util.Objects;

/**
 * The configuration cannot be used: a file is missing or unreadable, the syntax is wrong, a value
 * is out of range, a key is unknown, or settings contradict each other. The message holds one
 * line per problem, each naming the file, the line, the key and what was expected:
 *
 * <pre>castellan.toml:14: listener[2].port: expected an integer from 0 to 65535, got "abc"</pre>
 *
 * <p>{@link #file()}, {@link #line()} and {@link #key()} describe the first problem; the line is 0
 * and the key empty where there is none (a missing file, a key that was never written).
 */
public final class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    /** One problem: the 1-based line (0 if none), the key path (empty if none) and what is wrong. */
    public record Problem(int line, String key, String message) {
        public Problem {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(message, "message");
        }
    }

    private final String file;
    private final transient List<Problem> details;

    /**
     * @param file the configuration file as the operator named it
     * @param problems at least one problem, in the order to report them
     * @throws IllegalArgumentException if {@code problems} is empty
     */
    public ConfigException(String file, List<Problem> problems) {
        super(format(file, problems));
        this.file = file;
        this.details = List.copyOf(problems);
    }

    /** A single problem. */
    public ConfigException(String file, int line, String key, String message) {
        this(file, List.of(new Problem(line, key, message)));
    }

    private static String format(String file, List<Problem> problems) {
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one problem");
        }
        return String.join("\n", problems.stream().map(p -> format(file, p)).toList());
    }

    private static String format(String file, Problem problem) {
        return file + (problem.line() > 0 ? ":" + problem.line() : "") + ": "
                + (problem.key().isEmpty() ? "" : problem.key() + ": ") + problem.message();
    }

    /** The configuration file as the operator named it. */
    public String file() {
        return file;
    }

    /** The line of the first problem, counted from 1; 0 if it concerns no line. */
    public int line() {
        return details.get(0).line();
    }

    /** The key path of the first problem ({@code listener[2].port}), or empty. */
    public String key() {
        return details.get(0).key();
    }

    /** Every problem as one formatted line, in file order where there is one. */
    public List<String> problems() {
        return details.stream().map(p -> format(file, p)).toList();
    }

    /** Every problem as a value. */
    public List<Problem> details() {
        return details;
    }
}
