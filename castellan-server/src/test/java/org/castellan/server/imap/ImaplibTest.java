package org.castellan.server.imap;

import org.castellan.server.testing.ExternalClient;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Python's imaplib over IMAP4_SSL and STARTTLS with the test CA: LOGIN, SELECT, FETCH, STORE, APPEND, SEARCH, IDLE. */
class ImaplibTest extends ServerPerTest {

    private static final String SCRIPT = String.join("\n",
            "import imaplib, ssl, sys",
            "mode, port, ca, user, pw = sys.argv[1:6]",
            "ctx = ssl.create_default_context(cafile=ca)",
            "if mode == 'starttls':",
            "    m = imaplib.IMAP4('localhost', int(port), timeout=20)",
            "    print('before', 'LOGINDISABLED' in m.capabilities)",
            "    m.starttls(ssl_context=ctx)",
            "else:",
            "    m = imaplib.IMAP4_SSL('localhost', int(port), ssl_context=ctx, timeout=20)",
            "print('login', m.login(user, pw)[0])",
            "typ, data = m.select('INBOX')",
            "print('select', typ, data[0].decode())",
            "typ, data = m.fetch('1', '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')",
            "print('fetch', typ, data[0][1].decode().strip())",
            "typ, data = m.store('2', '+FLAGS', '(\\\\Flagged)')",
            "print('store', typ, data[0].decode())",
            "typ, data = m.append('INBOX', '(\\\\Seen)', None, b'Subject: from python\\r\\n\\r\\nhi\\r\\n')",
            "print('append', typ, data[0].decode())",
            "typ, data = m.search(None, 'SUBJECT', 'python')",
            "print('search', typ, data[0].decode())",
            "typ, data = m.uid('SEARCH', 'FLAGGED')",
            "print('uidsearch', typ, data[0].decode())",
            "tag = m._new_tag().decode()",
            "m.send((tag + ' IDLE\\r\\n').encode())",
            "print('idle', m.readline().decode().strip())",
            "m.send(b'DONE\\r\\n')",
            "print('done', m.readline().decode().strip())",
            "print('logout', m.logout()[0])");

    @BeforeAll
    static void python() {
        ExternalClient.require("python3", "python3");
    }

    private String imaplib(String mode, int port) throws Exception {
        return ExternalClient.runOk(List.of("python3", "-c", SCRIPT, mode, Integer.toString(port),
                imap.pki.trustFile().toString(), ImapTestServer.USER, ImapTestServer.PASSWORD), Map.of()).output();
    }

    @Test
    void implicitTls() throws Exception {
        long next = uidNext();
        assertResults(imaplib("ssl", imap.port("imaps")), next);
    }

    @Test
    void startTlsOnTheStrictListener() throws Exception {
        long next = uidNext();
        String out = imaplib("starttls", imap.port("strict"));
        assertThat(out).contains("before True");
        assertResults(out, next);
    }

    /** {@code next}: the INBOX's UIDNEXT before the script's APPEND. */
    private void assertResults(String out, long next) {
        assertThat(out).contains("login OK")
                .contains("select OK 2")
                .contains("fetch OK Subject: one")
                .contains("store OK 2 (FLAGS (\\Flagged) UID " + secondUid + ")")
                .containsPattern("append OK \\[APPENDUID \\d+ " + next + "\\] APPEND completed")
                .contains("search OK 3")
                .contains("uidsearch OK " + secondUid)
                .contains("idle + idling")
                .containsPattern("done \\S+ OK IDLE terminated")
                .contains("logout BYE");
    }
}
