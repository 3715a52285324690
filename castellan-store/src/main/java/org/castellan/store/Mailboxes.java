package org.castellan.store;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SortedSet;
import java.util.function.Consumer;
import org.castellan.protocol.imap.MessageStructure;

/**
 * The accounts' mailboxes and messages, with the guarantees IMAP, POP3 and local delivery build
 * on: flags, MODSEQ, expunge, copy and move, \Recent, quota usage, URLAUTH access keys, text
 * search and change notifications. The accounts themselves are the {@link Directory}'s.
 *
 * <p><b>Failures.</b> Every method throws {@link StoreException}: {@code NOT_FOUND} for a missing
 * account, mailbox or message; {@code ALREADY_EXISTS}; {@code INVALID} for a malformed or
 * forbidden request; {@code QUOTA_EXCEEDED}; {@code UNAVAILABLE} (temporary) for an I/O error,
 * a full disk, a busy database or a closed store. A write that throws has changed nothing.
 *
 * <p><b>Durability.</b> A write returns only once it is durable: a message's body and metadata
 * survive a crash of the process or the machine from that moment on.
 *
 * <p><b>UIDs and MODSEQs.</b> Within a mailbox, UIDs are strictly increasing and never reused
 * (RFC 9051 §2.3.1.1); every change of the mailbox's messages raises its MODSEQ
 * (RFC 7162 §3.1), and the messages it touched carry the new value. UIDVALIDITY is fixed for the
 * life of a mailbox and differs between a deleted mailbox and a new one of the same name.
 *
 * <p><b>Access.</b> The store does not check who asks: the protocol layer decides which account
 * may reach which mailbox.
 */
public interface Mailboxes {

    // ---- mailboxes

    /**
     * Creates a mailbox and any missing parents (RFC 9051 §6.3.4), with an optional special use
     * (RFC 6154 §3 CREATE-SPECIAL-USE). The name is normalized by {@link MailboxNames#normalize}.
     */
    Mailbox createMailbox(long accountId, String name, Optional<SpecialUse> specialUse);

    default Mailbox createMailbox(long accountId, String name) {
        return createMailbox(accountId, name, Optional.empty());
    }

    /**
     * Renames a mailbox and everything below it, keeping UIDs and UIDVALIDITY. Renaming INBOX
     * moves its messages to a new mailbox and leaves INBOX empty (RFC 9051 §6.3.6).
     *
     * @return the mailbox under its new name
     */
    Mailbox renameMailbox(long mailboxId, String newName);

    /**
     * Deletes a mailbox and its messages; mailboxes below it stay. INBOX cannot be deleted
     * ({@code INVALID}). Subscriptions to the name stay too (RFC 9051 §6.3.9).
     */
    void deleteMailbox(long mailboxId);

    /** The account's mailboxes ordered by name. */
    List<Mailbox> listMailboxes(long accountId);

    /** Looks a mailbox up by name; {@code inbox} in any case finds INBOX. */
    Optional<Mailbox> getMailbox(long accountId, String name);

    Optional<Mailbox> getMailbox(long mailboxId);

    /** Subscribes to a name, which need not exist (RFC 9051 §6.3.7); subscribing twice is harmless. */
    void subscribeMailbox(long accountId, String name);

    void unsubscribeMailbox(long accountId, String name);

    /** The subscribed names, sorted. */
    List<String> listSubscriptions(long accountId);

    MailboxStatus status(long mailboxId);

    // ---- messages

    /**
     * Stores a message in one mailbox (IMAP APPEND).
     *
     * @param internalDate null for now
     * @throws StoreException {@code QUOTA_EXCEEDED} when the account has no room for it
     */
    AppendResult append(long mailboxId, InputStream content, Set<String> flags, Instant internalDate);

    default AppendResult append(long mailboxId, byte[] content, Set<String> flags, Instant internalDate) {
        return append(mailboxId, new ByteArrayInputStream(content), flags, internalDate);
    }

    /**
     * Stores several messages in one mailbox in one transaction (IMAP MULTIAPPEND, RFC 3502):
     * all or nothing. Each gets the next UID, in the order given, so the UIDs are consecutive.
     * The contents are read one after the other before anything is committed; if one cannot be
     * read, or the account has no room for all of them, none is stored.
     *
     * @return one result per message, in the order given
     * @throws StoreException {@code INVALID} for an empty list or a bad flag; {@code QUOTA_EXCEEDED}
     *     when the messages together do not fit; {@code UNAVAILABLE} when a content cannot be read
     */
    List<AppendResult> appendAll(long mailboxId, List<NewMessage> messages);

    /**
     * Stores one message in several mailboxes, possibly of several accounts, in one transaction
     * (SMTP delivery to many recipients): the body is kept once. All or nothing: if one account
     * is over quota nothing is delivered.
     *
     * @return one result per mailbox, in the order given
     */
    List<AppendResult> deliver(List<Long> mailboxIds, InputStream content, Set<String> flags, Instant internalDate);

    default List<AppendResult> deliver(List<Long> mailboxIds, byte[] content, Set<String> flags, Instant internalDate) {
        return deliver(mailboxIds, new ByteArrayInputStream(content), flags, internalDate);
    }

    /** Metadata of the messages whose UID lies in {@code range}, ascending by UID. */
    List<MessageMeta> listMessages(long mailboxId, UidRange range);

    /** The message's bytes as stored; the caller closes the stream. */
    InputStream openMessage(long mailboxId, long uid);

    /**
     * The MIME structure stored with the message at delivery (ENVELOPE, BODYSTRUCTURE, section
     * offsets, SORT keys), read without touching the body; empty when none is stored (messages
     * stored before structures were) or the stored form is from another version, and the caller
     * then parses the body.
     *
     * @throws StoreException {@code NOT_FOUND} without the mailbox
     */
    Optional<MessageStructure> structure(long mailboxId, long uid);

    /**
     * The stored structures of the messages with these UIDs, by UID, each what {@link #structure}
     * gives: what SEARCH on header fields reads for a set of messages at once, where asking for each
     * would cost a round trip apiece. A UID without a message, or whose message has no stored
     * structure (or one of another version), is left out and the caller parses that body. The
     * answer is held in memory: callers ask for a bounded number of UIDs at a time.
     *
     * <p>This default asks for each message in turn.
     *
     * @throws StoreException {@code NOT_FOUND} without the mailbox, when any UID is asked for
     */
    default java.util.Map<Long, MessageStructure> structures(long mailboxId, SortedSet<Long> uids) {
        java.util.Map<Long, MessageStructure> found = new java.util.HashMap<>();
        for (long uid : uids) structure(mailboxId, uid).ifPresent(s -> found.put(uid, s));
        return found;
    }

    /**
     * SEARCH TEXT ({@code bodyOnly} false) or BODY: the messages of the mailbox whose
     * {@link MessageStructure#searchText} contains {@code needle} (folded by
     * {@link org.castellan.protocol.imap.SearchText#fold}), as far as the full-text index knows;
     * messages it does not cover are listed for the caller to scan. Together the two give exactly
     * what a scan of every message gives.
     *
     * <p>This default has no index: every message is listed for scanning.
     *
     * @throws StoreException {@code NOT_FOUND} without the mailbox
     */
    default TextMatches searchText(long mailboxId, boolean bodyOnly, String needle) {
        java.util.SortedSet<Long> all = new java.util.TreeSet<>();
        for (MessageMeta m : listMessages(mailboxId, UidRange.all())) all.add(m.uid());
        return new TextMatches(new java.util.TreeSet<>(), all);
    }

    /**
     * Changes flags (IMAP STORE). UIDs that do not exist are ignored; a message whose flags do
     * not change keeps its MODSEQ.
     *
     * @param unchangedSince when present, a message whose MODSEQ is above it is left alone and
     *     reported in {@link FlagUpdate#notModified()} (RFC 7162 §3.1.3)
     */
    FlagUpdate storeFlags(long mailboxId, Collection<Long> uids, FlagOperation operation, Set<String> flags,
            OptionalLong unchangedSince);

    /** Removes messages (POP3 DELE+QUIT, whatever their flags); UIDs that do not exist are ignored. */
    ExpungeResult expunge(long mailboxId, Collection<Long> uids);

    /**
     * Removes those of {@code uids} whose flags hold {@code \Deleted} as the removal commits (IMAP
     * EXPUNGE, UID EXPUNGE and CLOSE: RFC 9051 §6.4.3, §6.4.9, §6.4.2). The caller lists the
     * candidates first; a message whose {@code \Deleted} another session (or another node) cleared
     * in between stays. UIDs that do not exist are ignored.
     */
    ExpungeResult expungeDeleted(long mailboxId, Collection<Long> uids);

    /**
     * The UIDs expunged (or moved out) from the mailbox by changes whose MODSEQ is above
     * {@code modSeq}, ascending: what IMAP QRESYNC reports as {@code VANISHED (EARLIER)}
     * (RFC 7162 §3.2.5, §3.2.6). Every expunge is remembered for the life of the mailbox.
     *
     * @throws StoreException {@code NOT_FOUND} without the mailbox
     */
    SortedSet<Long> expungedSince(long mailboxId, long modSeq);

    /**
     * Copies messages, with flags and internal date, to another (or the same) mailbox (RFC 4315
     * COPYUID). Counts against the target account's quota.
     */
    CopyResult copy(long fromMailboxId, Collection<Long> uids, long toMailboxId);

    /** Copies then expunges the source messages atomically (RFC 6851). */
    CopyResult move(long fromMailboxId, Collection<Long> uids, long toMailboxId);

    // ---- \Recent (IMAP4rev1)

    /**
     * RFC 3501 §2.3.2 \Recent: claims for the calling session the messages of the mailbox up to
     * {@code upToUid} that no session has claimed yet. The claim is durable, so no other session,
     * now or after a restart, is told of the same message as recent. Messages added later are
     * unclaimed until a session claims them.
     *
     * @return the first UID that was unclaimed before this call: the caller's recent messages are
     *     those from it up to {@code upToUid} (none when it is above)
     * @throws StoreException {@code NOT_FOUND} without the mailbox
     */
    long claimRecent(long mailboxId, long upToUid);

    /**
     * The first UID no session has claimed as recent: the messages from it on are what STATUS
     * RECENT counts and what a read-only session shows as \Recent without claiming them
     * (RFC 3501 §6.3.2).
     *
     * @throws StoreException {@code NOT_FOUND} without the mailbox
     */
    long firstRecentUid(long mailboxId);

    // ---- quota

    Quota quota(long accountId);

    // ---- URLAUTH mailbox access keys

    /**
     * Bytes of a new mailbox access key. RFC 4467 §2.2 asks for at least 128 bits of entropy;
     * 256 bits are the most an HMAC-SHA1 key of the INTERNAL mechanism uses without hashing it.
     */
    int ACCESS_KEY_BYTES = 32;

    /**
     * The mailbox's URLAUTH access key (RFC 4467 §2.2), if it has one. A secret: the caller never
     * logs it nor sends it to a client.
     *
     * @throws StoreException {@code NOT_FOUND} without the mailbox
     */
    Optional<byte[]> accessKey(long mailboxId);

    /**
     * The mailbox's URLAUTH access key, created first (random, {@link #ACCESS_KEY_BYTES}) when it
     * has none (RFC 4467 §7 GENURLAUTH).
     *
     * @throws StoreException {@code NOT_FOUND} without the mailbox
     */
    byte[] ensureAccessKey(long mailboxId);

    /**
     * Removes the mailbox's access key (RFC 4467 §7 RESETKEY): every URL authorized with it stops
     * working, and the next {@link #ensureAccessKey} makes a new one. Harmless without a key.
     *
     * @throws StoreException {@code NOT_FOUND} without the mailbox
     */
    void resetAccessKey(long mailboxId);

    /**
     * Removes the access keys of all the account's mailboxes (RESETKEY without arguments).
     *
     * @throws StoreException {@code NOT_FOUND} without the account
     */
    void resetAccessKeys(long accountId);

    // ---- change notifications

    /**
     * Calls {@code listener} with every committed change of the mailbox, in commit order, on a
     * store thread that holds no lock (the listener must not block for long: it delays every
     * other listener). A listener that throws is logged and keeps its subscription. Changes made
     * by another process sharing the store's data are not seen.
     */
    EventSubscription subscribe(long mailboxId, Consumer<StoreEvent> listener);

    /**
     * Calls {@code listener} with every committed change of the account's mailboxes and
     * subscriptions ({@link AccountEvent}), in commit order, on the same store thread as
     * {@link #subscribe}'s listeners and under the same rules. A change inside a mailbox reaches
     * that mailbox's listeners before the account's, so a listener of both hears the mailbox's
     * first. An account nobody watches costs one map look-up per change.
     *
     * @throws StoreException {@code NOT_FOUND} without the account
     */
    EventSubscription subscribeAccount(long accountId, Consumer<AccountEvent> listener);

    /**
     * The MODSEQ of the mailbox's latest change whose event has been handed to the listeners
     * ({@link StoreEvent#modSeqOf}): every change up to it has committed, and a listener
     * subscribed before a call that returned {@code p} hears every change above {@code p}. A
     * write returns only after its event is published, so a reader that calls this after another
     * session's write returned and waits until its listener has heard up to the answer knows of
     * that write (RFC 9051 §5.2). Answers from memory without waiting, so an event loop may call
     * it; 0 when no change of the mailbox has been published since the store opened.
     */
    long publishedModSeq(long mailboxId);
}
