package org.castellan.server.testing;


import java.time.Duration;
import java.util.Arrays;

/**
 * Waits until the running server's delivery engine has looked at its queue and sleeps. It sleeps
 * until it is woken or {@code OutboundEngine.MAX_SLEEP} (a minute) passes, and messages enqueued
 * through the store directly do not wake it: a test that enqueues and records results as the
 * engine would, for messages the engine must not attempt, calls this first.
 */
public final class EngineIdle {

    private EngineIdle() {}

    public static void await() {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> Thread.getAllStackTraces().entrySet().stream()
                .anyMatch(e -> e.getKey().getName().equals("outbound-scheduler")
                        && e.getKey().getState() == Thread.State.TIMED_WAITING
                        && Arrays.stream(e.getValue()).anyMatch(f -> f.getClassName().endsWith(".OutboundEngine")
                                && f.getMethodName().equals("sleep"))));
    }
}
