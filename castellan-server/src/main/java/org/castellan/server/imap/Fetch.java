package org.castellan.server.imap;

import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import org.castellan.protocol.imap.FetchAttribute;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ImapStrings;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.FlagOperation;
import org.castellan.store.FlagUpdate;
import org.castellan.store.Flags;
import org.castellan.store.Mailboxes;
import org.castellan.store.MessageMeta;
import org.castellan.store.StoreException;
import org.castellan.store.UidRange;

/**
 * RFC 9051 §6.4.5 FETCH and UID FETCH, with RFC 7162 MODSEQ, CHANGEDSINCE and VANISHED, RFC
 * 9394 PARTIAL, and RFC 3516 BINARY and BINARY.SIZE. Runs on the blocking executor and writes responses as it
 * goes, in batches of {@link #WRITE_BATCH_BYTES}; a section that is one run of the stored
 * message (BODY[], BODY[TEXT], BODY[1], RFC822 ...) is sent from the store in chunks of
 * {@link FetchOutput#STREAM_CHUNK} without reading the message into memory. Before each batch and each chunk
 * it waits until the connection takes output again, so a client that does not read holds the
 * channel's high-water mark of server memory, not the messages it asked for. BODY[...],
 * BINARY[...] and RFC822/RFC822.TEXT set \Seen (not in EXAMINE).
 */
final class Fetch {

    private Fetch() {}

    /**
     * Responses are handed to the connection in batches of about this many bytes: each hand-over
     * from the blocking executor wakes the event loop and ends in a TLS record and a system call,
     * so FETCH 1:* (FLAGS) of a large mailbox should not make one per message. Small enough that
     * a batch of small responses costs little memory; a large message still goes alone.
     */
    static final int WRITE_BATCH_BYTES = 32 * 1024;

    /**
     * Structures of the messages a FETCH answers are looked up this many at a time, the ones
     * neither cached nor yet decoded read in one store call: FETCH 1:* (ENVELOPE) of a large
     * mailbox then holds one batch of decoded structures at a time, not the mailbox's.
     */
    static final int STRUCTURE_BATCH = 256;

    /** RFC 3516 §4.3: a part whose transfer encoding the server cannot undo fails the FETCH. */
    static final class UnknownCte extends RuntimeException {
        UnknownCte(String encoding) {
            super(encoding, null, false, false);
        }
    }

    static void run(ImapSession s, String tag, ImapCommand.Fetch c) {
        SelectedMailbox view = s.selected().orElseThrow();
        if (c.vanished() && !s.qresync()) {
            s.bad(tag, "VANISHED needs ENABLE QRESYNC first"); // RFC 7162 §3.2.6
            return;
        }
        SortedSet<Long> uids = view.resolve(c.set(), c.uid());
        if (uids == null) {
            s.bad(tag, "Invalid message sequence number");
            return;
        }
        List<FetchAttribute> atts = new ArrayList<>(c.attributes());
        // RFC 9051 §6.4.9: UID FETCH responses always carry the UID.
        if (c.uid() && atts.stream().noneMatch(a -> a instanceof FetchAttribute.Uid)) atts.add(0, new FetchAttribute.Uid());
        // RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ.
        if (c.changedSince().isPresent() && atts.stream().noneMatch(a -> a instanceof FetchAttribute.ModSeq)) {
            atts.add(new FetchAttribute.ModSeq());
        }
        boolean setSeen = !view.readOnly && setsSeen(atts);
        boolean condStore = s.condStoreOn(view) || c.changedSince().isPresent();
        if (uids.isEmpty() && !c.vanished()) {
            s.finish(tag, "OK FETCH completed", c.uid());
            return;
        }
        Mailboxes store = s.service().store();
        StructureCache cache = s.service().structures();
        long id = view.mailbox.id();
        s.blocking(() -> {
            if (c.vanished() && !c.set().savedResult()) {
                // RFC 7162 §3.2.6: the requested UIDs expunged since CHANGEDSINCE, before any FETCH.
                // "*" reaches past the highest UID left: the last messages may be the expunged ones.
                List<Long> gone = store.expungedSince(id, c.changedSince().getAsLong()).stream()
                        .filter(u -> c.set().contains(u, SequenceSet.STAR)).toList();
                if (!gone.isEmpty()) s.write("* VANISHED (EARLIER) " + SequenceSet.compact(gone) + "\r\n");
            }
            if (uids.isEmpty()) return 0;
            List<MessageMeta> metas = new ArrayList<>(store.listMessages(id, new UidRange(uids.first(), uids.last())));
            metas.removeIf(m -> !uids.contains(m.uid()));
            int found = metas.size();
            metas.removeIf(m -> c.changedSince().isPresent() && m.modSeq() <= c.changedSince().getAsLong());
            if (c.partial().isPresent()) {
                // RFC 9394 §3.3: only the messages at these positions of what would be returned.
                List<MessageMeta> page = new ArrayList<>(c.partial().get().of(metas));
                metas.clear();
                metas.addAll(page);
            }
            Set<Long> seenNow = setSeen ? markSeen(store, view, metas) : Set.of();
            FetchOutput.Sender sender = new FetchOutput.Sender(s, store, id);
            boolean structured = needsStructure(atts);
            Map<Long, MessageStructure> structures = Map.of();
            try {
                for (int i = 0; i < metas.size(); i++) {
                    MessageMeta m = metas.get(i);
                    if (structured && i % STRUCTURE_BATCH == 0) {
                        structures = cache.stored(store, id, metas.subList(i, Math.min(metas.size(), i + STRUCTURE_BATCH)));
                    }
                    int msn = view.msnOf(m.uid());
                    if (msn == 0) continue;
                    try {
                        sender.send(response(store, cache, id, msn, m, structures.get(m.uid()), atts, seenNow.contains(m.uid()),
                                condStore, s, view));
                    } catch (StoreException e) {
                        if (e.kind() != StoreException.Kind.NOT_FOUND) throw e;
                        // Expunged by another session since it was listed: as if it had not been
                        // listed (RFC 2180 §4.1.2), the others still answered. Nothing of this
                        // response has left: the sender opens a response's stored runs first.
                        found--;
                        continue;
                    }
                }
            } finally {
                // Also when a message fails: the client gets the responses before it, then the NO;
                // flushed with the tagged reply.
                sender.finish();
            }
            return found;
        }, found -> {
            // RFC 5530 EXPUNGEISSUED, RFC 2180 §4.1.2: another session expunged messages this
            // client still numbers; it hears of it at its next NOOP.
            if (found < uids.size()) s.finish(tag, "NO [EXPUNGEISSUED] Some of the requested messages no longer exist", c.uid());
            else s.finish(tag, "OK FETCH completed", c.uid());
        }, e -> {
            if (e instanceof UnknownCte u) {
                s.finish(tag, "NO [UNKNOWN-CTE] Cannot decode a part with Content-Transfer-Encoding " + u.getMessage(),
                        c.uid());
            } else if (e instanceof FetchOutput.Broken) {
                // The connection was closed in the middle of a response; nothing more can be said.
            } else {
                s.storeFailure(tag, e);
            }
        });
    }

    /** RFC 9051 §6.4.5: BODY[...], BINARY[...], RFC822 and RFC822.TEXT set \Seen; their .PEEK forms do not. */
    static boolean setsSeen(List<FetchAttribute> atts) {
        return atts.stream().anyMatch(a -> (a instanceof FetchAttribute.Body b && !b.peek())
                || (a instanceof FetchAttribute.Binary x && !x.peek())
                || (a instanceof FetchAttribute.Rfc822 r && r.kind() != FetchAttribute.Section.Kind.HEADER));
    }

    /**
     * Blocking: sets \Seen on the messages of {@code metas} that lack it, replaces them in
     * {@code metas} with their new flags and MODSEQ, and returns their UIDs. The view notes the
     * MODSEQs as its own, so no unsolicited FETCH repeats the change.
     */
    static Set<Long> markSeen(Mailboxes store, SelectedMailbox view, List<MessageMeta> metas) {
        Set<Long> seenNow = new HashSet<>();
        List<Long> unseen = metas.stream().filter(m -> !m.flags().contains(Flags.SEEN)).map(MessageMeta::uid).toList();
        if (unseen.isEmpty()) return seenNow;
        FlagUpdate u = store.storeFlags(view.mailbox.id(), unseen, FlagOperation.ADD, Set.of(Flags.SEEN),
                java.util.OptionalLong.empty());
        for (FlagUpdate.Changed ch : u.changed()) {
            view.ownModSeq(ch.modSeq());
            seenNow.add(ch.uid());
            metas.replaceAll(m -> m.uid() == ch.uid()
                    ? new MessageMeta(m.uid(), ch.flags(), m.internalDate(), m.size(), ch.modSeq(), m.blobId()) : m);
        }
        return seenNow;
    }

    /**
     * One {@code * msn FETCH (...)} response; stored runs are read when it is sent; blocking. The
     * message's structure is looked up only when an attribute needs it.
     */
    static FetchOutput response(Mailboxes store, StructureCache cache, long mailbox, int msn, MessageMeta m,
            List<FetchAttribute> atts, boolean seenChanged, boolean condStore, ImapSession s, SelectedMailbox view) {
        MessageStructure structure = needsStructure(atts) ? cache.stored(store, mailbox, m) : null;
        return response(store, cache, mailbox, msn, m, structure, atts, seenChanged, condStore, s, view);
    }

    /**
     * One response, given the message's cached or stored structure: null when it has none or no
     * attribute needs one (a message stored without a structure is read and parsed here).
     */
    private static FetchOutput response(Mailboxes store, StructureCache cache, long mailbox, int msn, MessageMeta m,
            MessageStructure known, List<FetchAttribute> atts, boolean seenChanged, boolean condStore, ImapSession s,
            SelectedMailbox view) {
        FetchOutput out = new FetchOutput();
        out.text("* " + msn + " FETCH (");
        byte[] content = null;
        MessageStructure structure = known;
        boolean first = true;
        boolean flagsSent = false;
        boolean modSeqSent = false;
        for (FetchAttribute a : atts) {
            if (!first) out.text(" ");
            first = false;
            if (content == null && needsContent(a, structure)) {
                content = read(store, mailbox, m.uid());
                if (structure == null) structure = cache.get(store, mailbox, m, content);
            }
            switch (a) {
                case FetchAttribute.Flags f -> {
                    out.text("FLAGS (" + String.join(" ", new TreeSet<>(view.flagsOf(m.uid(), m.flags()))) + ")");
                    flagsSent = true;
                }
                case FetchAttribute.Uid u -> out.text("UID " + m.uid());
                case FetchAttribute.InternalDate d -> out.text("INTERNALDATE " + ImapStrings.dateTime(m.internalDate()));
                case FetchAttribute.Rfc822Size z -> out.text("RFC822.SIZE " + m.size());
                case FetchAttribute.Envelope e -> out.text("ENVELOPE " + structure.envelope(s.utf8Accept()));
                case FetchAttribute.BodyStructure b -> out.text((b.extensible() ? "BODYSTRUCTURE " : "BODY ")
                        + structure.bodyStructure(b.extensible(), s.utf8Accept()));
                case FetchAttribute.ModSeq q -> {
                    out.text("MODSEQ (" + m.modSeq() + ")");
                    modSeqSent = true;
                }
                case FetchAttribute.Rfc822 r -> {
                    String name = switch (r.kind()) {
                        case HEADER -> "RFC822.HEADER";
                        case TEXT -> "RFC822.TEXT";
                        default -> "RFC822";
                    };
                    var section = new FetchAttribute.Section(List.of(), r.kind(), List.of());
                    out.text(name + " ");
                    if (content == null) {
                        out.stored(m.uid(), structure.sectionRange(section, m.size()).orElseThrow());
                    } else {
                        out.literal(structure.section(content, section).orElse(new byte[0]));
                    }
                }
                case FetchAttribute.Binary b -> {
                    String origin = b.partialOffset().isPresent() ? "<" + b.partialOffset().getAsLong() + ">" : "";
                    out.text("BINARY[" + FetchAttribute.partSpec(b.part()) + "]" + origin + " ");
                    byte[] bytes = binary(structure, content, b.part());
                    if (bytes == null) {
                        out.text("NIL");
                    } else {
                        if (b.partialOffset().isPresent()) {
                            long from = Math.min(bytes.length, b.partialOffset().getAsLong());
                            long to = Math.min(bytes.length, from + b.partialLength().getAsLong());
                            bytes = java.util.Arrays.copyOfRange(bytes, (int) from, (int) to);
                        }
                        out.literal8(bytes);
                    }
                }
                case FetchAttribute.BinarySize b -> {
                    byte[] bytes = binary(structure, content, b.part());
                    // RFC 3516 does not say what a missing part measures; 0, as for an empty one.
                    out.text("BINARY.SIZE[" + FetchAttribute.partSpec(b.part()) + "] " + (bytes == null ? 0 : bytes.length));
                }
                case FetchAttribute.Body b -> {
                    String origin = b.partialOffset().isPresent() ? "<" + b.partialOffset().getAsLong() + ">" : "";
                    out.text("BODY[" + b.section().spec() + "]" + origin + " ");
                    var data = content != null ? structure.section(content, b.section())
                            : picksHeaderFields(b) ? headerFields(store, mailbox, m, structure, b.section()) : null;
                    if (data == null) {
                        out.stored(m.uid(), b, structure, m.size());
                    } else if (data.isEmpty()) {
                        out.text("NIL");
                    } else {
                        byte[] bytes = data.get();
                        if (b.partialOffset().isPresent()) {
                            long from = Math.min(bytes.length, b.partialOffset().getAsLong());
                            long to = Math.min(bytes.length, from + b.partialLength().getAsLong());
                            bytes = java.util.Arrays.copyOfRange(bytes, (int) from, (int) to);
                        }
                        out.literal(bytes);
                    }
                }
            }
        }
        // RFC 9051 §6.4.5: a \Seen set by this FETCH is reported even when FLAGS was not asked for.
        if (seenChanged && !flagsSent) out.text(" FLAGS (" + String.join(" ", new TreeSet<>(view.flagsOf(m.uid(), m.flags()))) + ")");
        // RFC 7162 §3.1: once CONDSTORE is on, a FETCH that sets \Seen carries UID and MODSEQ too.
        boolean uidSent = atts.stream().anyMatch(a -> a instanceof FetchAttribute.Uid);
        if (condStore && seenChanged && !uidSent) out.text(" UID " + m.uid());
        if (condStore && (flagsSent || seenChanged) && !modSeqSent) out.text(" MODSEQ (" + m.modSeq() + ")");
        out.text(")\r\n");
        return out;
    }

    /** The decoded part, null when it does not exist; {@link UnknownCte} when it cannot be decoded. */
    private static byte[] binary(MessageStructure structure, byte[] content, List<Integer> part) {
        return switch (structure.binary(content, part)) {
            case MessageStructure.BinaryContent.Decoded d -> d.bytes();
            case MessageStructure.BinaryContent.Missing m -> null;
            case MessageStructure.BinaryContent.UnknownEncoding u -> throw new UnknownCte(u.encoding());
        };
    }

    /**
     * Whether any of {@code atts} is answered from the message's MIME structure: FLAGS, UID,
     * INTERNALDATE, RFC822.SIZE and MODSEQ come from the message's row alone.
     */
    static boolean needsStructure(List<FetchAttribute> atts) {
        return atts.stream().anyMatch(a -> switch (a) {
            case FetchAttribute.Envelope e -> true;
            case FetchAttribute.BodyStructure b -> true;
            case FetchAttribute.Body b -> true;
            case FetchAttribute.Rfc822 r -> true;
            case FetchAttribute.Binary b -> true;
            case FetchAttribute.BinarySize b -> true;
            default -> false;
        });
    }

    private static boolean needsContent(FetchAttribute a, MessageStructure cached) {
        return switch (a) {
            case FetchAttribute.Envelope e -> cached == null;
            case FetchAttribute.BodyStructure b -> cached == null;
            // A run of the stored message is sent from the store; header fields are picked from
            // the header's octets alone (headerFields).
            case FetchAttribute.Body b -> cached == null;
            case FetchAttribute.Rfc822 r -> cached == null;
            case FetchAttribute.Binary b -> true;
            case FetchAttribute.BinarySize b -> true;
            default -> false;
        };
    }

    private static boolean picksHeaderFields(FetchAttribute.Body b) {
        return b.section().kind() == FetchAttribute.Section.Kind.HEADER_FIELDS
                || b.section().kind() == FetchAttribute.Section.Kind.HEADER_FIELDS_NOT;
    }

    /**
     * HEADER.FIELDS (or .NOT) of a message whose structure is known, cut from the stored
     * message's first octets up to the end of the header it picks from, not from the whole
     * message: mail programs fetch a few fields of every message when they synchronise, and a
     * message's header is a small part of it. Empty when the part does not exist (NIL).
     */
    private static java.util.Optional<byte[]> headerFields(Mailboxes store, long mailbox, MessageMeta m,
            MessageStructure structure, FetchAttribute.Section section) {
        var header = new FetchAttribute.Section(section.part(), FetchAttribute.Section.Kind.HEADER, List.of());
        var range = structure.sectionRange(header, m.size());
        if (range.isEmpty()) return java.util.Optional.empty();
        byte[] head;
        try (InputStream in = store.openMessage(mailbox, m.uid())) {
            head = in.readNBytes(Math.toIntExact(range.get().to()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return structure.section(head, section);
    }

    private static byte[] read(Mailboxes store, long mailbox, long uid) {
        try (InputStream in = store.openMessage(mailbox, uid)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
