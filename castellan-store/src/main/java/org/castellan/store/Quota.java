package org.castellan.store;

import java.util.OptionalLong;

/**
 * An account's storage limit and usage (RFC 9208 STORAGE and MESSAGE resources). Every copy of a
 * message counts, even when copies share one stored body.
 *
 * @param limitBytes empty when unlimited
 */
public record Quota(long accountId, OptionalLong limitBytes, long usedBytes, long usedMessages) {}
