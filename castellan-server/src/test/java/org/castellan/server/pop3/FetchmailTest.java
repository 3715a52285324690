package org.castellan.server.pop3;

import org.castellan.server.testing.ExternalClient;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * fetchmail over implicit TLS, verifying the server against the test CA: keep mode with UIDL
 * tracking in an idfile (a second run fetches nothing new), then delete mode.
 */
class FetchmailTest extends ServerPerTest {

    /** fetchmail's exit code when it found no new mail. */
    private static final int NO_MAIL = 1;

    @BeforeAll
    static void fetchmail() {
        ExternalClient.require("fetchmail", "fetchmail");
    }

    /** The rc file holds the password: created 0600, as fetchmail also insists. */
    private Path rc(String name, boolean keep, Path mbox) throws Exception {
        Path rc = dir.resolve(name);
        Files.createFile(rc, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(rc, String.join("\n",
                "poll localhost via 127.0.0.1 with proto POP3 port " + pop3.port("pop3s") + " uidl",
                "  user \"" + Pop3TestServer.USER + "\" there with password \"" + Pop3TestServer.PASSWORD + "\"",
                "  options ssl sslcertck sslcommonname localhost sslcertfile \"" + pop3.pki.trustFile() + "\" " + (keep ? "keep" : "nokeep"),
                "  mda \"cat >> " + mbox + "\"",
                ""), StandardOpenOption.TRUNCATE_EXISTING);
        return rc;
    }

    private ExternalClient.Result fetch(Path rc, Path idfile) throws Exception {
        return ExternalClient.run(List.of("fetchmail", "--nodetach", "--nosyslog", "-f", rc.toString(),
                "--idfile", idfile.toString(), "--pidfile", dir.resolve("fetchmail.pid").toString()),
                Map.of("FETCHMAILHOME", dir.toString(), "HOME", dir.toString()));
    }

    @Test
    void keepModeTracksUidlAcrossRunsThenDeleteModeEmptiesTheMaildrop() throws Exception {
        Path mbox = dir.resolve("kept.mbox");
        Path idfile = dir.resolve("fetchids");
        Path keep = rc("keep.rc", true, mbox);

        var first = fetch(keep, idfile);
        assertThat(first.exitCode()).as(first.output()).isZero();
        String kept = Files.readString(mbox);
        assertThat(kept).contains("Subject: one", ".dotted", "Subject: two", "line 3");
        assertThat(kept).doesNotContain("..dotted");
        assertThat(pop3.uids()).containsExactly(firstUid, secondUid);

        var second = fetch(keep, idfile);
        assertThat(second.exitCode()).as(second.output()).isEqualTo(NO_MAIL);
        assertThat(Files.readString(mbox)).isEqualTo(kept);

        pop3.append("Subject: three\r\n\r\nnew\r\n");
        var third = fetch(keep, idfile);
        assertThat(third.exitCode()).as(third.output()).isZero();
        assertThat(Files.readString(mbox).substring(kept.length())).contains("Subject: three")
                .doesNotContain("Subject: one", "Subject: two");

        Path deleted = dir.resolve("deleted.mbox");
        var delete = fetch(rc("delete.rc", false, deleted), dir.resolve("fetchids-delete"));
        assertThat(delete.exitCode()).as(delete.output()).isZero();
        assertThat(Files.readString(deleted)).contains("Subject: one", "Subject: two", "Subject: three");
        assertThat(pop3.uids()).isEmpty();
    }
}
