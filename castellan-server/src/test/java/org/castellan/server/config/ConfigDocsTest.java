package org.castellan.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md is generated from ConfigKeys; this keeps the committed file identical.
 * Run with {@code -Dcastellan.regenerateDocs=true} to rewrite it after changing a key.
 */
class ConfigDocsTest {

    /** Tests run in the module directory; the docs live at the repository root. */
    private static final Path DOCS = Path.of("..", "docs", "configuration.md");

    @Test
    void committedReferenceMatchesTheKeys() throws IOException {
        String generated = ConfigKeys.markdown();
        if (Boolean.getBoolean("castellan.regenerateDocs")) {
            Files.writeString(DOCS, generated);
        }
        assertThat(DOCS).as("%s is out of date; rerun this test with -Dcastellan.regenerateDocs=true", DOCS)
                .exists();
        assertThat(Files.readString(DOCS))
                .as("%s is out of date; rerun this test with -Dcastellan.regenerateDocs=true", DOCS)
                .isEqualTo(generated);
    }

    @Test
    void referenceNamesEveryKey() {
        String markdown = ConfigKeys.markdown();
        for (ConfigKeys.Key key : ConfigKeys.all()) {
            assertThat(markdown).contains("| `" + key.name() + "` |");
        }
        for (ConfigKeys.Section section : ConfigKeys.Section.values()) {
            assertThat(markdown).contains("## `" + section.header() + "`");
        }
    }
}
