package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.server.config.Outbound;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Which notification a recipient needs, from RFC 3461 §4.1 and RFC 5321 §4.5.5, one row per case:
 * its state, NOTIFY, what was already reported, the message's sender and age.
 */
class NotifierPlanTest {

    private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");
    private static final Instant CUTOFF = NOW.minus(Outbound.DEFAULT_DELAY_WARNING);
    private static final Set<Dsn.Notify> DEFAULT = EnumSet.of(Dsn.Notify.FAILURE, Dsn.Notify.DELAY);
    private static final Set<Dsn.Notify> NEVER = Set.of();
    private static final Set<Dsn.Notify> ALL = EnumSet.allOf(Dsn.Notify.class);
    private static final Duration OLD = Outbound.DEFAULT_DELAY_WARNING.plusMinutes(1);
    private static final Duration YOUNG = Duration.ofMinutes(10);

    /** "notice KIND", "silent KIND" or "nothing". */
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(RecipientState.FAILED, DEFAULT, false, "alice@example.org", YOUNG, "notice FAILED"),
                Arguments.of(RecipientState.FAILED, NEVER, false, "alice@example.org", YOUNG, "silent FAILED"),
                Arguments.of(RecipientState.FAILED, EnumSet.of(Dsn.Notify.SUCCESS), false, "alice@example.org", YOUNG, "silent FAILED"),
                Arguments.of(RecipientState.FAILED, ALL, false, "", YOUNG, "silent FAILED"),
                Arguments.of(RecipientState.FAILED, DEFAULT, true, "alice@example.org", YOUNG, "nothing"),
                Arguments.of(RecipientState.DELIVERED, DEFAULT, false, "alice@example.org", YOUNG, "silent DELIVERED"),
                Arguments.of(RecipientState.DELIVERED, EnumSet.of(Dsn.Notify.SUCCESS), false, "alice@example.org", YOUNG,
                        "notice DELIVERED"),
                Arguments.of(RecipientState.DELIVERED, ALL, false, "", OLD, "silent DELIVERED"),
                Arguments.of(RecipientState.DELIVERED, ALL, true, "alice@example.org", OLD, "nothing"),
                Arguments.of(RecipientState.QUEUED, DEFAULT, false, "alice@example.org", OLD, "notice DELAYED"),
                Arguments.of(RecipientState.QUEUED, DEFAULT, false, "alice@example.org", YOUNG, "nothing"),
                Arguments.of(RecipientState.QUEUED, EnumSet.of(Dsn.Notify.FAILURE), false, "alice@example.org", OLD,
                        "silent DELAYED"),
                Arguments.of(RecipientState.QUEUED, ALL, false, "", OLD, "silent DELAYED"),
                Arguments.of(RecipientState.QUEUED, DEFAULT, true, "alice@example.org", OLD, "nothing"));
    }

    @ParameterizedTest(name = "{0} NOTIFY={1} reported={2} sender=<{3}> age={4}: {5}")
    @MethodSource("cases")
    void oneRecipient(RecipientState state, Set<Dsn.Notify> notify, boolean reported, String sender, Duration age,
                      String expected) {
        Instant arrival = NOW.minus(age);
        boolean finalReported = reported && state != RecipientState.QUEUED;
        boolean delayReported = reported && state == RecipientState.QUEUED;
        QueuedRecipient r = new QueuedRecipient(7, 1, "bob@example.net", "example.net", notify, Optional.empty(), state, 1,
                NOW, Optional.of(NOW), Optional.of("reply"), Optional.empty(), finalReported, delayReported);
        QueuedMessage m = new QueuedMessage(1, sender, Optional.empty(), Dsn.Ret.UNSPECIFIED, SmtpCommand.Body.SEVEN_BIT,
                false, false, Optional.empty(), "test", arrival, 100, false, List.of(r));

        Notifier.Plan plan = Notifier.plan(m, CUTOFF);

        String actual = plan.notices().isEmpty() && plan.silent().isEmpty() ? "nothing"
                : !plan.notices().isEmpty() ? "notice " + plan.notices().keySet().iterator().next()
                : "silent " + plan.silent().keySet().iterator().next();
        assertThat(actual).isEqualTo(expected);
    }
}
