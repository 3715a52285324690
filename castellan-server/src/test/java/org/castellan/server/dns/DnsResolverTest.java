package org.castellan.server.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.server.config.Dns;
import org.castellan.server.dns.DnsFixture.Signing;
import org.castellan.server.dns.DnsFixture.Zone;
import org.castellan.server.dns.MailRouting.Destination;
import org.castellan.server.dns.MailRouting.Hosts;
import org.castellan.server.dns.MailRouting.MxHost;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Routing (RFC 5321 §5.1, RFC 7505), DNSSEC status (RFC 4035) and TLSA (RFC 7672 §2.2) against
 * real servers: signed, unsigned and bogus zones in NSD behind a validating Unbound.
 */
class DnsResolverTest {

    private static final String TLSA_DATA = "8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1";

    private static DnsFixture dns;
    private static DnsResolver resolver;

    @BeforeAll
    static void start() throws Exception {
        dns = DnsFixture.start(
                new Zone("example.test", Signing.SIGNED, List.of(
                        "@ MX 20 mx2",
                        "@ MX 10 mx1",
                        "@ TXT \"v=spf1 ip4:192.0.2.0/24\" \" -all\"",
                        "mx1 A 192.0.2.1",
                        "mx1 AAAA 2001:db8::1",
                        "mx2 A 192.0.2.2",
                        "_25._tcp.mx1 TLSA 3 1 1 " + TLSA_DATA,
                        "equal MX 10 a",
                        "equal MX 10 b",
                        "equal MX 5 first",
                        "a A 192.0.2.11",
                        "b A 192.0.2.12",
                        "first A 192.0.2.10",
                        "implicit A 192.0.2.20",
                        "implicit AAAA 2001:db8::20",
                        "nullmx MX 0 .",
                        "alias MX 10 cname",
                        "cname CNAME mx2",
                        "noaddress MX 10 nowhere",
                        "mixednull MX 0 .",
                        "mixednull MX 10 mx2",
                        "wide A 192.0.2.101", "wide A 192.0.2.102", "wide A 192.0.2.103",
                        "wide A 192.0.2.104", "wide A 192.0.2.105", "wide A 192.0.2.106",
                        "many MX 1 h1", "many MX 2 h2", "many MX 3 h3", "many MX 4 h4", "many MX 5 h5",
                        "many MX 6 h6", "many MX 7 h7", "many MX 8 h8", "many MX 9 h9", "many MX 10 h10",
                        "many MX 11 h11", "many MX 12 h12",
                        "h1 A 192.0.2.201", "h2 A 192.0.2.202", "h3 A 192.0.2.203", "h4 A 192.0.2.204",
                        "h5 A 192.0.2.205", "h6 A 192.0.2.206", "h7 A 192.0.2.207", "h8 A 192.0.2.208",
                        "h9 A 192.0.2.209", "h10 A 192.0.2.210", "h11 A 192.0.2.211", "h12 A 192.0.2.212")),
                new Zone("insecure.test", Signing.UNSIGNED, List.of(
                        "@ MX 10 mx",
                        "mx A 192.0.2.30",
                        "_25._tcp.mx TLSA 3 1 1 " + TLSA_DATA)),
                new Zone("bogus.test", Signing.BOGUS, List.of(
                        "@ MX 10 mx",
                        "mx A 192.0.2.40",
                        "_25._tcp.mx TLSA 3 1 1 " + TLSA_DATA)),
                new Zone("in-addr.arpa", Signing.UNSIGNED, List.of(
                        "1.2.0.192 PTR mx1.example.test.")));
        resolver = dns.resolver(1);
    }

    @AfterAll
    static void stop() {
        if (dns != null) dns.close();
    }

    private static List<String> names(Destination destination) {
        assertThat(destination).isInstanceOf(Hosts.class);
        return ((Hosts) destination).hosts().stream().map(MxHost::name).toList();
    }

    private static InetAddress ip(String text) throws UnknownHostException {
        return InetAddress.getByName(text);
    }

    @Test
    void mxHostsComeInPreferenceOrderWithTheirAddressesIpv6First() throws Exception {
        Hosts hosts = (Hosts) resolver.route("example.test");

        assertThat(hosts.hosts()).containsExactly(
                new MxHost("mx1.example.test", 10, List.of(ip("2001:db8::1"), ip("192.0.2.1")), true),
                new MxHost("mx2.example.test", 20, List.of(ip("192.0.2.2")), true));
        assertThat(hosts.secure()).isTrue();
    }

    @Test
    void equalPreferencesAreShuffledAfterTheMorePreferred() {
        Set<String> seconds = new HashSet<>();
        DnsResolver seeded = dns.resolver(7);
        for (int i = 0; i < 12; i++) {
            List<String> names = names(seeded.route("equal.example.test"));
            assertThat(names.getFirst()).isEqualTo("first.example.test");
            assertThat(names.subList(1, 3)).containsExactlyInAnyOrder("a.example.test", "b.example.test");
            seconds.add(names.get(1));
        }
        assertThat(seconds).containsExactlyInAnyOrder("a.example.test", "b.example.test");
    }

    @Test
    void aDomainWithoutMxIsItsOwnHost() throws Exception {
        assertThat(resolver.route("implicit.example.test"))
                .isEqualTo(only("implicit.example.test", 0, true, "2001:db8::20", "192.0.2.20"));
    }

    @Test
    void aNullMxAcceptsNoMail() {
        assertThat(resolver.route("nullmx.example.test")).isEqualTo(new MailRouting.NullMx());
    }

    @Test
    void aNullMxAmongOthersNamesNoHost() {
        assertThat(names(resolver.route("mixednull.example.test"))).containsExactly("mx2.example.test");
    }

    @Test
    void hostsAndAddressesAreCapped() {
        assertThat(names(resolver.route("many.example.test"))).hasSize(DnsResolver.MAX_MX_HOSTS)
                .startsWith("h1.example.test").endsWith("h10.example.test");
        assertThat(((Hosts) resolver.route("wide.example.test")).hosts().getFirst().addresses())
                .hasSize(DnsResolver.MAX_ADDRESSES_PER_FAMILY);
    }

    @Test
    void answersSignedUnderAnotherRootAreBogus() throws Exception {
        Dns iana = new Dns(List.of(dns.resolverAddress()), Optional.empty(), true, Dns.DEFAULT_TIMEOUT);
        DnsResolver strict = new DnsResolver(iana, new Random(1));

        assertThat(strict.route("example.test")).isInstanceOf(MailRouting.Temporary.class);
        assertThat(strict.tlsa("mx1.example.test", 25)).isInstanceOf(MailRouting.TlsaFailure.class);
        assertThat(strict.txt("example.test")).isInstanceOf(DnsLookup.Failed.class);
    }

    @Test
    void aNameThatDoesNotExistIsNoSuchDomain() {
        assertThat(resolver.route("nope.example.test")).isInstanceOf(MailRouting.NoSuchDomain.class);
        assertThat(resolver.route("nope.insecure.test")).isInstanceOf(MailRouting.NoSuchDomain.class);
    }

    @Test
    void mxHostsWithoutAddressesAreNoRoute() {
        assertThat(resolver.route("noaddress.example.test")).isInstanceOf(MailRouting.NoSuchDomain.class);
        assertThat(resolver.route("mx2.example.test")).isEqualTo(only("mx2.example.test", 0, true, "192.0.2.2"));
    }

    @Test
    void anMxTargetThatIsAnAliasIsFollowed() throws Exception {
        assertThat(resolver.route("alias.example.test")).isEqualTo(only("cname.example.test", 10, true, "192.0.2.2"));
    }

    @Test
    void aBogusAnswerIsTemporaryNeverInsecure() {
        assertThat(resolver.route("bogus.test")).isInstanceOfSatisfying(MailRouting.Temporary.class,
                t -> assertThat(t.reason()).contains("SERVFAIL", "DNSSEC"));
        assertThat(resolver.tlsa("mx.bogus.test", 25)).isInstanceOf(MailRouting.TlsaFailure.class);
        assertThat(resolver.mx("bogus.test")).isInstanceOf(DnsLookup.Failed.class);
        assertThat(resolver.addresses("mx.bogus.test")).isInstanceOf(DnsLookup.Failed.class);
    }

    @Test
    void anUnsignedZoneIsInsecure() throws Exception {
        assertThat(resolver.route("insecure.test")).isEqualTo(only("mx.insecure.test", 10, false, "192.0.2.30"));
    }

    @Test
    void tlsaRecordsCountOnlyWhenValidated() {
        assertThat(resolver.tlsa("mx1.example.test", 25)).isInstanceOfSatisfying(MailRouting.SecureTlsa.class, t -> {
            assertThat(t.records()).hasSize(1);
            MailRouting.TlsaRecord r = t.records().getFirst();
            assertThat(List.of(r.usage(), r.selector(), r.matchingType())).containsExactly(3, 1, 1);
            assertThat(HexFormat.of().formatHex(r.data())).isEqualTo(TLSA_DATA);
        });
        assertThat(resolver.tlsa("mx2.example.test", 25)).isEqualTo(new MailRouting.NoTlsa());
        assertThat(resolver.tlsa("mx.insecure.test", 25)).isEqualTo(new MailRouting.NoTlsa());
    }

    /** RFC 7672 §2.2: only a validated denial means "no TLSA"; a name that cannot be asked about is a failure. */
    @Test
    void aHostThatIsNoNameInALabelsIsATlsaFailureNotAnAbsence() {
        assertThat(resolver.tlsa("mx.exämple.test", 25)).isInstanceOf(MailRouting.TlsaFailure.class);
        assertThat(resolver.tlsa("mx one.example.test", 25)).isInstanceOf(MailRouting.TlsaFailure.class);
    }

    @Test
    void lookupsForMailAuthentication() throws Exception {
        assertThat(resolver.txt("example.test")).isEqualTo(new DnsLookup.Found<>(List.of("v=spf1 ip4:192.0.2.0/24 -all")));
        assertThat(resolver.txt("mx1.example.test")).isEqualTo(new DnsLookup.NotFound<>());
        assertThat(resolver.txt("nope.example.test")).isEqualTo(new DnsLookup.NotFound<>());
        assertThat(resolver.addresses("mx1.example.test"))
                .isEqualTo(new DnsLookup.Found<>(List.of(ip("2001:db8::1"), ip("192.0.2.1"))));
        assertThat(resolver.mx("example.test")).isEqualTo(new DnsLookup.Found<>(List.of("mx1.example.test", "mx2.example.test")));
        assertThat(resolver.mx("nullmx.example.test")).isEqualTo(new DnsLookup.Found<>(List.of(".")));
        assertThat(resolver.ptr(ip("192.0.2.1"))).isEqualTo(new DnsLookup.Found<>(List.of("mx1.example.test")));
        assertThat(resolver.ptr(ip("192.0.2.99"))).isEqualTo(new DnsLookup.NotFound<>());
    }

    @Test
    void aDomainLiteralIsNotLookedUp() throws Exception {
        assertThat(resolver.route("[192.0.2.7]")).isEqualTo(only("[192.0.2.7]", 0, false, "192.0.2.7"));
        assertThat(resolver.route("[IPv6:2001:db8::7]")).isEqualTo(only("[IPv6:2001:db8::7]", 0, false, "2001:db8::7"));
        assertThat(resolver.route("[mx1.example.test]")).isInstanceOf(MailRouting.NoSuchDomain.class);
        assertThat(resolver.route("[2001:db8::7]")).isInstanceOf(MailRouting.NoSuchDomain.class);
    }

    /** A destination of one host, secure or not in both places. */
    private static Hosts only(String name, int preference, boolean secure, String... addresses) {
        List<InetAddress> ips = Arrays.stream(addresses).map(a -> {
            try {
                return ip(a);
            } catch (UnknownHostException e) {
                throw new AssertionError(e);
            }
        }).toList();
        return new Hosts(List.of(new MxHost(name, preference, ips, secure)), secure);
    }
}
