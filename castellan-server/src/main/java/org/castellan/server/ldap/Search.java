package org.castellan.server.ldap;

import com.unboundid.ldap.protocol.SearchRequestProtocolOp;
import com.unboundid.ldap.protocol.SearchResultDoneProtocolOp;
import com.unboundid.ldap.protocol.SearchResultEntryProtocolOp;
import com.unboundid.ldap.sdk.Attribute;
import com.unboundid.ldap.sdk.DN;
import com.unboundid.ldap.sdk.Entry;
import com.unboundid.ldap.sdk.Filter;
import com.unboundid.ldap.sdk.LDAPException;
import com.unboundid.ldap.sdk.ResultCode;
import com.unboundid.ldap.sdk.SearchScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.castellan.security.pki.CertificateDirectory;
import org.castellan.server.config.Directory;

/**
 * The search operation (RFC 4511 §4.5) over the {@link DirectoryTree}: the policy of
 * docs/security.md first (filter size, who may search for what), then the scope, the filter
 * (evaluated by the SDK's {@link Filter#matchesEntry}, never by building a string), the size limit,
 * and the attributes asked for.
 *
 * <p>Pure but for {@code listings}, which reads the CA's index: run it off the event loop.
 */
final class Search {

    /**
     * Filter items (every AND, OR, NOT and assertion) in one search. Thunderbird's address-book
     * filter has about ten, Outlook's a dozen; an OR of thousands is a harvesting or a
     * denial-of-service attempt, answered adminLimitExceeded (RFC 4511 §4.1.9).
     */
    static final int MAX_FILTER_ITEMS = 64;

    /** What a search answers: its entries, then its SearchResultDone. */
    record Answer(List<SearchResultEntryProtocolOp> entries, SearchResultDoneProtocolOp done) {
        static Answer done(ResultCode code, String matchedDn, String message) {
            return new Answer(List.of(), new SearchResultDoneProtocolOp(code.intValue(), matchedDn, message, null));
        }
    }

    private final DirectoryTree tree;
    private final Directory policy;

    Search(DirectoryTree tree, Directory policy) {
        this.tree = tree;
        this.policy = policy;
    }

    /**
     * @param bound whether the connection is bound as an account
     * @param offerStartTls whether the root DSE lists StartTLS (a listener that starts without TLS)
     */
    Answer run(SearchRequestProtocolOp request, boolean bound, boolean offerStartTls,
               Supplier<List<CertificateDirectory.Listing>> listings) {
        Filter filter = request.getFilter();
        if (items(filter) > MAX_FILTER_ITEMS) {
            return Answer.done(ResultCode.ADMIN_LIMIT_EXCEEDED, null, "filter of more than " + MAX_FILTER_ITEMS + " items");
        }
        DN base;
        try {
            base = new DN(request.getBaseDN());
        } catch (LDAPException e) {
            return Answer.done(ResultCode.INVALID_DN_SYNTAX, null, "base object is not a DN");
        }
        SearchScope scope = request.getScope();
        // RFC 4512 §5.1: the root DSE is read with a base search of the empty name, by anyone.
        if (base.isNullDN() && scope == SearchScope.BASE) {
            return answer(request, List.of(tree.rootDse(offerStartTls)), false);
        }
        if (!bound && policy.anonymous() == Directory.Anonymous.NONE) {
            return Answer.done(ResultCode.INSUFFICIENT_ACCESS_RIGHTS, null, "bind as an account to search this directory");
        }
        // A base search names its one entry; any other must name the addresses it looks for.
        if (!bound && scope != SearchScope.BASE && !pinned(filter)) {
            return Answer.done(ResultCode.UNWILLING_TO_PERFORM, null, "without a bind, search only for whole addresses,"
                    + " as (mail=alice@example.org)");
        }
        // An empty base with a wider scope searches the one naming context, as Outlook's default expects.
        if (base.isNullDN()) base = tree.base();
        List<Entry> candidates = new ArrayList<>();
        if (base.equals(tree.base())) {
            if (scope == SearchScope.BASE || scope == SearchScope.SUB) candidates.add(tree.baseEntry());
            if (scope != SearchScope.BASE) candidates.add(tree.peopleEntry());
            if (scope == SearchScope.SUB || scope == SearchScope.SUBORDINATE_SUBTREE) {
                listings.get().forEach(l -> candidates.add(tree.entry(l)));
            }
        } else if (base.equals(tree.people())) {
            if (scope == SearchScope.BASE || scope == SearchScope.SUB) candidates.add(tree.peopleEntry());
            if (scope != SearchScope.BASE) listings.get().forEach(l -> candidates.add(tree.entry(l)));
        } else {
            Optional<String> address = tree.addressOf(base);
            DN named = base;
            Optional<CertificateDirectory.Listing> listing = address.flatMap(a -> listings.get().stream()
                    .filter(l -> tree.entryDn(l.address()).equals(named)).findFirst());
            if (listing.isEmpty()) {
                String matched = base.isDescendantOf(tree.people(), false) ? tree.people().toString()
                        : base.isDescendantOf(tree.base(), false) ? tree.base().toString() : null;
                return Answer.done(ResultCode.NO_SUCH_OBJECT, matched, "no such entry"); // RFC 4511 §4.5.1.1
            }
            if (scope == SearchScope.BASE || scope == SearchScope.SUB) candidates.add(tree.entry(listing.get()));
        }
        List<Entry> matching = new ArrayList<>();
        for (Entry entry : candidates) {
            if (matches(filter, entry)) matching.add(entry);
        }
        int limit = request.getSizeLimit() > 0 ? Math.min(request.getSizeLimit(), policy.sizeLimit()) : policy.sizeLimit();
        if (matching.size() > limit) {
            // RFC 4511 §4.5.1.4: the entries up to the limit, then sizeLimitExceeded.
            return answer(request, matching.subList(0, limit), true);
        }
        return answer(request, matching, false);
    }

    private static boolean matches(Filter filter, Entry entry) {
        try {
            return filter.matchesEntry(entry);
        } catch (LDAPException e) {
            return false; // RFC 4511 §4.5.1.7: an Undefined filter returns no entry
        }
    }

    /**
     * Whether every entry {@code filter} can match has an address the filter names in full: an
     * equality on mail, an AND holding one, or an OR of such only.
     */
    static boolean pinned(Filter filter) {
        return switch (filter.getFilterType()) {
            case Filter.FILTER_TYPE_EQUALITY -> baseName(filter.getAttributeName()).equalsIgnoreCase("mail");
            case Filter.FILTER_TYPE_AND -> java.util.Arrays.stream(filter.getComponents()).anyMatch(Search::pinned);
            case Filter.FILTER_TYPE_OR -> filter.getComponents().length > 0
                    && java.util.Arrays.stream(filter.getComponents()).allMatch(Search::pinned);
            default -> false;
        };
    }

    /** The number of items in {@code filter}, counting every AND, OR and NOT as one. */
    static int items(Filter filter) {
        int n = 1;
        switch (filter.getFilterType()) {
            case Filter.FILTER_TYPE_AND, Filter.FILTER_TYPE_OR -> {
                for (Filter c : filter.getComponents()) n += items(c);
            }
            case Filter.FILTER_TYPE_NOT -> n += items(filter.getNOTComponent());
            default -> { }
        }
        return n;
    }

    private Answer answer(SearchRequestProtocolOp request, List<Entry> entries, boolean truncated) {
        List<SearchResultEntryProtocolOp> out = new ArrayList<>();
        for (Entry e : entries) out.add(new SearchResultEntryProtocolOp(e.getDN(), selected(e, request)));
        ResultCode code = truncated ? ResultCode.SIZE_LIMIT_EXCEEDED : ResultCode.SUCCESS;
        return new Answer(out, new SearchResultDoneProtocolOp(code.intValue(), null, null, null));
    }

    /**
     * The attributes of {@code entry} that the request asks for (RFC 4511 §4.5.1.8): all with no
     * list or {@code *}, none with {@code 1.1} alone, else those named, compared by their name
     * without options, so that {@code userCertificate} finds {@code userCertificate;binary}.
     * Values are left out when only types were asked for.
     */
    private static List<Attribute> selected(Entry entry, SearchRequestProtocolOp request) {
        List<String> asked = request.getAttributes();
        boolean all = asked.isEmpty() || asked.contains("*") || (entry.getDN().isEmpty() && asked.contains("+"));
        List<Attribute> out = new ArrayList<>();
        for (Attribute a : entry.getAttributes()) {
            boolean wanted = all || asked.stream().anyMatch(name -> baseName(name).equalsIgnoreCase(a.getBaseName()));
            if (!wanted) continue;
            out.add(request.typesOnly() ? new Attribute(a.getName()) : a);
        }
        return out;
    }

    private static String baseName(String attribute) {
        int semicolon = attribute.indexOf(';');
        return semicolon < 0 ? attribute : attribute.substring(0, semicolon);
    }
}
