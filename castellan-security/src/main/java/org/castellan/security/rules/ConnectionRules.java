package org.castellan.security.rules;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * An ordered list of rules deciding, at accept, what happens to a connection from a remote
 * address to a named listener. The first rule whose CIDR contains the address and whose listener
 * set names the listener (or is empty, meaning every listener) wins; with no match the connection
 * is allowed, so an empty rule list changes nothing.
 *
 * <p>Immutable and safe to share between threads. {@link #decide} allocates one small array per
 * call and walks the list once: it runs on every accepted connection, including floods from
 * addresses the rules exist to refuse.
 */
public final class ConnectionRules {

    /** One rule: remote addresses, the listeners it applies to (empty = all) and the action. */
    public record Entry(Cidr cidr, Set<String> listeners, RuleAction action) {
        /** @throws NullPointerException if any argument or listener name is null */
        public Entry {
            Objects.requireNonNull(cidr, "cidr");
            listeners = Set.copyOf(listeners);
            Objects.requireNonNull(action, "action");
        }

        boolean appliesTo(String listener) {
            return listeners.isEmpty() || listeners.contains(listener);
        }
    }

    private static final ConnectionRules NONE = new ConnectionRules(List.of());

    private final List<Entry> entries;

    /**
     * @param entries the rules in evaluation order
     * @throws NullPointerException if the list or one of its entries is null
     */
    public ConnectionRules(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    /** Rules that allow every connection. */
    public static ConnectionRules none() {
        return NONE;
    }

    /** The rules in evaluation order. */
    public List<Entry> entries() {
        return entries;
    }

    /**
     * Decides what to do with a connection.
     *
     * @param remote the peer's address (IPv4-mapped IPv6 addresses are treated as IPv4)
     * @param listener the name of the listener that accepted it
     * @return the action of the first matching rule, or {@link RuleAction#ALLOW} if none matches
     * @throws NullPointerException if an argument is null
     */
    public RuleAction decide(InetAddress remote, String listener) {
        Objects.requireNonNull(listener, "listener");
        byte[] address = remote.getAddress();
        boolean ipv4 = Cidr.isIpv4(address);
        long high = Cidr.high(address);
        long low = Cidr.low(address);
        for (Entry entry : entries) {
            if (entry.appliesTo(listener) && entry.cidr().contains(ipv4, high, low)) {
                return entry.action();
            }
        }
        return RuleAction.ALLOW;
    }

    @Override
    public String toString() {
        return "ConnectionRules" + entries;
    }
}
