package org.castellan.server.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;

class MessageSpoolTest {

    private static final int MEMORY_LIMIT = 1024;

    private static byte[] content(int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) b[i] = (byte) ('a' + i % 26);
        return b;
    }

    @Test
    void octetsFromArraysAndBuffersComeBackInOrderAcrossTheMemoryLimit() throws Exception {
        byte[] all = content(3 * MEMORY_LIMIT + 17);
        MessageSpool spool = new MessageSpool(MEMORY_LIMIT, 0);
        Path file;
        try {
            spool.write(all, 0, 100);
            ByteBuf buffer = Unpooled.wrappedBuffer(all);
            buffer.readerIndex(100);
            spool.write(buffer, 2000); // crosses the limit: part in memory, part in the file
            assertThat(buffer.readerIndex()).as("the caller moves its buffer on").isEqualTo(100);
            spool.write(all, 2100, all.length - 2100);

            assertThat(spool.size()).isEqualTo(all.length);
            assertThat(spool.headLength()).isEqualTo(MEMORY_LIMIT);
            try (InputStream in = spool.open()) {
                assertThat(in.readAllBytes()).isEqualTo(all);
            }
            file = spool.file().orElseThrow();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        } finally {
            spool.close();
        }
        assertThat(file).doesNotExist();
    }

    @Test
    void anAnnouncedSizeBeyondTheLimitsStillKeepsOnlyTheLimitInMemory() throws Exception {
        byte[] all = content(MEMORY_LIMIT / 2);
        try (MessageSpool spool = new MessageSpool(MEMORY_LIMIT, Long.MAX_VALUE)) {
            spool.write(Unpooled.wrappedBuffer(all), all.length);
            assertThat(spool.head().length).isLessThanOrEqualTo(MEMORY_LIMIT);
            assertThat(spool.file()).isEmpty();
            try (InputStream in = spool.open()) {
                assertThat(in.readAllBytes()).isEqualTo(all);
            }
        }
    }

    @Test
    void aSmallAnnouncedSizeGrowsAsTheContentArrives() throws Exception {
        byte[] all = content(MEMORY_LIMIT - 10);
        try (MessageSpool spool = new MessageSpool(MEMORY_LIMIT, 10)) {
            for (int off = 0; off < all.length; off += 7) spool.write(all, off, Math.min(7, all.length - off));
            try (InputStream in = spool.open()) {
                assertThat(in.readAllBytes()).isEqualTo(all);
            }
        }
    }

    /** Spool files say whose they are; at start those of ended processes go, nothing else does. */
    @Test
    void prepareRemovesOnlyTheSpoolFilesOfEndedProcesses(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path spoolDir = dir.resolve("spool");
        assertThat(MessageSpool.prepare(spoolDir)).isZero();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spoolDir))).isEqualTo("rwx------");
        Process ended = new ProcessBuilder("true").start();
        ended.waitFor();
        Path killed = Files.write(spoolDir.resolve("castellan-" + ended.pid() + "-123456789.eml"), content(5000));
        long alive = ProcessHandle.current().parent().orElseThrow().pid();
        Path live = Files.write(spoolDir.resolve("castellan-" + alive + "-42.eml"), content(10));
        Path notOurs = Files.write(spoolDir.resolve("castellan-" + ended.pid() + "-notes.txt"), content(10));
        MessageSpool writing = new MessageSpool(spoolDir, MEMORY_LIMIT, 0);
        writing.write(content(2 * MEMORY_LIMIT), 0, 2 * MEMORY_LIMIT);
        Path mine = writing.file().orElseThrow();
        assertThat(mine.getParent()).isEqualTo(spoolDir);

        assertThat(MessageSpool.prepare(spoolDir)).isEqualTo(1);

        assertThat(killed).doesNotExist();
        assertThat(live).exists();
        assertThat(notOurs).exists();
        assertThat(mine).exists();
        writing.close();
        assertThat(mine).doesNotExist();
    }
}
