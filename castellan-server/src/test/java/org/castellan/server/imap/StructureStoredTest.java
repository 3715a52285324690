package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.server.testing.TestStores;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/**
 * FETCH of ENVELOPE and BODYSTRUCTURE comes from the structure stored at delivery, not from a
 * parse of the body: with the stored body overwritten behind the server's back, the metadata is
 * still the original message's (and BODY[] shows the overwritten bytes).
 */
class StructureStoredTest extends ServerPerTest {

    @Test
    void metadataIsReadFromTheStoredStructure() throws SQLException {
        assumeTrue(TestStores.embedded(), "overwrites a body in mail.db behind the server's back");
        Path db = ((org.castellan.store.embedded.EmbeddedMailStore) imap.store()).directory().resolve("mail.db");
        assertThat(db).exists();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
                PreparedStatement st = c.prepareStatement("UPDATE blob_data SET data = ? WHERE hash ="
                        + " (SELECT blob_hash FROM messages WHERE uid = ? AND mailbox_id = ?)")) {
            st.setBytes(1, "X".repeat(size(FIRST)).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            st.setLong(2, firstUid);
            st.setLong(3, imap.inbox);
            assertThat(st.executeUpdate()).isEqualTo(1);
        }
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 1 (ENVELOPE BODYSTRUCTURE)
                    S: \\* 1 FETCH \\(ENVELOPE \\("Thu, 1 Feb 2024 09:00:00 \\+0100" "one" \\(\\("Carol" NIL "carol" "example.net"\\)\\) .*\\) BODYSTRUCTURE \\("TEXT" "PLAIN" .*\\)\\)
                    S: a1 OK FETCH completed
                    C: a2 FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]
                    S: \\* 1 FETCH \\(BODY\\[HEADER.FIELDS \\(SUBJECT\\)\\] \\{\\d+\\}
                    """);
            // The section is cut from the (overwritten) bytes at the stored offsets.
            assertThat(t.readLine()).isEqualTo("X".repeat(size("Subject: one\r\n")));
        }
    }

    /**
     * FETCH reads the structures of many messages a batch at a time ({@link Fetch#STRUCTURE_BATCH});
     * across batch boundaries each message still gets its own ENVELOPE, and a FETCH that needs no
     * structure answers the same messages.
     */
    @Test
    void eachOfManyMessagesGetsItsOwnEnvelopeAcrossBatches() {
        int count = 2 * Fetch.STRUCTURE_BATCH + 3;
        Map<Long, String> subjects = new HashMap<>();
        subjects.put(firstUid, "one");
        subjects.put(secondUid, "two");
        for (int i = 0; i < count; i++) {
            String subject = "message " + i;
            long uid = imap.append("From: sender@example.net\r\nTo: alice@example.org\r\nSubject: " + subject
                    + "\r\n\r\nbody " + i + "\r\n");
            subjects.put(uid, subject);
        }
        Pattern response = Pattern.compile("\\* (\\d+) FETCH \\(UID (\\d+) ENVELOPE \\(NIL \"([^\"]*)\" .*");
        try (Transcript t = imap.selected()) {
            t.send("a1 FETCH 1:* (UID ENVELOPE)");
            List<String> lines = SharedMailboxTest.reply(t, "a1");
            assertThat(lines.getLast()).isEqualTo("a1 OK FETCH completed");
            assertThat(lines).hasSize(subjects.size() + 1);
            long previous = 0;
            for (int n = 1; n <= subjects.size(); n++) {
                String line = lines.get(n - 1);
                if (n <= 2) continue; // FIRST has a Date: field, SECOND is multipart; both are checked above
                Matcher m = response.matcher(line);
                assertThat(m.matches()).as(line).isTrue();
                long uid = Long.parseLong(m.group(2));
                assertThat(Integer.parseInt(m.group(1))).isEqualTo(n);
                assertThat(uid).isGreaterThan(previous);
                assertThat(m.group(3)).as("the subject of UID " + uid).isEqualTo(subjects.get(uid));
                previous = uid;
            }
            t.send("a2 FETCH 1:* (UID FLAGS)");
            assertThat(SharedMailboxTest.reply(t, "a2")).hasSize(subjects.size() + 1).last().isEqualTo("a2 OK FETCH completed");
        }
    }
}
