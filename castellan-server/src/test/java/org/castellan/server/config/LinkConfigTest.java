package org.castellan.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import org.castellan.security.rules.RuleAction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * {@code protocol = "link"} and {@code role = "mailbox"} (docs/roles.md §1–2): anything weaker
 * than TLS from the first byte, a required node certificate and a list of edges is an error
 * naming the line and what was expected, and a mailbox node has no client listener.
 */
class LinkConfigTest {

    private static final Path FILE = Path.of("/etc/castellan/castellan.toml");

    private static final String MAILBOX = """
            [server]
            hostname = "mbox-1.example.org"
            data-dir = "/var/lib/castellan"
            role = "mailbox"
            """;

    private static final String LINK = """
            [[listener]]
            name = "link"
            protocol = "link"
            port = 4190
            tls = "implicit"
            client-cert = "require"
            edges = ["192.0.2.10/32", "2001:db8::10"]
            """;

    private static final String EDGE = """
            [server]
            hostname = "edge-1.example.org"
            data-dir = "/var/lib/castellan"
            role = "edge"
            [node]
            certificate = "node/edge-1.crt"
            key = "node/edge-1.key"
            [edge]
            nodes = ["mailbox-1=mbox-1.internal:7993", "mailbox-2=10.0.0.3:7993"]
            default-node = "mailbox-1"
            [[listener]]
            name = "imaps"
            protocol = "imap"
            port = 993
            tls = "implicit"
            """;

    /** docs/roles.md §1: an edge serves IMAP and POP3 clients and names its mailbox nodes. */
    @Test
    void anEdgeWithItsNodesIsValid() throws ConfigException {
        CastellanConfig config = CastellanConfig.parse(EDGE, FILE);
        assertThat(config.server().role()).isEqualTo(Role.EDGE);
        Edge edge = config.edge().orElseThrow();
        assertThat(config.nodeCertificate().orElseThrow().certificate())
                .isEqualTo(Path.of("/var/lib/castellan/node/edge-1.crt"));
        assertThat(edge.node("mailbox-1")).hasValue(new Outbound.NextHop("mbox-1.internal", 7993));
        assertThat(edge.node("mailbox-2")).hasValue(new Outbound.NextHop("10.0.0.3", 7993));
        assertThat(edge.defaultNode()).isEqualTo("mailbox-1");
        assertThat(edge.openingTimeout()).isEqualTo(Edge.DEFAULT_OPENING_TIMEOUT);
        assertThat(CastellanConfig.parse(MAILBOX + LINK, FILE).edge()).isEmpty();
    }

    /**
     * An edge's node is {@code NAME=HOST:PORT}: a name of one to 63 characters of a DNS label, a
     * host name or an address (an IPv6 one in brackets), a port from 1 to 65535. Each form at its
     * edges is taken, and the first step beyond is refused naming the entry.
     */
    @Test
    void nodesAreTakenAtTheEdgesOfTheirFormAndRefusedBeyond() throws ConfigException {
        String longest = "m".repeat(63);
        Edge edge = CastellanConfig.parse(EDGE.replace("nodes = [\"mailbox-1=mbox-1.internal:7993\", \"mailbox-2=10.0.0.3:7993\"]",
                "nodes = [\"a=h:1\", \"" + longest + "=mbox-1.internal:65535\", \"v6=[2001:db8::2]:7993\"]")
                .replace("default-node = \"mailbox-1\"", "default-node = \"a\""), FILE).edge().orElseThrow();
        assertThat(edge.node("a")).hasValue(new Outbound.NextHop("h", 1));
        assertThat(edge.node(longest)).hasValue(new Outbound.NextHop("mbox-1.internal", 65535));
        assertThat(edge.node("v6")).hasValue(new Outbound.NextHop("2001:db8::2", 7993));

        for (String bad : List.of("=h:1", "m" + longest + "=h:1", "m=h:0", "m=h:65536", "m=:7993", "m=h:", "m=h",
                "m=bad_host:7993", "-m=h:7993")) {
            assertThatThrownBy(() -> CastellanConfig.parse(EDGE.replace("\"mailbox-2=10.0.0.3:7993\"", "\"" + bad + "\""), FILE))
                    .as(bad).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("edge.nodes: expected \"NAME=HOST:PORT\"").hasMessageContaining("got \"" + bad + "\"");
        }
    }

    /** docs/roles.md §3: an edge relays submission after AUTH and is the perimeter MX with its relay queue. */
    @Test
    void anEdgeMayServeSubmissionAndMx() throws ConfigException {
        CastellanConfig config = CastellanConfig.parse(EDGE + """
                [[listener]]
                name = "submissions"
                protocol = "submission"
                port = 465
                tls = "implicit"
                [[listener]]
                name = "mx"
                protocol = "smtp"
                port = 25
                """, FILE);
        assertThat(config.listeners()).extracting(l -> l.protocol()).contains(Protocol.SUBMISSION, Protocol.SMTP);
    }

    /** docs/roles.md §3: an edge relays HTTPS and LDAPS to its default node from their first byte. */
    @Test
    void anEdgeMayServeHttpsAndLdaps() throws ConfigException {
        CastellanConfig config = CastellanConfig.parse(EDGE + """
                [[listener]]
                name = "https"
                protocol = "https"
                port = 443
                tls = "implicit"
                [[listener]]
                name = "ldaps"
                protocol = "ldaps"
                port = 636
                tls = "implicit"
                """, FILE);
        assertThat(config.listeners()).extracting(l -> l.protocol()).contains(Protocol.HTTPS, Protocol.LDAPS);
    }

    @Test
    void aMailboxNodeWithALinkListenerIsValid() throws ConfigException {
        CastellanConfig config = CastellanConfig.parse(MAILBOX + LINK, FILE);
        assertThat(config.server().role()).isEqualTo(Role.MAILBOX);
        Listener link = config.listener("link").orElseThrow();
        assertThat(link.protocol()).isEqualTo(Protocol.LINK);
        assertThat(link.edges()).containsExactly("192.0.2.10/32", "2001:db8::10/128");
        assertThat(link.protocol().takesLogins()).isFalse();
    }

    /** The edges are the link's own rules, ahead of every [[rule]]: an "allow" for all listeners cannot open it. */
    @Test
    void onlyTheEdgesReachTheLinkWhateverTheRulesSay() throws Exception {
        CastellanConfig config = CastellanConfig.parse(MAILBOX + LINK + """
                [[listener]]
                name = "pki"
                protocol = "http"
                port = 80
                tls = "none"
                [[rule]]
                cidr = "0.0.0.0/0"
                listeners = ["*"]
                action = "allow"
                """, FILE);
        var rules = config.connectionRules();
        assertThat(rules.decide(InetAddress.getByName("192.0.2.10"), "link")).isEqualTo(RuleAction.REQUIRE_CERT);
        assertThat(rules.decide(InetAddress.getByName("2001:db8::10"), "link")).isEqualTo(RuleAction.REQUIRE_CERT);
        assertThat(rules.decide(InetAddress.getByName("192.0.2.11"), "link")).isEqualTo(RuleAction.DENY);
        assertThat(rules.decide(InetAddress.getByName("2001:db8::11"), "link")).isEqualTo(RuleAction.DENY);
        assertThat(rules.decide(InetAddress.getByName("192.0.2.11"), "pki")).isEqualTo(RuleAction.ALLOW);
    }

    static List<Arguments> invalid() {
        return List.of(
                Arguments.of(MAILBOX + LINK.replace("tls = \"implicit\"", "tls = \"starttls\" # <-"), "listener[1].tls",
                        "protocol = \"link\" needs tls = \"implicit\""),
                Arguments.of(MAILBOX + LINK.replace("tls = \"implicit\"\n", ""), "listener[1].tls",
                        "protocol = \"link\" needs tls = \"implicit\""),
                Arguments.of(MAILBOX + LINK.replace("client-cert = \"require\"", "client-cert = \"request\" # <-"),
                        "listener[1].client-cert", "protocol = \"link\" needs client-cert = \"require\""),
                Arguments.of(MAILBOX + LINK.replace("client-cert = \"require\"\n", ""), "listener[1].client-cert",
                        "protocol = \"link\" needs client-cert = \"require\""),
                Arguments.of(MAILBOX + LINK.replace("edges = [\"192.0.2.10/32\", \"2001:db8::10\"]", "edges = [] # <-"),
                        "listener[1].edges", "protocol = \"link\" needs edges"),
                Arguments.of(MAILBOX + LINK.replace("edges = [\"192.0.2.10/32\", \"2001:db8::10\"]\n", ""),
                        "listener[1].edges", "protocol = \"link\" needs edges"),
                Arguments.of(MAILBOX + LINK.replace("edges = [\"192.0.2.10/32\", \"2001:db8::10\"]",
                        "edges = [\"edge-1.example.org\"] # <-"), "listener[1].edges", "expected an array of CIDRs"),
                Arguments.of(MAILBOX + LINK + "proxy-from = [\"192.0.2.1\"] # <-\n", "listener[1].proxy-from",
                        "protocol = \"link\" takes no proxy-from"),
                Arguments.of(MAILBOX + LINK + """
                        [[listener]]
                        name = "imap"
                        protocol = "imap" # <-
                        port = 993
                        tls = "implicit"
                        """, "listener[2].protocol", "role = \"mailbox\" takes no clients"),
                Arguments.of(MAILBOX.replace("role = \"mailbox\"\n", "") + LINK.replace("protocol = \"link\"",
                        "protocol = \"link\" # <-"), "listener[1].protocol", "protocol = \"link\" needs role = \"mailbox\""),
                Arguments.of(MAILBOX.replace("role = \"mailbox\"", "role = \"edge\""), "edge.nodes",
                        "missing (there is no [edge] table)"),
                Arguments.of(MAILBOX.replace("role = \"mailbox\"", "role = \"edge\""), "node.certificate",
                        "an edge presents its node certificate"),
                Arguments.of(EDGE.replace("key = \"node/edge-1.key\"\n", ""), "node.key",
                        "expected both certificate and key"),
                Arguments.of(EDGE.replace("\"mailbox-2=10.0.0.3:7993\"", "\"mailbox-2 10.0.0.3\""), "edge.nodes",
                        "expected \"NAME=HOST:PORT\""),
                Arguments.of(EDGE.replace("\"mailbox-2=10.0.0.3:7993\"", "\"mailbox_2=10.0.0.3:7993\""), "edge.nodes",
                        "expected \"NAME=HOST:PORT\""),
                Arguments.of(EDGE.replace("\"mailbox-2=10.0.0.3:7993\"", "\"mailbox-1=10.0.0.3:7993\""), "edge.nodes",
                        "node mailbox-1 is named twice"),
                Arguments.of(EDGE.replace("default-node = \"mailbox-1\"", "default-node = \"mailbox-3\" # <-"),
                        "edge.default-node", "expected one of the nodes (mailbox-1, mailbox-2), got \"mailbox-3\""),
                Arguments.of(MAILBOX + LINK + EDGE.substring(EDGE.indexOf("[edge]")).replace("[edge]", "[edge] # <-"),
                        "edge", "[edge] belongs to role = \"edge\" only"),
                Arguments.of(EDGE + """
                        [[listener]]
                        name = "ldap"
                        protocol = "ldap" # <-
                        port = 389
                        tls = "starttls"
                        """, "listener[2].protocol", "protocol = \"ldap\" is not relayed by an edge"),
                Arguments.of(MAILBOX.replace("role = \"mailbox\"\n", "") + """
                        [[listener]]
                        name = "imap"
                        protocol = "imap"
                        port = 993
                        tls = "implicit"
                        edges = ["192.0.2.10/32"] # <-
                        """, "listener[1].edges", "edges applies only to a protocol = \"link\" listener"));
    }

    @ParameterizedTest(name = "{1}: {2}")
    @MethodSource("invalid")
    void anythingWeakerIsAnErrorNamingTheLine(String text, String key, String fragment) {
        int line = ConfigValidationTest.markedLine(text);
        assertThatThrownBy(() -> CastellanConfig.parse(text, FILE))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.details()).as(e.getMessage())
                        .anySatisfy(p -> {
                            assertThat(p.key()).isEqualTo(key);
                            if (line > 0) assertThat(p.line()).isEqualTo(line);
                            assertThat(p.message()).contains(fragment);
                        }));
    }
}
