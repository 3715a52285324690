package org.castellan.server.config;

import java.util.List;
import java.util.Objects;
import org.castellan.security.rules.Cidr;
import org.castellan.security.rules.RuleAction;

/**
 * One {@code [[rule]]}: connections from {@code cidr} to the named listeners get {@code action}.
 *
 * @param listeners listener names, or {@code ["*"]} for every listener
 * <p>The constructor throws {@code NullPointerException} if a component is null.
 */
public record Rule(Cidr cidr, List<String> listeners, RuleAction action) {

    /** The listener list that makes a rule apply to every listener. */
    public static final String ALL_LISTENERS = "*";

    public Rule {
        Objects.requireNonNull(cidr, "cidr");
        listeners = List.copyOf(listeners);
        Objects.requireNonNull(action, "action");
    }

    /** Whether this rule applies to every listener. */
    public boolean appliesToAllListeners() {
        return listeners.contains(ALL_LISTENERS);
    }
}
