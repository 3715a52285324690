/**
 * Outbound delivery (docs/outbound.md §3 to §5): the SMTP client session, the delivery engine
 * that leases due recipients from the store's {@link org.castellan.store.queue.OutboundQueue},
 * routes them (static routes, then MX through {@link org.castellan.server.dns.MailRouting}) and
 * records every attempt's result before acting on it.
 */
package org.castellan.server.outbound;
