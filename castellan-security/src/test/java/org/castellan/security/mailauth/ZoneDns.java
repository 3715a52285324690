package org.castellan.security.mailauth;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * DNS data for the RFC vectors: a zone written out as records, answered as a resolver would
 * (a name with no record of a type is {@link DnsLookup.NotFound}; a name marked failing gives
 * {@link DnsLookup.Failed} for every type). Counts the queries, so that tests can see limits hold.
 */
final class ZoneDns implements DnsLookup {

    private final Map<String, List<String>> txt = new HashMap<>();
    private final Map<String, List<InetAddress>> addresses = new HashMap<>();
    private final Map<String, List<String>> mx = new HashMap<>();
    private final Map<InetAddress, List<String>> ptr = new HashMap<>();
    private final Set<String> failing = new HashSet<>();
    int queries;

    ZoneDns txt(String name, String... values) {
        txt.computeIfAbsent(key(name), k -> new ArrayList<>()).addAll(List.of(values));
        return this;
    }

    ZoneDns a(String name, String... literals) {
        for (String l : literals) addresses.computeIfAbsent(key(name), k -> new ArrayList<>()).add(ip(l));
        return this;
    }

    ZoneDns mx(String name, String... hosts) {
        mx.computeIfAbsent(key(name), k -> new ArrayList<>()).addAll(List.of(hosts));
        return this;
    }

    ZoneDns ptr(String address, String... names) {
        ptr.computeIfAbsent(ip(address), k -> new ArrayList<>()).addAll(List.of(names));
        return this;
    }

    ZoneDns failing(String name) {
        failing.add(key(name));
        return this;
    }

    static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal); // literals only: never a DNS query
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }

    private static String key(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    private <T> Answer<T> answer(Map<String, List<T>> map, String name) {
        queries++;
        if (failing.contains(key(name))) return new Failed<>("SERVFAIL");
        List<T> values = map.get(key(name));
        return values == null ? new NotFound<>() : new Found<>(values);
    }

    @Override
    public Answer<String> txt(String name) {
        return answer(txt, name);
    }

    @Override
    public Answer<InetAddress> addresses(String name) {
        return answer(addresses, name);
    }

    @Override
    public Answer<String> mx(String name) {
        return answer(mx, name);
    }

    @Override
    public Answer<String> ptr(InetAddress address) {
        queries++;
        List<String> names = ptr.get(address);
        return names == null ? new NotFound<>() : new Found<>(names);
    }
}
