package org.castellan.server.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import ch.qos.logback.core.encoder.EncoderBase;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import org.castellan.server.config.LogFormat;

/**
 * Writes one log event as one line of text or one JSON object per line ({@link LogFormat}).
 *
 * <p>SECURITY: messages carry text that clients choose (host names in EHLO, addresses, reasons a
 * handshake failed). A line break in it would let a client write a line that looks like the
 * server's own, say a successful login. So every line break and other control character in a
 * message or exception text is escaped: in text as {@code \n}, {@code \r}, {@code \\u001b}
 * (and a backslash as {@code \\}, so that an escape cannot be faked either); in JSON as JSON's
 * escapes. The only line breaks written are the ones that end an event and separate the frames
 * of a stack trace, whose lines start with a tab.
 *
 * <p>Lines about one connection start with its id ({@code Connection.logId()}, base 36): the
 * message pattern begins with {@code "{} "} and the first argument is that id. JSON gives it a
 * field of its own, {@code connection}.
 */
public final class LogEncoder extends EncoderBase<ILoggingEvent> {

    /** As the text has always looked: local time with milliseconds and the offset. */
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", Locale.ROOT).withZone(ZoneId.systemDefault());
    /** {@code Long.toString(id, 36)} of a non-negative long: at most 13 digits and lower-case letters. */
    private static final Pattern CONNECTION_ID = Pattern.compile("[0-9a-z]{1,13}");
    private static final String CONNECTION_PATTERN_START = "{} ";
    /** "ERROR" and "DEBUG": text levels are padded to this, so that the messages line up. */
    private static final int LEVEL_WIDTH = 5;

    private LogFormat format = LogFormat.TEXT;

    /** logback.xml uses the text format; the server switches to {@code [log] format} at start. */
    public LogEncoder() {
    }

    public LogEncoder(LogFormat format) {
        this.format = format;
    }

    @Override
    public byte[] headerBytes() {
        return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        String line = format == LogFormat.JSON ? json(event) : text(event);
        return line.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] footerBytes() {
        return null;
    }

    /** {@code TIME LEVEL Class: message}, then the stack trace, if any, on lines that start with a tab. */
    static String text(ILoggingEvent event) {
        StringBuilder out = new StringBuilder(128);
        out.append(TIME.format(event.getInstant())).append(' ');
        String level = event.getLevel().toString();
        out.append(level).append(" ".repeat(Math.max(0, LEVEL_WIDTH - level.length()))).append(' ');
        String logger = event.getLoggerName();
        out.append(logger, logger.lastIndexOf('.') + 1, logger.length()).append(": ");
        escapeText(out, event.getFormattedMessage());
        out.append('\n');
        IThrowableProxy thrown = event.getThrowableProxy();
        if (thrown != null) {
            appendThrowable(out, thrown, "", "\t");
        }
        return out.toString();
    }

    /** One JSON object on one line; {@code connection} and {@code exception} only where there is one. */
    static String json(ILoggingEvent event) {
        StringBuilder out = new StringBuilder(192);
        out.append('{');
        field(out, "time", TIME.format(event.getInstant()));
        out.append(',');
        field(out, "level", event.getLevel().toString());
        out.append(',');
        field(out, "logger", event.getLoggerName());
        out.append(',');
        field(out, "thread", event.getThreadName());
        Optional<String> connection = connectionId(event);
        if (connection.isPresent()) {
            out.append(',');
            field(out, "connection", connection.get());
        }
        out.append(',');
        field(out, "message", event.getFormattedMessage());
        IThrowableProxy thrown = event.getThrowableProxy();
        if (thrown != null) {
            StringBuilder trace = new StringBuilder();
            appendThrowable(trace, thrown, "", "");
            out.append(',');
            field(out, "exception", trace.toString());
        }
        return out.append("}\n").toString();
    }

    /** The id of the connection a line is about, by the convention in the class comment. */
    static Optional<String> connectionId(ILoggingEvent event) {
        String pattern = event.getMessage();
        Object[] args = event.getArgumentArray();
        if (pattern != null && pattern.startsWith(CONNECTION_PATTERN_START) && args != null && args.length > 0
                && args[0] instanceof String id && CONNECTION_ID.matcher(id).matches()) {
            return Optional.of(id);
        }
        return Optional.empty();
    }

    /**
     * The class and message of a throwable, its frames, what it suppressed and its causes, one per
     * line, each starting with {@code indent}; messages escaped as text.
     */
    private static void appendThrowable(StringBuilder out, IThrowableProxy t, String caption, String indent) {
        out.append(indent).append(caption).append(t.getClassName());
        if (t.getMessage() != null) {
            out.append(": ");
            escapeText(out, t.getMessage());
        }
        out.append('\n');
        StackTraceElementProxy[] frames = t.getStackTraceElementProxyArray();
        int own = frames.length - t.getCommonFrames();
        for (int i = 0; i < own; i++) {
            out.append(indent).append("\tat ");
            escapeText(out, frames[i].getStackTraceElement().toString());
            out.append('\n');
        }
        if (t.getCommonFrames() > 0) {
            out.append(indent).append("\t... ").append(t.getCommonFrames()).append(" common frames omitted\n");
        }
        if (t.getSuppressed() != null) {
            for (IThrowableProxy suppressed : t.getSuppressed()) {
                appendThrowable(out, suppressed, "Suppressed: ", indent + "\t");
            }
        }
        if (t.getCause() != null && !t.isCyclic()) {
            appendThrowable(out, t.getCause(), "Caused by: ", indent);
        }
    }

    /**
     * Appends {@code s} with a backslash, line breaks (CR, LF, NEL, U+2028, U+2029) and other
     * control characters but tab escaped, so that it stays on one line and means one thing.
     */
    static void escapeText(StringBuilder out, String s) {
        escape(out, s, false);
    }

    /** {@code "name":"value"} with RFC 8259 §7 escapes, and the line breaks beyond ASCII escaped too. */
    private static void field(StringBuilder out, String name, String value) {
        jsonString(out, name);
        out.append(':');
        jsonString(out, value == null ? "" : value);
    }

    static void jsonString(StringBuilder out, String s) {
        out.append('"');
        escape(out, s, true);
        out.append('"');
    }

    /** Text and JSON escape alike, but for a quote and a tab, which only JSON strings must escape. */
    private static void escape(StringBuilder out, String s, boolean json) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '"' -> out.append(json ? "\\\"" : "\"");
                case '\t' -> out.append(json ? "\\t" : "\t");
                default -> {
                    if (isControlOrLineBreak(c)) {
                        unicodeEscape(out, c);
                    } else {
                        out.append(c);
                    }
                }
            }
        }
    }

    /** C0 controls, DEL, C1 controls (NEL among them) and the Unicode line and paragraph separators. */
    private static boolean isControlOrLineBreak(char c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
    }

    private static void unicodeEscape(StringBuilder out, char c) {
        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
    }
}
