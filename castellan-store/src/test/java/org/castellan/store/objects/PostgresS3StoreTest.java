package org.castellan.store.objects;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.castellan.store.Directory;
import org.castellan.store.Mailbox;
import org.castellan.store.Mailboxes;
import org.castellan.store.MailboxesContract;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.castellan.store.postgres.PostgresStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mailboxes contract on the PostgreSQL store with every body in the object store (an inline
 * threshold of 0, so the contract's small messages go there too), and bodies of several MiB
 * round-tripping byte for byte.
 */
class PostgresS3StoreTest implements MailboxesContract {

    @TempDir
    static Path dir;
    private static S3StoreFixture fixture;

    private PostgresStore store;

    @BeforeAll
    static void startServers() {
        fixture = new S3StoreFixture(dir.resolve("objects"));
    }

    @AfterAll
    static void stopServers() {
        fixture.close();
    }

    @BeforeEach
    void open() throws SQLException {
        fixture.newDatabase();
        store = fixture.open(S3Bodies.open(fixture.settings(0)));
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Override
    public Directory directory() {
        return store;
    }

    @Override
    public Mailboxes mailboxes() {
        return store;
    }

    @Test
    void bodiesOfSeveralMebibytesRoundTripByteForByte() throws IOException {
        Mailbox alices = inbox(account("alice@example.org"));
        Mailbox bobs = inbox(account("bob@example.org"));
        byte[] large = message(6 * 1024 * 1024 + 17, 1);
        byte[] other = message(3 * 1024 * 1024, 2);
        store.deliver(List.of(alices.id(), bobs.id()), large, Set.of(), Instant.parse("2026-12-01T10:00:00Z"));
        store.append(alices.id(), other, Set.of(), null);

        try (InputStream in = store.openMessage(alices.id(), 1)) {
            assertThat(in.readAllBytes()).isEqualTo(large);
        }
        try (InputStream in = store.openMessage(bobs.id(), 1)) {
            assertThat(in.readAllBytes()).isEqualTo(large);
        }
        try (InputStream in = store.openMessage(alices.id(), 2)) {
            assertThat(in.readAllBytes()).isEqualTo(other);
        }
        assertThat(store.listMessages(alices.id(), UidRange.all()))
                .extracting(MessageMeta::size).containsExactly((long) large.length, (long) other.length);
    }

    /** A message of {@code size} bytes: a header, then random printable lines. */
    static byte[] message(int size, long seed) {
        byte[] bytes = new byte[size];
        byte[] header = "Subject: large\r\n\r\n".getBytes(US_ASCII);
        System.arraycopy(header, 0, bytes, 0, header.length);
        Random random = new Random(seed);
        for (int i = header.length; i < size; i++) {
            bytes[i] = (i % 78 == 76) ? (byte) '\r' : (i % 78 == 77) ? (byte) '\n' : (byte) (' ' + random.nextInt(95));
        }
        return bytes;
    }
}
