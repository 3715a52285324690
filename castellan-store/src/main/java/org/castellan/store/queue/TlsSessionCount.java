package org.castellan.store.queue;

import java.time.LocalDate;

/**
 * How many outbound sessions of one UTC day had one TLS result under one policy (RFC 8460 §4),
 * as {@link OutboundQueue#countTlsSession} added them up.
 *
 * @param policy the policy as the engine describes it
 * @param result empty for a success, else the failure's details as the engine describes them
 */
public record TlsSessionCount(LocalDate day, String policyDomain, String policy, String result, long sessions) {
}
