/**
 * The mail model and the {@link org.castellan.store.MailStore} API: domains, accounts, aliases,
 * mailboxes, messages with UIDs and MODSEQs, quotas and change notifications.
 *
 * <p>Every failure is a {@link org.castellan.store.StoreException} whose
 * {@link org.castellan.store.StoreException.Kind kind} tells a protocol how to answer: a
 * temporary failure (disk full, I/O error, database busy) maps to a 4xx reply, the others to a
 * permanent error.
 */
package org.castellan.store;
