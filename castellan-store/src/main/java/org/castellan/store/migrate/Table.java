package org.castellan.store.migrate;

import java.util.List;

/**
 * A table that travels as rows: its name in both schemas, its columns in the order a row's values
 * come, and the order rows are read in (the order ids were handed out, so a table whose target
 * ids are generated keeps its order).
 *
 * @param key the column that names a row for the operator and for comparisons (a natural key)
 */
public record Table(String name, String order, String key, List<Column> columns) {

    /** A column and what its values are. */
    public record Column(String name, Kind kind, String references) {

        static Column of(String name, Kind kind) {
            return new Column(name, kind, null);
        }
    }

    /**
     * How a value travels. {@code ID}: the row's own number, not copied (the target hands out its
     * own) but remembered so that {@code REF} columns of later tables can be translated; {@code BODY}:
     * the SHA-256 of a body the row references, copied with it. Times travel as {@code Instant},
     * days as {@code LocalDate}, booleans as {@code Boolean}, numbers as {@code Long}.
     */
    public enum Kind { ID, REF, TEXT, LONG, TIME, DATE, BOOLEAN, BYTES, BODY }

    public Table(String name, String order, String key, Column... columns) {
        this(name, order, key, List.of(columns));
    }

    /** The position of {@code column} in a row. */
    public int index(String column) {
        for (int i = 0; i < columns.size(); i++) if (columns.get(i).name().equals(column)) return i;
        throw new IllegalArgumentException(name + " has no column " + column);
    }
}
