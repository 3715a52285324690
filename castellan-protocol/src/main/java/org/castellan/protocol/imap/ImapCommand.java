package org.castellan.protocol.imap;

import static org.castellan.protocol.imap.ImapState.AUTHENTICATED;
import static org.castellan.protocol.imap.ImapState.NOT_AUTHENTICATED;
import static org.castellan.protocol.imap.ImapState.SELECTED;

import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Collectors;

/** A parsed IMAP command, without its tag (RFC 9051 §6). */
public sealed interface ImapCommand {

    /** The command's row in the command table. */
    Name name();

    /**
     * The command table: one row per command, with the states that accept it and whether
     * {@code UID} may prefix it. The dispatcher checks the row once, before the command's handler
     * runs; handlers never check the state again. The parser reads each command's arguments in an
     * exhaustive switch over this enum, and the server's table maps each row to its handler, so a
     * new command is one row here plus its grammar and its handler.
     */
    enum Name {
        // RFC 9051 §6.1: any state; RFC 2971 §3.1 ID too.
        CAPABILITY(NOT_AUTHENTICATED, AUTHENTICATED, SELECTED),
        NOOP(NOT_AUTHENTICATED, AUTHENTICATED, SELECTED),
        LOGOUT(NOT_AUTHENTICATED, AUTHENTICATED, SELECTED),
        ID(NOT_AUTHENTICATED, AUTHENTICATED, SELECTED),
        // RFC 9051 §6.2.
        STARTTLS(NOT_AUTHENTICATED),
        LOGIN(NOT_AUTHENTICATED),
        AUTHENTICATE(NOT_AUTHENTICATED),
        // RFC 5161 §3.1: ENABLE only before a mailbox is selected.
        ENABLE(AUTHENTICATED),
        // RFC 9051 §6.3 (and RFC 2342 NAMESPACE, RFC 2177 IDLE); valid in SELECTED too (§6.4).
        NAMESPACE(AUTHENTICATED, SELECTED),
        SELECT(AUTHENTICATED, SELECTED),
        EXAMINE(AUTHENTICATED, SELECTED),
        CREATE(AUTHENTICATED, SELECTED),
        DELETE(AUTHENTICATED, SELECTED),
        RENAME(AUTHENTICATED, SELECTED),
        SUBSCRIBE(AUTHENTICATED, SELECTED),
        UNSUBSCRIBE(AUTHENTICATED, SELECTED),
        LIST(AUTHENTICATED, SELECTED),
        LSUB(AUTHENTICATED, SELECTED),
        STATUS(AUTHENTICATED, SELECTED),
        APPEND(AUTHENTICATED, SELECTED),
        IDLE(AUTHENTICATED, SELECTED),
        // RFC 9208 §4.1, RFC 4978 §5, RFC 4467 §9, RFC 5465 §8: command-auth.
        GETQUOTA(AUTHENTICATED, SELECTED),
        GETQUOTAROOT(AUTHENTICATED, SELECTED),
        SETQUOTA(AUTHENTICATED, SELECTED),
        COMPRESS(AUTHENTICATED, SELECTED),
        GENURLAUTH(AUTHENTICATED, SELECTED),
        RESETKEY(AUTHENTICATED, SELECTED),
        URLFETCH(AUTHENTICATED, SELECTED),
        NOTIFY(AUTHENTICATED, SELECTED),
        // RFC 9051 §6.4 (RFC 3501 §6.4.1 CHECK, RFC 3691 UNSELECT, RFC 6851 MOVE, RFC 5256 SORT
        // and THREAD, RFC 5267 §5 CANCELUPDATE); §6.4.9 names the UID forms.
        CHECK(SELECTED),
        CLOSE(SELECTED),
        UNSELECT(SELECTED),
        FETCH(Prefix.UID, SELECTED),
        STORE(Prefix.UID, SELECTED),
        COPY(Prefix.UID, SELECTED),
        MOVE(Prefix.UID, SELECTED),
        SEARCH(Prefix.UID, SELECTED),
        SORT(Prefix.UID, SELECTED),
        THREAD(Prefix.UID, SELECTED),
        EXPUNGE(Prefix.UID, SELECTED),
        CANCELUPDATE(SELECTED);

        /** A column of the table: {@code UID} may prefix the command (RFC 9051 §6.4.9). */
        enum Prefix { UID }

        private static final Map<String, Name> BY_NAME = Arrays.stream(values())
                .collect(Collectors.toUnmodifiableMap(Name::name, n -> n));

        private final Set<ImapState> states;
        private final boolean uid;

        Name(ImapState... states) {
            this(null, states);
        }

        Name(Prefix prefix, ImapState... states) {
            this.uid = prefix == Prefix.UID;
            this.states = Collections.unmodifiableSet(EnumSet.copyOf(Arrays.asList(states)));
        }

        /** The command of this name (upper-case, as on the wire), if there is one. */
        public static Optional<Name> of(String name) {
            return Optional.ofNullable(BY_NAME.get(name));
        }

        /** Whether a session in {@code state} accepts the command. */
        public boolean allowedIn(ImapState state) {
            return states.contains(state);
        }

        /** Whether {@code UID} may prefix the command. */
        public boolean takesUid() {
            return uid;
        }
    }

    record Capability() implements ImapCommand { public Name name() { return Name.CAPABILITY; } }

    record Noop() implements ImapCommand { public Name name() { return Name.NOOP; } }

    record Logout() implements ImapCommand { public Name name() { return Name.LOGOUT; } }

    record StartTls() implements ImapCommand { public Name name() { return Name.STARTTLS; } }

    /** The password is cleared by the handler once used; toString never shows it. */
    record Login(String user, char[] password) implements ImapCommand {
        public Name name() { return Name.LOGIN; }

        @Override
        public String toString() { return "Login[" + user + ", ***]"; }

        @Override
        public boolean equals(Object o) {
            return o instanceof Login l && l.user.equals(user) && Arrays.equals(l.password, password);
        }

        @Override
        public int hashCode() { return user.hashCode(); }
    }

    /** RFC 9051 §6.2.2 with RFC 4959 SASL-IR: {@code =} is an empty initial response. */
    record Authenticate(String mechanism, Optional<byte[]> initialResponse) implements ImapCommand {
        public Name name() { return Name.AUTHENTICATE; }

        @Override
        public String toString() { return "Authenticate[" + mechanism + (initialResponse.isPresent() ? ", ***]" : "]"); }

        @Override
        public boolean equals(Object o) {
            return o instanceof Authenticate a && a.mechanism.equals(mechanism)
                    && a.initialResponse.isPresent() == initialResponse.isPresent()
                    && (initialResponse.isEmpty() || Arrays.equals(a.initialResponse.get(), initialResponse.get()));
        }

        @Override
        public int hashCode() { return mechanism.hashCode(); }
    }

    /** RFC 5161. */
    record Enable(List<String> capabilities) implements ImapCommand {
        public Enable { capabilities = List.copyOf(capabilities); }

        public Name name() { return Name.ENABLE; }
    }

    /** RFC 2971: field/value pairs, values possibly NIL (null); empty for {@code ID NIL}. */
    record Id(List<String> fieldsAndValues) implements ImapCommand {
        public Id { fieldsAndValues = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(fieldsAndValues)); }

        public Name name() { return Name.ID; }
    }

    record Namespace() implements ImapCommand { public Name name() { return Name.NAMESPACE; } }

    /**
     * SELECT or, with {@code readOnly}, EXAMINE; {@code condStore} and {@code qresync} for the
     * RFC 7162 §3.1.8 and §3.2.5 parameters.
     */
    record Select(String mailbox, boolean readOnly, boolean condStore, Optional<QResync> qresync) implements ImapCommand {
        public Select(String mailbox, boolean readOnly, boolean condStore) {
            this(mailbox, readOnly, condStore, Optional.empty());
        }

        public Name name() { return readOnly ? Name.EXAMINE : Name.SELECT; }
    }

    /**
     * RFC 7162 §3.2.5 {@code QRESYNC (uidvalidity modseq [known-uids [(known-sequence-set known-uid-set)]])}:
     * what the client remembers of the mailbox.
     */
    record QResync(long uidValidity, long modSeq, Optional<SequenceSet> knownUids,
            Optional<SequenceSet> knownSequenceSet, Optional<SequenceSet> knownUidSet) {}

    /** {@code use}: RFC 6154 §3 CREATE-SPECIAL-USE attributes. */
    record Create(String mailbox, List<String> use) implements ImapCommand {
        public Create { use = List.copyOf(use); }

        public Name name() { return Name.CREATE; }
    }

    record Delete(String mailbox) implements ImapCommand { public Name name() { return Name.DELETE; } }

    record Rename(String from, String to) implements ImapCommand { public Name name() { return Name.RENAME; } }

    record Subscribe(String mailbox) implements ImapCommand { public Name name() { return Name.SUBSCRIBE; } }

    record Unsubscribe(String mailbox) implements ImapCommand { public Name name() { return Name.UNSUBSCRIBE; } }

    /**
     * LIST (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED) or, with {@code lsub}, RFC 3501 LSUB.
     * Options are upper-cased; {@code statusItems} are the items of RETURN (STATUS (...)) (RFC 5819).
     * {@code extended}: the command used RFC 5258 §3 syntax (a selection option list, even empty,
     * a parenthesized pattern list, or RETURN), which changes what an empty pattern means.
     */
    record ListMailboxes(boolean lsub, List<String> selectionOptions, String reference, List<String> patterns,
            List<String> returnOptions, List<String> statusItems, boolean extended) implements ImapCommand {
        public ListMailboxes {
            selectionOptions = List.copyOf(selectionOptions);
            patterns = List.copyOf(patterns);
            returnOptions = List.copyOf(returnOptions);
            statusItems = List.copyOf(statusItems);
        }

        /** {@code extended} when it has options or several patterns; the parser knows the exact form. */
        public ListMailboxes(boolean lsub, List<String> selectionOptions, String reference, List<String> patterns,
                List<String> returnOptions, List<String> statusItems) {
            this(lsub, selectionOptions, reference, patterns, returnOptions, statusItems,
                    !selectionOptions.isEmpty() || !returnOptions.isEmpty() || patterns.size() > 1);
        }

        public Name name() { return lsub ? Name.LSUB : Name.LIST; }
    }

    /** Items upper-cased. */
    record Status(String mailbox, List<String> items) implements ImapCommand {
        public Status { items = List.copyOf(items); }

        public Name name() { return Name.STATUS; }
    }

    /**
     * {@code utf8}: the message came as RFC 6855 §4 {@code UTF8 (~{n})} data; {@code message} may
     * hold NUL octets when sent as an RFC 3516 {@code literal8}.
     */
    /**
     * RFC 9051 §6.3.12 APPEND, with RFC 3502 MULTIAPPEND: one or more messages for one mailbox,
     * each a literal or an RFC 4469 CATENATE. Their {@link Message#literals()} are closed by the
     * receiver of the command when done.
     */
    record Append(String mailbox, List<Message> messages) implements ImapCommand {
        public Append { messages = List.copyOf(messages); }

        /** One message. */
        public Append(String mailbox, List<String> flags, Optional<OffsetDateTime> date, byte[] message) {
            this(mailbox, flags, date, message, false);
        }

        /** One message, with RFC 6855 {@code UTF8 (...)} when {@code utf8}. */
        public Append(String mailbox, List<String> flags, Optional<OffsetDateTime> date, byte[] message, boolean utf8) {
            this(mailbox, List.of(new Message(flags, date, Literal.of(message), utf8)));
        }

        public Name name() { return Name.APPEND; }

        /**
         * One message: its flags and internal date, and its content, a literal or (RFC 4469 §5) the
         * parts of a CATENATE.
         */
        public record Message(List<String> flags, Optional<OffsetDateTime> date, Data data) {
            public Message { flags = List.copyOf(flags); }

            /** A literal message, with RFC 6855 {@code UTF8 (...)} when {@code utf8}. */
            public Message(List<String> flags, Optional<OffsetDateTime> date, Literal content, boolean utf8) {
                this(flags, date, new Data.Octets(content, utf8));
            }

            /** Whether it came as RFC 6855 {@code UTF8 (literal8)}. */
            public boolean utf8() { return data instanceof Data.Octets o && o.utf8(); }

            /** The literals it holds (in memory or spooled), which the handler closes whatever the outcome. */
            public List<Literal> literals() {
                return switch (data) {
                    case Data.Octets o -> List.of(o.content());
                    case Data.Catenated c -> c.parts().stream()
                            .filter(CatPart.Text.class::isInstance).map(p -> ((CatPart.Text) p).octets()).toList();
                };
            }
        }

        /** A message's content: a literal, or RFC 4469 §5 {@code catenate}, built from the parts in order. */
        public sealed interface Data {
            record Octets(Literal content, boolean utf8) implements Data {}

            record Catenated(List<CatPart> parts) implements Data {
                public Catenated { parts = List.copyOf(parts); }
            }
        }
    }

    record Idle() implements ImapCommand { public Name name() { return Name.IDLE; } }

    record Check() implements ImapCommand { public Name name() { return Name.CHECK; } }

    record Close() implements ImapCommand { public Name name() { return Name.CLOSE; } }

    record Unselect() implements ImapCommand { public Name name() { return Name.UNSELECT; } }

    /** EXPUNGE, or UID EXPUNGE (RFC 9051 §6.4.9) when {@code uids} is present. */
    record Expunge(Optional<SequenceSet> uids) implements ImapCommand { public Name name() { return Name.EXPUNGE; } }

    /**
     * SEARCH or UID SEARCH. {@code returnOptions} is empty when the client gave no RETURN (plain
     * {@code * SEARCH} answer for rev1 clients); with RETURN () it holds "ALL" (RFC 4731 §3.1).
     * Options are upper-cased atoms; when they hold PARTIAL, {@code partial} is its range (RFC 9394).
     */
    record Search(boolean uid, Optional<List<String>> returnOptions, Optional<String> charset, SearchKey key,
            Optional<PartialRange> partial) implements ImapCommand {
        public Search(boolean uid, Optional<List<String>> returnOptions, Optional<String> charset, SearchKey key) {
            this(uid, returnOptions, charset, key, Optional.empty());
        }

        public Name name() { return Name.SEARCH; }
    }

    /**
     * RFC 9394 §4 {@code partial-range}: positions in a result list, counted from 1; negative ones
     * count from its end (-1 is the last result). Both ends have the same sign; their order is the
     * client's ({@code 500:400} means {@code 400:500}) and is echoed back as given.
     */
    record PartialRange(long first, long last) {

        /** Counted from the end of the results (RFC 9394 §3.1 {@code partial-range-last}). */
        public boolean fromEnd() { return first < 0; }

        /** The results at the positions this range names, in their order; fewer when the range reaches past them. */
        public <T> List<T> of(List<T> results) {
            long low = Math.min(Math.abs(first), Math.abs(last));
            long high = Math.max(Math.abs(first), Math.abs(last));
            int n = results.size();
            if (low > n) return List.of();
            int to = (int) Math.min(high, n);
            if (!fromEnd()) return results.subList((int) low - 1, to);
            return results.subList(n - to, n - (int) low + 1);
        }

        @Override
        public String toString() { return first + ":" + last; }
    }

    /** RFC 5256 §3 and RFC 5957 §3 sort keys; {@code DISPLAYFROM} and {@code DISPLAYTO} are RFC 5957's. */
    enum SortKey { ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, DISPLAYFROM, DISPLAYTO }

    /** One sort criterion: a key, possibly REVERSE. */
    record SortCriterion(boolean reverse, SortKey key) {}

    /**
     * RFC 5256 SORT or UID SORT; the charset is required by its grammar. {@code returnOptions} and
     * {@code partial} as in {@link Search}: present for RFC 5267 §3 {@code SORT RETURN (...)}.
     */
    record Sort(boolean uid, List<SortCriterion> criteria, String charset, SearchKey key,
            Optional<List<String>> returnOptions, Optional<PartialRange> partial) implements ImapCommand {
        public Sort { criteria = List.copyOf(criteria); }

        public Sort(boolean uid, List<SortCriterion> criteria, String charset, SearchKey key) {
            this(uid, criteria, charset, key, Optional.empty(), Optional.empty());
        }

        public Name name() { return Name.SORT; }
    }

    /** RFC 5267 §4.3.5 CANCELUPDATE: the tags of the searching commands whose updates stop. */
    record CancelUpdate(List<String> tags) implements ImapCommand {
        public CancelUpdate { tags = List.copyOf(tags); }

        public Name name() { return Name.CANCELUPDATE; }
    }

    /** RFC 5256 THREAD or UID THREAD. */
    record Thread(boolean uid, Threading.Algorithm algorithm, String charset, SearchKey key) implements ImapCommand {
        public Name name() { return Name.THREAD; }
    }

    /**
     * {@code changedSince}: RFC 7162 §3.1.4.1 CHANGEDSINCE modifier; {@code vanished}: the
     * §3.2.6 VANISHED modifier (only with UID FETCH and CHANGEDSINCE, which the parser checks);
     * {@code partial}: the RFC 9394 §3.3 PARTIAL modifier (only with UID FETCH).
     */
    record Fetch(boolean uid, SequenceSet set, List<FetchAttribute> attributes, OptionalLong changedSince,
            boolean vanished, Optional<PartialRange> partial) implements ImapCommand {
        public Fetch { attributes = List.copyOf(attributes); }

        public Fetch(boolean uid, SequenceSet set, List<FetchAttribute> attributes, OptionalLong changedSince,
                boolean vanished) {
            this(uid, set, attributes, changedSince, vanished, Optional.empty());
        }

        public Fetch(boolean uid, SequenceSet set, List<FetchAttribute> attributes, OptionalLong changedSince) {
            this(uid, set, attributes, changedSince, false);
        }

        public Name name() { return Name.FETCH; }
    }

    enum StoreMode { ADD, REMOVE, REPLACE }

    record Store(boolean uid, SequenceSet set, StoreMode mode, boolean silent, List<String> flags,
            OptionalLong unchangedSince) implements ImapCommand {
        public Store { flags = List.copyOf(flags); }

        public Name name() { return Name.STORE; }
    }

    /** COPY or, with {@code move}, MOVE (RFC 6851). */
    record Copy(boolean uid, boolean move, SequenceSet set, String mailbox) implements ImapCommand {
        public Name name() { return move ? Name.MOVE : Name.COPY; }
    }

    /** RFC 9208 §4.1.1 GETQUOTA. */
    record GetQuota(String root) implements ImapCommand { public Name name() { return Name.GETQUOTA; } }

    /** RFC 9208 §4.1.2 GETQUOTAROOT. */
    record GetQuotaRoot(String mailbox) implements ImapCommand { public Name name() { return Name.GETQUOTAROOT; } }

    /** RFC 9208 §4.1.3 SETQUOTA; resource names upper-cased, in the order given. */
    record SetQuota(String root, List<ResourceLimit> limits) implements ImapCommand {
        public SetQuota { limits = List.copyOf(limits); }

        public Name name() { return Name.SETQUOTA; }
    }

    record ResourceLimit(String resource, long limit) {}

    /** RFC 4978 §3 COMPRESS; the mechanism upper-cased. */
    record Compress(String mechanism) implements ImapCommand { public Name name() { return Name.COMPRESS; } }

    /** RFC 4467 §7 GENURLAUTH: URL rumps, each with the mechanism (upper-cased) to authorize it with. */
    record GenUrlAuth(List<UrlRump> rumps) implements ImapCommand {
        public GenUrlAuth { rumps = List.copyOf(rumps); }

        public Name name() { return Name.GENURLAUTH; }
    }

    record UrlRump(String url, String mechanism) {}

    /** RFC 4467 §7 RESETKEY: every mailbox without {@code mailbox}; mechanisms upper-cased. */
    record ResetKey(Optional<String> mailbox, List<String> mechanisms) implements ImapCommand {
        public ResetKey { mechanisms = List.copyOf(mechanisms); }

        public Name name() { return Name.RESETKEY; }
    }

    /** RFC 4467 §7 URLFETCH, with RFC 5524 §3.1 parameters. */
    record UrlFetch(List<UrlFetchItem> urls) implements ImapCommand {
        public UrlFetch { urls = List.copyOf(urls); }

        public Name name() { return Name.URLFETCH; }
    }

    /** What content an RFC 5524 URLFETCH returns: as stored, decoded, or none (only metadata). */
    enum UrlData { BODY, BINARY, NONE }

    /**
     * One URL of URLFETCH; {@code extended} when it came in RFC 5524's parenthesized form, whose
     * answer is a list of items rather than a bare string.
     */
    record UrlFetchItem(String url, boolean extended, boolean bodyPartStructure, UrlData data) {}

    /** RFC 4469 §5 {@code cat-part}. */
    sealed interface CatPart {
        /** A TEXT literal, held as APPEND's messages are (in memory or spooled); the handler closes it. */
        record Text(Literal octets) implements CatPart {}

        record Url(String url) implements CatPart {}
    }

    /**
     * RFC 5465 §3 NOTIFY: {@code NOTIFY NONE} when {@code groups} is empty, otherwise
     * {@code NOTIFY SET}, with {@code status} for its STATUS indicator.
     */
    record Notify(boolean status, List<NotifyGroup> groups) implements ImapCommand {
        public Notify { groups = List.copyOf(groups); }

        public Name name() { return Name.NOTIFY; }
    }
}
