package org.castellan.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import org.castellan.testkit.Ports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The realm fixture itself. A port found free can be taken before krb5kdc binds it, by any
 * process's socket on any address: the KDC then exits, and the realm must start it on another
 * port rather than fail the test class that needed it.
 */
class KerberosRealmTest {

    @Test
    void aKdcWhosePortIsTakenBeforeItBindsStartsOnAnotherAndIssuesTickets(@TempDir Path dir) throws Exception {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        int taken = Ports.freeForUdpAndTcp(loopback);
        int free = Ports.freeForUdpAndTcp(loopback);
        Deque<Integer> ports = new ArrayDeque<>(List.of(taken, free));
        // Held on the wildcard address, as a resolver's or a client's ephemeral UDP socket is.
        try (DatagramSocket squatter = new DatagramSocket(new InetSocketAddress(taken));
                KerberosRealm realm = KerberosRealm.create(dir.resolve("realm"), ports::pop)) {
            assertThat(ports).isEmpty();
            assertThat(Files.readString(realm.krb5Conf())).contains("kdc = 127.0.0.1:" + free);
            realm.addUser("alice", "correct-horse");
            Path ccache = dir.resolve("ccache");
            realm.kinit("alice", "correct-horse", ccache);
            assertThat(ccache).isNotEmptyFile();
            assertThat(squatter.getLocalPort()).isEqualTo(taken);
        }
    }
}
