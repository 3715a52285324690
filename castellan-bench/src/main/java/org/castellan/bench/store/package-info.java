/**
 * The scale-out store: Castellan nodes on one PostgreSQL (and optionally an object store) against
 * the embedded store, with what each message costs the database.
 */
package org.castellan.bench.store;
