package org.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.castellan.security.auth.AuthSettings;
import org.castellan.server.config.Auth;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;
import org.junit.jupiter.api.Test;

/** The limiter, submission and login-timeout keys of [auth]: defaults, values, and the errors an operator gets. */
class LimiterConfigTest {

    private static final Path FILE = Path.of("/etc/castellan/castellan.toml");

    private static String config(String authLines) {
        return String.join("\n", "[server]", "hostname = \"mail.example.org\"", "data-dir = \"/var/lib/castellan\"",
                "[auth]", authLines, "");
    }

    @Test
    void defaultsAreAuthServicesAndValuesAreRead() throws ConfigException {
        Auth defaults = CastellanConfig.parse(config(""), FILE).auth();
        assertThat(defaults.freeFailures()).isEqualTo(AuthSettings.DEFAULT_FREE_FAILURES);
        assertThat(defaults.blockAfter()).isEqualTo(AuthSettings.DEFAULT_BLOCK_AFTER);
        assertThat(defaults.firstDelay()).isEqualTo(AuthSettings.DEFAULT_FIRST_DELAY);
        assertThat(defaults.maxDelay()).isEqualTo(AuthSettings.DEFAULT_MAX_DELAY);
        assertThat(defaults.blockDuration()).isEqualTo(AuthSettings.DEFAULT_BLOCK_DURATION);
        assertThat(defaults.loginTimeout()).isEqualTo(Duration.ofMinutes(1));

        Auth set = CastellanConfig.parse(config(String.join("\n", "free-failures = 5", "block-after = 50",
                "first-delay = \"100ms\"", "max-delay = \"2s\"", "block-duration = \"1h\"", "login-timeout = \"20s\"")),
                FILE).auth();
        assertThat(set).isEqualTo(new Auth(Auth.DEFAULT_SCRAM_ITERATIONS, 5, 50, Duration.ofMillis(100),
                Duration.ofSeconds(2), Duration.ofHours(1), Auth.DEFAULT_PASSWORD_MIN_LENGTH, List.of(),
                Duration.ofSeconds(20)));
    }

    @Test
    void inFlightCapsHaveSafeDefaultsAndRanges() throws ConfigException {
        Auth defaults = CastellanConfig.parse(config(""), FILE).auth();
        assertThat(defaults.maxInFlightPerHost()).isEqualTo(AuthSettings.DEFAULT_MAX_IN_FLIGHT_PER_HOST);
        assertThat(defaults.maxInFlightPerAccount()).isEqualTo(AuthSettings.DEFAULT_MAX_IN_FLIGHT_PER_ACCOUNT);
        assertThat(defaults.maxInFlightPerAccount()).as("a cap above the failure budget would be no cap")
                .isLessThan(AuthSettings.DEFAULT_BLOCK_AFTER);

        Auth set = CastellanConfig.parse(config("max-in-flight-per-host = 4\nmax-in-flight-per-account = 2"), FILE).auth();
        assertThat(set.maxInFlightPerHost()).isEqualTo(4);
        assertThat(set.maxInFlightPerAccount()).isEqualTo(2);
        assertThatThrownBy(() -> CastellanConfig.parse(config("max-in-flight-per-host = 0"), FILE))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
                        .contains(":5:", "auth.max-in-flight-per-host"));
        assertThatThrownBy(() -> CastellanConfig.parse(config("max-in-flight-per-account = 1001"), FILE))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
                        .contains(":5:", "auth.max-in-flight-per-account"));
    }

    @Test
    void inconsistentNumbersNameTheKeyAndLine() {
        assertThatThrownBy(() -> CastellanConfig.parse(config("free-failures = 10\nblock-after = 10"), FILE))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
                        .contains(":6:", "auth.block-after", "larger than free-failures"));
        assertThatThrownBy(() -> CastellanConfig.parse(config("first-delay = \"5s\"\nmax-delay = \"1s\""), FILE))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
                        .contains(":6:", "auth.max-delay", "not be shorter than first-delay"));
        assertThatThrownBy(() -> CastellanConfig.parse(config("block-duration = \"2d\""), FILE))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
                        .contains("auth.block-duration"));
        assertThatThrownBy(() -> CastellanConfig.parse(config("login-timeout = \"500ms\""), FILE))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
                        .contains(":5:", "auth.login-timeout", "a duration from 1s to 30m", "got \"500ms\""));
    }

    @Test
    void submissionAccountsAreAddresses() throws ConfigException {
        assertThat(CastellanConfig.parse(config(""), FILE).auth().submissionAccounts()).isEmpty();
        assertThat(CastellanConfig.parse(config("submission-accounts = [\"submit@example.org\"]"), FILE).auth()
                .submissionAccounts()).containsExactly("submit@example.org");
        assertThatThrownBy(() -> CastellanConfig.parse(config("submission-accounts = [\"submit\"]"), FILE))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
                        .contains(":5:", "auth.submission-accounts", "not an address"));
    }
}
