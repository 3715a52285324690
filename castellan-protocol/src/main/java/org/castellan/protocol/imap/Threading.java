package org.castellan.protocol.imap;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * RFC 5256 §3 THREAD algorithms, ORDEREDSUBJECT and REFERENCES, on values only: the caller
 * gives one {@link Message} per message that matched the search, and gets the threads back.
 * Messages are numbered by the caller (sequence numbers or UIDs); ties in sent date are broken
 * by that number (RFC 5256 §3).
 */
public final class Threading {

    private Threading() {}

    /** The THREAD algorithms (RFC 5256 §3); the capability is {@code THREAD=} the name. */
    public enum Algorithm { ORDEREDSUBJECT, REFERENCES }

    /**
     * One message to thread.
     *
     * @param number the sequence number or UID the answer uses
     * @param sentDate RFC 5256 §2.2: the Date: field, or the internal date when it is missing or invalid
     * @param subject the raw Subject: value, or null
     * @param messageId the raw Message-ID: value, or null
     * @param references the raw References: value, or null
     * @param inReplyTo the raw In-Reply-To: value, or null
     */
    public record Message(long number, Instant sentDate, String subject, String messageId, String references,
            String inReplyTo) {}

    /**
     * A thread node: a message ({@code number} > 0) or a dummy standing for a missing parent
     * ({@code number} 0), with its children in order.
     */
    public record Node(long number, List<Node> children) {
        public Node {
            children = List.copyOf(children);
        }

        /** RFC 5256 §4 thread-list item: "(3 6 (4 23)(44 7 96))". */
        @Override
        public String toString() {
            StringBuilder b = new StringBuilder("(");
            members(this, b);
            return b.append(')').toString();
        }

        private static void members(Node n, StringBuilder b) {
            if (n.number > 0) {
                b.append(n.number);
                if (n.children.isEmpty()) return;
                b.append(' ');
                if (n.children.size() == 1) {
                    members(n.children.get(0), b);
                    return;
                }
            } else if (n.children.size() == 1) {
                members(n.children.get(0), b);
                return;
            }
            for (Node c : n.children) {
                b.append('(');
                members(c, b);
                b.append(')');
            }
        }
    }

    /** The whole THREAD answer for a list of threads: "(2)(3 6 (4 23)(44 7 96))". */
    public static String render(List<Node> threads) {
        StringBuilder b = new StringBuilder();
        for (Node n : threads) b.append(n);
        return b.toString();
    }

    public static List<Node> thread(Algorithm algorithm, List<Message> messages) {
        return switch (algorithm) {
            case ORDEREDSUBJECT -> orderedSubject(messages);
            case REFERENCES -> references(messages);
        };
    }

    private static final Comparator<Message> BY_DATE =
            Comparator.comparing(Message::sentDate).thenComparingLong(Message::number);

    /**
     * RFC 5256 §3 ORDEREDSUBJECT: messages grouped by base subject, each group ordered by sent
     * date; the first message of a group is the parent of all the others; groups ordered by the
     * sent date of their first message.
     */
    public static List<Node> orderedSubject(List<Message> messages) {
        Map<String, List<Message>> bySubject = new LinkedHashMap<>();
        for (Message m : messages) {
            String key = new String(BaseSubject.casemap(BaseSubject.of(m.subject()).subject()),
                    java.nio.charset.StandardCharsets.UTF_8);
            bySubject.computeIfAbsent(key, k -> new ArrayList<>()).add(m);
        }
        List<List<Message>> groups = new ArrayList<>(bySubject.values());
        for (List<Message> g : groups) g.sort(BY_DATE);
        groups.sort(Comparator.comparing((List<Message> g) -> g.get(0), BY_DATE));
        List<Node> out = new ArrayList<>();
        for (List<Message> g : groups) {
            List<Node> children = g.subList(1, g.size()).stream().map(m -> new Node(m.number(), List.of())).toList();
            out.add(new Node(g.get(0).number(), children));
        }
        return out;
    }

    // ---- REFERENCES

    /** A container of the REFERENCES algorithm: a message or, with {@code message} null, a dummy. */
    private static final class Container {
        Message message;
        Container parent;
        final List<Container> children = new ArrayList<>();

        boolean dummy() { return message == null; }

        boolean reaches(Container other) {
            for (Container c = this; c != null; c = c.parent) if (c == other) return true;
            return false;
        }

        void unlink() {
            if (parent != null) parent.children.remove(this);
            parent = null;
        }

        void addChild(Container c) {
            c.unlink();
            c.parent = this;
            children.add(c);
        }

        /** The date a container sorts by: its message's, or a dummy's first child's (RFC 5256 §3 steps 4 and 6). */
        Message sortMessage() {
            Container c = this;
            while (c.dummy() && !c.children.isEmpty()) c = c.children.get(0);
            return c.message;
        }
    }

    private static final Pattern MSG_ID = Pattern.compile("<[^<>\\s]+>");

    private static List<String> ids(String value) {
        List<String> out = new ArrayList<>();
        if (value == null) return out;
        Matcher m = MSG_ID.matcher(value);
        while (m.find()) out.add(m.group());
        return out;
    }

    /** RFC 5256 §3 REFERENCES, steps 1 to 6. */
    public static List<Node> references(List<Message> messages) {
        Map<String, Container> byId = new HashMap<>();
        int unique = 0;
        List<Message> ordered = new ArrayList<>(messages);
        ordered.sort(Comparator.comparingLong(Message::number));
        for (Message m : ordered) {
            // (1) A message without a valid Message-ID, or with one already seen, gets a unique one.
            List<String> own = ids(m.messageId());
            String id = own.isEmpty() ? null : own.get(0);
            Container self = id == null ? null : byId.get(id);
            if (self == null || self.message != null) {
                id = id == null || self != null ? "\u0000unique-" + unique++ : id;
                self = byId.computeIfAbsent(id, k -> new Container());
            }
            self.message = m;
            // (1A) References, or the first id of In-Reply-To, linked parent to child in order.
            List<String> refs = ids(m.references());
            if (refs.isEmpty()) refs = ids(m.inReplyTo()).stream().limit(1).toList();
            Container previous = null;
            for (String ref : refs) {
                Container c = byId.computeIfAbsent(ref, k -> new Container());
                if (previous != null && c.parent == null && c != previous && !previous.reaches(c)) previous.addChild(c);
                previous = c;
            }
            // (1B) "If the current message already has a parent, it is probably the result of a
            // truncated References header line, so break the current parent/child link before
            // creating the new correct one. As in step 1.A, do not create the parent/child link if
            // creating that link would introduce a loop." The old link goes even when the new one
            // cannot be made: the message then has no parent. Without references it has none either.
            self.unlink();
            if (previous != null && !previous.reaches(self)) previous.addChild(self);
        }
        // (2) the root set
        List<Container> roots = new ArrayList<>();
        for (Container c : new java.util.LinkedHashSet<>(byId.values())) if (c.parent == null) roots.add(c);
        // (3) prune dummies
        roots = prune(roots, true);
        // (4) sort the root set by sent date
        for (Container c : roots) if (c.dummy()) c.children.sort(Comparator.comparing(Container::sortMessage, BY_DATE));
        roots.sort(Comparator.comparing(Container::sortMessage, BY_DATE));
        // (5) group the root set by base subject
        Map<String, Container> subjects = new TreeMap<>();
        for (Container c : roots) {
            Optional<BaseSubject> s = subject(c);
            if (s.isEmpty()) continue;
            Container old = subjects.get(key(s.get()));
            if (old == null || (!old.dummy() && (c.dummy() || (isReply(old) && !isReply(c))))) {
                subjects.put(key(s.get()), c);
            }
        }
        Set<Container> gone = new HashSet<>();
        for (Container c : roots) {
            Optional<BaseSubject> s = subject(c);
            if (s.isEmpty()) continue;
            Container old = subjects.get(key(s.get()));
            if (old == c) continue;
            if (old.dummy() && c.dummy()) {
                for (Container child : List.copyOf(c.children)) old.addChild(child);
            } else if (old.dummy()) {
                old.addChild(c);
            } else if (isReply(c) && !isReply(old)) {
                old.addChild(c);
            } else {
                Container dummy = new Container();
                // The new dummy takes the old entry's place in the root set.
                int at = roots.indexOf(old);
                dummy.addChild(old);
                dummy.addChild(c);
                roots.set(at, dummy);
                subjects.put(key(s.get()), dummy);
            }
            gone.add(c);
        }
        roots.removeIf(gone::contains);
        // (6) sort every set of siblings by sent date, deepest first
        for (Container c : roots) sortTree(c);
        roots.sort(Comparator.comparing(Container::sortMessage, BY_DATE));
        return roots.stream().map(Threading::node).toList();
    }

    private static String key(BaseSubject s) {
        return new String(BaseSubject.casemap(s.subject()), java.nio.charset.StandardCharsets.UTF_8);
    }

    private static boolean isReply(Container c) {
        return !c.dummy() && BaseSubject.of(c.message.subject()).replyOrForward();
    }

    /** The base subject of a root: its message's, or a dummy's first child's; empty when blank. */
    private static Optional<BaseSubject> subject(Container c) {
        Message m = c.dummy() ? (c.children.isEmpty() ? null : c.children.get(0).message) : c.message;
        if (m == null) return Optional.empty();
        BaseSubject s = BaseSubject.of(m.subject());
        return s.subject().isEmpty() ? Optional.empty() : Optional.of(s);
    }

    /**
     * RFC 5256 §3 step 3: a dummy without children goes; a dummy with children goes and its
     * children take its place, except at the root, where only a single child is promoted.
     */
    private static List<Container> prune(List<Container> level, boolean root) {
        List<Container> out = new ArrayList<>();
        for (Container c : level) {
            List<Container> kids = prune(List.copyOf(c.children), false);
            c.children.clear();
            for (Container k : kids) {
                k.parent = c;
                c.children.add(k);
            }
            if (c.dummy() && c.children.isEmpty()) continue;
            if (c.dummy() && (!root || c.children.size() == 1)) {
                for (Container k : c.children) k.parent = c.parent;
                out.addAll(c.children);
                c.children.clear();
                continue;
            }
            out.add(c);
        }
        if (root) for (Container c : out) c.parent = null;
        return out;
    }

    private static void sortTree(Container c) {
        for (Container k : c.children) sortTree(k);
        c.children.sort(Comparator.comparing(Container::sortMessage, BY_DATE));
    }

    private static Node node(Container c) {
        return new Node(c.dummy() ? 0 : c.message.number(), c.children.stream().map(Threading::node).toList());
    }
}
