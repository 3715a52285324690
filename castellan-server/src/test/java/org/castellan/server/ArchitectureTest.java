package org.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module and package layout of docs/design.md §3, checked on the sources of every module:
 * modules depend only in the order protocol → security, store → server → bench (testkit on none
 * of them); nothing outside a module reaches into its {@code internal} packages; and packages have
 * no dependency cycles. A package and its {@code internal} subpackage count as one: the internal
 * half implements the types its API package declares.
 */
class ArchitectureTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    /** The modules each module's main code may use, besides itself. */
    private static final Map<String, Set<String>> ALLOWED = Map.of(
            "protocol", Set.of(),
            "security", Set.of("protocol"),
            "store", Set.of("protocol"),
            "server", Set.of("protocol", "security", "store"),
            "bench", Set.of("protocol", "security", "store", "server", "testkit"),
            "testkit", Set.of());
    private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    /** A reference to a Castellan type: an import or a qualified name in code. */
    private static final Pattern REFERENCE = Pattern.compile("\\b(org\\.castellan(?:\\.[a-z][a-z0-9]*)+)\\.[A-Z]");
    private static final Pattern COMMENTS = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

    /** One main source file: its module, its package and the Castellan packages it refers to. */
    private record Source(Path file, String module, String pkg, Set<String> uses) {}

    private static List<Source> sources;

    @BeforeAll
    static void read() throws IOException {
        sources = new ArrayList<>();
        for (String module : ALLOWED.keySet()) {
            Path main = ROOT.resolve("castellan-" + module).resolve("src/main/java");
            if (!Files.isDirectory(main)) continue;
            try (Stream<Path> files = Files.walk(main)) {
                files.filter(p -> p.toString().endsWith(".java")).forEach(p -> sources.add(source(p, module)));
            }
        }
        assertThat(sources).as("main sources found under " + ROOT).hasSizeGreaterThan(100);
    }

    private static Source source(Path file, String module) {
        try {
            String text = COMMENTS.matcher(Files.readString(file)).replaceAll("");
            Matcher p = PACKAGE.matcher(text);
            String pkg = p.find() ? p.group(1) : "";
            Set<String> uses = new TreeSet<>();
            Matcher m = REFERENCE.matcher(text);
            while (m.find()) if (!m.group(1).equals(pkg)) uses.add(m.group(1));
            return new Source(ROOT.relativize(file), module, pkg, uses);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The module a Castellan package belongs to: {@code org.castellan.<module>...}. */
    private static String moduleOf(String pkg) {
        String rest = pkg.substring("org.castellan.".length());
        int dot = rest.indexOf('.');
        return dot < 0 ? rest : rest.substring(0, dot);
    }

    @Test
    void modulesDependOnlyInTheirOrder() {
        List<String> wrong = new ArrayList<>();
        for (Source s : sources) {
            assertThat(moduleOf(s.pkg())).as(s.file() + " is in its module's package tree").isEqualTo(s.module());
            for (String used : s.uses()) {
                String target = moduleOf(used);
                if (!target.equals(s.module()) && !ALLOWED.get(s.module()).contains(target)) wrong.add(s.file() + " uses " + used);
            }
        }
        assertThat(wrong).isEmpty();
    }

    @Test
    void nothingOutsideAModuleUsesItsInternalPackages() {
        List<String> wrong = new ArrayList<>();
        for (Source s : sources) {
            for (String used : s.uses()) {
                if ((used.contains(".internal.") || used.endsWith(".internal")) && !moduleOf(used).equals(s.module())) {
                    wrong.add(s.file() + " uses " + used);
                }
            }
        }
        assertThat(wrong).isEmpty();
    }

    @Test
    void packagesHaveNoCycles() {
        Map<String, Set<String>> graph = new TreeMap<>();
        for (Source s : sources) {
            Set<String> edges = graph.computeIfAbsent(unit(s.pkg()), k -> new TreeSet<>());
            for (String used : s.uses()) if (!unit(used).equals(unit(s.pkg()))) edges.add(unit(used));
        }
        assertThat(cycles(graph)).isEmpty();
    }

    /** A package with its internal half. */
    private static String unit(String pkg) {
        return pkg.endsWith(".internal") ? pkg.substring(0, pkg.length() - ".internal".length()) : pkg;
    }

    /** Strongly connected components with more than one package (Tarjan). */
    private static List<Set<String>> cycles(Map<String, Set<String>> graph) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new TreeSet<>();
        List<Set<String>> out = new ArrayList<>();
        int[] counter = {0};
        for (String v : graph.keySet()) {
            if (!index.containsKey(v)) connect(v, graph, index, low, stack, onStack, out, counter);
        }
        return out;
    }

    private static void connect(String v, Map<String, Set<String>> graph, Map<String, Integer> index, Map<String, Integer> low,
                                Deque<String> stack, Set<String> onStack, List<Set<String>> out, int[] counter) {
        index.put(v, counter[0]);
        low.put(v, counter[0]++);
        stack.push(v);
        onStack.add(v);
        for (String w : graph.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                connect(w, graph, index, low, stack, onStack, out, counter);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<String> component = new TreeSet<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (!w.equals(v));
            if (component.size() > 1) out.add(component);
        }
    }
}
