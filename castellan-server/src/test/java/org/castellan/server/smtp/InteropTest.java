package org.castellan.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real third-party clients from the machine's packages (./test installs them) deliver through
 * Castellan; each message is then read back from the store and compared byte for byte after the
 * Received field.
 */
class InteropTest {

    /** A client that has not finished in this time is hung, not slow. */
    private static final long CLIENT_LIMIT_SECONDS = 120;

    @TempDir static Path dir;
    static SmtpTestServer server;

    @BeforeAll
    static void start() {
        server = new SmtpTestServer(dir, SmtpLimits.DEFAULTS);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String message(String subject) {
        return "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: " + subject
                + "\r\nMessage-ID: <" + subject.replace(' ', '-') + "@example.org>\r\n\r\nHello Bob,\r\n.a line with a dot\r\n\r\n-- \r\nAlice\r\n";
    }

    /** Waits for a message with this subject in Bob's INBOX and returns it without the Received field. */
    private static String delivered(String subject) {
        for (String m : server.bodies(server.bobInbox)) if (m.contains("Subject: " + subject + "\r\n")) return m;
        return fail("no message '" + subject + "' in bob's INBOX");
    }

    private static final String PYTHON = String.join("\n",
            "import smtplib, ssl, sys",
            "mode, port, ca, user, password, msg = sys.argv[1:7]",
            "ctx = ssl.create_default_context(cafile=ca)",
            "body = msg.encode('utf-8')",
            "if mode == 'starttls':",
            "    s = smtplib.SMTP('localhost', int(port))",
            "    s.starttls(context=ctx)",
            "    s.login(user, password)",  // smtplib prefers PLAIN among what it knows
            "elif mode == 'ssl':",
            "    s = smtplib.SMTP_SSL('localhost', int(port), context=ctx)",
            "    s.ehlo()",
            "    s.user, s.password = user, password",
            "    s.auth('LOGIN', s.auth_login, initial_response_ok=False)",
            "else:",
            "    s = smtplib.SMTP('localhost', int(port))",
            "refused = s.sendmail(user if mode != 'mx' else 'someone@elsewhere.example', ['bob@example.org'], body)",
            "s.quit()",
            "print('refused', refused)");

    @Test
    void pythonSmtplibStarttlsWithAuthPlain() throws Exception {
        runOk(List.of("python3", "-c", PYTHON, "starttls", port("submission"), ca(), SmtpTestServer.ALICE,
                SmtpTestServer.PASSWORD, message("python starttls")), "python3");
        assertThat(delivered("python starttls")).isEqualTo(message("python starttls"));
    }

    @Test
    void pythonSmtplibImplicitTlsWithAuthLogin() throws Exception {
        runOk(List.of("python3", "-c", PYTHON, "ssl", port("submissions"), ca(), SmtpTestServer.ALICE,
                SmtpTestServer.PASSWORD, message("python ssl")), "python3");
        assertThat(delivered("python ssl")).isEqualTo(message("python ssl"));
    }

    @Test
    void pythonSmtplibToTheMx() throws Exception {
        runOk(List.of("python3", "-c", PYTHON, "mx", port("mx"), ca(), SmtpTestServer.ALICE, "", message("python mx")), "python3");
        assertThat(delivered("python mx")).isEqualTo(message("python mx"));
    }

    /** Writes a 30 MiB message to a file, then sends it with DATA (smtplib) or one BDAT LAST (RFC 3030). */
    private static final String PYTHON_LARGE = String.join("\n",
            "import smtplib, ssl, sys, random",
            "mode, port, ca, user, password, path, subject = sys.argv[1:8]",
            "rnd = random.Random(7)",
            "lines = [('From: %s\\r\\nTo: bob@example.org\\r\\nSubject: %s\\r\\n\\r\\n' % (user, subject)).encode()]",
            "line = bytes(rnd.choice(b'ABCDEFGHIJKLMNOPQRSTUVWXYZ') for _ in range(76)) + b'\\r\\n'",
            "lines += [line] * ((30 * 1024 * 1024 - len(lines[0])) // len(line))",
            "body = b''.join(lines)",
            "open(path, 'wb').write(body)",
            "ctx = ssl.create_default_context(cafile=ca)",
            "s = smtplib.SMTP('localhost', int(port))",
            "s.starttls(context=ctx)",
            "s.login(user, password)",
            "assert s.has_extn('size') and int(s.esmtp_features['size']) >= len(body), s.esmtp_features",
            "if mode == 'data':",
            "    s.sendmail(user, ['bob@example.org'], body)",
            "else:",
            "    s.mail(user, ['SIZE=%d' % len(body)])",
            "    s.rcpt('bob@example.org')",
            "    s.send(b'BDAT %d LAST\\r\\n' % len(body) + body)",
            "    code, text = s.getreply()",
            "    assert code == 250, (code, text)",
            "s.quit()");

    @Test
    void thirtyMebibyteMessagesGoThroughDataAndBdat() throws Exception {
        // RFC 1870: a message within the advertised SIZE is taken, however it is sent (RFC 5321 DATA, RFC 3030 BDAT).
        for (String mode : List.of("data", "bdat")) {
            Path sent = dir.resolve("large-" + mode + ".eml");
            runOk(List.of("python3", "-c", PYTHON_LARGE, mode, port("submission"), ca(), SmtpTestServer.ALICE,
                    SmtpTestServer.PASSWORD, sent.toString(), "large " + mode), "python3");
            assertThat(delivered("large " + mode)).isEqualTo(Files.readString(sent, StandardCharsets.UTF_8));
        }
    }

    @Test
    void swaksWithPipeliningStarttlsAndAuthPlain() throws Exception {
        Path data = dir.resolve("swaks.eml");
        // swaks ends the data with its own CRLF before the dot: give it the message without its last one.
        String m = message("swaks");
        Files.writeString(data, m.substring(0, m.length() - 2));
        String out = runOk(List.of("swaks", "--server", "127.0.0.1", "--port", port("submission"), "--tls",
                "--tls-verify", "--tls-ca-path", ca(), "--tls-sni", "localhost", "--pipeline",
                "--auth", "PLAIN", "--auth-user", SmtpTestServer.ALICE, "--auth-password", SmtpTestServer.PASSWORD,
                "--from", SmtpTestServer.ALICE, "--to", SmtpTestServer.BOB, "--data", data.toString()), "swaks");
        assertThat(out).contains("250-PIPELINING").contains("235 2.7.0");
        assertThat(delivered("swaks")).isEqualTo(message("swaks"));
    }

    @Test
    void curlWithSslReqdAndCacert() throws Exception {
        Path data = dir.resolve("curl.eml");
        Files.writeString(data, message("curl"));
        runOk(List.of("curl", "-sS", "--url", "smtp://127.0.0.1:" + port("submission"), "--ssl-reqd", "--cacert", ca(),
                "--user", SmtpTestServer.ALICE + ":" + SmtpTestServer.PASSWORD, "--mail-from", SmtpTestServer.ALICE,
                "--mail-rcpt", SmtpTestServer.BOB, "-T", data.toString()), "curl");
        assertThat(delivered("curl")).isEqualTo(message("curl"));
    }

    /** Angus Mail over submission with STARTTLS required, and any further properties. */
    private static Session angusSession(Properties extra) {
        Properties p = new Properties();
        p.put("mail.smtp.host", "127.0.0.1");
        p.put("mail.smtp.port", port("submission"));
        p.put("mail.smtp.auth", "true");
        p.put("mail.smtp.starttls.enable", "true");
        p.put("mail.smtp.starttls.required", "true");
        p.put("mail.smtp.ssl.socketFactory", server.pki.clientContext().getSocketFactory());
        p.put("mail.smtp.ssl.checkserveridentity", "false"); // the test certificate names localhost, we dial 127.0.0.1
        p.putAll(extra);
        return Session.getInstance(p);
    }

    /** RFC 3461: Angus Mail sends RET and NOTIFY only to a server that offers DSN; the message arrives. */
    @Test
    void angusMailSendsDsnParametersToAServerOfferingDsn() throws Exception {
        Properties dsn = new Properties();
        dsn.put("mail.smtp.dsn.ret", "HDRS");
        dsn.put("mail.smtp.dsn.notify", "SUCCESS,FAILURE");
        Session session = angusSession(dsn);
        ByteArrayOutputStream transcript = new ByteArrayOutputStream();
        session.setDebugOut(new java.io.PrintStream(transcript, true, StandardCharsets.UTF_8));
        session.setDebug(true);
        MimeMessage m = new MimeMessage(session);
        m.setFrom(new InternetAddress(SmtpTestServer.ALICE, "Alice"));
        m.setRecipient(Message.RecipientType.TO, new InternetAddress(SmtpTestServer.BOB));
        m.setSubject("angus dsn");
        m.setText("Hello Bob\r\n", "UTF-8");
        try (jakarta.mail.Transport t = session.getTransport("smtp")) {
            t.connect(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD);
            t.sendMessage(m, m.getAllRecipients());
        }
        assertThat(transcript.toString(StandardCharsets.UTF_8))
                .contains("MAIL FROM:<" + SmtpTestServer.ALICE + "> RET=HDRS")
                .contains("RCPT TO:<" + SmtpTestServer.BOB + "> NOTIFY=SUCCESS,FAILURE");
        assertThat(delivered("angus dsn")).contains("Hello Bob");
    }

    @Test
    void angusMailWithRequiredStarttls() throws Exception {
        Session session = angusSession(new Properties());
        MimeMessage m = new MimeMessage(session);
        m.setFrom(new InternetAddress(SmtpTestServer.ALICE, "Alice"));
        m.setRecipient(Message.RecipientType.TO, new InternetAddress(SmtpTestServer.BOB));
        m.setSubject("angus");
        m.setText("Hello Bob,\r\n.a line with a dot\r\nGrüße\r\n", "UTF-8");
        m.saveChanges();
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        m.writeTo(expected);
        try (jakarta.mail.Transport t = session.getTransport("smtp")) {
            t.connect(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD);
            t.sendMessage(m, m.getAllRecipients()); // sendMessage keeps the saved Message-ID and date
        }
        assertThat(delivered("angus")).isEqualTo(expected.toString(StandardCharsets.UTF_8));
    }

    private static String port(String listener) {
        return Integer.toString(server.port(listener));
    }

    private static String ca() {
        return server.pki.trustFile().toString();
    }

    /** Runs a client; fails naming the Debian package when it is missing, or with its output when it fails. */
    static String runOk(List<String> command, String debianPackage) throws Exception {
        boolean found = false;
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, command.get(0)))) found = true;
        }
        if (!found) fail(command.get(0) + " is not installed; apt-get install " + debianPackage + " (./test does this)");
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(CLIENT_LIMIT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(command.get(0) + " did not finish");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("%s exited with %d:\n%s", command.get(0), p.exitValue(), text).isZero();
        return text;
    }
}
