package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.3.9 LIST (with LIST-EXTENDED options, RFC 6154 attributes), RFC 3501 LSUB. */
class ListTest extends ServerPerTest {

    @Test
    void listWithAttributes() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a0 CREATE Work/Projects/Castellan
                    S: a0 OK CREATE completed
                    C: a1 LIST "" ""
                    S: \\* LIST \\(\\\\Noselect\\) "/" ""
                    S: a1 OK LIST completed
                    C: a2 LIST "" %
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Archive\\) "/" Archive
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Drafts\\) "/" Drafts
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Junk\\) "/" Junk
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Sent\\) "/" Sent
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Trash\\) "/" Trash
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Work
                    S: a2 OK LIST completed
                    C: a3 LIST Work/ *
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Work/Projects
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Work/Projects/Castellan
                    S: a3 OK LIST completed
                    C: a4 LIST (SPECIAL-USE) "" * RETURN (SUBSCRIBED STATUS (MESSAGES))
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed \\\\Archive\\) "/" Archive
                    S: \\* STATUS Archive \\(MESSAGES 0\\)
                    S: \\* LIST .* Drafts
                    S: \\* STATUS Drafts .*
                    S: \\* LIST .* Junk
                    S: \\* STATUS Junk .*
                    S: \\* LIST .* Sent
                    S: \\* STATUS Sent .*
                    S: \\* LIST .* Trash
                    S: \\* STATUS Trash .*
                    S: a4 OK LIST completed
                    C: a5 LIST "" inbox
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: a5 OK LIST completed
                    C: a6 LIST (RECURSIVEMATCH) "" *
                    S: a6 BAD RECURSIVEMATCH needs the SUBSCRIBED selection option
                    C: a7 LIST (FROB) "" *
                    S: a7 BAD Unknown LIST selection option FROB
                    """);
        }
    }

    @Test
    void subscriptionsAndLsub() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a0 CREATE Lists/imap
                    S: a0 OK CREATE completed
                    C: a1 SUBSCRIBE Lists/imap
                    S: a1 OK SUBSCRIBE completed
                    C: a2 SUBSCRIBE Gone
                    S: a2 OK SUBSCRIBE completed
                    C: a3 LSUB "" L*
                    S: \\* LSUB \\(\\) "/" Lists/imap
                    S: a3 OK LSUB completed
                    C: a4 LIST (SUBSCRIBED RECURSIVEMATCH) "" %
                    S: \\* LIST .* Archive
                    S: \\* LIST .* Drafts
                    S: \\* LIST \\(\\\\NonExistent \\\\HasNoChildren \\\\Subscribed\\) "/" Gone
                    S: \\* LIST .* INBOX
                    S: \\* LIST .* Junk
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Lists \\("CHILDINFO" \\("SUBSCRIBED"\\)\\)
                    S: \\* LIST .* Sent
                    S: \\* LIST .* Trash
                    S: a4 OK LIST completed
                    C: a5 UNSUBSCRIBE Gone
                    S: a5 OK UNSUBSCRIBE completed
                    C: a6 LSUB "" Gone
                    S: a6 OK LSUB completed
                    """);
        }
    }

    /** The account as RFC 5258's examples have it: INBOX only, subscribed; the default mailboxes gone. */
    private static void inboxOnly(Transcript t) {
        for (String name : new String[] {"Archive", "Drafts", "Junk", "Sent", "Trash"}) {
            t.run("""
                    C: d DELETE %1$s
                    S: d OK .*
                    C: u UNSUBSCRIBE %1$s
                    S: u OK .*
                    """.formatted(name));
        }
    }

    private static void create(Transcript t, String... names) {
        for (String name : names) t.run("C: c CREATE " + name + "\nS: c OK .*");
    }

    private static void subscribe(Transcript t, String... names) {
        for (String name : names) t.run("C: s SUBSCRIBE " + name + "\nS: s OK .*");
    }

    /**
     * RFC 5258 §5 examples 1 to 6, on their hierarchy. Attributes are this server's: INBOX is not
     * \NoInferiors, and \HasChildren/\HasNoChildren come always; there are no remote mailboxes, so
     * REMOTE adds nothing.
     */
    @Test
    void rfc5258ExamplesOneToSix() {
        try (Transcript t = imap.loggedIn()) {
            inboxOnly(t);
            create(t, "Fruit/Apple", "Fruit/Banana", "Tofu", "Vegetable/Broccoli", "Vegetable/Corn");
            subscribe(t, "Fruit/Banana", "Fruit/Peach", "Vegetable", "Vegetable/Broccoli");
            t.run("""
                    # 1: the whole hierarchy.
                    C: A01 LIST "" "*"
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Fruit
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Fruit/Apple
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Fruit/Banana
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Tofu
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Vegetable
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Vegetable/Broccoli
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Vegetable/Corn
                    S: A01 OK LIST completed
                    # 2: subscribed names, Fruit/Peach among them although it does not exist.
                    C: A02 LIST (SUBSCRIBED) "" "*"
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" Fruit/Banana
                    S: \\* LIST \\(\\\\NonExistent \\\\HasNoChildren \\\\Subscribed\\) "/" Fruit/Peach
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" INBOX
                    S: \\* LIST \\(\\\\HasChildren \\\\Subscribed\\) "/" Vegetable
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" Vegetable/Broccoli
                    S: A02 OK LIST completed
                    # 3: CHILDREN on the top level.
                    C: A03 LIST () "" "%" RETURN (CHILDREN)
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Fruit
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Tofu
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Vegetable
                    S: A03 OK LIST completed
                    # 4: REMOTE too (the example's Bread and Meat live on another server).
                    C: A04 LIST (REMOTE) "" "%" RETURN (CHILDREN)
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Fruit
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Tofu
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Vegetable
                    S: A04 OK LIST completed
                    # 5: two selection options, remote and subscribed.
                    C: A05 LIST (REMOTE SUBSCRIBED) "" "*"
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" Fruit/Banana
                    S: \\* LIST \\(\\\\NonExistent \\\\HasNoChildren \\\\Subscribed\\) "/" Fruit/Peach
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" INBOX
                    S: \\* LIST \\(\\\\HasChildren \\\\Subscribed\\) "/" Vegetable
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" Vegetable/Broccoli
                    S: A05 OK LIST completed
                    # 6: subscription state of the existing mailboxes: no Fruit/Peach this time.
                    C: A06 LIST (REMOTE) "" "*" RETURN (SUBSCRIBED)
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Fruit
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Fruit/Apple
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" Fruit/Banana
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" INBOX
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Tofu
                    S: \\* LIST \\(\\\\HasChildren \\\\Subscribed\\) "/" Vegetable
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" Vegetable/Broccoli
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Vegetable/Corn
                    S: A06 OK LIST completed
                    """);
        }
    }

    /** RFC 5258 §5 example 7: several patterns; a name matching two is listed once. */
    @Test
    void rfc5258ExampleSevenSeveralPatterns() {
        try (Transcript t = imap.loggedIn()) {
            create(t, "Sent/March2004", "Sent/December2003", "Sent/August2004");
            t.run("""
                    C: BBB LIST "" ("INBOX" "Drafts" "Sent/%" "IN*")
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Drafts\\) "/" Drafts
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Sent/August2004
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Sent/December2003
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Sent/March2004
                    S: BBB OK LIST completed
                    """);
        }
    }

    /** RFC 5258 §5 example 8: \HasNoChildren against CHILDINFO, cases A, A1, A2, B and C. */
    @Test
    void rfc5258ExampleEightChildInfo() {
        try (Transcript t = imap.loggedIn()) {
            inboxOnly(t);
            create(t, "Foo/Bar", "Foo/Baz", "Moo");
            t.run("""
                    C: C01 LIST "" "*"
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Foo
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Foo/Bar
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Foo/Baz
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Moo
                    S: C01 OK LIST completed
                    C: CA3 LIST "" "%" RETURN (CHILDREN)
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Foo
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Moo
                    S: CA3 OK LIST completed
                    # A: Foo/Baz is the only subscribed mailbox.
                    C: u UNSUBSCRIBE INBOX
                    S: u OK .*
                    C: s SUBSCRIBE Foo/Baz
                    S: s OK .*
                    C: C02 LIST (SUBSCRIBED) "" "*"
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" Foo/Baz
                    S: C02 OK LIST completed
                    C: C03 LIST (SUBSCRIBED) "" "%"
                    S: C03 OK LIST completed
                    C: C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
                    S: \\* LIST \\(\\\\HasChildren\\) "/" Foo \\("CHILDINFO" \\("SUBSCRIBED"\\)\\)
                    S: C04 OK LIST completed
                    # A1: Foo subscribed too.
                    C: s SUBSCRIBE Foo
                    S: s OK .*
                    C: C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
                    S: \\* LIST \\(\\\\HasChildren \\\\Subscribed\\) "/" Foo \\("CHILDINFO" \\("SUBSCRIBED"\\)\\)
                    S: C04 OK LIST completed
                    # A2: Foo neither exists nor is subscribed.
                    C: u UNSUBSCRIBE Foo
                    S: u OK .*
                    C: d DELETE Foo
                    S: d OK .*
                    C: C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
                    S: \\* LIST \\(\\\\NonExistent \\\\HasChildren\\) "/" Foo \\("CHILDINFO" \\("SUBSCRIBED"\\)\\)
                    S: C04 OK LIST completed
                    # B: nothing subscribed, so nothing listed although Foo has children.
                    C: u UNSUBSCRIBE Foo/Baz
                    S: u OK .*
                    C: C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
                    S: C04 OK LIST completed
                    # C: Foo and Moo subscribed; Foo has children but none subscribed, so no CHILDINFO.
                    C: c CREATE Foo
                    S: c OK .*
                    C: s SUBSCRIBE Foo
                    S: s OK .*
                    C: s SUBSCRIBE Moo
                    S: s OK .*
                    C: C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)
                    S: \\* LIST \\(\\\\HasChildren \\\\Subscribed\\) "/" Foo
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" Moo
                    S: C04 OK LIST completed
                    """);
        }
    }

    /**
     * RFC 5258 §5 example 9: CHILDINFO whether or not the children match the pattern, and not for
     * a parent all of whose subscribed children are listed anyway (baz2, qux2; §3.5). qux2 does
     * not exist, as in the example. The order of the responses is this server's.
     */
    @Test
    void rfc5258ExampleNineChildInfoBeyondThePattern() {
        try (Transcript t = imap.loggedIn()) {
            inboxOnly(t);
            create(t, "foo2/bar1", "foo2/bar2", "baz2/bar2", "baz2/bar22", "baz2/bar222", "eps2/mamba", "qux2/bar2");
            t.run("C: d DELETE qux2\nS: d OK .*\nC: u UNSUBSCRIBE INBOX\nS: u OK .*");
            subscribe(t, "foo2/bar1", "foo2/bar2", "baz2/bar2", "baz2/bar22", "baz2/bar222", "eps2", "eps2/mamba", "qux2/bar2");
            t.run("""
                    C: D03 LIST (SUBSCRIBED RECURSIVEMATCH) "" "*2"
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" baz2/bar2
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" baz2/bar22
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" baz2/bar222
                    S: \\* LIST \\(\\\\HasChildren \\\\Subscribed\\) "/" eps2 \\("CHILDINFO" \\("SUBSCRIBED"\\)\\)
                    S: \\* LIST \\(\\\\HasChildren\\) "/" foo2 \\("CHILDINFO" \\("SUBSCRIBED"\\)\\)
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" foo2/bar2
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" qux2/bar2
                    S: D03 OK LIST completed
                    # With "%" no subscribed child is listed, so every parent carries CHILDINFO.
                    C: D04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
                    S: \\* LIST \\(\\\\HasChildren\\) "/" baz2 \\("CHILDINFO" \\("SUBSCRIBED"\\)\\)
                    S: \\* LIST \\(\\\\HasChildren \\\\Subscribed\\) "/" eps2 \\("CHILDINFO" \\("SUBSCRIBED"\\)\\)
                    S: \\* LIST \\(\\\\HasChildren\\) "/" foo2 \\("CHILDINFO" \\("SUBSCRIBED"\\)\\)
                    S: \\* LIST \\(\\\\NonExistent \\\\HasChildren\\) "/" qux2 \\("CHILDINFO" \\("SUBSCRIBED"\\)\\)
                    S: D04 OK LIST completed
                    """);
        }
    }

    /**
     * RFC 5258 §3.5's note (§5's last examples): without RECURSIVEMATCH there is no CHILDINFO; a
     * missing parent of existing mailboxes says \NonExistent \HasChildren in an extended LIST.
     */
    @Test
    void missingParentWithoutRecursiveMatch() {
        try (Transcript t = imap.loggedIn()) {
            create(t, "music/rock");
            subscribe(t, "music/rock");
            t.run("""
                    C: d DELETE music
                    S: d OK .*
                    C: A02 LIST () "" "m%"
                    S: \\* LIST \\(\\\\NonExistent \\\\HasChildren\\) "/" music
                    S: A02 OK LIST completed
                    C: A03 LIST (SUBSCRIBED) "" "m*"
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" music/rock
                    S: A03 OK LIST completed
                    C: A04 LIST "" "m%"
                    S: \\* LIST \\(\\\\Noselect \\\\HasChildren\\) "/" music
                    S: A04 OK LIST completed
                    """);
        }
    }

    /** RFC 5258 §3: invalid option combinations get BAD, whatever the pattern; repeated options count once. */
    @Test
    void invalidExtendedListsAreBad() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    # §3.1: RECURSIVEMATCH needs a base option; REMOTE and SPECIAL-USE (RFC 6154 §6) are none.
                    C: a1 LIST (REMOTE RECURSIVEMATCH) "" "*"
                    S: a1 BAD .*RECURSIVEMATCH.*
                    C: a2 LIST (SPECIAL-USE RECURSIVEMATCH) "" "*"
                    S: a2 BAD .*RECURSIVEMATCH.*
                    C: a3 LIST (RECURSIVEMATCH RECURSIVEMATCH) "" "*"
                    S: a3 BAD .*RECURSIVEMATCH.*
                    # §3: an option the server does not know is BAD, also with the empty pattern.
                    C: a4 LIST "" "" RETURN (MYRIGHTS)
                    S: a4 BAD Unknown LIST return option MYRIGHTS
                    C: a5 LIST (FROB) "" ""
                    S: a5 BAD Unknown LIST selection option FROB
                    C: a6 LIST "" "%" RETURN (STATUS ())
                    S: a6 BAD .*
                    # §3: the empty pattern is no delimiter request in an extended LIST; it matches nothing.
                    C: a7 LIST "" "" RETURN (CHILDREN)
                    S: a7 OK LIST completed
                    C: a8 LIST "" ("" "INBOX")
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: a8 OK LIST completed
                    C: a9 LIST (SUBSCRIBED SUBSCRIBED) "" "INBOX" RETURN (CHILDREN CHILDREN)
                    S: \\* LIST \\(\\\\HasNoChildren \\\\Subscribed\\) "/" INBOX
                    S: a9 OK LIST completed
                    """);
        }
    }

    /**
     * RFC 3501 §6.3.9: LSUB "" % must return foo, with \Noselect, when foo/bar is subscribed and
     * foo is not; a name that is subscribed itself is not \Noselect; with * foo/bar says it all.
     */
    @Test
    void lsubPercentListsParentsOfSubscribedChildren() {
        try (Transcript t = imap.loggedIn()) {
            inboxOnly(t);
            create(t, "foo/bar", "eps/mamba");
            subscribe(t, "foo/bar", "eps", "eps/mamba", "gone/away");
            t.run("""
                    C: a1 LSUB "" %
                    S: \\* LSUB \\(\\) "/" INBOX
                    S: \\* LSUB \\(\\) "/" eps
                    S: \\* LSUB \\(\\\\Noselect\\) "/" foo
                    S: \\* LSUB \\(\\\\Noselect\\) "/" gone
                    S: a1 OK LSUB completed
                    C: a2 LSUB "" foo/%
                    S: \\* LSUB \\(\\) "/" foo/bar
                    S: a2 OK LSUB completed
                    C: a3 LSUB "" f*
                    S: \\* LSUB \\(\\) "/" foo/bar
                    S: a3 OK LSUB completed
                    """);
        }
    }
}
