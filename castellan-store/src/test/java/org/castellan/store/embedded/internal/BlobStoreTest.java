package org.castellan.store.embedded.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlobStoreTest {

    @TempDir
    Path dir;

    @Test
    void identicalBodiesAreStoredOnceUnderTheirSha256() throws Exception {
        BlobStore blobs = new BlobStore(dir.resolve("blobs"));
        byte[] body = "Subject: hello\r\n\r\nthe same bytes twice".getBytes(StandardCharsets.UTF_8);

        BlobStore.BlobRef first = blobs.write(new ByteArrayInputStream(body));
        BlobStore.BlobRef second = blobs.write(new ByteArrayInputStream(body));

        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        assertThat(first).isEqualTo(second).isEqualTo(new BlobStore.BlobRef(sha, body.length));
        assertThat(blobs.path(sha)).isEqualTo(dir.resolve("blobs").resolve(sha.substring(0, 2)).resolve(sha));
        assertThat(storedFiles(blobs)).containsExactly(blobs.path(sha));
        assertThat(dir.resolve("blobs/tmp")).isEmptyDirectory();
        try (InputStream in = blobs.open(sha)) {
            assertThat(in.readAllBytes()).isEqualTo(body);
        }
    }

    @Test
    void bodiesAndDirectoriesArePrivate() throws Exception {
        BlobStore blobs = new BlobStore(dir.resolve("blobs"));
        BlobStore.BlobRef ref = blobs.write(new ByteArrayInputStream(new byte[] {1, 2, 3}));

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(blobs.path(ref.id())))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(blobs.path(ref.id()).getParent())))
                .isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("blobs")))).isEqualTo("rwx------");
    }

    @Test
    void aLargeBodyArrivingInSmallPiecesReadsBackByteForByte() throws Exception {
        BlobStore blobs = new BlobStore(dir.resolve("blobs"));
        byte[] body = new byte[3 * 1024 * 1024 + 17];
        new Random(42).nextBytes(body);
        InputStream trickle = new FilterInputStream(new ByteArrayInputStream(body)) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return super.read(b, off, Math.min(len, 1000));
            }
        };

        BlobStore.BlobRef ref = blobs.write(trickle);

        assertThat(ref.size()).isEqualTo(body.length);
        try (InputStream in = blobs.open(ref.id())) {
            assertThat(in.readAllBytes()).isEqualTo(body);
        }
    }

    @Test
    void aFailingSourceLeavesNoFileBehind() throws Exception {
        BlobStore blobs = new BlobStore(dir.resolve("blobs"));
        InputStream broken = new InputStream() {
            int left = 100_000;

            @Override
            public int read() throws IOException {
                if (left <= 0) throw new IOException("client went away");
                left--;
                return 'x';
            }
        };

        assertThatThrownBy(() -> blobs.write(broken)).isInstanceOf(IOException.class).hasMessage("client went away");

        assertThat(storedFiles(blobs)).isEmpty();
        assertThat(dir.resolve("blobs/tmp")).isEmptyDirectory();
    }

    @Test
    void aPinnedBodyIsNotRemovedUntilUnpinned() throws Exception {
        BlobStore blobs = new BlobStore(dir.resolve("blobs"));
        BlobStore.BlobRef ref = blobs.write(new ByteArrayInputStream(new byte[] {9}));
        blobs.write(new ByteArrayInputStream(new byte[] {9})); // pinned twice now

        blobs.deleteUnlessPinned(ref.id());
        blobs.unpin(ref.id());
        blobs.deleteUnlessPinned(ref.id());
        assertThat(blobs.exists(ref.id())).isTrue();

        blobs.unpin(ref.id());
        blobs.deleteUnlessPinned(ref.id());
        assertThat(blobs.exists(ref.id())).isFalse();
    }

    @Test
    void staleTempFilesOfACrashedWriterAreRemovedOnOpen() throws Exception {
        new BlobStore(dir.resolve("blobs"));
        Path stale = Files.writeString(dir.resolve("blobs/tmp/crashed.tmp"), "half a message");
        Files.setLastModifiedTime(stale, FileTime.from(Instant.now().minus(BlobStore.STALE_TEMP_AGE).minusSeconds(60)));
        Path live = Files.writeString(dir.resolve("blobs/tmp/in-progress.tmp"), "being written by another process");

        new BlobStore(dir.resolve("blobs"));

        assertThat(stale).doesNotExist();
        assertThat(live).exists();
    }

    /** A kill -9 between write and rename leaves a temporary file: the next open removes it, not another live writer's. */
    @Test
    void tempFilesOfAWriterThatIsGoneAreRemovedOnOpenThoseOfALiveOneStay() throws Exception {
        new BlobStore(dir.resolve("blobs"));
        Process ended = new ProcessBuilder("true").start();
        ended.waitFor();
        String uuid = java.util.UUID.randomUUID().toString();
        Path killed = Files.writeString(dir.resolve("blobs/tmp/" + ended.pid() + "-" + uuid + ".tmp"), "half a message");
        long alive = ProcessHandle.current().parent().orElseThrow().pid();
        Path writing = Files.writeString(dir.resolve("blobs/tmp/" + alive + "-" + uuid + ".tmp"), "being written");
        Path ours = Files.writeString(dir.resolve("blobs/tmp/" + ProcessHandle.current().pid() + "-" + uuid + ".tmp"), "ours");

        new BlobStore(dir.resolve("blobs"));

        assertThat(killed).doesNotExist();
        assertThat(writing).exists();
        assertThat(ours).exists();
    }

    static List<Path> storedFiles(BlobStore blobs) throws IOException {
        try (Stream<Path> files = Files.walk(blobs.root())) {
            return files.filter(Files::isRegularFile).filter(p -> !p.getParent().getFileName().toString().equals("tmp")).toList();
        }
    }
}
