package org.castellan.store.embedded.internal;

import java.io.IOException;
import java.sql.SQLException;
import org.castellan.store.StoreException;

/** Turns SQLite and file-system failures into {@link StoreException}s an operator can act on. */
public final class SqlErrors {

    // SQLite primary result codes, https://sqlite.org/rescode.html
    private static final int SQLITE_BUSY = 5;
    private static final int SQLITE_LOCKED = 6;
    private static final int SQLITE_READONLY = 8;
    private static final int SQLITE_IOERR = 10;
    private static final int SQLITE_CORRUPT = 11;
    private static final int SQLITE_FULL = 13;
    private static final int SQLITE_CANTOPEN = 14;

    private SqlErrors() {}

    public static StoreException map(SQLException e, String doing) {
        int code = e.getErrorCode() & 0xff;
        String why = switch (code) {
            case SQLITE_BUSY, SQLITE_LOCKED ->
                "the database is busy (another process holds its write lock longer than the busy timeout); retry later";
            case SQLITE_FULL -> "the disk holding the database is full; free space and retry";
            case SQLITE_IOERR -> "an I/O error occurred on the database file; check the disk and the system log";
            case SQLITE_CANTOPEN -> "the database file cannot be opened; check that it exists and is accessible";
            case SQLITE_READONLY -> "the database file is read-only; check its permissions and the file system";
            case SQLITE_CORRUPT -> "the database file is damaged; restore it from a backup";
            default -> "the database failed (" + e.getMessage() + ")";
        };
        return StoreException.unavailable("cannot " + doing + ": " + why, e);
    }

    public static StoreException map(IOException e, String doing) {
        return StoreException.unavailable("cannot " + doing + ": " + e
                + " (check free space and permissions of the data directory)", e);
    }
}
