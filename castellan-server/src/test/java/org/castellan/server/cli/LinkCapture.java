package org.castellan.server.cli;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.castellan.server.testing.ExternalClient;
import org.junit.jupiter.api.Assumptions;

/**
 * tcpdump on the loopback interface, filtered to link ports, for tests that the link carries no
 * cleartext (docs/roles.md §2). Skips the test where tcpdump cannot capture (no CAP_NET_RAW).
 */
final class LinkCapture implements AutoCloseable {

    private final Path file;
    private final Process tcpdump;

    private LinkCapture(Path file, Process tcpdump) {
        this.file = file;
        this.tcpdump = tcpdump;
    }

    /** Starts capturing TCP on {@code ports} into {@code file}, and returns once tcpdump listens. */
    static LinkCapture start(Path file, int... ports) throws IOException {
        ExternalClient.require("tcpdump", "tcpdump");
        StringBuilder filter = new StringBuilder();
        for (int port : ports) filter.append(filter.isEmpty() ? "" : " or ").append("tcp port ").append(port);
        Path log = file.resolveSibling(file.getFileName() + ".log");
        // Immediate mode: packets are not held in the kernel's buffer, so none is lost when tcpdump is stopped.
        Process tcpdump = new ProcessBuilder("tcpdump", "-i", "lo", "--immediate-mode", "-U", "-n", "-w", file.toString(),
                filter.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        await().atMost(Duration.ofSeconds(20)).until(() -> !tcpdump.isAlive() || Files.readString(log).contains("listening on"));
        Assumptions.assumeTrue(tcpdump.isAlive(), () -> "tcpdump cannot capture on lo here (it needs CAP_NET_RAW): " + read(log));
        return new LinkCapture(file, tcpdump);
    }

    /** Waits until the capture stops growing (the sessions' last packets are in), stops tcpdump, and returns the packets. */
    byte[] packets() throws IOException, InterruptedException {
        long[] size = {-1};
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
            long now = Files.size(file);
            boolean stable = now == size[0] && now > 24;
            size[0] = now;
            return stable;
        });
        close();
        return Files.readAllBytes(file);
    }

    static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Override
    public void close() throws InterruptedException {
        tcpdump.destroy(); // SIGTERM: tcpdump writes what it holds and exits
        tcpdump.waitFor(20, TimeUnit.SECONDS);
    }
}
