package org.castellan.server.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.config.ConfigKeys.Key;
import org.castellan.server.config.ConfigKeys.Section;
import org.castellan.server.config.internal.TomlDocument;

/**
 * Renders a complete, commented {@code castellan.toml}: every key of {@link ConfigKeys} with its
 * description, optional keys commented out at their default, and the given listeners.
 */
public final class ConfigTemplate {

    /** Comment lines are wrapped to fit a terminal. */
    private static final int WIDTH = 100;

    /** One listener to write. */
    public record ListenerSpec(String name, Protocol protocol, String address, int port, TlsMode tls,
                               ClientCertMode clientCert) {
        /** The constructor throws {@code NullPointerException} if a component is null. */
        public ListenerSpec {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(protocol, "protocol");
            Objects.requireNonNull(tls, "tls");
            Objects.requireNonNull(clientCert, "clientCert");
        }
    }

    /**
     * What to write.
     *
     * @param dataDir written as given: a relative path is relative to the file's directory, so
     *     pass {@code Path.of(".")} to keep the data next to the file
     */
    public record Params(String hostname, Path dataDir, List<ListenerSpec> listeners) {
        /** The constructor throws {@code NullPointerException} if a component is null. */
        public Params {
            Objects.requireNonNull(hostname, "hostname");
            Objects.requireNonNull(dataDir, "dataDir");
            listeners = List.copyOf(listeners);
        }
    }

    private ConfigTemplate() {}

    /**
     * Renders the file. The result is checked with {@link CastellanConfig#parse}, so what is
     * returned is always a valid configuration; {@link CastellanConfig#load} additionally needs the
     * TLS certificate and key to exist when a listener uses TLS.
     *
     * @throws IllegalArgumentException if the parameters make an invalid configuration (a bad host
     *     name, duplicate listener names or ports...); the message lists the problems
     */
    public static String render(Params params) {
        String dataDir = params.dataDir().toString();
        Map<String, String> serverValues = Map.of(
                "hostname", TomlDocument.quote(params.hostname()),
                "data-dir", TomlDocument.quote(dataDir.isEmpty() ? "." : dataDir));
        List<String> out = new ArrayList<>();
        out.add("# Castellan configuration.");
        out.add("#");
        comment(out, "", "Every key is listed with what it does. A line \"# key = value\" shows an optional key"
                + " at its default: remove the # to change it. server.data-dir is relative to this"
                + " file's directory; every other path is relative to data-dir. The full reference, with the"
                + " format rules, is docs/configuration.md.");
        for (Section section : Section.values()) {
            out.add("");
            comment(out, "", section.description());
            switch (section) {
                case LISTENER -> renderListeners(out, params.listeners());
                case RULE -> renderExampleRule(out);
                case OAUTH_ISSUER -> renderExampleIssuer(out);
                case OUTBOUND_ROUTE -> renderExampleRoute(out);
                case OUTBOUND_TLS_POLICY -> renderExample(out, Section.OUTBOUND_TLS_POLICY,
                        Map.of("domain", "\"bank.example\"", "tls", "\"verify-name\""),
                        "No TLS policies are set: each domain gets what it publishes (DANE, MTA-STS), else"
                                + " opportunistic TLS. For example, to require a verified certificate from a partner's MX hosts:");
                case EDGE -> renderExample(out, Section.EDGE, Map.of("nodes",
                        "[\"mailbox-1=10.0.0.2:7993\", \"mailbox-2=10.0.0.3:7993\"]", "default-node", "\"mailbox-1\""),
                        "This node is not an edge. For an edge (role = \"edge\"), for example:");
                default -> {
                    out.add(section.header());
                    for (Key key : ConfigKeys.of(section)) {
                        out.add("");
                        comment(out, "", key.description());
                        out.add(key.required() ? key.name() + " = " + serverValues.get(key.name())
                                : "# " + key.name() + " = " + key.defaultValue());
                    }
                }
            }
        }
        String text = String.join("\n", out) + "\n";
        try {
            CastellanConfig.parse(text, Path.of("castellan.toml"));
        } catch (ConfigException e) {
            throw new IllegalArgumentException("these parameters make an invalid configuration:\n" + e.getMessage(), e);
        }
        return text;
    }

    private static void renderListeners(List<String> out, List<ListenerSpec> listeners) {
        if (listeners.isEmpty()) {
            out.add("#");
            comment(out, "", "For example:");
            out.add("# [[listener]]");
            out.add("# name = \"imaps\"");
            out.add("# protocol = \"imap\"");
            out.add("# port = 993");
            out.add("# tls = \"implicit\"");
            return;
        }
        boolean first = true;
        for (ListenerSpec spec : listeners) {
            Map<String, String> values = Map.of(
                    "name", TomlDocument.quote(spec.name()),
                    "protocol", TomlDocument.quote(ConfigKeys.choiceName(spec.protocol())),
                    "address", TomlDocument.quote(spec.address()),
                    "port", Integer.toString(spec.port()),
                    "tls", TomlDocument.quote(ConfigKeys.choiceName(spec.tls())),
                    "client-cert", TomlDocument.quote(ConfigKeys.choiceName(spec.clientCert())));
            out.add("");
            out.add(Section.LISTENER.header());
            for (Key key : ConfigKeys.of(Section.LISTENER)) {
                if (first) {
                    comment(out, "", key.description());
                }
                String value = values.get(key.name());
                out.add(value != null ? key.name() + " = " + value : "# " + key.name() + " = " + key.defaultValue());
            }
            first = false;
        }
    }

    private static void renderExampleRule(List<String> out) {
        renderExample(out, Section.RULE, Map.of("cidr", "\"192.0.2.0/24\"", "action", "\"deny\""),
                "No rules are set: every connection is allowed. For example, to refuse a network:");
    }

    private static void renderExampleRoute(List<String> out) {
        renderExample(out, Section.OUTBOUND_ROUTE, Map.of("domain", "\"*\"", "next-hop", "\"relay.example.net:587\""),
                "No routes are set: mail goes to each domain's MX hosts. For example, to send everything through a"
                        + " relay host:");
    }

    /** An array table's entry, all commented out: {@code examples} for the required keys, defaults for the rest. */
    private static void renderExample(List<String> out, Section section, Map<String, String> examples, String intro) {
        comment(out, "", intro);
        out.add("#");
        out.add("# " + section.header());
        for (Key key : ConfigKeys.of(section)) {
            comment(out, "", key.description());
            out.add("# " + key.name() + " = " + (key.required() ? examples.get(key.name()) : key.defaultValue()));
        }
    }

    private static void renderExampleIssuer(List<String> out) {
        Map<String, String> examples = Map.of("issuer", "\"https://id.example.org\"", "audience", "\"https://mail.example.org\"");
        comment(out, "", "No issuer is set: OAUTHBEARER and XOAUTH2 are not offered. For example:");
        out.add("#");
        out.add("# " + Section.OAUTH_ISSUER.header());
        for (Key key : ConfigKeys.of(Section.OAUTH_ISSUER)) {
            comment(out, "", key.description());
            out.add("# " + key.name() + " = " + (key.required() ? examples.get(key.name()) : key.defaultValue()));
        }
    }

    /** Appends {@code text} as "# " comment lines of at most {@link #WIDTH} characters. */
    private static void comment(List<String> out, String indent, String text) {
        String prefix = "# " + indent;
        StringBuilder line = new StringBuilder(prefix);
        for (String word : text.split(" ")) {
            if (line.length() > prefix.length() && line.length() + 1 + word.length() > WIDTH) {
                out.add(line.toString());
                line.setLength(0);
                line.append(prefix);
            }
            if (line.length() > prefix.length()) {
                line.append(' ');
            }
            line.append(word);
        }
        out.add(line.toString());
    }
}
