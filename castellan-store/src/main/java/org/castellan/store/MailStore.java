package org.castellan.store;

import org.castellan.store.queue.OutboundQueue;

/**
 * The whole store: the {@link Directory}, the {@link AuthLogStore}, the {@link Mailboxes} and the
 * {@link OutboundQueue}, opened and closed together. Callers take the narrowest of these they
 * need; this sum remains while the last of them move (docs/store.md, "Scale-out").
 *
 * <p><b>Failures.</b> Every method throws {@link StoreException}: {@code NOT_FOUND} for a missing
 * domain, account, alias, mailbox or message; {@code ALREADY_EXISTS}; {@code INVALID} for a
 * malformed or forbidden request; {@code QUOTA_EXCEEDED}; {@code UNAVAILABLE} (temporary) for an
 * I/O error, a full disk, a busy database or a closed store. A write that throws has changed
 * nothing.
 *
 * <p><b>Durability.</b> A write returns only once it is durable: a message's body and metadata
 * survive a crash of the process or the machine from that moment on.
 *
 * <p><b>Access.</b> The store does not check who asks: the protocol layer decides which account
 * may reach which mailbox.
 */
public interface MailStore extends Directory, AuthLogStore, Mailboxes, OutboundQueue, AutoCloseable {

    /** Finishes queued writes, delivers queued events, and releases files and threads. */
    @Override
    void close();
}
