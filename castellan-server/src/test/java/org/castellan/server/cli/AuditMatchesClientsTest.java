package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.TlsMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each statement of {@code castellan audit} against what real clients see on the running server:
 * the SASL mechanisms per listener before TLS and on TLS 1.3 and 1.2 (EHLO, CAPABILITY, CAPA), with
 * BoringSSL and with the JDK's TLS, and TLS session resumption as OpenSSL's s_client observes it.
 */
class AuditMatchesClientsTest {

    @TempDir Path tmp;

    @Test
    void mechanismsWithBoringSsl() throws Exception {
        mechanismsAsClientsSeeThem("boringssl");
    }

    @Test
    void mechanismsWithTheJdksTls() throws Exception {
        mechanismsAsClientsSeeThem("jdk");
    }

    private void mechanismsAsClientsSeeThem(String provider) throws Exception {
        try (LiveServer live = LiveServer.start(tmp.resolve("data"), "",
                text -> text.replace("\n[tls]\n", "\n[tls]\nprovider = \"" + provider + "\"\n"))) {
            Cli.Run audit = live.cli.admin("audit");
            assertThat(audit.code()).as(audit.out() + audit.err()).isZero();
            assertThat(audit.out()).contains("provider " + provider);
            SSLContext trust = live.clientContext(null);
            for (Listener listener : live.server.config().listeners()) {
                String name = listener.name();
                // Mechanisms behind the device gate are seen only with a device certificate; the
                // audit's rows there are AuthService's, as on every other listener.
                if (listener.clientCert() == ClientCertMode.REQUIRE) continue;
                String section = section(audit.out(), name);
                InetSocketAddress at = live.address(name);
                if (listener.protocol() == Protocol.HTTPS) {
                    // HTTP has no greeting and no SASL: the row names its per-request schemes (docs/http.md).
                    assertThat(section).contains("logins: per request inside TLS");
                    continue;
                }
                if (listener.protocol() == Protocol.LDAPS) {
                    // LDAP offers no SASL here, only simple binds inside TLS (docs/ldap.md §2), and the
                    // root DSE a client reads names no mechanism.
                    assertThat(section).contains("logins: simple bind inside TLS");
                    try (var ldap = new com.unboundid.ldap.sdk.LDAPConnection(trust.getSocketFactory(), "localhost", at.getPort())) {
                        assertThat(ldap.getRootDSE().getSupportedSASLMechanismNames()).as(name).isNullOrEmpty();
                    }
                    continue;
                }
                if (!listener.protocol().takesLogins()) {
                    assertThat(section).contains("logins: none");
                    assertThat(mechanisms(listener, at, null, null)).as(name + " before TLS").isEmpty();
                    assertThat(mechanisms(listener, at, trust, "TLSv1.3")).as(name + " after TLS").isEmpty();
                    continue;
                }
                if (listener.tls() == TlsMode.STARTTLS) {
                    assertThat(mechanisms(listener, at, null, null)).as(name + " before TLS")
                            .isEqualTo(row(section, "before TLS"));
                }
                for (String version : List.of("TLSv1.3", "TLSv1.2")) {
                    assertThat(mechanisms(listener, at, trust, version)).as(name + " on " + version)
                            .isEqualTo(row(section, "after " + version.replace("TLSv", "TLS ")));
                }
            }
        }
    }

    @Test
    void sessionResumptionAsOpenSslSeesIt() throws Exception {
        try (LiveServer live = LiveServer.start(tmp.resolve("data"))) {
            String audit = live.cli.admin("audit").out().replaceAll(" +", " ");
            // "imap": STARTTLS, no client certificate asked; "imaps": implicit TLS, one requested.
            assertThat(section(audit, "imap")).contains("session resumption: TLS 1.3 session tickets");
            assertThat(resumed(live.address("imap"), true)).as("imap").isTrue();
            assertThat(section(audit, "imaps")).contains("session resumption: off");
            assertThat(resumed(live.address("imaps"), false)).as("imaps").isFalse();
        }
    }

    /** Two s_client connections, the second offering the first's session: whether the server resumed it. */
    private boolean resumed(InetSocketAddress at, boolean startTls) throws Exception {
        Path session = Files.createTempFile(tmp, "session", ".pem");
        openssl(at, startTls, List.of("-sess_out", session.toString()));
        return openssl(at, startTls, List.of("-sess_in", session.toString())).contains("Reused, TLSv1.3");
    }

    private static String openssl(InetSocketAddress at, boolean startTls, List<String> more) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + at.getPort(),
                "-tls1_3", "-crlf", "-ign_eof"));
        if (startTls) command.addAll(List.of("-starttls", "imap"));
        command.addAll(more);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write("z LOGOUT\n".getBytes(StandardCharsets.US_ASCII));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    /** One listener's part of the audit, spaces folded. */
    private static String section(String audit, String listener) {
        String folded = audit.replaceAll(" +", " ");
        int start = folded.indexOf("listener " + listener + "\n");
        assertThat(start).as("listener " + listener + " in " + folded).isNotNegative();
        int end = folded.indexOf("\n\n", start);
        return folded.substring(start, end < 0 ? folded.length() : end);
    }

    /** The mechanisms a row lists, without the EXTERNAL note; empty for "no credentials accepted". */
    private static List<String> row(String section, String name) {
        String line = section.lines().filter(l -> l.strip().startsWith(name + ":")).findFirst().orElseThrow(
                () -> new AssertionError("no row " + name + " in " + section));
        String value = line.substring(line.indexOf(':') + 1).strip();
        int note = value.indexOf(", EXTERNAL with");
        if (note >= 0) value = value.substring(0, note);
        return value.equals("no credentials accepted") ? List.of() : Arrays.asList(value.split(" "));
    }

    /**
     * The SASL mechanisms a client is offered: before TLS when {@code tls} is null, otherwise after
     * STARTTLS or on implicit TLS with exactly {@code version}.
     */
    private static List<String> mechanisms(Listener l, InetSocketAddress at, SSLContext tls, String version)
            throws IOException {
        try (Socket raw = new Socket()) {
            raw.connect(at, LiveServer.READ_TIMEOUT_MILLIS);
            raw.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
            Conversation c = new Conversation(raw);
            boolean implicit = l.tls() == TlsMode.IMPLICIT;
            if (implicit) c.tls(tls, version, at);
            Protocol p = l.protocol();
            boolean smtp = p == Protocol.SMTP || p == Protocol.SUBMISSION;
            if (smtp) c.until("220 ");
            else c.line();
            if (!implicit && tls != null) {
                if (smtp) {
                    c.send("EHLO client.example");
                    c.until("250 ");
                    c.send("STARTTLS");
                    c.until("220 ");
                } else if (p == Protocol.IMAP) {
                    c.send("a STARTTLS");
                    c.until("a ");
                } else {
                    c.send("STLS");
                    c.line();
                }
                c.tls(tls, version, at);
            }
            List<String> names = new ArrayList<>();
            if (smtp) {
                c.send("EHLO client.example");
                for (String line : c.until("250 ")) {
                    if (line.substring(4).startsWith("AUTH ")) names.addAll(Arrays.asList(line.substring(9).split(" ")));
                }
            } else if (p == Protocol.IMAP) {
                c.send("b CAPABILITY");
                for (String line : c.until("b ")) {
                    for (String token : line.split(" ")) if (token.startsWith("AUTH=")) names.add(token.substring(5));
                }
            } else {
                c.send("CAPA");
                for (String line : c.until(".")) {
                    if (line.startsWith("SASL ")) names.addAll(Arrays.asList(line.substring(5).split(" ")));
                }
            }
            return names;
        }
    }

    /** A line-based conversation that can switch to TLS. */
    private static final class Conversation {
        Socket socket;
        BufferedReader in;
        OutputStream out;

        Conversation(Socket s) throws IOException {
            use(s);
        }

        void use(Socket s) throws IOException {
            socket = s;
            in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            out = s.getOutputStream();
        }

        String line() throws IOException {
            return in.readLine();
        }

        /** Lines up to and including the first that starts with {@code last}. */
        List<String> until(String last) throws IOException {
            List<String> lines = new ArrayList<>();
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                lines.add(line);
                if (line.startsWith(last)) return lines;
            }
            throw new IOException("connection closed before a line starting with " + last + ": " + lines);
        }

        void send(String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        void tls(SSLContext context, String version, InetSocketAddress at) throws IOException {
            SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(socket, "localhost", at.getPort(), true);
            s.setEnabledProtocols(new String[] {version});
            s.startHandshake();
            use(s);
        }
    }

}
