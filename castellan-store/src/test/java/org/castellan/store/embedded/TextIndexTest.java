package org.castellan.store.embedded;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.imap.SearchText;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Mailbox;
import org.castellan.store.MessageMeta;
import org.castellan.store.TextMatches;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The full-text index answers exactly what a scan answers, on a varied corpus (transfer
 * encodings, charsets, encoded words, non-ASCII case folding, nested messages, attachments,
 * a file-sized body), fully indexed, half indexed and not indexed at all.
 */
class TextIndexTest {

    @TempDir
    Path directory;

    private static String b64(String s) {
        return Base64.getMimeEncoder().encodeToString(s.getBytes(UTF_8));
    }

    /** Each message as bytes; ISO-8859-1 where the text says so. */
    static List<byte[]> corpus() {
        List<byte[]> out = new ArrayList<>();
        out.add("Subject: Hello world\r\nFrom: Alice <alice@example.org>\r\n\r\nPlain ASCII body, nothing special.\r\n".getBytes(UTF_8));
        out.add(("Subject: =?UTF-8?B?" + Base64.getEncoder().encodeToString("Grüße aus Köln".getBytes(UTF_8)) + "?=\r\n"
                + "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                + b64("Die Straße ist lang. ΟΔΟΣ and οδός. İstanbul. 日本語のテキスト.") + "\r\n").getBytes(UTF_8));
        out.add(("Subject: =?ISO-8859-1?Q?caf=E9_cr=E8me?=\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n"
                + "Content-Transfer-Encoding: quoted-printable\r\n\r\nna=EFve soft=\r\nbreak \"quoted\" a\"b\r\n").getBytes(ISO_8859_1));
        out.add(("Subject: attachment\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
                + "Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hello <b>HTML</b> world</p>\r\n--XX\r\n"
                + "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64("hidden hello inside a picture")
                + "\r\n--XX--\r\n").getBytes(UTF_8));
        out.add(("Subject: fwd\r\nContent-Type: message/rfc822\r\n\r\nSubject: Inner hello\r\nFrom: bob@example.net\r\n\r\n"
                + "inner body mentions the lighthouse\r\n").getBytes(UTF_8));
        out.add("Subject: nul\r\n\r\nbefore\u0000after lighthouse\r\n".getBytes(UTF_8));
        out.add(("Subject: big\r\n\r\n" + "filler line of a large message\r\n".repeat(5000) + "needle at the very end\r\n").getBytes(UTF_8));
        out.add("Subject: no body".getBytes(UTF_8));
        out.add("Subject: Re: Hello world\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nhello again \u00e9\r\n".getBytes(UTF_8));
        return out;
    }

    static final List<String> NEEDLES = List.of("hello", "HELLO", "world", "grüße", "GRÜSSE", "köln", "straße", "οδος", "ΟΔΟΣ",
            "ος", "istanbul", "İstanbul", "日本語", "café", "CRÈME", "naïve softbreak", "\"quoted\"", "a\"b", "hidden",
            "html", "<b>", "lighthouse", "inner hello", "bob@example", "subject", "re: hello", "needle at the very end",
            "filler", "e", "", "lo", "before\u0000after", "beforeafter", "before after", "no body", "x-unknown", "from: alice");

    private static byte[] body(EmbeddedMailStore store, Mailbox box, long uid) {
        try (InputStream in = store.openMessage(box.id(), uid)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What a scan of every message finds. */
    private static SortedSet<Long> scan(EmbeddedMailStore store, Mailbox box, boolean bodyOnly, String needle) {
        SortedSet<Long> out = new TreeSet<>();
        for (MessageMeta m : store.listMessages(box.id(), UidRange.all())) {
            byte[] b = body(store, box, m.uid());
            SearchText t = MessageStructure.parse(b).searchText(b);
            if (bodyOnly ? t.bodyContains(needle) : t.textContains(needle)) out.add(m.uid());
        }
        return out;
    }

    /** What the index finds, scanning only what it does not cover (as SEARCH does). */
    private static SortedSet<Long> indexed(EmbeddedMailStore store, Mailbox box, boolean bodyOnly, String needle) {
        TextMatches m = store.searchText(box.id(), bodyOnly, needle);
        SortedSet<Long> out = new TreeSet<>(m.matching());
        for (long uid : m.unindexed()) {
            byte[] b = body(store, box, uid);
            SearchText t = MessageStructure.parse(b).searchText(b);
            if (bodyOnly ? t.bodyContains(needle) : t.textContains(needle)) out.add(uid);
        }
        return out;
    }

    private static Mailbox inbox(EmbeddedMailStore store) {
        store.createDomain("example.com");
        var account = store.createAccount(EmailAddress.of("u@example.com"), "x", OptionalLong.empty());
        return store.getMailbox(account.id(), "INBOX").orElseThrow();
    }

    private static Map<String, SortedSet<Long>> answers(EmbeddedMailStore store, Mailbox box, boolean useIndex) {
        Map<String, SortedSet<Long>> out = new TreeMap<>();
        for (String needle : NEEDLES) {
            for (boolean bodyOnly : List.of(true, false)) {
                out.put((bodyOnly ? "BODY " : "TEXT ") + needle,
                        useIndex ? indexed(store, box, bodyOnly, needle) : scan(store, box, bodyOnly, needle));
            }
        }
        return out;
    }

    @Test
    void indexAnswersExactlyWhatAScanAnswers() {
        EmbeddedMailStore.Options noBackground = EmbeddedMailStore.Options.defaults().withTextIndex(false);
        try (EmbeddedMailStore store = EmbeddedMailStore.open(directory, noBackground)) {
            Mailbox box = inbox(store);
            List<byte[]> corpus = corpus();
            for (byte[] m : corpus.subList(0, corpus.size() / 2)) store.append(box.id(), m, Set.of(), Instant.now());
            Map<String, SortedSet<Long>> expected;

            // Nothing indexed: everything is scanned.
            assertThat(store.searchText(box.id(), true, "hello").unindexed()).hasSize(corpus.size() / 2);
            // Half indexed, half not.
            store.catchUpTextIndex();
            for (byte[] m : corpus.subList(corpus.size() / 2, corpus.size())) store.append(box.id(), m, Set.of(), Instant.now());
            expected = answers(store, box, false);
            assertThat(answers(store, box, true)).isEqualTo(expected);
            // Everything indexed: only needles under three characters are scanned.
            store.catchUpTextIndex();
            assertThat(answers(store, box, true)).isEqualTo(expected);
            assertThat(store.searchText(box.id(), false, "lighthouse").unindexed()).isEmpty();
            assertThat(store.searchText(box.id(), false, "lo").unindexed()).hasSize(corpus.size());

            // Spot checks that the corpus exercises what it should.
            assertThat(expected.get("BODY hidden")).isEmpty();
            assertThat(expected.get("BODY οδος")).hasSize(1);
            assertThat(expected.get("TEXT köln")).hasSize(1);
            assertThat(expected.get("BODY naïve softbreak")).hasSize(1);
            assertThat(expected.get("BODY needle at the very end")).hasSize(1);
            assertThat(expected.get("BODY inner hello")).hasSize(1);
            assertThat(expected.get("TEXT ")).hasSize(corpus.size());
            assertThat(expected.get("BODY beforeafter")).isEmpty(); // NUL is searched as a space
            assertThat(expected.get("BODY before after")).hasSize(1);
        }
    }

    /** The index answers every needle of {@link TextMatches#MIN_INDEXED_LENGTH} characters or more, three included. */
    @Test
    void aNeedleOfExactlyThreeCharactersIsAnsweredByTheIndex() {
        try (EmbeddedMailStore store = EmbeddedMailStore.open(directory, EmbeddedMailStore.Options.defaults().withTextIndex(false))) {
            Mailbox box = inbox(store);
            long uid = store.append(box.id(), "Subject: s\r\n\r\nthe fox\r\n".getBytes(UTF_8), Set.of(), Instant.now()).uid();
            store.catchUpTextIndex();
            TextMatches fox = store.searchText(box.id(), true, "fox");
            assertThat(fox.unindexed()).isEmpty();
            assertThat(fox.matching()).containsExactly(uid);
            assertThat(store.searchText(box.id(), true, "fo").unindexed()).containsExactly(uid);
        }
    }

    @Test
    void backgroundIndexerCatchesUpAndRemovalsTakeTheirDocuments() throws SQLException {
        long uid;
        try (EmbeddedMailStore store = EmbeddedMailStore.open(directory)) {
            Mailbox box = inbox(store);
            uid = store.append(box.id(), corpus().get(0), Set.of(), Instant.now()).uid();
            long twin = store.append(box.id(), corpus().get(0), Set.of(), Instant.now()).uid(); // same body, own document
            await().atMost(Duration.ofSeconds(30)).until(() -> store.searchText(box.id(), true, "ascii body").unindexed().isEmpty());
            assertThat(store.searchText(box.id(), true, "ascii body").matching()).containsExactly(uid, twin);
            assertThat(documents()).isEqualTo(2);
            store.expunge(box.id(), List.of(uid));
            assertThat(documents()).isEqualTo(1);
            assertThat(store.searchText(box.id(), true, "ascii body").matching()).containsExactly(twin);
            Mailbox other = store.createMailbox(box.accountId(), "Other");
            store.copy(box.id(), List.of(twin), other.id());
            await().atMost(Duration.ofSeconds(30)).until(() -> documents() == 2);
            store.deleteMailbox(other.id());
            assertThat(documents()).isEqualTo(1);
            store.expunge(box.id(), List.of(twin));
            assertThat(documents()).isZero();
            assertThat(store.searchText(box.id(), true, "ascii body").matching()).isEmpty();
        }
    }

    @Test
    void indexerKeepsUpWithAStreamOfDeliveries() throws InterruptedException {
        // One request per transaction: while sixteen threads deliver back to back, most of them
        // are always queued, so the writer is never quiet, as under a steady stream of mail.
        EmbeddedMailStore.Options defaults = EmbeddedMailStore.Options.defaults();
        EmbeddedMailStore.Options oneByOne = new EmbeddedMailStore.Options(defaults.busyTimeout(), defaults.readConnections(), 1);
        try (EmbeddedMailStore store = EmbeddedMailStore.open(directory, oneByOne)) {
            Mailbox box = inbox(store);
            long first = store.append(box.id(), corpus().get(0), Set.of(), Instant.now()).uid();
            // The index must still reach the first message while the stream goes on, rather than
            // leave every new message to SEARCH's scan until the stream stops.
            AtomicBoolean streaming = new AtomicBoolean(true);
            List<Thread> senders = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                senders.add(Thread.ofPlatform().start(() -> {
                    while (streaming.get()) store.append(box.id(), corpus().get(1), Set.of(), Instant.now());
                }));
            }
            try {
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> store.searchText(box.id(), true, "ascii body").matching().contains(first));
                assertThat(senders).allMatch(Thread::isAlive);
            } finally {
                streaming.set(false);
                for (Thread t : senders) t.join();
            }
        }
    }

    @Test
    void indexSurvivesReopen() {
        try (EmbeddedMailStore store = EmbeddedMailStore.open(directory, EmbeddedMailStore.Options.defaults().withTextIndex(false))) {
            Mailbox box = inbox(store);
            store.append(box.id(), corpus().get(4), Set.of(), Instant.now());
            store.catchUpTextIndex();
        }
        try (EmbeddedMailStore store = EmbeddedMailStore.open(directory, EmbeddedMailStore.Options.defaults().withTextIndex(false))) {
            long box = store.getMailbox(store.listAccounts().get(0).id(), "INBOX").orElseThrow().id();
            TextMatches m = store.searchText(box, true, "LIGHTHOUSE");
            assertThat(m.unindexed()).isEmpty();
            assertThat(m.matching()).hasSize(1);
        }
    }

    /** Documents in the index, counted by their rowids (the table keeps no text). */
    private long documents() throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + directory.resolve("mail.db"));
                ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM text_index")) {
            return rs.getLong(1);
        }
    }
}
