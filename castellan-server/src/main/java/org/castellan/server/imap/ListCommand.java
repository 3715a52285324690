package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.store.Mailbox;
import org.castellan.store.MailboxNames;
import org.castellan.store.Mailboxes;

/**
 * RFC 9051 §6.3.9 LIST with the RFC 5258 LIST-EXTENDED selection options SUBSCRIBED,
 * RECURSIVEMATCH, SPECIAL-USE (RFC 6154) and REMOTE (no remote mailboxes here), the return
 * options SUBSCRIBED, CHILDREN, SPECIAL-USE and STATUS (RFC 5819); RFC 3501 §6.3.9 LSUB.
 * \HasChildren/\HasNoChildren and special-use attributes are always returned.
 */
final class ListCommand {

    private ListCommand() {}

    private static final Set<String> SELECTION = Set.of("SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE");
    private static final Set<String> RETURN = Set.of("SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS");

    static void run(ImapSession s, String tag, ImapCommand.ListMailboxes c) {
        String keyword = c.lsub() ? "LSUB" : "LIST";
        // RFC 5258 §3: a server MUST answer BAD to options it does not recognize, whatever the pattern.
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
        if (c.returnOptions().contains("STATUS") && c.statusItems().isEmpty()) {
            s.bad(tag, "STATUS return option needs at least one item"); // RFC 5819 §6
            return;
        }
        for (String item : c.statusItems()) {
            if (!Status.ITEMS.contains(item)) {
                s.bad(tag, "Unknown STATUS item " + item);
                return;
            }
        }
        // RFC 5258 §3.1: RECURSIVEMATCH only with a base option, and SUBSCRIBED is the only one
        // here: REMOTE and SPECIAL-USE (RFC 6154 §6) are list-select-independent-opt.
        if (c.selectionOptions().contains("RECURSIVEMATCH") && !c.selectionOptions().contains("SUBSCRIBED")) {
            s.bad(tag, "RECURSIVEMATCH needs the SUBSCRIBED selection option");
            return;
        }
        if (!c.lsub() && !c.extended() && c.patterns().size() == 1 && c.patterns().get(0).isEmpty()) {
            // RFC 9051 §6.3.9: an empty pattern asks for the hierarchy delimiter; RFC 5258 §3: not in an extended LIST.
            s.untagged("LIST (\\Noselect) \"/\" \"\"");
            s.ok(tag, "LIST completed");
            return;
        }
        Mailboxes store = s.service().store();
        boolean nonExistent = s.rev2() || c.extended();
        boolean utf8 = s.utf8Names();
        s.blocking(tag, () -> lines(store, s.accountId(), c, nonExistent, utf8), lines -> {
            for (String line : lines) s.untagged(line);
            s.ok(tag, keyword + " completed");
        });
    }

    private static List<String> lines(Mailboxes store, long account, ImapCommand.ListMailboxes c,
            boolean nonExistent, boolean utf8) {
        List<Pattern> patterns = new ArrayList<>();
        for (String p : c.patterns()) {
            // RFC 5258 §3: in an extended LIST the empty string matches nothing.
            if (!p.isEmpty() || !c.extended()) patterns.add(pattern(c.reference() + p));
        }
        Map<String, Mailbox> existing = new HashMap<>();
        for (Mailbox m : store.listMailboxes(account)) existing.put(m.name(), m);
        Set<String> subscribed = new TreeSet<>(store.listSubscriptions(account));
        boolean selSubscribed = c.lsub() || c.selectionOptions().contains("SUBSCRIBED");
        boolean selSpecial = c.selectionOptions().contains("SPECIAL-USE");
        // RFC 3501 §6.3.9 lists LSUB's unsubscribed parents as RFC 5258 §3.5 lists RECURSIVEMATCH's.
        boolean recursive = c.lsub() || c.selectionOptions().contains("RECURSIVEMATCH");
        boolean showSubscribed = !c.lsub() && (selSubscribed || c.returnOptions().contains("SUBSCRIBED"));

        // RFC 5258 §3: a name is selected when it satisfies every selection option.
        TreeSet<String> selected = new TreeSet<>();
        TreeSet<String> candidates = new TreeSet<>();
        for (String n : selSubscribed ? subscribed : existing.keySet()) {
            Mailbox m = existing.get(n);
            if (selSpecial && (m == null || m.specialUse().isEmpty())) continue;
            selected.add(n);
            candidates.add(n);
            // Parents: listed when a plain LIST's hierarchy has gaps, or for RECURSIVEMATCH (and LSUB).
            if (recursive || (!selSubscribed && !selSpecial)) candidates.addAll(MailboxNames.parents(n));
        }
        java.util.function.Predicate<String> matches = n -> patterns.stream().anyMatch(p -> p.matcher(n).matches());

        List<String> out = new ArrayList<>();
        for (String name : candidates) {
            if (!matches.test(name)) continue;
            boolean isSelected = selected.contains(name);
            boolean childInfo = false;
            if (recursive) {
                List<String> below = below(selected, name);
                // RFC 5258 §3.5 (and RFC 9051 §6.3.9's table): CHILDINFO for a name with selected
                // descendants; a name that is not selected itself only when some of them are not
                // listed by this command (servers SHOULD suppress the redundant response).
                childInfo = isSelected ? !below.isEmpty() : below.stream().anyMatch(matches.negate());
                if (!isSelected && !childInfo) continue;
            } else if (!isSelected && selSubscribed) {
                continue;
            }
            Mailbox m = existing.get(name);
            List<String> attrs = new ArrayList<>();
            if (c.lsub()) {
                // RFC 3501 §6.3.9: a parent listed only for its subscribed children is \Noselect.
                if (m == null || !isSelected) attrs.add("\\Noselect");
            } else {
                // RFC 5258 §3.4: \NonExistent is LIST-EXTENDED's; a plain rev1 LIST says \Noselect.
                if (m == null) attrs.add(nonExistent ? "\\NonExistent" : "\\Noselect");
                String prefix = name + MailboxNames.SEPARATOR;
                boolean children = existing.keySet().stream().anyMatch(x -> x.startsWith(prefix));
                attrs.add(children ? "\\HasChildren" : "\\HasNoChildren");
                if (showSubscribed && subscribed.contains(name)) attrs.add("\\Subscribed");
                if (m != null && m.specialUse().isPresent()) attrs.add(m.specialUse().get().attribute());
            }
            String line = (c.lsub() ? "LSUB (" : "LIST (") + String.join(" ", attrs) + ") \"/\" "
                    + ImapSession.mailboxOut(name, utf8);
            // RFC 5258 §3.5: CHILDINFO only when RECURSIVEMATCH was asked for (never for LSUB).
            if (childInfo && !c.lsub()) line += " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
            out.add(line);
            // RFC 5819 §2: STATUS for the selectable mailboxes that meet the selection criteria.
            if (m != null && isSelected && c.returnOptions().contains("STATUS")) {
                out.add(Status.line(store, m, c.statusItems(), utf8));
            }
        }
        return out;
    }

    /** The names in {@code names} below {@code parent} in the hierarchy. */
    private static List<String> below(TreeSet<String> names, String parent) {
        String prefix = parent + MailboxNames.SEPARATOR;
        List<String> out = new ArrayList<>();
        for (String n : names.tailSet(prefix, false)) {
            if (!n.startsWith(prefix)) break;
            out.add(n);
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
