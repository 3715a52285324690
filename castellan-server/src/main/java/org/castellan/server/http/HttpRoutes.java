package org.castellan.server.http;

import io.netty.handler.codec.http.HttpMethod;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The HTTPS listener's table of resources: each route by path (exact, or a prefix ending in
 * {@code /}) and method. Built once at start and read-only afterwards, so every event loop reads
 * it without locks.
 *
 * <p>Lookup: an exact path first, else the longest prefix that holds the path; a path that
 * matches but not with this method is 405 with the methods that would do (RFC 9110 §15.5.6);
 * HEAD is answered wherever GET is (RFC 9110 §9.3.2).
 */
public final class HttpRoutes {

    private final Map<String, Map<HttpMethod, HttpRoute>> exact = new LinkedHashMap<>();
    private final Map<String, Map<HttpMethod, HttpRoute>> prefixes = new LinkedHashMap<>();

    /**
     * Adds {@code route} for {@code method} on exactly {@code path}.
     *
     * @throws IllegalArgumentException if the path does not start with {@code /} or the pair is taken
     */
    public HttpRoutes exact(HttpMethod method, String path, HttpRoute route) {
        put(exact, method, path, route);
        return this;
    }

    /**
     * Adds {@code route} for {@code method} on every path that starts with {@code prefix}, which
     * ends in {@code /} so that {@code /est/} never matches {@code /estimate}.
     *
     * @throws IllegalArgumentException if the prefix does not start and end with {@code /} or the pair is taken
     */
    public HttpRoutes prefix(HttpMethod method, String prefix, HttpRoute route) {
        if (!prefix.endsWith("/")) throw new IllegalArgumentException("a route prefix ends with '/': " + prefix);
        put(prefixes, method, prefix, route);
        return this;
    }

    private static void put(Map<String, Map<HttpMethod, HttpRoute>> table, HttpMethod method, String path, HttpRoute route) {
        Objects.requireNonNull(route, "route");
        if (!path.startsWith("/")) throw new IllegalArgumentException("a route path starts with '/': " + path);
        if (method.equals(HttpMethod.HEAD)) throw new IllegalArgumentException("HEAD is served by the GET route");
        if (table.computeIfAbsent(path, p -> new LinkedHashMap<>()).putIfAbsent(method, route) != null) {
            throw new IllegalArgumentException(method + " " + path + " has a route already");
        }
    }

    /** What a request for {@code method} on {@code path} gets. */
    public Match find(HttpMethod method, String path) {
        Map<HttpMethod, HttpRoute> byMethod = exact.get(path);
        if (byMethod == null) {
            byMethod = prefixes.entrySet().stream().filter(e -> path.startsWith(e.getKey()))
                    .max(Comparator.comparingInt(e -> e.getKey().length())).map(Map.Entry::getValue).orElse(null);
        }
        if (byMethod == null) return new Match.NotFound();
        HttpMethod asked = method.equals(HttpMethod.HEAD) ? HttpMethod.GET : method;
        HttpRoute route = byMethod.get(asked);
        if (route != null) return new Match.Found(route, asked);
        Set<String> allow = new LinkedHashSet<>();
        for (HttpMethod m : byMethod.keySet()) {
            allow.add(m.name());
            if (m.equals(HttpMethod.GET)) allow.add(HttpMethod.HEAD.name());
        }
        return new Match.WrongMethod(List.copyOf(new ArrayList<>(allow)));
    }

    /** The outcome of {@link #find}. */
    public sealed interface Match {
        /** @param method the method the route serves: GET for a HEAD request */
        record Found(HttpRoute route, HttpMethod method) implements Match {}

        record NotFound() implements Match {}

        /** @param allow the methods the path has, for the Allow header */
        record WrongMethod(List<String> allow) implements Match {}
    }
}
