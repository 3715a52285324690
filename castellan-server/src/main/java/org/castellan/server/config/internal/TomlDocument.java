package org.castellan.server.config.internal;

import java.util.List;
import java.util.Map;

/**
 * A parsed configuration file: its tables in file order, each key with the line it was written on.
 * Keys written before any table header belong to a table named {@code ""}.
 */
public record TomlDocument(List<Table> tables) {

    public TomlDocument {
        tables = List.copyOf(tables);
    }

    /** A value of one of the four types the subset allows. */
    public sealed interface Value {
        /** The value as it would be written in the file, for error messages. */
        String toToml();
    }

    /** A basic string, escapes already resolved. */
    public record Str(String value) implements Value {
        @Override
        public String toToml() {
            return quote(value);
        }
    }

    /** A 64-bit integer. */
    public record Int(long value) implements Value {
        @Override
        public String toToml() {
            return Long.toString(value);
        }
    }

    /** {@code true} or {@code false}. */
    public record Bool(boolean value) implements Value {
        @Override
        public String toToml() {
            return Boolean.toString(value);
        }
    }

    /** A one-line array of basic strings. */
    public record StrArray(List<String> values) implements Value {
        public StrArray {
            values = List.copyOf(values);
        }

        @Override
        public String toToml() {
            return "[" + String.join(", ", values.stream().map(TomlDocument::quote).toList()) + "]";
        }
    }

    /** {@code key = value} on {@code line} (counted from 1). */
    public record Entry(String key, Value value, int line) {}

    /**
     * A {@code [name]} table, or one element of a {@code [[name]]} array of tables.
     *
     * @param index for an array element, its position among the tables of that name, from 1; else 0
     * @param line the line of the header, 0 for the root table
     * @param entries keys in file order
     */
    public record Table(String name, boolean array, int index, int line, Map<String, Entry> entries) {
        /** How keys of this table are named in messages: {@code server.hostname}, {@code listener[2].port}. */
        public String path(String key) {
            return prefix() + (name.isEmpty() ? "" : ".") + key;
        }

        /** The table itself in messages: {@code server}, {@code listener[2]}, or empty for the root. */
        public String prefix() {
            return array ? name + "[" + index + "]" : name;
        }
    }

    /** Writes {@code text} as a TOML basic string. */
    public static String quote(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7F) {
                        out.append(String.format("\\u%04X", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
