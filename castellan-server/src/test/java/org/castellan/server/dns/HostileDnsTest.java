package org.castellan.server.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.server.config.Dns;
import org.castellan.server.dns.MailRouting.Temporary;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A resolver that answers badly, by accident or on purpose ({@link HostileDnsServer}): every
 * look-up ends, within its timeout, as a temporary failure (RFC 5321 §4.5.4.1's retry later,
 * RFC 7208 §2.6.6's temperror), never as an exception, a hang or a wrong answer.
 */
@Timeout(30) // a hang fails the test rather than the build
class HostileDnsTest {

    /** Short, so that the look-ups that wait for nothing end quickly. */
    private static final Duration TIMEOUT = Duration.ofMillis(500);

    private static HostileDnsServer server;
    private static DnsResolver resolver;

    @BeforeAll
    static void start() throws Exception {
        server = new HostileDnsServer();
        resolver = new DnsResolver(new Dns(List.of(server.address()), Optional.empty(), false, TIMEOUT), new Random(1));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"malformed", "short", "truncated", "loop", "pingpong", "chain0", "wrongquestion", "silent", "wrongid",
            "servfail"})
    void aBadAnswerIsATemporaryFailure(String label) {
        String name = label + ".hostile.test";
        assertThat(resolver.route(name)).isInstanceOf(Temporary.class);
        assertThat(resolver.addresses(name)).isInstanceOf(DnsLookup.Failed.class);
        assertThat(resolver.txt(name)).isInstanceOf(DnsLookup.Failed.class);
    }

    @Test
    void mxHostsWhoseAddressesLoopAreATemporaryFailure() {
        assertThat(resolver.route("mxloop.hostile.test")).isInstanceOf(Temporary.class);
    }

    @Test
    void aTxtSetOfSixtyKilobytesIsRefused() {
        assertThat(resolver.txt("bigtxt.hostile.test")).isInstanceOfSatisfying(DnsLookup.Failed.class,
                f -> assertThat(f.reason()).contains("exceed"));
    }

    @Test
    void aTruncatedAnswerIsAskedAgainOverTcp() throws Exception {
        assertThat(resolver.addresses("fallback.hostile.test"))
                .isEqualTo(new DnsLookup.Found<>(List.of(InetAddress.getByName("192.0.2.53"))));
    }

    @Test
    void unsignedAnswersFailValidationWhenTheRootIsSigned() throws Exception {
        DnsResolver validating = new DnsResolver(new Dns(List.of(server.address()), Optional.empty(), true, TIMEOUT),
                new Random(1));

        assertThat(resolver.route("plain.hostile.test")).isInstanceOf(MailRouting.Hosts.class);
        assertThat(validating.route("plain.hostile.test")).isInstanceOf(Temporary.class);
        assertThat(validating.addresses("plain.hostile.test")).isInstanceOf(DnsLookup.Failed.class);
        assertThat(validating.tlsa("plain.hostile.test", 25)).isInstanceOf(MailRouting.TlsaFailure.class);
    }
}
