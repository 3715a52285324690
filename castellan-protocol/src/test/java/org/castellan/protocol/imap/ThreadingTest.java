package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 5256 §3 ORDEREDSUBJECT and REFERENCES, with the shapes of the RFC's §4 example answers. */
class ThreadingTest {

    private static Threading.Message m(long n, int day, String subject, String id, String refs) {
        return new Threading.Message(n, Instant.parse("2024-01-01T00:00:00Z").plusSeconds(86_400L * day), subject, id, refs, null);
    }

    private static String references(Threading.Message... ms) {
        return Threading.render(Threading.references(List.of(ms)));
    }

    @Test
    void rfcExampleShape() {
        // RFC 5256 §4: "* THREAD (2)(3 6 (4 23)(44 7 96))"
        assertThat(references(
                m(96, 8, "Re: Beta", "<96>", "<3> <6> <44> <7>"),
                m(2, 1, "Alpha", "<2>", null),
                m(3, 2, "Beta", "<3>", null),
                m(6, 3, "Re: Beta", "<6>", "<3>"),
                m(4, 4, "Re: Beta", "<4>", "<3>\r\n <6>"),
                m(23, 5, "Re: Beta", "<23>", "<3> <6> <4>"),
                m(44, 6, "Re: Beta", "<44>", "<3> <6>"),
                m(7, 7, "Re: Beta", "<7>", "<3> <6> <44>")))
                .isEqualTo("(2)(3 6 (4 23)(44 7 96))");
    }

    @Test
    void aMissingParentWithSeveralChildrenStaysAsADummyAtTheRoot() {
        // RFC 5256 §4: "((3)(5))"
        assertThat(references(m(3, 1, "One", "<3>", "<gone>"), m(5, 2, "Two", "<5>", "<gone>"))).isEqualTo("((3)(5))");
        // A dummy with one child is replaced by it; below the root a dummy's children are promoted.
        assertThat(references(m(3, 1, "One", "<3>", "<gone>"))).isEqualTo("(3)");
        assertThat(references(m(1, 1, "T", "<1>", null), m(2, 2, "Re: T", "<2>", "<1> <gone>"),
                m(3, 3, "Re: T", "<3>", "<1> <gone>"))).isEqualTo("(1 (2)(3))");
    }

    @Test
    void threadsWithoutReferencesAreJoinedBySubject() {
        // A reply joins the original; two originals with one subject go under a dummy.
        assertThat(references(m(1, 1, "Hello", "<1>", null), m(2, 2, "Re: hello", "<2>", null))).isEqualTo("(1 2)");
        assertThat(references(m(3, 1, "Hi", "<3>", null), m(4, 2, "Hi", "<4>", null))).isEqualTo("((3)(4))");
        assertThat(references(m(3, 1, "", "<3>", null), m(4, 2, "", "<4>", null))).isEqualTo("(3)(4)");
    }

    @Test
    void inReplyToMissingAndDuplicateIdsAndLoops() {
        Threading.Message reply = new Threading.Message(2, Instant.parse("2024-01-02T00:00:00Z"), "x", "<2>", null,
                "<1> <other>");
        assertThat(references(m(1, 1, "a", "<1>", null), reply)).isEqualTo("(1 2)");
        // No Message-ID and a duplicate one each get a unique id: three separate messages.
        assertThat(references(m(1, 1, "a", null, null), m(2, 2, "b", "<d>", null), m(3, 3, "c", "<d>", null)))
                .isEqualTo("(1)(2)(3)");
        // References forming a loop do not hang or lose a message: 1 made <2> its parent
        // first, so 2 cannot become 1's child.
        assertThat(references(m(1, 1, "a", "<1>", "<2>"), m(2, 2, "b", "<2>", "<1>"))).isEqualTo("(2 1)");
        assertThat(references(m(1, 1, "a", "<1>", "<1>"))).isEqualTo("(1)");
    }

    /**
     * RFC 5256 §3 REFERENCES step 1: (A) never links a message under its own descendant; (B)
     * "break the current parent/child link before creating the new correct one", and does not
     * create the new one if that would introduce a loop: the old link is gone all the same.
     */
    @Test
    void referencesLoops() {
        // 2 makes 1 the parent of a placeholder for <3>, and <3> its own parent. Message 3 then
        // names 2 as its parent, which is its child: the link from 1 goes and none is made.
        assertThat(references(m(1, 2, "one", "<1>", null), m(2, 3, "two", "<2>", "<1> <3>"), m(3, 1, "three", "<3>", "<2>")))
                .isEqualTo("(3 2)(1)");
        // The same messages in another order: 3 is processed first and becomes 2's child, 2 then
        // takes 3 as its parent only if that makes no loop.
        assertThat(references(m(3, 1, "three", "<3>", "<2>"), m(1, 2, "one", "<1>", null), m(2, 3, "two", "<2>", "<1> <3>")))
                .isEqualTo("(3 2)(1)");
        // A message whose last reference is itself loses the parent an earlier message gave it;
        // its own child stays.
        assertThat(references(m(1, 1, "one", "<1>", null), m(2, 2, "two", "<2>", "<1> <3>"), m(3, 3, "three", "<3>", "<3>")))
                .isEqualTo("(1)(3 2)");
        // (A): a reference chain that runs back into itself links each pair once.
        assertThat(references(m(1, 1, "one", "<1>", "<a> <b> <a>"), m(2, 2, "two", "<2>", "<b> <a>")))
                .isEqualTo("((1)(2))");
    }

    @Test
    void siblingsAreOrderedBySentDateThenNumber() {
        assertThat(references(m(1, 1, "T", "<1>", null), m(4, 3, "Re: T", "<4>", "<1>"), m(3, 3, "Re: T", "<3>", "<1>"),
                m(2, 5, "Re: T", "<2>", "<1>"))).isEqualTo("(1 (3)(4)(2))");
    }

    @Test
    void orderedSubject() {
        List<Threading.Node> threads = Threading.orderedSubject(List.of(
                m(1, 1, "Alpha", "<1>", null), m(2, 3, "Re: alpha", "<2>", null), m(3, 2, "Beta", "<3>", null),
                m(4, 4, "[list] ALPHA (fwd)", "<4>", null), m(5, 5, "Gamma", null, null), m(6, 6, "Re: Gamma", null, null)));
        assertThat(Threading.render(threads)).isEqualTo("(1 (2)(4))(3)(5 6)");
    }

    /** RFC 5256 §3 ORDEREDSUBJECT: each group sorted by sent date, whatever the numbers say; groups by their first message's date. */
    @Test
    void orderedSubjectSortsByDateNotByNumber() {
        List<Threading.Node> threads = Threading.orderedSubject(List.of(
                m(1, 5, "Beta", "<1>", null), m(2, 1, "Alpha", "<2>", null), m(3, 3, "Re: beta", "<3>", null),
                m(4, 2, "re: Beta", "<4>", null)));
        assertThat(Threading.render(threads)).isEqualTo("(2)(4 (3)(1))");
    }

    /** RFC 5256 §3 REFERENCES step 6: siblings are sorted by sent date at every depth, not only below the root. */
    @Test
    void grandchildrenAreOrderedBySentDate() {
        assertThat(references(m(1, 1, "T", "<1>", null), m(2, 2, "Re: T", "<2>", "<1>"), m(3, 5, "Re: T", "<3>", "<1> <2>"),
                m(4, 4, "Re: T", "<4>", "<1> <2>"))).isEqualTo("(1 2 (4)(3))");
    }
}
