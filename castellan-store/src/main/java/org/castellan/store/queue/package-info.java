/**
 * The outbound queue (docs/outbound.md): messages accepted for recipients in other domains, kept
 * durably with one body for all their recipients and attempts, and the per-recipient state the
 * delivery engine and the operator's {@code castellan queue} commands work on.
 *
 * <p>Failures are {@link org.castellan.store.StoreException}s, as for the rest of the store.
 */
package org.castellan.store.queue;
