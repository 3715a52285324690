package org.castellan.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.castellan.server.admin.AdminClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan queue}: the running server's outbound queue, over its admin socket — list the
 * messages, show one, and retry, hold, release, delete or bounce it. Without a running server: one
 * line, exit 1; an id the queue does not hold: one line, exit 2.
 */
@Command(name = "queue", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Show and act on the running server's outbound queue.",
        subcommands = {QueueCommand.ListQueue.class, QueueCommand.Show.class, QueueCommand.Retry.class,
                QueueCommand.Hold.class, QueueCommand.Release.class, QueueCommand.Delete.class, QueueCommand.Bounce.class})
final class QueueCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"One line per queued message, oldest first: id, arrival, size, sender, recipients",
                    "queued / delivered / failed, the next attempt, and whether it is held."})
    static final class ListQueue implements Callable<Integer> {
        @Mixin DataOptions where;
        @Option(names = "--limit", paramLabel = "N", defaultValue = "1000",
                description = "At most N messages (default ${DEFAULT-VALUE}).") int limit;

        @Override
        public Integer call() throws Exception {
            if (limit < 1) throw new Failures.BadInput("--limit must be at least 1");
            JsonNode answer = client(where).request(request("queue-list").put("limit", limit));
            String format = "%-10s %-24s %10s %-40s %6s %9s %6s %-24s %s%n";
            System.out.printf(Locale.ROOT, format, "ID", "ARRIVAL", "SIZE", "SENDER", "QUEUED", "DELIVERED", "FAILED",
                    "NEXT ATTEMPT", "HELD");
            for (JsonNode m : answer.path("messages")) {
                System.out.printf(Locale.ROOT, format, m.path("id").asLong(), m.path("arrival").asText(),
                        m.path("size").asLong(), sender(m), m.path("queued").asInt(), m.path("delivered").asInt(),
                        m.path("failed").asInt(), text(m, "nextAttempt"), m.path("held").asBoolean() ? "held" : "-");
            }
            return Main.OK;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "The message's envelope, and each recipient with its state, attempts, next attempt, last reply and host.")
    static final class Show implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "ID", description = "A message id as 'castellan queue list' shows it.") String id;

        @Override
        public Integer call() throws Exception {
            JsonNode m = act(where, "queue-show", id).path("message");
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"sender", sender(m)});
            rows.add(new String[] {"arrival", m.path("arrival").asText()});
            rows.add(new String[] {"size", m.path("size").asLong() + " octets"});
            rows.add(new String[] {"held", m.path("held").asBoolean() ? "yes" : "no"});
            rows.add(new String[] {"envid", text(m, "envid")});
            rows.add(new String[] {"ret", m.path("ret").asText()});
            rows.add(new String[] {"body", m.path("body").asText()});
            rows.add(new String[] {"smtputf8", m.path("smtpUtf8").asBoolean() ? "yes" : "no"});
            rows.add(new String[] {"requiretls", m.path("requireTls").asBoolean() ? "yes" : "no"});
            // RFC 8460 §3: such mail goes despite TLS failures; the operator should see which it is.
            rows.add(new String[] {"tls report", m.path("tlsReport").asBoolean() ? "yes" : "no"});
            rows.add(new String[] {"submitter", text(m, "submitter")});
            rows.add(new String[] {"received from", m.path("receivedFrom").asText()});
            System.out.println("message " + m.path("id").asLong());
            for (String[] row : rows) System.out.printf(Locale.ROOT, "  %-14s %s%n", row[0], row[1]);
            System.out.println("recipients");
            for (JsonNode r : m.path("recipients")) {
                List<String> notify = new ArrayList<>();
                r.path("notify").forEach(n -> notify.add(n.asText()));
                System.out.printf(Locale.ROOT, "  %s  %s  attempts %d  next %s  notify %s  orcpt %s%n",
                        r.path("address").asText(), r.path("state").asText(), r.path("attempts").asInt(),
                        text(r, "nextAttempt"), notify.isEmpty() ? "NEVER" : String.join(",", notify), text(r, "orcpt"));
                if (r.hasNonNull("lastReply") || r.hasNonNull("lastAttempt")) {
                    System.out.printf(Locale.ROOT, "    last %s: %s (host %s)%n", text(r, "lastAttempt"),
                            text(r, "lastReply"), text(r, "lastHost"));
                }
            }
            return Main.OK;
        }
    }

    /** A command on one message: the request it sends and what it prints once done. */
    abstract static class OnMessage implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(paramLabel = "ID", description = "A message id as 'castellan queue list' shows it.") String id;

        abstract String command();

        abstract String done(JsonNode answer);

        @Override
        public Integer call() throws Exception {
            System.out.println(done(act(where, command(), id)));
            return Main.OK;
        }
    }

    @Command(name = "retry", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Make every queued recipient of the message due now.")
    static final class Retry extends OnMessage {
        String command() { return "queue-retry"; }

        String done(JsonNode answer) { return "message " + id + " is due now"; }
    }

    @Command(name = "hold", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Stop attempting the message until it is released.")
    static final class Hold extends OnMessage {
        String command() { return "queue-hold"; }

        String done(JsonNode answer) { return "held message " + id; }
    }

    @Command(name = "release", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Attempt a held message again, at its recipients' next attempt times.")
    static final class Release extends OnMessage {
        String command() { return "queue-release"; }

        String done(JsonNode answer) { return "released message " + id; }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Remove the message from the queue; its sender is not told.")
    static final class Delete extends OnMessage {
        String command() { return "queue-delete"; }

        String done(JsonNode answer) { return "deleted message " + id + " without notifying its sender"; }
    }

    @Command(name = "bounce", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Fail every still-queued recipient of the message now; its sender gets a bounce.")
    static final class Bounce extends OnMessage {
        String command() { return "queue-bounce"; }

        String done(JsonNode answer) {
            return "bounced " + answer.path("bounced").asInt() + " recipient(s) of message " + id;
        }
    }

    /** Sends a request about one message; an id the queue does not hold is the operator's to fix (exit 2). */
    private static JsonNode act(DataOptions where, String command, String id) throws Exception {
        long number = id(id);
        JsonNode answer = client(where).request(request(command).put("id", number));
        if (!answer.path("found").asBoolean(false)) {
            throw new Failures.BadInput("no message " + number + " in the queue; 'castellan queue list' lists them");
        }
        return answer;
    }

    private static long id(String text) {
        if (text.matches("[0-9]{1,18}") && Long.parseLong(text) > 0) return Long.parseLong(text);
        throw new Failures.BadInput("'" + text + "' is not a queue message id (a positive number, as 'castellan queue list' shows)");
    }

    private static AdminClient client(DataOptions where) throws Exception {
        return new AdminClient(where.load().server().adminSocket());
    }

    private static ObjectNode request(String command) {
        return JsonNodeFactory.instance.objectNode().put("command", command);
    }

    /** The reverse-path as SMTP writes it: {@code <>} for the null sender. */
    private static String sender(JsonNode m) {
        return "<" + m.path("sender").asText() + ">";
    }

    private static String text(JsonNode s, String field) {
        return s.hasNonNull(field) ? s.get(field).asText() : "-";
    }
}
