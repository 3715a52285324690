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
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code castellan backup} of a running server that is accepting mail at that moment, then
 * {@code castellan restore} into a fresh directory, a server started on it, and every message read
 * back over IMAP (Angus Mail) and compared with what was sent.
 */
class BackupRestoreTest {

    /** Bodies above the store's inline limit (128 KiB) become body files; every fourth message is one. */
    private static final int LARGE_LINES = 3000;
    private static final int BEFORE = 12;
    /** A bound on the deliveries running during the backup; the sender stops when the backup is done. */
    private static final int MAX_DURING = 400;

    @TempDir Path tmp;
    final Map<String, String> sent = new ConcurrentHashMap<>();

    @Test
    void aBackupTakenWhileMailArrivesRestoresEveryMessageItHolds() throws Exception {
        Path zip = tmp.resolve("backups/castellan.zip");
        Path restored = tmp.resolve("restored");
        Set<String> beforeBackup;
        SSLContext trust;
        try (LiveServer live = LiveServer.start(tmp.resolve("data"))) {
            trust = live.clientContext(null);
            InetSocketAddress mx = live.address("mx");
            for (int i = 0; i < BEFORE; i++) deliver(mx, "before-" + i, i % 4 == 0);
            beforeBackup = Set.copyOf(sent.keySet());

            AtomicBoolean done = new AtomicBoolean();
            Thread sender = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < MAX_DURING && !done.get(); i++) {
                    try {
                        deliver(mx, "during-" + i, i % 4 == 0);
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
            Cli.Run backup = live.cli.admin("backup", "--to", zip.toString());
            done.set(true);
            sender.join();
            assertThat(backup.code()).as(backup.err()).isZero();
            assertThat(backup.out()).contains("body file(s)");
            assertThat(Files.getPosixFilePermissions(zip)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
            try (var left = Files.list(live.cli.data)) {
                assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".backup-"));
            }
        }

        Cli.Run restore = Cli.raw(null, "restore", "--from", zip.toString(), "--data", restored.toString());
        assertThat(restore.code()).as(restore.out() + restore.err()).isZero();
        assertThat(restore.out()).contains("every message body is there").doesNotContain("note:");

        assertThat(restored.resolve("tls/chain.pem")).hasSameBinaryContentAs(tmp.resolve("data/tls/chain.pem"));
        assertThat(restored.resolve("pki/root.crt")).hasSameBinaryContentAs(tmp.resolve("data/pki/root.crt"));
        try (Castellan server = Castellan.start(CastellanConfig.load(restored.resolve("castellan.toml")))) {
            InetSocketAddress imaps = server.addresses().get("imaps");
            Map<String, String> read = readOverImap(trust, imaps);
            assertThat(read.keySet()).containsAll(beforeBackup);
            read.forEach((subject, body) -> assertThat(body).as(subject).isEqualTo(sent.get(subject)));
        }

        Cli.Run again = Cli.raw(null, "restore", "--from", zip.toString(), "--data", restored.toString());
        assertThat(again.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(again.err()).contains("is not empty");
    }

    @Test
    void aBackupLackingABodyFileIsRefusedAtRestore() throws Exception {
        Path copy = tmp.resolve("copy");
        try (LiveServer live = LiveServer.start(tmp.resolve("data"))) {
            deliver(live.address("mx"), "large", true);
            Cli.Run backup = live.cli.admin("backup", "--to", copy.toString());
            assertThat(backup.code()).as(backup.err()).isZero();
        }
        try (var bodies = Files.walk(copy.resolve("mail/blobs"))) {
            for (Path body : bodies.filter(Files::isRegularFile).toList()) Files.delete(body);
        }
        Cli.Run restore = Cli.raw(null, "restore", "--from", copy.toString(), "--data", tmp.resolve("restored").toString());
        assertThat(restore.code()).isEqualTo(Main.FAILURE);
        assertThat(restore.err()).contains("lacks 1 message body file");
    }

    /** Every message of INBOX over IMAPS, by subject: LOGIN, SELECT, then one FETCH per message. */
    private static Map<String, String> readOverImap(SSLContext trust, InetSocketAddress at) throws IOException {
        Map<String, String> read = new ConcurrentHashMap<>();
        try (Socket s = trust.getSocketFactory().createSocket(at.getAddress(), at.getPort())) {
            s.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
            var in = new java.io.DataInputStream(new java.io.BufferedInputStream(s.getInputStream()));
            OutputStream out = s.getOutputStream();
            imapLine(in);
            send(out, "a LOGIN " + LiveServer.ACCOUNT + " \"" + Cli.Pop3Password.VALUE + "\"");
            assertThat(untilTagged(in, "a ", null)).startsWith("a OK");
            send(out, "b SELECT INBOX");
            java.util.List<String> literals = new java.util.ArrayList<>();
            String exists = untilTagged(in, "b ", literals);
            assertThat(exists).startsWith("b OK");
            int count = Integer.parseInt(literals.stream().filter(l -> l.endsWith(" EXISTS")).findFirst().orElseThrow()
                    .split(" ")[1]);
            for (int i = 1; i <= count; i++) {
                literals.clear();
                send(out, "f FETCH " + i + " (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])");
                assertThat(untilTagged(in, "f ", literals)).startsWith("f OK");
                java.util.List<String> parts = literals.stream().filter(l -> l.startsWith("\u0000")).map(l -> l.substring(1)).toList();
                String subject = parts.get(0).strip().substring("Subject: ".length());
                read.put(subject, parts.get(1).replace("\r\n", "\n").strip());
            }
            send(out, "z LOGOUT");
        }
        return read;
    }

    /** Lines until the tagged one, which is returned; untagged lines and literals (marked with a NUL) go to {@code seen}. */
    private static String untilTagged(java.io.DataInputStream in, String tag, java.util.List<String> seen) throws IOException {
        for (String line = imapLine(in); ; line = imapLine(in)) {
            if (line.startsWith(tag)) return line;
            if (seen != null) seen.add(line);
            java.util.regex.Matcher literal = java.util.regex.Pattern.compile("\\{(\\d+)}$").matcher(line);
            if (literal.find()) {
                byte[] data = new byte[Integer.parseInt(literal.group(1))];
                in.readFully(data);
                if (seen != null) seen.add("\u0000" + new String(data, StandardCharsets.UTF_8));
            }
        }
    }

    private static String imapLine(java.io.DataInputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) throw new IOException("connection closed after " + line);
            if (b != '\r') line.append((char) b);
        }
        return line.toString();
    }

    /** One message over plain SMTP to the MX listener, remembered by subject. */
    private void deliver(InetSocketAddress mx, String subject, boolean large) throws IOException {
        StringBuilder body = new StringBuilder("message " + subject + "\n");
        for (int i = 0; large && i < LARGE_LINES; i++) body.append("line ").append(i).append(" of ").append(subject)
                .append(" ").append("x".repeat(48)).append('\n');
        String text = body.toString().strip();
        try (Socket s = new Socket()) {
            s.connect(mx, LiveServer.READ_TIMEOUT_MILLIS);
            s.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            expect(in, "220");
            send(out, "EHLO client.example");
            String line;
            do {
                line = in.readLine();
            } while (line != null && line.startsWith("250-"));
            send(out, "MAIL FROM:<sender@example.net>");
            expect(in, "250");
            send(out, "RCPT TO:<" + LiveServer.ACCOUNT + ">");
            expect(in, "250");
            send(out, "DATA");
            expect(in, "354");
            send(out, "From: <sender@example.net>\r\nTo: <" + LiveServer.ACCOUNT + ">\r\nSubject: " + subject
                    + "\r\nMessage-ID: <" + subject + "@example.net>\r\n\r\n" + text.replace("\n", "\r\n") + "\r\n.");
            expect(in, "250");
            send(out, "QUIT");
        }
        sent.put(subject, text);
    }

    private static void send(OutputStream out, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static void expect(BufferedReader in, String code) throws IOException {
        String line = in.readLine();
        assertThat(line).startsWith(code);
    }
}
