/**
 * The mail model and the store API, in parts by caller: the {@link org.castellan.store.Directory}
 * (domains, accounts, credentials, aliases, routes), the {@link org.castellan.store.AuthLogStore},
 * the {@link org.castellan.store.Mailboxes} (mailboxes, messages with UIDs and MODSEQs, quotas and
 * change notifications), and {@link org.castellan.store.MailStore}, their sum with the outbound queue.
 *
 * <p>Every failure is a {@link org.castellan.store.StoreException} whose
 * {@link org.castellan.store.StoreException.Kind kind} tells a protocol how to answer: a
 * temporary failure (disk full, I/O error, database busy) maps to a 4xx reply, the others to a
 * permanent error.
 */
package org.castellan.store;
