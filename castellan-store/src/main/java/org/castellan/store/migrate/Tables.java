package org.castellan.store.migrate;

import static org.castellan.store.migrate.Table.Kind.BODY;
import static org.castellan.store.migrate.Table.Kind.BOOLEAN;
import static org.castellan.store.migrate.Table.Kind.BYTES;
import static org.castellan.store.migrate.Table.Kind.DATE;
import static org.castellan.store.migrate.Table.Kind.ID;
import static org.castellan.store.migrate.Table.Kind.LONG;
import static org.castellan.store.migrate.Table.Kind.TEXT;
import static org.castellan.store.migrate.Table.Kind.TIME;

import java.util.List;
import org.castellan.store.migrate.Table.Column;

/**
 * The tables copied as rows, in an order that puts every referenced row before its references.
 * Both stores have them under the same names (the PostgreSQL migrations copy the embedded schema
 * in PostgreSQL types). Not here: mailboxes and messages ({@link MailboxRecord},
 * {@link MessageRecord}), the blobs (they come with what references them), the counters and the
 * text index (rebuilt by the target), and queue leases (no engine runs during a migration).
 */
public final class Tables {

    private Tables() {}

    public static final Table DOMAINS = new Table("domains", "name", "name",
            Column.of("name", TEXT), Column.of("created_at", TIME));

    public static final Table ACCOUNTS = new Table("accounts", "id", "address_key",
            Column.of("id", ID), Column.of("address_key", TEXT), Column.of("local_part", TEXT), Column.of("domain", TEXT),
            Column.of("credential", TEXT), Column.of("quota_bytes", LONG), Column.of("used_bytes", LONG),
            Column.of("used_messages", LONG), Column.of("created_at", TIME));

    public static final Table ALIASES = new Table("aliases", "address_key", "address_key",
            Column.of("address_key", TEXT), Column.of("local_part", TEXT), Column.of("domain", TEXT),
            Column.of("target", TEXT), Column.of("created_at", TIME));

    public static final Table SUBSCRIPTIONS = new Table("subscriptions", "account_id, name", "name",
            account(), Column.of("name", TEXT));

    public static final Table APP_PASSWORDS = new Table("app_passwords", "id", "label",
            Column.of("id", ID), account(), Column.of("label", TEXT), Column.of("credential", TEXT),
            Column.of("scope", TEXT), Column.of("selector", TEXT), Column.of("created_at", TIME));

    public static final Table CERTIFICATE_BINDINGS = new Table("certificate_bindings", "fingerprint", "fingerprint",
            Column.of("fingerprint", TEXT), account(), Column.of("label", TEXT), Column.of("created_at", TIME));

    public static final Table ENROLL_TOKENS = new Table("enroll_tokens", "id", "id",
            Column.of("id", TEXT), account(), Column.of("secret_hash", TEXT), Column.of("device", TEXT),
            Column.of("kind", TEXT), Column.of("created_at", TIME), Column.of("expires_at", TIME), Column.of("used_at", TIME));

    /** In the order the requests came: the target numbers them ({@code seq}) as it inserts them. */
    public static final Table ENROLL_PENDING = new Table("enroll_pending", "rowid", "id",
            Column.of("id", TEXT), account(), Column.of("kind", TEXT), Column.of("device", TEXT),
            Column.of("key_type", TEXT), Column.of("key_hash", TEXT), Column.of("csr", BYTES),
            Column.of("requested_at", TIME), Column.of("state", TEXT), Column.of("reason", TEXT), Column.of("decided_at", TIME));

    public static final Table QUEUE_MESSAGES = new Table("queue_messages", "id", "id",
            Column.of("id", ID), Column.of("sender", TEXT), Column.of("envid", TEXT), Column.of("ret", TEXT),
            Column.of("body", TEXT), Column.of("smtp_utf8", BOOLEAN), Column.of("require_tls", BOOLEAN),
            Column.of("submitter", TEXT), Column.of("received_from", TEXT), Column.of("arrival", TIME),
            Column.of("size", LONG), Column.of("blob_hash", BODY), Column.of("held", BOOLEAN), Column.of("tls_report", BOOLEAN));

    /** Without their leases: no engine holds one while the store is being moved. */
    public static final Table QUEUE_RECIPIENTS = new Table("queue_recipients", "id", "id",
            Column.of("id", ID), new Column("message_id", Table.Kind.REF, "queue_messages"), Column.of("address", TEXT),
            Column.of("domain", TEXT), Column.of("notify", TEXT), Column.of("orcpt", TEXT), Column.of("state", TEXT),
            Column.of("attempts", LONG), Column.of("next_attempt", TIME), Column.of("last_attempt", TIME),
            Column.of("last_reply", TEXT), Column.of("last_host", TEXT), Column.of("final_reported", BOOLEAN),
            Column.of("delay_reported", BOOLEAN));

    public static final Table TLSRPT_COUNTS = new Table("tlsrpt_counts", "day, policy_domain, policy, result", "policy_domain",
            Column.of("day", DATE), Column.of("policy_domain", TEXT), Column.of("policy", TEXT), Column.of("result", TEXT),
            Column.of("sessions", LONG));

    public static final Table AUTH_LOG = new Table("auth_log", "id", "at",
            Column.of("at", TIME), Column.of("remote", TEXT), Column.of("listener", TEXT), Column.of("protocol", TEXT),
            Column.of("mechanism", TEXT), Column.of("account", TEXT), Column.of("result", TEXT),
            Column.of("tls_version", TEXT), Column.of("certificate", TEXT), Column.of("reason", TEXT));

    /** The directory: copied in one transaction, first. */
    public static final List<Table> DIRECTORY = List.of(DOMAINS, ACCOUNTS, ALIASES, SUBSCRIPTIONS, APP_PASSWORDS,
            CERTIFICATE_BINDINGS, ENROLL_TOKENS, ENROLL_PENDING);

    /** The outbound queue and the TLS-RPT counts: one transaction, after the mailboxes. */
    public static final List<Table> QUEUE = List.of(QUEUE_MESSAGES, QUEUE_RECIPIENTS, TLSRPT_COUNTS);

    private static Column account() {
        return new Column("account_id", Table.Kind.REF, "accounts");
    }
}
