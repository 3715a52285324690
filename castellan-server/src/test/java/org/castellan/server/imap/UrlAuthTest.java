package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/**
 * RFC 4467 URLAUTH (GENURLAUTH, URLFETCH, RESETKEY, URLMECH) and RFC 5524 URLFETCH BINARY: the
 * RFCs' example exchanges with this server's data, and what a URL may and may not reach across
 * accounts.
 */
class UrlAuthTest extends ServerPerTest {

    /** alice's mailboxes as URLs name them: the user is percent-encoded (RFC 5092 §3.2). */
    static final String ALICE = "imap://alice%40example.org@localhost";

    private static final Pattern GENERATED = Pattern.compile("\\* GENURLAUTH \"([^\"]+)\"");

    /** GENURLAUTH of one rump by the session; the authorized URL it answered. */
    static String authorize(Transcript t, String rump) {
        t.send("g1 GENURLAUTH \"" + rump + "\" INTERNAL");
        String line = t.expect("\\* GENURLAUTH .*");
        t.expect("g1 OK GENURLAUTH completed");
        Matcher m = GENERATED.matcher(line);
        assertThat(m.matches()).isTrue();
        return m.group(1);
    }

    /** A session logged in as bob. */
    Transcript bob() {
        Transcript t = imap.connect("imap");
        t.run("""
                S: \\* OK .*
                C: b0 LOGIN bob@example.org "%s"
                S: b0 OK .*
                """.formatted(ImapTestServer.PASSWORD));
        return t;
    }

    @Test
    void generatedUrlIsFetchedAsTheRfcExampleShows() {
        // RFC 4467 §7: a775 GENURLAUTH ... INTERNAL, then a777 URLFETCH of the answer, with alice's message.
        String rump = ALICE + "/INBOX/;uid=" + secondUid + "/;section=1;urlauth=anonymous";
        try (Transcript t = imap.loggedIn()) {
            t.send("a775 GENURLAUTH \"" + rump + "\" INTERNAL");
            String line = t.expect("\\* GENURLAUTH \"" + Pattern.quote(rump) + ":internal:01[0-9a-f]{40}\"");
            t.expect("a775 OK GENURLAUTH completed");
            String url = line.substring("* GENURLAUTH \"".length(), line.length() - 1);
            t.run("""
                    C: a777 URLFETCH "%1$s"
                    S: \\* URLFETCH "%1$s" \\{8\\}
                    S: part one
                    S: a777 OK URLFETCH completed
                    """.formatted(url));
            // The same URL again gives the same token: the key is made once.
            assertThat(authorize(t, rump)).isEqualTo(url);
        }
    }

    /** RFC 4467 §6.1: GENURLAUTH authorizes each URL it is given, answering them in the order given. */
    @Test
    void genurlauthOfTwoUrlsAnswersEachWithItsOwnToken() {
        String first = ALICE + "/INBOX/;uid=" + firstUid + ";urlauth=anonymous";
        String second = ALICE + "/INBOX/;uid=" + secondUid + "/;section=1;urlauth=anonymous";
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: g2 GENURLAUTH "%s" INTERNAL "%s" INTERNAL
                    S: \\* GENURLAUTH "%s:internal:01[0-9a-f]{40}" "%s:internal:01[0-9a-f]{40}"
                    S: g2 OK GENURLAUTH completed
                    """.formatted(first, second, Pattern.quote(first), Pattern.quote(second)));
        }
    }

    @Test
    void accessIdentifiersDecideWhoFetchesAcrossAccounts() {
        String message = ALICE + "/INBOX;UIDVALIDITY=" + imap.store().status(imap.inbox).uidValidity() + "/;UID=" + firstUid;
        String anonymous;
        String authuser;
        String forBob;
        String forCarol;
        String submit;
        try (Transcript alice = imap.loggedIn()) {
            anonymous = authorize(alice, message + ";URLAUTH=anonymous");
            authuser = authorize(alice, message + ";URLAUTH=authuser");
            forBob = authorize(alice, message + ";URLAUTH=user+bob%40example.org");
            forCarol = authorize(alice, message + ";URLAUTH=user+carol%40example.org");
            submit = authorize(alice, message + ";URLAUTH=submit+alice%40example.org");
            // user+bob is bob's alone, even for the owner of the message.
            alice.run("""
                    C: a1 URLFETCH "%s"
                    S: \\* URLFETCH ".*" NIL
                    S: a1 OK URLFETCH completed
                    """.formatted(forBob));
        }
        int size = size(FIRST);
        try (Transcript bob = bob()) {
            for (String url : new String[] {anonymous, authuser, forBob}) {
                bob.run("""
                        C: b1 URLFETCH "%s"
                        S: \\* URLFETCH ".*" \\{%d\\}
                        """.formatted(url, size));
                for (String ignored : FIRST.split("\r\n", -1)) bob.readLine();
                bob.expect("b1 OK URLFETCH completed");
            }
            // Not bob's, and bob is no submission server (RFC 4467 §3 submit+).
            bob.run("""
                    C: b2 URLFETCH "%s" "%s"
                    S: \\* URLFETCH ".*" NIL
                    S: \\* URLFETCH ".*" NIL
                    S: b2 OK URLFETCH completed
                    """.formatted(forCarol, submit));
        }
    }

    @Test
    void tamperedExpiredAndResetUrlsFetchNothing() {
        String message = ALICE + "/INBOX/;UID=" + firstUid;
        try (Transcript t = imap.loggedIn()) {
            String url = authorize(t, message + ";URLAUTH=authuser");
            char last = url.charAt(url.length() - 1);
            String tamperedToken = url.substring(0, url.length() - 1) + (last == '0' ? '1' : '0');
            // The token covers the URL: another message, section or access identifier with it is refused.
            String otherMessage = url.replace(";UID=" + firstUid, ";UID=" + secondUid);
            String otherAccess = url.replace("authuser", "anonymous");
            String expired = authorize(t, message + ";EXPIRE=2020-01-01T00:00:00Z;URLAUTH=authuser");
            String future = authorize(t, message + ";EXPIRE=2999-01-01T00:00:00Z;URLAUTH=authuser");
            t.run("""
                    C: a1 URLFETCH "%s" "%s" "%s" "%s" ("%s" BODY) "%s"
                    S: \\* URLFETCH ".*" NIL
                    S: \\* URLFETCH ".*" NIL
                    S: \\* URLFETCH ".*" NIL
                    S: \\* URLFETCH ".*" NIL
                    S: \\* URLFETCH ".*" NIL
                    S: \\* URLFETCH ".*;EXPIRE=2999.*" \\{%d\\}
                    """.formatted(tamperedToken, otherMessage, otherAccess, message, expired, future, size(FIRST)));
            for (String ignored : FIRST.split("\r\n", -1)) t.readLine();
            t.expect("a1 OK URLFETCH completed");

            // RFC 4467 §7 RESETKEY: every URL made with the old key stops working; a new one differs.
            t.run("""
                    C: a2 RESETKEY INBOX
                    S: a2 OK \\[URLMECH INTERNAL\\] Key reset
                    C: a3 URLFETCH "%s"
                    S: \\* URLFETCH ".*" NIL
                    S: a3 OK URLFETCH completed
                    """.formatted(url));
            String again = authorize(t, message + ";URLAUTH=authuser");
            assertThat(again).isNotEqualTo(url);
            t.run("""
                    C: a4 RESETKEY
                    S: a4 OK All keys removed
                    C: a5 URLFETCH "%s"
                    S: \\* URLFETCH ".*" NIL
                    S: a5 OK URLFETCH completed
                    """.formatted(again));
        }
    }

    @Test
    void plainUrlsNeverCrossAccountsAndRevealNothing() {
        String existing = ALICE + "/INBOX/;UID=" + firstUid;
        String missing = ALICE + "/INBOX/;UID=" + (secondUid + 100);
        try (Transcript bob = bob()) {
            // A URL without URLAUTH is nobody's to fetch, and bob cannot authorize alice's messages;
            // an existing and a missing message of alice get the same answers.
            bob.run("""
                    C: b1 URLFETCH "%1$s" "%2$s"
                    S: \\* URLFETCH ".*" NIL
                    S: \\* URLFETCH ".*" NIL
                    S: b1 OK URLFETCH completed
                    C: b2 GENURLAUTH "%1$s;URLAUTH=anonymous" INTERNAL
                    S: b2 BAD The URL must name the logged-in user
                    C: b3 GENURLAUTH "%2$s;URLAUTH=anonymous" INTERNAL
                    S: b3 BAD The URL must name the logged-in user
                    C: b4 GENURLAUTH "imap://bob%%40example.org@localhost/INBOX/;UID=1;URLAUTH=anonymous" INTERNAL
                    S: b4 BAD No such message in .*
                    """.formatted(existing, missing));
        }
        try (Transcript alice = imap.loggedIn()) {
            // Even the owner fetches only URLAUTH-authorized URLs (RFC 4467 §9 url-full).
            alice.run("""
                    C: a1 URLFETCH "%s"
                    S: \\* URLFETCH ".*" NIL
                    S: a1 OK URLFETCH completed
                    """.formatted(existing));
        }
    }

    @Test
    void genUrlAuthRefusesWhatItCannotAuthorize() {
        String message = ALICE + "/INBOX/;UID=" + firstUid;
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 GENURLAUTH "%1$s" INTERNAL
                    S: a1 BAD GENURLAUTH needs an absolute URL of a message with ;URLAUTH=access
                    C: a2 GENURLAUTH "%1$s;URLAUTH=anonymous:internal:0123456789abcdef0123456789abcdef" INTERNAL
                    S: a2 BAD GENURLAUTH takes a URL without mechanism and token
                    C: a3 GENURLAUTH "%1$s;URLAUTH=anonymous" XSAMPLE
                    S: a3 BAD Unsupported URLAUTH mechanism XSAMPLE
                    C: a4 GENURLAUTH "imap://alice%%40example.org@elsewhere.example/INBOX/;UID=1;URLAUTH=anonymous" INTERNAL
                    S: a4 BAD The URL names another server
                    C: a5 GENURLAUTH "/INBOX/;UID=1;URLAUTH=anonymous" INTERNAL
                    S: a5 BAD Invalid IMAP URL .*
                    C: a6 GENURLAUTH "%2$s/Nosuch/;UID=1;URLAUTH=anonymous" INTERNAL
                    S: a6 BAD No such mailbox in .*
                    C: a7 GENURLAUTH "%2$s/INBOX;UIDVALIDITY=1/;UID=1;URLAUTH=anonymous" INTERNAL
                    S: a7 BAD No such message in .*
                    """.formatted(message, ALICE));
        }
    }

    @Test
    void selectAndResetKeyAnnounceTheMechanism() {
        try (Transcript t = imap.loggedIn()) {
            t.send("a1 CAPABILITY");
            assertThat(t.expect("\\* CAPABILITY .*")).contains(" URLAUTH ", " URLAUTH=BINARY ", " CATENATE ");
            t.expect("a1 OK .*");
            // RFC 4467 §8: URLMECH in an untagged OK of SELECT and EXAMINE, in RESETKEY's OK.
            t.send("a2 EXAMINE INBOX");
            String line;
            boolean urlmech = false;
            while (!(line = t.readLine()).startsWith("a2 ")) urlmech |= line.equals("* OK [URLMECH INTERNAL] URLAUTH mechanisms");
            assertThat(urlmech).isTrue();
            t.run("""
                    C: a3 RESETKEY INBOX INTERNAL
                    S: a3 OK \\[URLMECH INTERNAL\\] Key reset
                    C: a4 RESETKEY INBOX XSAMPLE
                    S: a4 NO Unsupported URLAUTH mechanism XSAMPLE
                    C: a5 RESETKEY Nosuch
                    S: a5 NO \\[NONEXISTENT\\] .*
                    """);
        }
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: n1 URLFETCH "x"
                    S: n1 BAD Command not valid in this state
                    """);
        }
    }

    @Test
    void extendedUrlFetchReturnsStructureAndDecodedContent() {
        // RFC 5524 §4: BODYPARTSTRUCTURE and BINARY of a base64 part; BODY as stored; the plain form.
        try (Transcript t = imap.loggedIn()) {
            String url = authorize(t, ALICE + "/INBOX/;UID=" + secondUid + "/;SECTION=2;URLAUTH=authuser");
            t.run("""
                    C: a1 URLFETCH ("%1$s" BODYPARTSTRUCTURE BINARY)
                    S: \\* URLFETCH "%1$s" \\(BODYPARTSTRUCTURE \\("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 4 NIL NIL NIL NIL\\) BINARY ~\\{3\\}
                    """.formatted(url));
            assertThat(t.readLine()).isEqualTo("\u0000\u0001\u0002)");
            t.run("""
                    S: a1 OK URLFETCH completed
                    C: a2 URLFETCH ("%1$s" BODY) ("%1$s") ("%1$s" BODYPARTSTRUCTURE)
                    S: \\* URLFETCH "%1$s" \\(BODY \\{4\\}
                    S: AAEC\\)
                    S: \\* URLFETCH "%1$s" \\(BODY \\{4\\}
                    S: AAEC\\)
                    S: \\* URLFETCH "%1$s" \\(BODYPARTSTRUCTURE \\("APPLICATION" .*\\)\\)
                    S: a2 OK URLFETCH completed
                    """.formatted(url));
            // A part that is no body part (HEADER) has no structure to give: NIL.
            String header = authorize(t, ALICE + "/INBOX/;UID=" + secondUid + "/;SECTION=HEADER;URLAUTH=authuser");
            t.run("""
                    C: a3 URLFETCH ("%1$s" BINARY)
                    S: \\* URLFETCH "%1$s" NIL
                    S: a3 OK URLFETCH completed
                    """.formatted(header));
        }
    }

    @Test
    void submitUrlsAreForTheConfiguredSubmissionAccount() throws Exception {
        imap.close();
        stopped = true;
        // RFC 4467 §3 submit+: only a session of a submission server may fetch it; here bob's.
        try (ImapTestServer server = ImapTestServer.start(java.nio.file.Files.createDirectories(dir.resolve("submit")),
                "submission-accounts = [\"Bob@example.org\"]")) {
            long uid = server.append(FIRST);
            String url;
            try (Transcript alice = server.loggedIn()) {
                url = authorize(alice, ALICE + "/INBOX/;UID=" + uid + ";URLAUTH=submit+alice%40example.org");
                alice.run("""
                        C: a1 URLFETCH "%s"
                        S: \\* URLFETCH ".*" NIL
                        S: a1 OK URLFETCH completed
                        """.formatted(url));
            }
            try (Transcript bob = server.connect("imap")) {
                bob.run("""
                        S: \\* OK .*
                        C: b0 LOGIN bob@example.org "%s"
                        S: b0 OK .*
                        C: b1 URLFETCH "%s"
                        S: \\* URLFETCH ".*" \\{%d\\}
                        """.formatted(ImapTestServer.PASSWORD, url, size(FIRST)));
                for (String ignored : FIRST.split("\r\n", -1)) bob.readLine();
                bob.expect("b1 OK URLFETCH completed");
            }
        }
    }
}
