package org.castellan.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * What the real servers of the testkit ({@link Postgres}, {@link Slapd}) share: a directory of
 * their own given to an unprivileged user when the tests run as root, a free loopback port, and
 * the clean-up.
 */
final class ServerDirectories {

    /** The unprivileged account servers run as when the tests run as root; every Debian has it. */
    static final String UNPRIVILEGED_USER = "nobody";

    private ServerDirectories() {
    }

    /** Gives {@code directory} to {@link #UNPRIVILEGED_USER}; returns the prefix that runs a command as that user. */
    static List<String> giveTo(Path directory) throws IOException {
        String uid = output(List.of("id", "-u", UNPRIVILEGED_USER));
        String gid = output(List.of("id", "-g", UNPRIVILEGED_USER));
        UserPrincipalLookupService users = directory.getFileSystem().getUserPrincipalLookupService();
        PosixFileAttributeView view = Files.getFileAttributeView(directory, PosixFileAttributeView.class);
        view.setOwner(users.lookupPrincipalByName(uid));
        view.setGroup(users.lookupPrincipalByGroupName(gid));
        // util-linux's setpriv: Essential on Debian, no PAM session, unlike runuser or su.
        return List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--");
    }

    static void chownLike(Path file, Path like) throws IOException {
        PosixFileAttributeView from = Files.getFileAttributeView(like, PosixFileAttributeView.class);
        PosixFileAttributeView to = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        to.setOwner(from.getOwner());
        to.setGroup(from.readAttributes().group());
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port on loopback", e);
        }
    }

    /** Deletes {@code directory} and everything in it; {@code what} names it in the error. */
    static void delete(Path directory, String what) {
        if (!Files.exists(directory)) return;
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + what + " " + directory, e);
        }
    }

    private static String output(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(String.join(" ", command) + " interrupted", e);
        }
        return out;
    }
}
