package org.castellan.store;

import java.time.Instant;

/** A mail domain the store accepts mail for; {@code name} is lower case. */
public record Domain(String name, Instant createdAt) {}
