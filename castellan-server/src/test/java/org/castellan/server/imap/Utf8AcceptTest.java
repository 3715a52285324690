package org.castellan.server.imap;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Pattern;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/**
 * RFC 6855 UTF8=ACCEPT: refused before ENABLE (UTF-8 in quoted strings, APPEND UTF8), then UTF-8
 * mailbox names in and out, APPEND UTF8 (~{n}), and SEARCH CHARSET refused.
 */
class Utf8AcceptTest extends ServerPerTest {

    private static final String NAME = "R\u00e9sum\u00e9s";

    /** The name as the transcript reads it (ISO-8859-1 over the UTF-8 bytes), as a regex. */
    private static String seen(String s) {
        return Pattern.quote(new String(s.getBytes(UTF_8), ISO_8859_1));
    }

    @Test
    void refusedBeforeEnableAcceptedAfter() {
        String message = "Subject: h\u00e9llo\r\n\r\nbody\r\n";
        int length = message.getBytes(UTF_8).length;
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 CREATE "%s"
                    S: a1 BAD 8-bit text in a quoted string needs ENABLE UTF8=ACCEPT; send a literal
                    C: a2 APPEND INBOX UTF8 (~{5+}
                    C: Hello)
                    S: a2 BAD APPEND UTF8 needs ENABLE UTF8=ACCEPT first
                    C: a3 ENABLE UTF8=ACCEPT
                    S: \\* ENABLED UTF8=ACCEPT
                    S: a3 OK ENABLE completed
                    C: a4 CREATE "%s"
                    S: a4 OK .*
                    C: a5 LIST "" "R*"
                    S: \\* LIST \\(.*\\) "/" "%s"
                    S: a5 OK LIST completed
                    C: a6 APPEND "%s" UTF8 (~{%d+}
                    """.formatted(NAME, NAME, seen(NAME), NAME, length));
            t.sendRaw(message + ")\r\n");
            t.run("""
                    S: a6 OK \\[APPENDUID \\d+ 1\\] APPEND completed
                    C: a7 STATUS "%s" (MESSAGES)
                    S: \\* STATUS "%s" \\(MESSAGES 1\\)
                    S: a7 OK STATUS completed
                    C: a8 SELECT "%s"
                    """.formatted(NAME, seen(NAME), NAME));
            while (!t.readLine().startsWith("a8 OK")) { }
            t.run("""
                    C: a9 SEARCH CHARSET UTF-8 ALL
                    S: a9 BAD SEARCH CHARSET is not allowed after ENABLE UTF8=ACCEPT
                    C: b1 SEARCH SUBJECT "h\u00e9llo"
                    S: \\* SEARCH 1
                    S: b1 OK .*
                    """);
        }
        var box = imap.store().getMailbox(imap.store().getAccount(org.castellan.protocol.mail.EmailAddress.of(
                ImapTestServer.USER)).orElseThrow().id(), NAME);
        assertThat(box).isPresent();
    }
}
