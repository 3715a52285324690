package org.castellan.server.imap.clients;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.TestServer;
import org.castellan.store.FlagOperation;
import org.castellan.store.MailStore;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * mbsync (isync) keeps a local Maildir tree and the server's folder tree in two-way sync over
 * implicit TLS, trusting only the test CA: new mail and flag changes travel both ways, folders
 * are created on either side, and a run with nothing changed transfers nothing.
 */
class MbsyncTest {

    private static final String FROM_SERVER = "From: carol@example.net\r\nTo: alice@example.org\r\n"
            + "Subject: %s\r\nMessage-ID: <%s@example.net>\r\n\r\nwritten on the server\r\n";
    private static final String FROM_LAPTOP = "From: alice@example.org\r\nTo: carol@example.net\r\n"
            + "Subject: %s\r\nMessage-ID: <%s@laptop.example>\r\n\r\nwritten on the laptop\r\n";
    /** A command in mbsync's network trace ({@code -Dn}): {@code >>> 6 APPEND "INBOX" ...}. */
    private static final Pattern SENT = Pattern.compile(">>> \\d+ (.*)");

    @TempDir Path dir;
    private TestServer server;
    private MailStore store;
    private long accountId;
    private Path maildir;

    @BeforeAll
    static void mbsync() {
        ExternalClient.require("mbsync", "isync");
    }

    @BeforeEach
    void start() throws IOException {
        server = TestServer.start(dir.resolve("server"), TestServer.listener("imaps", "imap", "implicit", false));
        store = server.server().store();
        accountId = store.getMailbox(server.inbox()).orElseThrow().accountId();
        maildir = Files.createDirectories(dir.resolve("mail"));
    }

    @AfterEach
    void stop() {
        server.server().close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"PLAIN", "LOGIN"})
    void twoWaySyncOfAFolderTree(String mechanism) throws Exception {
        long work = store.createMailbox(accountId, "Work").id();
        long projects = store.createMailbox(accountId, "Work/Projects").id();
        long hello = serverMessage(server.inbox(), "hello", Set.of("\\Seen"));
        serverMessage(work, "budget", Set.of());
        long plan = serverMessage(projects, "plan", Set.of("\\Flagged"));
        laptopMessage("INBOX", "draft reply", "S");
        laptopMessage("Personal", "holiday", "");

        Traffic first = sync(mechanism);
        assertThat(first.uploads()).as("messages uploaded").isEqualTo(2);
        assertThat(first.downloads()).as("messages downloaded").isEqualTo(3);
        assertThat(subjects(server.inbox())).containsExactlyInAnyOrder("hello", "draft reply");
        assertThat(flagsOf(server.inbox(), "draft reply")).contains("\\Seen");
        long personal = store.getMailbox(accountId, "Personal").orElseThrow().id();
        assertThat(subjects(personal)).containsExactly("holiday");
        assertThat(local("INBOX")).containsOnlyKeys("hello", "draft reply");
        assertThat(local("INBOX").get("hello")).isEqualTo("S");
        assertThat(local("Work")).containsOnlyKeys("budget");
        assertThat(local("Work/Projects")).containsOnlyKeys("plan");
        assertThat(local("Work/Projects").get("plan")).isEqualTo("F");

        // Both sides change flags: the server unflags and answers, the laptop reads and flags.
        store.storeFlags(projects, List.of(plan), FlagOperation.REMOVE, Set.of("\\Flagged"), OptionalLong.empty());
        store.storeFlags(server.inbox(), List.of(hello), FlagOperation.ADD, Set.of("\\Answered"), OptionalLong.empty());
        setLocalFlags("Work", "budget", "FS");
        Traffic second = sync(mechanism);
        assertThat(second.uploads() + second.downloads()).as("no message travels for flag changes").isZero();
        assertThat(second.flagStores()).as("flag updates sent to the server").isEqualTo(1);
        assertThat(flagsOf(work, "budget")).containsExactlyInAnyOrder("\\Flagged", "\\Seen");
        assertThat(local("Work/Projects").get("plan")).isEmpty();
        assertThat(local("INBOX").get("hello")).isEqualTo("RS");

        // Nothing changed: the third run moves nothing, and the server's state says the same.
        Map<Long, Long> modSeqs = highestModSeqs(server.inbox(), work, projects, personal);
        Map<String, Map<String, String>> laptop = localTree();
        Traffic third = sync(mechanism);
        assertThat(third).isEqualTo(new Traffic(0, 0, 0, 0));
        assertThat(localTree()).isEqualTo(laptop);
        assertThat(highestModSeqs(server.inbox(), work, projects, personal)).isEqualTo(modSeqs);
        assertThat(subjects(server.inbox())).hasSize(2);
    }

    /** One mbsync run over every channel; returns what it sent, from its network trace. */
    private Traffic sync(String mechanism) throws Exception {
        Path config = dir.resolve("mbsyncrc");
        Files.writeString(config, String.join("\n",
                "IMAPAccount castellan",
                "Host localhost",
                "Port " + server.server().addresses().get("imaps").getPort(),
                "User " + TestServer.USER,
                "Pass \"" + TestServer.PASSWORD + "\"",
                "AuthMechs " + mechanism,
                "SSLType IMAPS",
                "SSLVersions TLSv1.2 TLSv1.3",
                "CertificateFile " + server.pki().trustFile(),
                "",
                "IMAPStore server",
                "Account castellan",
                "",
                "MaildirStore laptop",
                "Path " + maildir + "/",
                "Inbox " + maildir.resolve("INBOX"),
                "SubFolders Verbatim",
                "",
                "Channel mail",
                "Far :server:",
                "Near :laptop:",
                "Patterns INBOX Work* Personal*",
                "Create Both",
                "Expunge Both",
                "SyncState *",
                "Sync All",
                ""));
        var result = ExternalClient.runOk(List.of("mbsync", "-Dn", "-c", config.toString(), "--all"),
                Map.of("HOME", dir.toString()));
        Matcher m = SENT.matcher(result.output());
        int uploads = 0;
        int downloads = 0;
        int stores = 0;
        int expunges = 0;
        int commands = 0;
        while (m.find()) {
            String command = m.group(1);
            commands++;
            if (command.startsWith("APPEND ")) uploads++;
            if (command.startsWith("UID FETCH ") && command.contains("BODY.PEEK[]")) downloads++;
            if (command.startsWith("UID STORE ")) stores++;
            if (command.startsWith("EXPUNGE") || command.startsWith("UID EXPUNGE")) expunges++;
        }
        assertThat(commands).as("mbsync's network trace in:\n%s", result.output()).isPositive();
        return new Traffic(uploads, downloads, stores, expunges);
    }

    /** What one run sent the server: APPENDs, whole-message FETCHes, flag STOREs, EXPUNGEs. */
    private record Traffic(int uploads, int downloads, int flagStores, int expunges) {
    }

    private Map<String, Map<String, String>> localTree() throws IOException {
        Map<String, Map<String, String>> out = new TreeMap<>();
        for (String folder : List.of("INBOX", "Personal", "Work", "Work/Projects")) out.put(folder, local(folder));
        return out;
    }

    /** A message in a server mailbox, seeded as the fixtures seed (an expunged gap after it). */
    private long serverMessage(long mailbox, String subject, Set<String> flags) {
        byte[] content = FROM_SERVER.formatted(subject, subject.replace(' ', '.')).getBytes(StandardCharsets.UTF_8);
        return TestServer.seed(store, mailbox, List.of(content),
                c -> store.append(mailbox, c, flags, Instant.parse("2024-03-01T10:00:00Z")).uid())[0];
    }

    /** A message the way a Maildir mail client leaves it: in cur/ with its flags after ":2,". */
    private void laptopMessage(String folder, String subject, String flags) throws IOException {
        Path box = maildir.resolve(folder);
        for (String sub : List.of("cur", "new", "tmp")) Files.createDirectories(box.resolve(sub));
        String name = "1709287200." + subject.replace(' ', '_') + ".laptop:2," + flags;
        Files.writeString(box.resolve("cur").resolve(name), FROM_LAPTOP.formatted(subject, subject.replace(' ', '.')));
    }

    /** The local folder's messages: subject to Maildir flag letters. */
    private Map<String, String> local(String folder) throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (String sub : List.of("cur", "new")) {
            Path d = maildir.resolve(folder).resolve(sub);
            if (!Files.isDirectory(d)) continue;
            try (Stream<Path> files = Files.list(d)) {
                for (Path f : files.toList()) {
                    String name = f.getFileName().toString();
                    int info = name.indexOf(":2,");
                    out.put(subject(Files.readString(f)), info < 0 ? "" : name.substring(info + 3));
                }
            }
        }
        return out;
    }

    /** What a Maildir client does when the user flags a message: move it to cur/ with the new flags. */
    private void setLocalFlags(String folder, String subject, String flags) throws IOException {
        for (String sub : List.of("cur", "new")) {
            try (Stream<Path> files = Files.list(maildir.resolve(folder).resolve(sub))) {
                for (Path f : files.toList()) {
                    if (!subject(Files.readString(f)).equals(subject)) continue;
                    String name = f.getFileName().toString();
                    int info = name.indexOf(":2,");
                    String base = info < 0 ? name : name.substring(0, info);
                    Files.move(f, maildir.resolve(folder).resolve("cur").resolve(base + ":2," + flags));
                    return;
                }
            }
        }
        throw new AssertionError("no local message " + subject + " in " + folder);
    }

    private List<String> subjects(long mailbox) throws IOException {
        List<String> out = new java.util.ArrayList<>();
        for (MessageMeta m : store.listMessages(mailbox, UidRange.all())) {
            try (var in = store.openMessage(mailbox, m.uid())) {
                out.add(subject(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
            }
        }
        return out;
    }

    private Set<String> flagsOf(long mailbox, String subject) throws IOException {
        for (MessageMeta m : store.listMessages(mailbox, UidRange.all())) {
            try (var in = store.openMessage(mailbox, m.uid())) {
                if (subject(new String(in.readAllBytes(), StandardCharsets.UTF_8)).equals(subject)) return m.flags();
            }
        }
        throw new AssertionError("no message " + subject + " on the server");
    }

    private Map<Long, Long> highestModSeqs(long... mailboxes) {
        Map<Long, Long> out = new TreeMap<>();
        for (long m : mailboxes) out.put(m, store.status(m).highestModSeq());
        return out;
    }

    private static String subject(String message) {
        Matcher m = Pattern.compile("(?m)^Subject: (.*?)\r?$").matcher(message);
        if (!m.find()) throw new AssertionError("no Subject in " + message);
        return m.group(1);
    }
}
