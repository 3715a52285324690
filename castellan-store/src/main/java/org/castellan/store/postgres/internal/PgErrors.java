package org.castellan.store.postgres.internal;

import java.sql.SQLException;
import org.castellan.store.StoreException;

/**
 * Turns PostgreSQL and connection-pool failures into {@link StoreException}s an operator can act
 * on. Every one is {@code UNAVAILABLE}: the protocols answer 4xx and the client retries, and the
 * pool reconnects by itself once the server is back (docs/store.md, "Durability").
 */
public final class PgErrors {

    private PgErrors() {}

    /** What the SQLSTATE class (its first two characters, PostgreSQL Appendix A) tells the operator. */
    public static StoreException map(SQLException e, String doing) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String why = switch (state.length() >= 2 ? state.substring(0, 2) : "") {
            case "08" -> "the connection to PostgreSQL failed; check that the server runs and is reachable";
            case "28" -> "PostgreSQL refused the login; check the store's user and password";
            case "40" -> "PostgreSQL rolled the transaction back (serialization failure or deadlock); retry";
            case "53" -> "PostgreSQL is out of resources (disk, memory or connections); check its log";
            case "57" -> "PostgreSQL is shutting down or cancelled the statement; retry later";
            case "58" -> "PostgreSQL reported an I/O error; check its disk and log";
            default -> "the database failed (" + e.getMessage() + ")";
        };
        return StoreException.unavailable("cannot " + doing + ": " + why, e);
    }
}
