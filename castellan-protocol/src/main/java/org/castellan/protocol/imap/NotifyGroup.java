package org.castellan.protocol.imap;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * One RFC 5465 §8 {@code event-group} of a NOTIFY SET command: which mailboxes, and which of their
 * events the client wants to hear of.
 *
 * @param mailboxes the names given with SUBTREE and MAILBOXES, as sent (not yet decoded from
 *     modified UTF-7); empty for the other filters
 * @param events the events in the order given; empty for {@code NONE}
 */
public record NotifyGroup(Filter filter, List<String> mailboxes, List<Event> events) {

    public NotifyGroup {
        mailboxes = List.copyOf(mailboxes);
        events = List.copyOf(events);
    }

    /** RFC 5465 §6 mailbox specifiers ({@code filter-mailboxes}). */
    public enum Filter {
        SELECTED, SELECTED_DELAYED, INBOXES, PERSONAL, SUBSCRIBED, SUBTREE, MAILBOXES;

        /** The keyword as the grammar spells it, e.g. {@code SELECTED-DELAYED}. */
        public String keyword() {
            return name().replace('_', '-');
        }

        static Optional<Filter> of(String keyword) {
            String k = keyword.toUpperCase(Locale.ROOT);
            for (Filter f : values()) if (f.keyword().equals(k)) return Optional.of(f);
            return Optional.empty();
        }

        /** Whether names follow the keyword ({@code one-or-more-mailbox}). */
        public boolean takesMailboxes() {
            return this == SUBTREE || this == MAILBOXES;
        }
    }

    /** The event names of RFC 5465 §5, in its spelling. */
    public static final List<String> KNOWN_EVENTS = List.of("MessageNew", "MessageExpunge", "FlagChange",
            "AnnotationChange", "MailboxName", "SubscriptionChange", "MailboxMetadataChange", "ServerMetadataChange");

    /**
     * One event. A name of {@link #KNOWN_EVENTS} in any case comes in its RFC spelling; any other
     * atom ({@code event-ext}) as sent, for the server to refuse with BADEVENT.
     *
     * @param fetch the fetch attributes of {@code MessageNew (...)}; empty otherwise
     */
    public record Event(String name, List<FetchAttribute> fetch) {
        public Event {
            fetch = List.copyOf(fetch);
        }

        static String canonical(String atom) {
            for (String known : KNOWN_EVENTS) if (known.equalsIgnoreCase(atom)) return known;
            return atom;
        }
    }
}
