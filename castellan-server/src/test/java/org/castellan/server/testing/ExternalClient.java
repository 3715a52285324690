package org.castellan.server.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a third-party client installed from the machine's packages (./test installs them). */
public final class ExternalClient {

    /** A client that has not finished in this time is hung, not slow. */
    private static final long LIMIT_SECONDS = 120;

    public record Result(int exitCode, String output) {
    }

    private ExternalClient() {}

    /** Fails the test, naming the Debian package, when {@code program} is not on the PATH. */
    public static void require(String program, String debianPackage) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, program))) return;
        }
        fail(program + " is not installed; install the Debian package '" + debianPackage
                + "' (apt-get install " + debianPackage + "; ./test does this)");
    }

    /**
     * Runs {@code command} with no input; its output goes to a file, so that a client that hangs
     * (mbsync waiting on a server that never answers) is ended after {@link #LIMIT_SECONDS} and
     * fails the test with what it printed, instead of blocking a read of its output for ever.
     */
    public static Result run(List<String> command, Map<String, String> env) throws IOException, InterruptedException {
        Path output = Files.createTempFile("castellan-client-", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            p.getOutputStream().close();
            if (!p.waitFor(LIMIT_SECONDS, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                fail(command.get(0) + " did not finish in " + LIMIT_SECONDS + " s; it printed:\n" + read(output));
            }
            return new Result(p.exitValue(), read(output));
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private static String read(Path output) throws IOException {
        return new String(Files.readAllBytes(output), StandardCharsets.UTF_8);
    }

    public static Result runOk(List<String> command, Map<String, String> env) throws IOException, InterruptedException {
        Result r = run(command, env);
        assertThat(r.exitCode()).as("%s exited with %d:\n%s", command.get(0), r.exitCode(), r.output()).isZero();
        return r;
    }
}
