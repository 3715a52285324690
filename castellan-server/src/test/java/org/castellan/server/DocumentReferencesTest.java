package org.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The repository stands on its own: code and documents cite its own files, and a citation of
 * docs/design.md names a section (and an invariant of §5) that exists.
 */
class DocumentReferencesTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Set<String> TEXT = Set.of(".java", ".md", ".toml", ".sh", ".xml", ".cjs", ".py");
    private static final Pattern DOC = Pattern.compile("docs/([a-z0-9-]+\\.md)");
    private static final Pattern DESIGN_SECTION = Pattern.compile("design\\.md §(\\d+)(?:\\.(\\d+))?");
    /**
     * A reference to a design outside the repository: the shared folder, or the upper-case design
     * file's name, with or without its extension. This file spells the pattern and is not checked.
     */
    private static final Pattern OUTSIDE = Pattern.compile("(?<![a-z/])DESIGN\\b|\\.\\./shared\\b");

    @Test
    void everyCitedDocumentExists() {
        List<String> missing = new ArrayList<>();
        forEachLine((file, n, line) -> {
            Matcher m = DOC.matcher(line);
            while (m.find()) {
                if (!Files.isRegularFile(ROOT.resolve("docs").resolve(m.group(1)))) missing.add(file + ":" + n + " " + m.group());
            }
        });
        assertThat(missing).isEmpty();
    }

    @Test
    void nothingCitesTheDesignOutsideTheRepository() {
        List<String> outside = new ArrayList<>();
        forEachLine((file, n, line) -> {
            if (!file.endsWith("DocumentReferencesTest.java") && OUTSIDE.matcher(line).find()) outside.add(file + ":" + n);
        });
        assertThat(outside).as("cite docs/design.md instead").isEmpty();
    }

    @Test
    void everyCitedDesignSectionExists() throws IOException {
        List<String> design = Files.readAllLines(ROOT.resolve("docs/design.md"));
        List<String> missing = new ArrayList<>();
        forEachLine((file, n, line) -> {
            Matcher m = DESIGN_SECTION.matcher(line);
            while (m.find()) {
                if (!exists(design, m.group(1), m.group(2))) missing.add(file + ":" + n + " " + m.group());
            }
        });
        assertThat(missing).isEmpty();
    }

    /** Section {@code section} is a heading {@code ## N.}; {@code item}, when given, the N-th numbered item in it. */
    private static boolean exists(List<String> design, String section, String item) {
        boolean inside = false;
        for (String line : design) {
            if (line.startsWith("## ")) {
                inside = line.startsWith("## " + section + ". ");
                if (inside && item == null) return true;
            } else if (inside && line.startsWith(item + ". ")) {
                return true;
            }
        }
        return false;
    }

    private interface LineVisitor {
        void visit(Path file, int number, String line);
    }

    private static void forEachLine(LineVisitor visitor) {
        try (Stream<Path> files = Files.walk(ROOT)) {
            files.filter(Files::isRegularFile)
                    .filter(p -> TEXT.stream().anyMatch(p.toString()::endsWith))
                    .filter(p -> {
                        Path rel = ROOT.relativize(p);
                        for (Path part : rel) {
                            String s = part.toString();
                            if (s.equals("target") || s.startsWith(".") || s.equals("node_modules")) return false;
                        }
                        return true;
                    })
                    .forEach(p -> {
                        try {
                            List<String> lines = Files.readAllLines(p, StandardCharsets.UTF_8);
                            for (int i = 0; i < lines.size(); i++) visitor.visit(ROOT.relativize(p), i + 1, lines.get(i));
                        } catch (IOException e) {
                            throw new UncheckedIOException(p.toString(), e);
                        }
                    });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
