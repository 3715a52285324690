/**
 * What travels when an embedded store's data moves into the PostgreSQL store ({@code castellan
 * store migrate}, docs/administration.md "Moving an embedded store to PostgreSQL"): the directory
 * and queue tables as neutral rows ({@link org.castellan.store.migrate.Table}), mailboxes and
 * messages as records that keep what clients see (UIDVALIDITY, UIDs, MODSEQs, flags, bodies by
 * their SHA-256), the two sides as interfaces ({@link org.castellan.store.migrate.MigrationSource},
 * {@link org.castellan.store.migrate.MigrationTarget}) and the copy with its verification
 * ({@link org.castellan.store.migrate.Migration}). Account and mailbox ids are the target's own.
 */
package org.castellan.store.migrate;
