package org.castellan.server.outbound;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.castellan.server.testing.ExternalClient;

/**
 * Postfix's {@code smtp-sink} as a receiver on a loopback port chosen at run time: it takes every
 * message and writes each to a file of {@code directory}.
 */
final class SmtpSink implements AutoCloseable {

    final int port;
    final Path directory;
    private final Process process;

    /** @param options more smtp-sink options, such as {@code -r RCPT} or {@code -n 1} */
    SmtpSink(Path directory, String... options) throws IOException {
        ExternalClient.require("smtp-sink", "postfix");
        this.directory = Files.createDirectories(directory);
        // smtp-sink drops root for nobody before writing, so the directory must be writable by it
        // and its parent (a test's temporary directory, 0700) passable.
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setPosixFilePermissions(directory.getParent(), PosixFilePermissions.fromString("rwx--x--x"));
        this.port = freePort();
        List<String> command = new ArrayList<>(List.of("smtp-sink", "-u", "nobody", "-d", directory + "/%M."));
        command.addAll(List.of(options));
        command.addAll(List.of("127.0.0.1:" + port, "10"));
        process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(directory.resolveSibling(directory.getFileName() + ".log").toFile()).start();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(this::listening);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Listening, seen from /proc/net/tcp rather than by connecting: a probe would count as a session. */
    private boolean listening() throws IOException {
        return listening(port);
    }

    static boolean listening(int port) throws IOException {
        String local = String.format(":%04X ", port);
        return Files.readAllLines(Path.of("/proc/net/tcp")).stream()
                .anyMatch(l -> l.contains(local) && l.trim().split("\\s+")[3].equals("0A"));
    }

    /** The messages written so far, each with smtp-sink's X-Mail-Args and X-Rcpt-Args lines first. */
    List<String> messages() throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            List<String> out = new ArrayList<>();
            for (Path f : files.sorted().toList()) out.add(Files.readString(f, StandardCharsets.UTF_8));
            return out;
        }
    }

    /**
     * Waits until {@code count} messages have been written in full: smtp-sink creates a message's
     * file at MAIL and fills it as the content comes, so a file is complete once it holds {@code end}.
     */
    List<String> awaitMessages(int count, String end) {
        Awaitility.await().atMost(Duration.ofSeconds(30))
                .until(() -> messages().size() == count && messages().stream().allMatch(m -> m.contains(end)));
        try {
            return messages();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        process.destroy();
    }
}
