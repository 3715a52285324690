package org.castellan.server.pop3;

import org.castellan.server.testing.ExternalClient;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Python's poplib: STLS on the strict listener and POP3_SSL, USER/PASS, LIST/UIDL/RETR/DELE/QUIT. */
class PoplibTest extends ServerPerTest {

    private static final String SCRIPT = String.join("\n",
            "import poplib, ssl, sys",
            "mode, port, ca, user, pw = sys.argv[1:6]",
            "ctx = ssl.create_default_context(cafile=ca)",
            "if mode == 'stls':",
            "    p = poplib.POP3('127.0.0.1', int(port), timeout=20)",
            "    print('capa-before', sorted(p.capa().keys()))",
            "    p.stls(context=ctx)",
            "else:",
            "    p = poplib.POP3_SSL('127.0.0.1', int(port), context=ctx, timeout=20)",
            "print('capa', sorted(p.capa().keys()))",
            "p.user(user)",
            "p.pass_(pw)",
            "print('stat', *p.stat())",
            "print('list', *[l.decode() for l in p.list()[1]])",
            "print('uidl', *[l.decode() for l in p.uidl()[1]])",
            "resp, lines, octets = p.retr(1)",
            "print('retr', octets, '|'.join(l.decode() for l in lines))",
            "print('dele', p.dele(1).decode())",
            "print('quit', p.quit().decode())");

    @BeforeAll
    static void python() {
        ExternalClient.require("python3", "python3");
    }

    private String poplib(String mode, int port) throws Exception {
        return ExternalClient.runOk(List.of("python3", "-c", SCRIPT, mode, Integer.toString(port),
                pop3.pki.trustFile().toString(), Pop3TestServer.USER, Pop3TestServer.PASSWORD), Map.of()).output();
    }

    @Test
    void stlsOnTheStrictListener() throws Exception {
        String out = poplib("stls", pop3.port("strict"));
        assertThat(out).contains("'STLS'").contains("'USER'");
        assertThat(out.lines().filter(l -> l.startsWith("capa-before")).findFirst().orElseThrow()).doesNotContain("'USER'");
        assertResults(out);
    }

    @Test
    void implicitTls() throws Exception {
        assertResults(poplib("ssl", pop3.port("pop3s")));
    }

    private void assertResults(String out) {
        assertThat(out).contains("stat 2 " + totalSize())
                .contains("list 1 " + wireSize(FIRST) + " 2 " + wireSize(SECOND))
                .containsPattern("uidl 1 \\S+ 2 \\S+")
                .contains("retr " + wireSize(FIRST) + " Subject: one|From: carol@example.net||Hello|.dotted")
                .contains("dele +OK Message 1 deleted")
                .contains("quit +OK");
        assertThat(pop3.uids()).containsExactly(secondUid);
    }
}
