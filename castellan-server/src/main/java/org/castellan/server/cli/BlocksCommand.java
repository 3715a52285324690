package org.castellan.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.castellan.server.admin.AdminClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan blocks}: the running server's login-limiter blocks, over its admin socket, and
 * {@code blocks clear} to lift them. Without a running server: one line, exit 1.
 */
@Command(name = "blocks", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Show and lift the blocks of sources that failed to log in too often.",
        subcommands = {BlocksCommand.ListBlocks.class, BlocksCommand.Clear.class})
final class BlocksCommand {

    /** Only characters of IPv4 and IPv6 literals; the server parses the address itself. */
    private static final Pattern ADDRESS = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "List the blocks in force: source (host, network or certificate), account, failures, until.")
    static final class ListBlocks implements Callable<Integer> {
        @Mixin DataOptions where;

        @Override
        public Integer call() throws Exception {
            JsonNode answer = client(where).request(request("blocks"));
            String format = "%-44s %-32s %8s %-26s %s%n";
            System.out.printf(Locale.ROOT, format, "SOURCE", "ACCOUNT", "FAILURES", "UNTIL", "REMAINING");
            for (JsonNode b : answer.path("blocks")) {
                System.out.printf(Locale.ROOT, format, b.path("source").asText(),
                        b.hasNonNull("account") ? b.get("account").asText() : "-", b.path("failures").asInt(),
                        b.path("until").asText(), b.path("remainingSeconds").asLong() + "s");
            }
            return Main.OK;
        }
    }

    @Command(name = "clear", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Lift blocks and forget failures: those of ADDRESS (its host, network and account",
                    "pairs), or every one without ADDRESS."})
    static final class Clear implements Callable<Integer> {
        @Mixin DataOptions where;
        @Parameters(arity = "0..1", paramLabel = "ADDRESS", description = "An IPv4 or IPv6 address.") String address;

        @Override
        public Integer call() throws Exception {
            ObjectNode request = request("clear-blocks");
            if (address != null) {
                if (!ADDRESS.matcher(address).matches()) {
                    throw new Failures.BadInput("'" + address + "' is not an IPv4 or IPv6 address");
                }
                request.put("address", address);
            }
            JsonNode answer = client(where).request(request);
            System.out.println("lifted " + answer.path("lifted").asInt() + " block(s)"
                    + (address == null ? "" : " for " + address));
            return Main.OK;
        }
    }

    private static AdminClient client(DataOptions where) throws Exception {
        return new AdminClient(where.load().server().adminSocket());
    }

    private static ObjectNode request(String command) {
        return JsonNodeFactory.instance.objectNode().put("command", command);
    }
}
