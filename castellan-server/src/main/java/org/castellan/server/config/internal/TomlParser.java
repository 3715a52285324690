package org.castellan.server.config.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.castellan.server.config.ConfigException;
import org.castellan.server.config.internal.TomlDocument.Bool;
import org.castellan.server.config.internal.TomlDocument.Entry;
import org.castellan.server.config.internal.TomlDocument.Int;
import org.castellan.server.config.internal.TomlDocument.Str;
import org.castellan.server.config.internal.TomlDocument.StrArray;
import org.castellan.server.config.internal.TomlDocument.Table;
import org.castellan.server.config.internal.TomlDocument.Value;

/**
 * Reads the TOML subset of {@code castellan.toml}: comments, {@code [table]},
 * {@code [[array-of-tables]]}, and {@code key = value} where the value is a basic string, an
 * integer, a boolean or a one-line array of basic strings. Everything else TOML allows (inline
 * tables, floats, dates, dotted and quoted keys, literal and multi-line strings) is refused with
 * the line, so that a file means exactly one thing to us and to the operator reading it.
 *
 * <p>Pure: no I/O. Every line is read even after an error, so one run reports every syntax error.
 */
public final class TomlParser {

    /** A configuration line is short; one this long is a pasted blob or not a configuration file. */
    private static final int MAX_LINE = 4096;

    private static final Pattern BARE_KEY = Pattern.compile("[A-Za-z0-9_-]+");
    private static final Pattern INTEGER = Pattern.compile("[+-]?(0|[1-9](_?[0-9])*)");
    private static final Pattern DATE_OR_TIME = Pattern.compile("\\d{4}-\\d{2}-\\d{2}.*|\\d{2}:\\d{2}.*");

    private TomlParser() {}

    /**
     * Parses {@code text}.
     *
     * @param fileName how errors name the file
     * @throws ConfigException listing every line that is not valid in the subset
     */
    public static TomlDocument parse(String text, String fileName) throws ConfigException {
        List<ConfigException.Problem> problems = new ArrayList<>();
        List<TableBuilder> tables = new ArrayList<>();
        TableBuilder current = new TableBuilder("", false, 0, 0);
        tables.add(current);
        // Some Windows editors start UTF-8 files with a byte order mark; it is not part of the first key.
        String body = text.startsWith("\uFEFF") ? text.substring(1) : text;
        String[] lines = body.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int lineNumber = i + 1;
            Line line = new Line(lines[i], lineNumber, current);
            try {
                if (lines[i].length() > MAX_LINE) {
                    throw line.fail("line longer than " + MAX_LINE + " characters");
                }
                TableBuilder header = line.parse(tables);
                if (header != null) {
                    tables.add(header);
                    current = header;
                }
            } catch (SyntaxError e) {
                problems.add(new ConfigException.Problem(lineNumber, e.key, e.getMessage()));
                if (lines[i].strip().startsWith("[")) {
                    // Keys under a broken header belong to no table we know; reporting them as
                    // duplicates of the previous table would only add noise.
                    current = new TableBuilder("", false, 0, lineNumber);
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(fileName, problems);
        }
        return new TomlDocument(tables.stream().map(TableBuilder::build).toList());
    }

    /**
     * Parses one value as it would appear after {@code key =}; used for the documented defaults.
     *
     * @throws IllegalArgumentException if {@code literal} is not a value of the subset
     */
    public static Value parseValue(String literal) {
        Line line = new Line(literal, 0, new TableBuilder("", false, 0, 0));
        try {
            Value value = line.value();
            line.endOfLine("value");
            return value;
        } catch (SyntaxError e) {
            throw new IllegalArgumentException("invalid TOML value " + literal + ": " + e.getMessage(), e);
        }
    }

    private static final class TableBuilder {
        final String name;
        final boolean array;
        final int index;
        final int line;
        final Map<String, Entry> entries = new LinkedHashMap<>();

        TableBuilder(String name, boolean array, int index, int line) {
            this.name = name;
            this.array = array;
            this.index = index;
            this.line = line;
        }

        Table build() {
            return new Table(name, array, index, line, Collections.unmodifiableMap(new LinkedHashMap<>(entries)));
        }

        String path(String key) {
            return new Table(name, array, index, line, Map.of()).path(key);
        }
    }

    /** A bad line; the message says what is wrong and how to write it instead. */
    private static final class SyntaxError extends Exception {
        private static final long serialVersionUID = 1L;
        final String key;

        SyntaxError(String key, String message) {
            super(message, null, false, false);
            this.key = key;
        }
    }

    /** A cursor over one line. */
    private static final class Line {
        private final String text;
        private final int lineNumber;
        private final TableBuilder table;
        private int pos;
        private String key = "";

        Line(String text, int number, TableBuilder table) {
            this.text = text;
            this.lineNumber = number;
            this.table = table;
        }

        SyntaxError fail(String message) {
            return new SyntaxError(key, message);
        }

        /** Returns a new table if the line is a header, null otherwise. */
        TableBuilder parse(List<TableBuilder> tables) throws SyntaxError {
            skipSpaces();
            if (atEnd() || peek() == '#') {
                return null;
            }
            if (peek() == '[') {
                return header(tables);
            }
            String name = bareKey("key");
            key = table.path(name);
            skipSpaces();
            if (!atEnd() && peek() == '.') {
                throw fail("dotted keys are not supported; write the key inside its [table]");
            }
            if (atEnd() || peek() != '=') {
                throw fail("expected = after the key");
            }
            pos++;
            skipSpaces();
            Value value = value();
            endOfLine("value");
            Entry previous = table.entries.get(name);
            if (previous != null) {
                throw fail("key is already set on line " + previous.line());
            }
            table.entries.put(name, new Entry(name, value, lineNumber));
            return null;
        }

        private TableBuilder header(List<TableBuilder> tables) throws SyntaxError {
            boolean array = text.startsWith("[[", pos);
            pos += array ? 2 : 1;
            skipSpaces();
            String name = bareKey("table name");
            key = name;
            skipSpaces();
            // A dotted name ([[outbound.route]]) is one table name here: the reader knows which exist.
            while (!atEnd() && peek() == '.') {
                pos++;
                skipSpaces();
                name = name + "." + bareKey("table name");
                key = name;
                skipSpaces();
            }
            String close = array ? "]]" : "]";
            if (!text.startsWith(close, pos)) {
                throw fail("expected " + close + " to close the table header");
            }
            pos += close.length();
            endOfLine("table header");
            int index = 0;
            for (TableBuilder other : tables) {
                if (!other.name.equals(name)) {
                    continue;
                }
                if (other.array != array) {
                    throw fail(array
                            ? "[" + name + "] on line " + other.line + " is a single table; write [" + name + "], not [[" + name + "]]"
                            : "[[" + name + "]] on line " + other.line + " is an array of tables; write [[" + name + "]] for each entry");
                }
                if (!array) {
                    throw fail("table [" + name + "] is already defined on line " + other.line + "; merge the two");
                }
                index = Math.max(index, other.index);
            }
            return new TableBuilder(name, array, array ? index + 1 : 0, lineNumber);
        }

        Value value() throws SyntaxError {
            if (atEnd()) {
                throw fail("expected a value after =");
            }
            char c = peek();
            switch (c) {
                case '"' -> {
                    if (text.startsWith("\"\"\"", pos)) {
                        throw fail("multi-line strings are not supported; write one line, using \\n for line breaks");
                    }
                    return new Str(basicString());
                }
                case '\'' -> throw fail("literal strings ('...') are not supported; use double quotes and escape \\ as \\\\");
                case '[' -> {
                    return array();
                }
                case '{' -> throw fail("inline tables are not supported; use a [table] section");
                default -> {
                    return scalar();
                }
            }
        }

        private Value scalar() throws SyntaxError {
            int start = pos;
            while (!atEnd() && !Character.isWhitespace(peek()) && peek() != '#' && peek() != ',' && peek() != ']') {
                pos++;
            }
            String token = text.substring(start, pos);
            if (token.equals("true") || token.equals("false")) {
                return new Bool(token.equals("true"));
            }
            if (INTEGER.matcher(token).matches()) {
                try {
                    return new Int(Long.parseLong(token.replace("_", "")));
                } catch (NumberFormatException e) {
                    throw fail("integer " + token + " is out of range");
                }
            }
            if (DATE_OR_TIME.matcher(token).matches()) {
                throw fail("dates and times are not supported; durations are strings such as \"30s\"");
            }
            if (token.matches("[+-]?(inf|nan)") || token.matches("[+-]?[0-9_]*[.eE][0-9_.eE+-]*")) {
                throw fail("floats are not supported; use an integer");
            }
            if (token.matches("[+-]?0[xob].*")) {
                throw fail("hexadecimal, octal and binary integers are not supported; write it in decimal");
            }
            if (token.matches("[+-]?0[0-9_]+")) {
                throw fail("integers must not have leading zeros");
            }
            throw fail("expected a value: a \"string\" in double quotes, an integer, true, false or [\"strings\"]; got "
                    + (token.isEmpty() ? text.substring(pos) : token));
        }

        private StrArray array() throws SyntaxError {
            pos++; // [
            List<String> values = new ArrayList<>();
            while (true) {
                skipSpaces();
                if (atEnd() || peek() == '#') {
                    throw fail("unterminated array; arrays must be written on one line, ending with ]");
                }
                if (peek() == ']') {
                    pos++;
                    return new StrArray(values);
                }
                if (peek() != '"') {
                    throw fail(peek() == '[' ? "nested arrays are not supported" : "arrays may hold only \"strings\"");
                }
                values.add(basicString());
                skipSpaces();
                if (!atEnd() && peek() == ',') {
                    pos++;
                } else if (atEnd() || peek() == '#') {
                    throw fail("unterminated array; arrays must be written on one line, ending with ]");
                } else if (peek() != ']') {
                    throw fail("expected , or ] after an array element");
                }
            }
        }

        private String basicString() throws SyntaxError {
            pos++; // opening quote
            StringBuilder out = new StringBuilder();
            while (true) {
                if (atEnd()) {
                    throw fail("unterminated string; add the closing \"");
                }
                char c = text.charAt(pos++);
                if (c == '"') {
                    return out.toString();
                }
                if (c == '\\') {
                    out.append(escape());
                } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
                    throw fail("control characters must be escaped in strings");
                } else {
                    out.append(c);
                }
            }
        }

        private String escape() throws SyntaxError {
            if (atEnd()) {
                throw fail("unterminated string; add the closing \"");
            }
            char c = text.charAt(pos++);
            return switch (c) {
                case '"' -> "\"";
                case '\\' -> "\\";
                case 'n' -> "\n";
                case 't' -> "\t";
                case 'u' -> unicodeEscape();
                default -> throw fail("unsupported escape \\" + c + " (supported: \\\" \\\\ \\n \\t \\uXXXX)");
            };
        }

        private String unicodeEscape() throws SyntaxError {
            if (pos + 4 > text.length() || !text.substring(pos, pos + 4).chars().allMatch(h -> Character.digit(h, 16) >= 0)) {
                throw fail("\\u must be followed by four hex digits");
            }
            char unit = (char) Integer.parseInt(text.substring(pos, pos + 4), 16);
            pos += 4;
            if (Character.isSurrogate(unit)) {
                // TOML allows only Unicode scalar values; a lone surrogate is not text.
                throw fail("\\u" + text.substring(pos - 4, pos) + " is a surrogate, not a character");
            }
            return String.valueOf(unit);
        }

        private String bareKey(String what) throws SyntaxError {
            int start = pos;
            while (!atEnd() && (Character.isLetterOrDigit(peek()) || peek() == '-' || peek() == '_')) {
                pos++;
            }
            String name = text.substring(start, pos);
            if (name.isEmpty() || !BARE_KEY.matcher(name).matches()) {
                throw fail(!atEnd() && (peek() == '"' || peek() == '\'')
                        ? "quoted " + what + "s are not supported; write the " + what + " bare, such as data-dir"
                        : "expected a " + what + " (letters, digits, - and _)");
            }
            return name;
        }

        void endOfLine(String after) throws SyntaxError {
            skipSpaces();
            if (!atEnd() && peek() != '#') {
                throw fail("unexpected text after the " + after + ": " + text.substring(pos).strip());
            }
        }

        private void skipSpaces() {
            while (!atEnd() && (peek() == ' ' || peek() == '\t')) {
                pos++;
            }
        }

        private boolean atEnd() {
            return pos >= text.length();
        }

        private char peek() {
            return text.charAt(pos);
        }
    }
}
