package org.castellan.store.embedded.internal;

import java.sql.SQLException;

/** A piece of work run inside the writer's transaction, under its own savepoint. */
@FunctionalInterface
public interface TxWork<T> {
    T run(Tx tx) throws SQLException;
}
