package org.castellan.server.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.castellan.server.StartChecks;
import org.castellan.server.config.ConnectionLimits;
import org.castellan.server.config.Listener;

/**
 * What {@code castellan audit} says about connection floods and slow clients: the server's
 * ceiling against the file-descriptor limit, each listener's caps per address and network, the
 * SMTP deadlines, and a warning for every cap that is off or can never bind.
 */
final class ConnectionCaps {

    private ConnectionCaps() {}

    static String serverLine(StartChecks.ConnectionCeiling ceiling) {
        String descriptors = ceiling.descriptors().isPresent()
                ? "this command's file-descriptor limit: " + ceiling.descriptors().getAsLong()
                        + "; the server's is LimitNOFILE in castellan.service"
                : "file-descriptor limit unknown";
        return "Connections: at most " + ceiling.effective() + " at once (server.max-connections = "
                + ceiling.configured() + "; " + descriptors + ")";
    }

    static List<String> serverWarnings(StartChecks.ConnectionCeiling ceiling) {
        if (!ceiling.lowered()) return List.of();
        return List.of("server.max-connections = " + ceiling.configured() + " is more than half the file-descriptor limit ("
                + ceiling.descriptors().getAsLong() + "): a server with this limit serves at most " + ceiling.effective()
                + "; raise LimitNOFILE or lower max-connections");
    }

    static String perListener(Listener l) {
        ConnectionLimits c = l.limits();
        return cap(c.perAddress()) + " from one address (IPv4, IPv6 /64), " + cap(c.perNetwork())
                + " from one network (IPv4 /24, IPv6 /48); more are refused at once";
    }

    static String smtpDeadlines(Listener l) {
        ConnectionLimits c = l.limits();
        return "a command line within " + duration(c.commandDeadline()) + " of its first byte; DATA and BDAT content at "
                + (c.minDataRate() == 0 ? "any rate (min-data-rate = 0)"
                        : "least " + c.minDataRate() + " octets/s once " + duration(c.commandDeadline()) + " have passed");
    }

    /** A cap that is off, or that the server's ceiling makes unreachable, protects nobody. */
    static List<String> listenerWarnings(Listener l, StartChecks.ConnectionCeiling ceiling) {
        List<String> warnings = new ArrayList<>();
        ConnectionLimits c = l.limits();
        check(warnings, l, "max-connections-per-address", c.perAddress(), "one address", ceiling);
        check(warnings, l, "max-connections-per-network", c.perNetwork(), "one network", ceiling);
        return warnings;
    }

    private static void check(List<String> warnings, Listener l, String key, int cap, String who,
                              StartChecks.ConnectionCeiling ceiling) {
        if (cap == 0) {
            warnings.add("listener " + l.name() + " has no cap on connections from " + who + " (" + key + " = 0):"
                    + " it can take every connection the server has");
        } else if (cap >= ceiling.effective()) {
            warnings.add("listener " + l.name() + ": " + key + " = " + cap + " is not below the server's ceiling of "
                    + ceiling.effective() + " connections (max-connections and the file-descriptor limit): " + who
                    + " can take every connection the server has");
        }
    }

    private static String cap(int n) {
        return n == 0 ? "no cap" : "at most " + n;
    }

    private static String duration(Duration d) {
        return d.toMillis() % 60_000 == 0 ? d.toMinutes() + "m" : d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }
}
