package org.castellan.server.imap;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Locale;
import java.util.Set;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.imap.SearchKey;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.MailStore;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;

/**
 * RFC 9051 §6.4.4 SEARCH and UID SEARCH, every key; RFC 4731 ESEARCH results with RETURN (MIN
 * MAX COUNT ALL), RFC 5182 SAVE and {@code $}. Text keys scan the raw message (headers undecoded, bodies not transfer-decoded)
 * case-insensitively; a full-text index comes later.
 */
final class Search {

    private Search() {}

    private static final Set<String> CHARSETS = Set.of("US-ASCII", "UTF-8");
    private static final Set<String> RETURN = Set.of("MIN", "MAX", "COUNT", "ALL", "SAVE");

    static void run(ImapSession s, String tag, ImapCommand.Search c) {
        if (c.charset().isPresent() && !CHARSETS.contains(c.charset().get().toUpperCase(Locale.ROOT))) {
            s.no(tag, "BADCHARSET (US-ASCII UTF-8)", "Unsupported charset");
            return;
        }
        if (c.returnOptions().isPresent()) {
            for (String o : c.returnOptions().get()) {
                if (!RETURN.contains(o)) {
                    s.bad(tag, "Unsupported RETURN option " + o);
                    return;
                }
            }
        }
        SelectedMailbox view = s.selected().orElseThrow();
        java.util.SortedSet<Long> saved = usesSaved(c.key()) ? view.saved() : java.util.Collections.emptySortedSet();
        MailStore store = s.service().store();
        StructureCache cache = s.service().structures();
        boolean save = c.returnOptions().map(o -> o.contains("SAVE")).orElse(false);
        s.blocking(() -> {
            java.util.List<MessageMeta> metas = store.listMessages(view.mailbox.id(), UidRange.all()).stream()
                    .filter(m -> view.msnOf(m.uid()) > 0).toList();
            long count = view.count();
            long maxUid = view.maxUid();
            java.util.List<long[]> hits = new ArrayList<>();
            for (MessageMeta m : metas) {
                Candidate cand = new Candidate(store, cache, view.mailbox.id(), m, view.msnOf(m.uid()), count, maxUid, saved);
                if (matches(c.key(), cand)) hits.add(new long[] {cand.msn, m.uid()});
            }
            return hits;
        }, hits -> {
            java.util.List<Long> numbers = hits.stream().map(h -> c.uid() ? h[1] : h[0]).sorted().toList();
            java.util.List<String> opts = c.returnOptions().orElse(java.util.List.of());
            if (opts.contains("SAVE")) {
                java.util.List<Long> uids = hits.stream().map(h -> h[1]).sorted().toList();
                if ((opts.contains("MIN") || opts.contains("MAX")) && !uids.isEmpty()) {
                    // RFC 5182 §2.1: with MIN and/or MAX only those are saved.
                    java.util.Set<Long> minMax = new java.util.TreeSet<>();
                    if (opts.contains("MIN")) minMax.add(uids.get(0));
                    if (opts.contains("MAX")) minMax.add(uids.get(uids.size() - 1));
                    uids = new ArrayList<>(minMax);
                }
                view.save(uids);
            }
            if (opts.equals(java.util.List.of("SAVE"))) {
                // RFC 5182 §2.4: SAVE alone returns nothing.
            } else if (c.returnOptions().isEmpty()) {
                StringBuilder b = new StringBuilder("SEARCH");
                for (long n : numbers) b.append(' ').append(n);
                s.untagged(b.toString());
            } else {
                // RFC 4731 §3.1
                StringBuilder b = new StringBuilder("ESEARCH (TAG \"" + tag + "\")");
                if (c.uid()) b.append(" UID");
                if (opts.contains("MIN") && !numbers.isEmpty()) b.append(" MIN ").append(numbers.get(0));
                if (opts.contains("MAX") && !numbers.isEmpty()) b.append(" MAX ").append(numbers.get(numbers.size() - 1));
                if (opts.contains("COUNT")) b.append(" COUNT ").append(numbers.size());
                if (opts.contains("ALL") && !numbers.isEmpty()) b.append(" ALL ").append(SequenceSet.compact(numbers));
                s.untagged(b.toString());
            }
            s.finish(tag, "OK SEARCH completed", c.uid());
        }, e -> {
            if (save) view.save(java.util.List.of()); // RFC 5182 §2.1: a failed SEARCH ... SAVE leaves it empty
            s.storeFailure(tag, e);
        });
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
        final MailStore store;
        final StructureCache cache;
        final long mailbox;
        final MessageMeta meta;
        final int msn;
        final long count;
        final long maxUid;
        final java.util.SortedSet<Long> saved;
        byte[] content;
        MessageStructure structure;

        Candidate(MailStore store, StructureCache cache, long mailbox, MessageMeta meta, int msn, long count, long maxUid,
                java.util.SortedSet<Long> saved) {
            this.saved = saved;
            this.store = store;
            this.cache = cache;
            this.mailbox = mailbox;
            this.meta = meta;
            this.msn = msn;
            this.count = count;
            this.maxUid = maxUid;
        }

        byte[] content() {
            if (content == null) {
                try (InputStream in = store.openMessage(mailbox, meta.uid())) {
                    content = in.readAllBytes();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                structure = cache.get(meta.blobId(), content);
            }
            return content;
        }

        MessageStructure structure() {
            if (structure == null) {
                structure = cache.peek(meta.blobId());
                if (structure == null) content();
            }
            return structure;
        }
    }

    static boolean matches(SearchKey key, Candidate m) {
        return switch (key) {
            case SearchKey.All a -> true;
            case SearchKey.Recent r -> false; // IMAP4rev2 has no \Recent
            case SearchKey.Flag f -> m.meta.flags().stream().anyMatch(x -> x.equalsIgnoreCase(f.flag())) == f.set();
            case SearchKey.Text t -> switch (t.field()) {
                case TEXT -> contains(new String(m.content(), StandardCharsets.UTF_8), t.value());
                case BODY -> {
                    byte[] b = m.content();
                    int from = m.structure().bodyOffset();
                    yield contains(new String(b, from, b.length - from, StandardCharsets.UTF_8), t.value());
                }
                default -> m.structure().headers(t.field().name()).stream().anyMatch(v -> contains(v, t.value()));
            };
            case SearchKey.Header h -> m.structure().headers(h.name()).stream().anyMatch(v -> contains(v, h.value()));
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
        return haystack.toLowerCase(Locale.ROOT).contains(needle.toLowerCase(Locale.ROOT));
    }

    /** RFC 9051 §6.4.4: the Date: header's date, its own time zone, time disregarded. */
    private static LocalDate sentDate(MessageStructure st) {
        var value = st.header("Date");
        if (value.isEmpty()) return null;
        String v = value.get().replaceAll("\\s*\\([^)]*\\)\\s*$", "").replaceAll("\\s+", " ").strip();
        try {
            return ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toLocalDate();
        } catch (RuntimeException e) {
            return null;
        }
    }
}
