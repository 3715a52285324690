package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ConcurrentModificationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A file the command cannot use is named with what is wrong with it, not as a bare path; a fault
 * of Castellan's own without a message is called an internal error, its trace logged.
 */
class FailuresTest {

    @TempDir Path tmp;

    @Test
    void theJdksBarePathsGetTheirReason() {
        assertThat(Failures.describe(new AccessDeniedException("/srv/backup")))
                .isEqualTo("/srv/backup: permission denied to user " + System.getProperty("user.name"));
        assertThat(Failures.describe(new NoSuchFileException("/srv/backup/a.zip")))
                .isEqualTo("/srv/backup/a.zip: no such file or directory");
        assertThat(Failures.describe(new AccessDeniedException("/a", "/b", "read-only file system")))
                .isEqualTo("/a (to /b): read-only file system");
    }

    @Test
    void aBackupThatCannotBeWrittenSaysWhyBeforeCopyingAnything() throws Exception {
        Cli cli = Cli.init(tmp.resolve("data"), "alice@example.org");
        Path notADirectory = Files.writeString(tmp.resolve("backups"), "a file where the directory should be\n");
        Cli.Run r = cli.admin("backup", "--to", notADirectory.resolve("castellan.zip").toString());
        assertThat(r.code()).isEqualTo(Main.FAILURE);
        assertThat(r.err().strip()).isEqualTo("castellan: " + notADirectory + ": exists already");
        try (var staging = Files.list(cli.data)) {
            assertThat(staging).noneMatch(p -> p.getFileName().toString().startsWith(BackupCommand.STAGING_PREFIX));
        }
    }

    @Test
    void anExceptionWithoutAMessageIsAnInternalErrorNotABareClassName() {
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new Main()).setErr(new PrintWriter(err, true));
        int code = new Failures().handleExecutionException(new ConcurrentModificationException(), cmd, null);
        assertThat(code).isEqualTo(Main.FAILURE);
        assertThat(err.toString().strip()).isEqualTo("castellan: internal error: java.util.ConcurrentModificationException"
                + " (its trace is in the log on standard error)");
    }
}
