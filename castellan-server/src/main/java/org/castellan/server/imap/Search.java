package org.castellan.server.imap;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.imap.SearchKey;
import org.castellan.protocol.imap.SearchText;
import org.castellan.store.TextMatches;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.Mailboxes;
import org.castellan.store.MessageMeta;
import org.castellan.store.StoreException;
import org.castellan.store.UidRange;

/**
 * RFC 9051 §6.4.4 SEARCH and UID SEARCH, every key; RETURN options and ESEARCH answers as in
 * {@link Esearch} (RFC 4731, RFC 5182 SAVE and {@code $}, RFC 5267, RFC 9394). SORT, THREAD and
 * the update contexts ({@link SearchContexts}) select their messages here too.
 *
 * <p>Text keys compare case-insensitively ({@link SearchText#fold}) with decoded text: SUBJECT
 * and HEADER with RFC 2047 words decoded, FROM, TO, CC and BCC with the field's addresses as
 * ENVELOPE reads them ({@link MessageStructure#addressText}), TEXT and BODY with
 * {@link MessageStructure#searchText}.
 * TEXT and BODY ask the store's full-text index first and scan only the messages it does not
 * cover, so a body search does not read every message. Header keys read the stored structures
 * of the messages they test {@link #STRUCTURE_BATCH} at a time, one store call each.
 */
final class Search {

    private Search() {}

    private static final Set<String> CHARSETS = Set.of("US-ASCII", "UTF-8");

    /** RFC 9051 §6.4.4, RFC 5256 §3: the charsets search strings may come in. */
    static boolean charsetSupported(String charset) {
        return CHARSETS.contains(charset.toUpperCase(Locale.ROOT));
    }

    /** RFC 5255 §4 BADCHARSET with the list of what is supported. */
    private static void badCharset(ImapSession s, String tag) {
        s.no(tag, "BADCHARSET (US-ASCII UTF-8)", "Unsupported charset");
    }

    static void run(ImapSession s, String tag, ImapCommand.Search c) {
        if (c.charset().isPresent() && !charsetSupported(c.charset().get())) {
            badCharset(s, tag);
            return;
        }
        // RFC 9051 §6.4.4: an IMAP4rev2 client always hears ESEARCH; no RETURN means RETURN (ALL).
        var options = c.returnOptions().or(() -> s.rev2() ? Optional.of(List.of("ALL")) : Optional.empty());
        var esearch = options.map(o -> new Esearch(o, c.partial()));
        if (esearch.isPresent() && !esearch.get().accepted(s, tag)) return;
        SelectedMailbox view = s.selected().orElseThrow();
        Matcher matcher = matcher(s, view, c.key());
        boolean save = esearch.map(e -> e.has("SAVE")).orElse(false);
        s.blocking(() -> matcher.matching(), hits -> {
            if (esearch.isPresent()) {
                // RFC 5267 §4.1: in mailbox order, as the matcher gives them.
                List<Sort.Keyed> results = hits.stream().map(h -> new Sort.Keyed(h, List.of())).toList();
                esearch.get().answer(s, tag, c.uid(), view, results, matcher, List.of());
            } else {
                StringBuilder b = new StringBuilder("SEARCH");
                for (Hit h : hits) b.append(' ').append(c.uid() ? h.meta().uid() : h.msn());
                // RFC 7162 §3.1.5: with a MODSEQ key, the highest MODSEQ of the messages found.
                if (ImapSession.hasModSeqKey(c.key()) && !hits.isEmpty()) {
                    b.append(" (MODSEQ ").append(hits.stream().mapToLong(h -> h.meta().modSeq()).max().getAsLong()).append(')');
                }
                s.untagged(b.toString());
            }
            s.finish(tag, "OK SEARCH completed", c.uid());
        }, e -> {
            if (save) view.save(List.of()); // RFC 5182 §2.1: a failed SEARCH ... SAVE leaves it empty
            s.storeFailure(tag, e);
        });
    }

    /** A message that matched: its sequence number in the session's view and its metadata. */
    record Hit(int msn, MessageMeta meta) {}

    /**
     * Finds the messages of the selected mailbox matching a key. Made on the event loop (it reads
     * the session's saved result), run on the blocking executor.
     */
    record Matcher(Mailboxes store, StructureCache cache, SelectedMailbox view, SearchKey key, java.util.SortedSet<Long> saved) {

        /** The matching messages in UID order; reads bodies only for keys that need them. */
        List<Hit> matching() {
            return matching(null);
        }

        /** As {@link #matching()}, of the messages with these UIDs only (all when null). */
        List<Hit> matching(java.util.SortedSet<Long> only) {
            long mailbox = view.mailbox.id();
            java.util.Map<SearchKey.Text, TextMatches> indexed = new java.util.HashMap<>();
            indexedKeys(key, t -> indexed.computeIfAbsent(t,
                    k -> store.searchText(mailbox, k.field() == SearchKey.Field.BODY, k.value())));
            java.util.SortedSet<Long> candidates = candidates(key, indexed);
            if (only != null) {
                if (candidates == null) candidates = new java.util.TreeSet<>(only);
                else candidates.retainAll(only);
            }
            List<MessageMeta> listed;
            if (candidates == null || candidates.size() > LIST_ALL_ABOVE) {
                listed = store.listMessages(mailbox, UidRange.all());
                if (only != null) {
                    java.util.SortedSet<Long> keep = candidates;
                    listed = listed.stream().filter(m -> keep.contains(m.uid())).toList();
                }
            } else {
                listed = new ArrayList<>();
                for (long uid : candidates) listed.addAll(store.listMessages(mailbox, new UidRange(uid, uid)));
            }
            List<MessageMeta> metas = listed.stream().filter(m -> view.msnOf(m.uid()) > 0).toList();
            long count = view.count();
            long maxUid = view.maxUid();
            boolean headers = readsHeaders(key);
            List<Hit> hits = new ArrayList<>();
            for (int from = 0; from < metas.size(); from += STRUCTURE_BATCH) {
                List<MessageMeta> batch = metas.subList(from, Math.min(metas.size(), from + STRUCTURE_BATCH));
                java.util.Map<Long, MessageStructure> structures = headers ? cache.stored(store, mailbox, batch) : java.util.Map.of();
                for (MessageMeta m : batch) {
                    Candidate cand = new Candidate(this, indexed, m, view.msnOf(m.uid()), count, maxUid);
                    if (headers) cand.structureRead(structures.get(m.uid()));
                    try {
                        if (matches(key, cand)) hits.add(new Hit(cand.msn, m));
                    } catch (StoreException e) {
                        // Expunged by another session since it was listed: it matches nothing now.
                        if (e.kind() != StoreException.Kind.NOT_FOUND) throw e;
                    }
                }
            }
            return hits;
        }
    }

    /** For SORT and THREAD: the matcher, or null after answering NO [BADCHARSET] for an unsupported charset. */
    static Matcher matcherFor(ImapSession s, String tag, String charset, SearchKey key) {
        if (!charsetSupported(charset)) {
            badCharset(s, tag);
            return null;
        }
        return matcher(s, s.selected().orElseThrow(), key);
    }

    /**
     * Below this many candidates (messages a TEXT or BODY key of the top level can match) their
     * metadata is read one by one; above it, the whole mailbox is listed at once, which is cheaper.
     */
    static final int LIST_ALL_ABOVE = 256;

    /**
     * A key on header fields reads the stored structures of this many messages in one store call
     * ({@link StructureCache#stored(Mailboxes, long, List)}): on PostgreSQL one statement per
     * batch instead of one per message, while a batch's structures (a few KiB each) stay a few
     * megabytes in memory.
     */
    static final int STRUCTURE_BATCH = 1000;

    /** Whether the key reads header fields (SUBJECT, FROM, HEADER, SENT*): the structure of every message it tests. */
    private static boolean readsHeaders(SearchKey k) {
        return switch (k) {
            case SearchKey.Text t -> t.field() != SearchKey.Field.TEXT && t.field() != SearchKey.Field.BODY;
            case SearchKey.Header h -> true;
            case SearchKey.Date d -> d.sent();
            case SearchKey.Not n -> readsHeaders(n.key());
            case SearchKey.Or o -> readsHeaders(o.left()) || readsHeaders(o.right());
            case SearchKey.And a -> a.keys().stream().anyMatch(Search::readsHeaders);
            default -> false;
        };
    }

    /** The UIDs a key can match at most, from its top-level TEXT and BODY keys; null for any message. */
    private static java.util.SortedSet<Long> candidates(SearchKey k, java.util.Map<SearchKey.Text, TextMatches> indexed) {
        return switch (k) {
            case SearchKey.Text t when indexed.containsKey(t) -> {
                java.util.SortedSet<Long> c = new java.util.TreeSet<>(indexed.get(t).matching());
                c.addAll(indexed.get(t).unindexed());
                yield c;
            }
            case SearchKey.And a -> {
                java.util.SortedSet<Long> c = null;
                for (SearchKey x : a.keys()) {
                    java.util.SortedSet<Long> one = candidates(x, indexed);
                    if (one == null) continue;
                    if (c == null) c = one;
                    else c.retainAll(one);
                }
                yield c;
            }
            default -> null;
        };
    }

    static Matcher matcher(ImapSession s, SelectedMailbox view, SearchKey key) {
        java.util.SortedSet<Long> saved = usesSaved(key) ? view.saved() : java.util.Collections.emptySortedSet();
        return new Matcher(s.service().store(), s.service().structures(), view, key, saved);
    }

    /** The TEXT and BODY keys in a key tree: the ones the full-text index answers. */
    private static void indexedKeys(SearchKey k, java.util.function.Consumer<SearchKey.Text> found) {
        switch (k) {
            case SearchKey.Text t when t.field() == SearchKey.Field.BODY || t.field() == SearchKey.Field.TEXT -> found.accept(t);
            case SearchKey.Not n -> indexedKeys(n.key(), found);
            case SearchKey.Or o -> {
                indexedKeys(o.left(), found);
                indexedKeys(o.right(), found);
            }
            case SearchKey.And a -> a.keys().forEach(x -> indexedKeys(x, found));
            default -> { }
        }
    }

    /**
     * Whether the key names messages by position: sequence numbers, or "*" (the highest UID), so
     * that a message can start or stop matching without changing itself.
     */
    static boolean positional(SearchKey k) {
        return switch (k) {
            case SearchKey.Numbers n -> !n.set().savedResult() && (!n.uid() || n.set().usesStar());
            case SearchKey.Not n -> positional(n.key());
            case SearchKey.Or o -> positional(o.left()) || positional(o.right());
            case SearchKey.And a -> a.keys().stream().anyMatch(Search::positional);
            default -> false;
        };
    }

    private static boolean usesSaved(SearchKey k) {
        return switch (k) {
            case SearchKey.Numbers n -> n.set().savedResult();
            case SearchKey.Not n -> usesSaved(n.key());
            case SearchKey.Or o -> usesSaved(o.left()) || usesSaved(o.right());
            case SearchKey.And a -> a.keys().stream().anyMatch(Search::usesSaved);
            default -> false;
        };
    }

    /** One message under test; its content is read only when a key needs it. */
    private static final class Candidate {
        final Mailboxes store;
        final StructureCache cache;
        final long mailbox;
        final java.util.Map<SearchKey.Text, TextMatches> indexed;
        final MessageMeta meta;
        final int msn;
        final long count;
        final long maxUid;
        final java.util.SortedSet<Long> saved;
        final boolean recent;
        byte[] content;
        MessageStructure structure;
        SearchText text;

        Candidate(Matcher matcher, java.util.Map<SearchKey.Text, TextMatches> indexed, MessageMeta meta, int msn, long count,
                long maxUid) {
            this.store = matcher.store();
            this.cache = matcher.cache();
            this.mailbox = matcher.view().mailbox.id();
            this.saved = matcher.saved();
            this.indexed = indexed;
            this.meta = meta;
            this.msn = msn;
            this.count = count;
            this.maxUid = maxUid;
            this.recent = matcher.view().isRecent(meta.uid());
        }

        byte[] content() {
            if (content == null) {
                try (InputStream in = store.openMessage(mailbox, meta.uid())) {
                    content = in.readAllBytes();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return content;
        }

        /** Whether the store was already asked for the structure ({@link #structureRead}). */
        boolean structureAsked;

        /** The structure read with others of its batch; null when the store keeps none for this message. */
        void structureRead(MessageStructure read) {
            structure = read;
            structureAsked = true;
        }

        MessageStructure structure() {
            if (structure == null) {
                if (!structureAsked) structure = cache.stored(store, mailbox, meta);
                if (structure == null) structure = cache.parse(meta, content());
            }
            return structure;
        }

        SearchText text() {
            if (text == null) text = structure().searchText(content());
            return text;
        }

        /** TEXT or BODY: the index's answer, or a scan of this message when the index has none. */
        boolean textContains(SearchKey.Text t) {
            TextMatches m = indexed.get(t);
            if (m != null && !m.unindexed().contains(meta.uid())) return m.matching().contains(meta.uid());
            return t.field() == SearchKey.Field.BODY ? text().bodyContains(t.value()) : text().textContains(t.value());
        }
    }

    static boolean matches(SearchKey key, Candidate m) {
        return switch (key) {
            case SearchKey.All a -> true;
            case SearchKey.Recent r -> m.recent; // RFC 3501 §2.3.2; never in an IMAP4rev2 session
            case SearchKey.Flag f -> m.meta.flags().stream().anyMatch(x -> x.equalsIgnoreCase(f.flag())) == f.set();
            case SearchKey.Text t -> switch (t.field()) {
                case TEXT, BODY -> m.textContains(t);
                case SUBJECT -> m.structure().headers("Subject").stream()
                        .anyMatch(v -> contains(MessageStructure.decodeWords(v), t.value()));
                // RFC 9051 §6.4.4: "the envelope structure's FROM field", not the field's raw text.
                case FROM, TO, CC, BCC -> m.structure().addressText(t.field().name()).stream()
                        .anyMatch(v -> contains(v, t.value()));
            };
            case SearchKey.Header h -> m.structure().headers(h.name()).stream()
                    .anyMatch(v -> contains(MessageStructure.decodeWords(v), h.value()));
            case SearchKey.Date d -> {
                LocalDate date = d.sent() ? sentDate(m.structure()) : m.meta.internalDate().atZone(ZoneOffset.UTC).toLocalDate();
                if (date == null) yield false;
                yield switch (d.comparison()) {
                    case BEFORE -> date.isBefore(d.date());
                    case ON -> date.isEqual(d.date());
                    case SINCE -> !date.isBefore(d.date());
                };
            }
            case SearchKey.Size z -> z.larger() ? m.meta.size() > z.octets() : m.meta.size() < z.octets();
            case SearchKey.Numbers n when n.set().savedResult() -> m.saved.contains(m.meta.uid());
            case SearchKey.Numbers n -> n.uid() ? n.set().contains(m.meta.uid(), m.maxUid) : n.set().contains(m.msn, m.count);
            case SearchKey.ModSeq q -> m.meta.modSeq() >= q.modSeq();
            case SearchKey.Not n -> !matches(n.key(), m);
            case SearchKey.Or o -> matches(o.left(), m) || matches(o.right(), m);
            case SearchKey.And a -> a.keys().stream().allMatch(k -> matches(k, m));
        };
    }

    private static boolean contains(String haystack, String needle) {
        return SearchText.fold(haystack).contains(SearchText.fold(needle));
    }

    /** RFC 9051 §6.4.4: the Date: header's date, its own time zone, time disregarded. */
    private static LocalDate sentDate(MessageStructure st) {
        var value = st.header("Date");
        if (value.isEmpty()) return null;
        String v = value.get().replaceAll("\\s*\\([^)]*\\)\\s*$", "").replaceAll("\\s+", " ").strip();
        try {
            return ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toLocalDate();
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }
}
