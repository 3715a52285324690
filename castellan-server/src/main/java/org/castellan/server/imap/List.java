package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.store.MailStore;
import org.castellan.store.Mailbox;
import org.castellan.store.MailboxNames;

/**
 * RFC 9051 §6.3.9 LIST with the RFC 5258 LIST-EXTENDED selection options SUBSCRIBED,
 * RECURSIVEMATCH, SPECIAL-USE (RFC 6154) and REMOTE (no remote mailboxes here), the return
 * options SUBSCRIBED, CHILDREN, SPECIAL-USE and STATUS (RFC 5819); RFC 3501 LSUB.
 * \HasChildren/\HasNoChildren and special-use attributes are always returned.
 */
final class List {

    private List() {}

    private static final Set<String> SELECTION = Set.of("SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE");
    private static final Set<String> RETURN = Set.of("SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS");

    static void run(ImapSession s, String tag, ImapCommand.ListMailboxes c) {
        String keyword = c.lsub() ? "LSUB" : "LIST";
        if (c.patterns().size() == 1 && c.patterns().get(0).isEmpty() && c.selectionOptions().isEmpty()) {
            // RFC 9051 §6.3.9: an empty pattern asks for the hierarchy delimiter.
            s.untagged(keyword + " (\\Noselect) \"/\" \"\"");
            s.ok(tag, keyword + " completed");
            return;
        }
        for (String o : c.selectionOptions()) {
            if (!SELECTION.contains(o)) {
                s.bad(tag, "Unknown LIST selection option " + o);
                return;
            }
        }
        for (String o : c.returnOptions()) {
            if (!RETURN.contains(o)) {
                s.bad(tag, "Unknown LIST return option " + o);
                return;
            }
        }
        for (String item : c.statusItems()) {
            if (!Status.ITEMS.contains(item)) {
                s.bad(tag, "Unknown STATUS item " + item);
                return;
            }
        }
        // RFC 5258 §3.1: RECURSIVEMATCH needs another selection option.
        if (c.selectionOptions().contains("RECURSIVEMATCH") && c.selectionOptions().size() == 1) {
            s.bad(tag, "RECURSIVEMATCH needs another selection option");
            return;
        }
        MailStore store = s.service().store();
        boolean rev2 = s.rev2();
        boolean utf8 = s.utf8Names();
        s.blocking(tag, () -> lines(store, s.accountId(), c, rev2, utf8), lines -> {
            for (String line : lines) s.untagged(line);
            s.ok(tag, keyword + " completed");
        });
    }

    private static java.util.List<String> lines(MailStore store, long account, ImapCommand.ListMailboxes c, boolean rev2,
            boolean utf8) {
        java.util.List<Pattern> patterns = new ArrayList<>();
        for (String p : c.patterns()) patterns.add(pattern(c.reference() + p));
        Map<String, Mailbox> existing = new HashMap<>();
        for (Mailbox m : store.listMailboxes(account)) existing.put(m.name(), m);
        Set<String> subscribed = new TreeSet<>(store.listSubscriptions(account));
        boolean selSubscribed = c.lsub() || c.selectionOptions().contains("SUBSCRIBED");
        boolean recursive = c.selectionOptions().contains("RECURSIVEMATCH");
        boolean selSpecial = c.selectionOptions().contains("SPECIAL-USE");
        boolean showSubscribed = !c.lsub() && (selSubscribed || c.returnOptions().contains("SUBSCRIBED"));

        TreeSet<String> candidates = new TreeSet<>();
        if (selSubscribed) {
            candidates.addAll(subscribed);
            if (recursive) for (String n : subscribed) candidates.addAll(MailboxNames.parents(n));
        } else {
            for (String n : existing.keySet()) {
                candidates.add(n);
                candidates.addAll(MailboxNames.parents(n));
            }
        }
        java.util.List<String> out = new ArrayList<>();
        for (String name : candidates) {
            if (patterns.stream().noneMatch(p -> p.matcher(name).matches())) continue;
            Mailbox m = existing.get(name);
            if (selSpecial && (m == null || m.specialUse().isEmpty())) continue;
            boolean isSubscribed = subscribed.contains(name);
            boolean subscribedChild = subscribed.stream().anyMatch(x -> x.startsWith(name + MailboxNames.SEPARATOR));
            if (selSubscribed && !isSubscribed && !(recursive && subscribedChild)) continue;
            java.util.List<String> attrs = new ArrayList<>();
            boolean children = existing.keySet().stream().anyMatch(x -> x.startsWith(name + MailboxNames.SEPARATOR));
            if (m == null) {
                if (c.lsub()) attrs.add("\\Noselect");
                // RFC 5258 §3.4: \NonExistent is LIST-EXTENDED's; a plain rev1 LIST says \Noselect.
                else attrs.add(rev2 || !c.selectionOptions().isEmpty() ? "\\NonExistent" : "\\Noselect");
            }
            if (!c.lsub()) attrs.add(children ? "\\HasChildren" : "\\HasNoChildren");
            if (showSubscribed && isSubscribed) attrs.add("\\Subscribed");
            if (m != null && m.specialUse().isPresent() && !c.lsub()) attrs.add(m.specialUse().get().attribute());
            String line = (c.lsub() ? "LSUB (" : "LIST (") + String.join(" ", attrs) + ") \"/\" " + ImapSession.mailboxOut(name, utf8);
            if (selSubscribed && recursive && !isSubscribed) {
                line += " (\"CHILDINFO\" (\"SUBSCRIBED\"))"; // RFC 5258 §3.5
            }
            out.add(line);
            if (m != null && c.returnOptions().contains("STATUS")) out.add(Status.line(store, m, c.statusItems(), utf8));
        }
        return out;
    }

    /** RFC 9051 §6.3.9: "*" matches anything, "%" anything but the separator; INBOX in any case. */
    static Pattern pattern(String glob) {
        if (glob.length() >= 5 && glob.substring(0, 5).equalsIgnoreCase(MailboxNames.INBOX)
                && (glob.length() == 5 || glob.charAt(5) == MailboxNames.SEPARATOR)) {
            glob = MailboxNames.INBOX + glob.substring(5);
        }
        StringBuilder re = new StringBuilder();
        StringBuilder literal = new StringBuilder();
        for (char ch : glob.toCharArray()) {
            if (ch == '*' || ch == '%') {
                re.append(Pattern.quote(literal.toString()));
                literal.setLength(0);
                re.append(ch == '*' ? ".*" : "[^" + MailboxNames.SEPARATOR + "]*");
            } else {
                literal.append(ch);
            }
        }
        re.append(Pattern.quote(literal.toString()));
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }

}
