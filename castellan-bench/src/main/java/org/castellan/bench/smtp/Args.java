package org.castellan.bench.smtp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A benchmark's arguments: positional ones first, then {@code name=value} ones in any order. */
record Args(List<String> positional, Map<String, String> named) {

    static Args parse(String[] args) {
        List<String> positional = new ArrayList<>();
        Map<String, String> named = new HashMap<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq > 0) named.put(a.substring(0, eq), a.substring(eq + 1));
            else positional.add(a);
        }
        return new Args(positional, named);
    }

    String positional(int index, String otherwise) {
        return index < positional.size() ? positional.get(index) : otherwise;
    }

    String named(String name, String otherwise) {
        return named.getOrDefault(name, otherwise);
    }
}
