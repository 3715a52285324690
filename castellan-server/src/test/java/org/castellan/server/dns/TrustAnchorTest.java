package org.castellan.server.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.castellan.server.config.Dns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where DNSSEC validation starts: the root's keys built in, or a file the operator names. */
class TrustAnchorTest {

    /** Never asked: building a resolver sends no query. */
    private static final List<InetSocketAddress> NOBODY = List.of(new InetSocketAddress("127.0.0.1", 9));

    @TempDir
    Path dir;

    private static Dns settings(Optional<Path> anchor) {
        return new Dns(NOBODY, anchor, true, Dns.DEFAULT_TIMEOUT);
    }

    @Test
    void theRootKeysAreBuiltIn() throws IOException {
        assertThat(new DnsResolver(settings(Optional.empty()), new Random(1))).isNotNull();
        assertThat(new String(DnsResolver.class.getResourceAsStream("root-anchors.txt").readAllBytes()))
                .contains(". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D")
                .contains(". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16");
    }

    @Test
    void aMissingOrEmptyAnchorFileIsAnErrorNamingIt() throws IOException {
        Path missing = dir.resolve("missing.ds");
        assertThatThrownBy(() -> new DnsResolver(settings(Optional.of(missing)), new Random(1)))
                .isInstanceOf(IOException.class).hasMessageContaining(missing.toString());
        Path empty = Files.writeString(dir.resolve("empty.ds"), "; nothing here\n");
        assertThatThrownBy(() -> new DnsResolver(settings(Optional.of(empty)), new Random(1)))
                .isInstanceOf(IOException.class).hasMessageContaining(empty.toString()).hasMessageContaining("no DS");
        Path garbage = Files.writeString(dir.resolve("garbage.ds"), ". IN DS not a record\n");
        assertThatThrownBy(() -> new DnsResolver(settings(Optional.of(garbage)), new Random(1)))
                .isInstanceOf(IOException.class).hasMessageContaining(garbage.toString());
    }
}
