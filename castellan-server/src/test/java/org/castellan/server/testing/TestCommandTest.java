package org.castellan.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README's test command is one a newcomer can run on a fresh Debian machine: {@code ./test}
 * installs every Debian package a test names as the one to install (in
 * {@link ExternalClient#require} and the like) before it runs {@code ./mvnw verify}, the README
 * lists what it installs, and CI runs that same command.
 */
class TestCommandTest {

    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    /**
     * {@code require("mbsync", "isync")}, and failure messages such as "install the Debian package
     * libssl-dev (...)"; prose that merely mentions "the Debian package" names none.
     */
    private static final Pattern NAMED_PACKAGE = Pattern.compile(
            "require\\(\"[^\"]+\", \"([a-z0-9.+-]+)\"\\)|install the Debian package '?([a-z0-9][a-z0-9.+-]+)'? \\(");

    private static Set<String> scriptPackages() throws IOException {
        Matcher m = Pattern.compile("(?s)\npackages=\\((.*?)\\)").matcher(Files.readString(REPO.resolve("test")));
        assertThat(m.find()).as("./test lists its Debian packages in packages=(...)").isTrue();
        return Arrays.stream(m.group(1).split("\\s+")).filter(s -> !s.isEmpty()).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void theReadmesTestCommandIsTheScriptAndCiRunsIt() throws IOException {
        String readme = Files.readString(REPO.resolve("README.md"));
        String firstBlock = readme.substring(readme.indexOf("```sh"), readme.indexOf("```", readme.indexOf("```sh") + 5));
        assertThat(firstBlock).containsPattern("(?m)^\\./test +# ");
        assertThat(Files.isExecutable(REPO.resolve("test"))).isTrue();
        // ./mvnw verify with the caller's arguments last, after the script's own (a tmpfs for temporary directories).
        assertThat(Files.readString(REPO.resolve("test"))).containsPattern("(?m)^exec \\./mvnw verify (\"\\$\\{\\w+\\[@]}\" )*\"\\$@\"$");
        assertThat(Files.readString(REPO.resolve(".ci/run"))).containsPattern("(?m)^\\./test$");
    }

    @Test
    void theScriptInstallsEveryPackageATestAsksForAndTheReadmeNamesThem() throws IOException {
        Set<String> named = new TreeSet<>();
        try (Stream<Path> files = Files.walk(REPO)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java") && f.toString().contains("/src/test/")).toList()) {
                Matcher m = NAMED_PACKAGE.matcher(Files.readString(file));
                while (m.find()) named.add(m.group(1) != null ? m.group(1) : m.group(2));
            }
        }
        assertThat(named).as("packages the tests name").contains("isync", "gnutls-bin", "libnss3-tools", "msmtp");
        Set<String> installed = scriptPackages();
        assertThat(installed).containsAll(named);
        String readme = Files.readString(REPO.resolve("README.md"));
        assertThat(installed).allSatisfy(p -> assertThat(readme).contains(p));
        assertThat(readme).contains("imapflow 2.10.2");
        assertThat(readme).contains("oidc-provider 9.13.3");
        assertThat(Files.readString(REPO.resolve("test"))).contains("oidc_provider_version=9.13.3");
    }
}
