package org.castellan.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.castellan.server.admin.AdminClient;
import org.castellan.server.config.CastellanConfig;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan sessions}: the running server's live connections, over its admin socket, and
 * {@code sessions kick} to close some of them. Without a running server: one line, exit 1. On a
 * store the nodes share, both ask every node over the store's change channel instead ({@link
 * NodeRequests}, docs/roles.md §4) and need no server on this node.
 */
@Command(name = "sessions", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"List the running server's live connections: listener, remote address, TLS,",
                "client certificate, account, mechanism, age and bytes. On a store the nodes share",
                "(PostgreSQL), those of every node that answers, and the nodes that did not."},
        subcommands = SessionsCommand.Kick.class)
final class SessionsCommand implements Callable<Integer> {

    @Mixin DataOptions where;

    @Override
    public Integer call() throws Exception {
        CastellanConfig config = where.load();
        if (NodeRequests.shared(config)) return cluster(config);
        JsonNode answer = client(where).request(request("sessions"));
        String format = "%-8s %-12s %-22s %-8s %-40s %-28s %-12s %-24s %6s %10s %10s%n";
        System.out.printf(Locale.ROOT, format, "ID", "LISTENER", "REMOTE", "TLS", "CIPHER", "ACCOUNT", "MECHANISM",
                "CERTIFICATE (SERIAL)", "AGE", "IN", "OUT");
        for (JsonNode s : answer.path("sessions")) {
            String certificate = certificate(s);
            System.out.printf(Locale.ROOT, format, s.path("id").asText(), s.path("listener").asText(),
                    s.path("remote").asText(), text(s, "tls"), text(s, "cipher"), text(s, "account"),
                    text(s, "mechanism"), certificate, s.path("ageSeconds").asLong() + "s",
                    s.path("bytesIn").asLong(), s.path("bytesOut").asLong());
        }
        return Main.OK;
    }

    /**
     * docs/roles.md §4: on a shared store, the sessions of every node that answers, each named
     * {@code node:id} with the node's role and, for a relayed session, the node at its other end.
     */
    private static Integer cluster(CastellanConfig config) throws Exception {
        NodeRequests.Answers answers;
        try (Admin admin = Admin.open(config)) {
            answers = NodeRequests.ask(admin.store, request("sessions"), NodeRequests.ANSWER_WAIT);
        }
        String format = "%-10s %-8s %-16s %-8s %-22s %-16s %-8s %-28s %-10s %-24s %6s %10s %10s%n";
        System.out.printf(Locale.ROOT, format, "NODE", "ROLE", "ID", "LISTENER", "REMOTE", "VIA", "TLS", "ACCOUNT", "MECHANISM",
                "CERTIFICATE (SERIAL)", "AGE", "IN", "OUT");
        for (JsonNode node : answers.answers().values()) {
            for (JsonNode s : node.path("sessions")) {
                System.out.printf(Locale.ROOT, format, node.path("node").asText(), node.path("role").asText(),
                        node.path("node").asText() + ":" + s.path("id").asText(), s.path("listener").asText(),
                        s.path("remote").asText(), text(s, "via"), text(s, "tls"), text(s, "account"), text(s, "mechanism"),
                        certificate(s), s.path("ageSeconds").asLong() + "s", s.path("bytesIn").asLong(), s.path("bytesOut").asLong());
            }
        }
        NodeRequests.sayWhoIsSilent(answers);
        return Main.OK;
    }

    private static String certificate(JsonNode s) {
        return s.has("certificateSerial")
                ? s.path("certificateSubject").asText() + " (" + s.path("certificateSerial").asText() + ")" : "-";
    }

    @Command(name = "kick", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Close live connections: one by id, every one of an account, or every one of a certificate.")
    static final class Kick implements Callable<Integer> {
        @Mixin DataOptions where;
        @ArgGroup(multiplicity = "1") Which which;

        static final class Which {
            @Parameters(paramLabel = "ID", description = "A session id as 'castellan sessions' shows it (NODE:ID on a cluster).") String id;
            @Option(names = "--account", paramLabel = "A", description = "Every session of this account.") String account;
            @Option(names = "--serial", paramLabel = "S", description = "Every session of the client certificate with this serial (hex).") String serial;
        }

        @Override
        public Integer call() throws Exception {
            ObjectNode request = request("kick");
            CastellanConfig config = where.load();
            boolean cluster = NodeRequests.shared(config);
            if (which.id != null) {
                // A node name is a DNS label (docs/roles.md §4); the id is base 36.
                if (!which.id.matches(cluster ? "[0-9a-zA-Z-]{1,63}:[0-9a-zA-Z]{1,13}" : "[0-9a-zA-Z]{1,13}")) {
                    throw new Failures.BadInput("'" + which.id + "' is not a session id" + (cluster ? " (NODE:ID)" : ""));
                }
                request.put("id", which.id);
            } else if (which.account != null) {
                request.put("account", Admin.address(which.account).toString());
            } else {
                request.put("serial", CertCommand.serial(which.serial).toString(16));
            }
            int closed = 0;
            if (cluster) {
                try (Admin admin = Admin.open(config)) {
                    NodeRequests.Answers answers = NodeRequests.ask(admin.store, request, NodeRequests.ANSWER_WAIT);
                    for (JsonNode answer : answers.answers().values()) closed += answer.path("closed").asInt();
                    NodeRequests.sayWhoIsSilent(answers);
                }
            } else {
                closed = client(where).request(request).path("closed").asInt();
            }
            if (closed == 0 && which.id != null) {
                throw new Failures.BadInput("no live session with id " + which.id + "; 'castellan sessions' lists them");
            }
            System.out.println("closed " + closed + " session(s)");
            return Main.OK;
        }
    }

    private static AdminClient client(DataOptions where) throws Exception {
        return new AdminClient(where.load().server().adminSocket());
    }

    /** A request to the running server's admin socket (docs/administration.md, "Live sessions"). */
    static ObjectNode request(String command) {
        return JsonNodeFactory.instance.objectNode().put("command", command);
    }

    private static String text(JsonNode s, String field) {
        return s.hasNonNull(field) ? s.get(field).asText() : "-";
    }
}
