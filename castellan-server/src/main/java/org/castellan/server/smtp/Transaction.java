package org.castellan.server.smtp;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.Mailbox;
import org.castellan.protocol.smtp.SmtpCommand;

/** The envelope of the message being received (RFC 5321 §3.3): sender, then accepted recipients. */
final class Transaction {

    /**
     * One accepted recipient: where the message goes.
     *
     * @param quotaLimited whether the account had a quota at RCPT time; only those are checked
     *     again with the real size before delivery (the store enforces every quota anyway)
     * @param notifyOn RCPT's NOTIFY (RFC 3461 §4.1): empty when not given, an empty set for NEVER
     * @param orcpt RCPT's ORCPT (RFC 3461 §4.2), {@code addr-type;decoded address}
     */
    record Recipient(Mailbox address, long accountId, long mailboxId, boolean quotaLimited,
            Optional<Set<Dsn.Notify>> notifyOn, Optional<String> orcpt) {
    }

    /** A recipient in another domain, with its RFC 3461 parameters for the queue. */
    record RemoteRecipient(Mailbox address, Optional<Set<Dsn.Notify>> notifyOn, Optional<String> orcpt) {
    }

    final Optional<Mailbox> from;
    final OptionalLong declaredSize;
    final boolean smtpUtf8;
    /** MAIL's RET (RFC 3461 §4.3): how much of the message a notification returns. */
    final Dsn.Ret ret;
    /** MAIL's ENVID (RFC 3461 §4.4), decoded; a notification carries it back. */
    final Optional<String> envid;
    /**
     * The key of the envelope sender once MAIL found it to be the authenticated account's own
     * address or alias; a From: field with the same address needs no second look-up.
     */
    String verifiedSenderKey;
    final List<Recipient> recipients = new ArrayList<>();
    /** Recipients in other domains, accepted on authenticated submission for the outbound queue. */
    final List<RemoteRecipient> remote = new ArrayList<>();
    /** MAIL's BODY parameter (RFC 6152), which the queue keeps for the receiving server. */
    SmtpCommand.Body body = SmtpCommand.Body.SEVEN_BIT;
    /** MAIL's REQUIRETLS (RFC 8689 §4.1), which the queue keeps for the engine. */
    boolean requireTls;
    private final Set<Long> accounts = new HashSet<>();
    private final Set<String> remoteKeys = new HashSet<>();

    Transaction(Optional<Mailbox> from, OptionalLong declaredSize, boolean smtpUtf8, Dsn.Ret ret, Optional<String> envid) {
        this.from = from;
        this.declaredSize = declaredSize;
        this.smtpUtf8 = smtpUtf8;
        this.ret = ret;
        this.envid = envid;
    }

    /** Adds a recipient; a second address for an account already listed (an alias, a case variant) is collapsed. */
    void add(Recipient r) {
        if (accounts.add(r.accountId())) recipients.add(r);
    }

    /** Adds a remote recipient; the same address twice (in any case of its domain) is listed once. */
    void addRemote(RemoteRecipient r) {
        if (remoteKeys.add(r.address().localPart() + "@" + r.address().domainLowerCase())) remote.add(r);
    }

    /** Local and remote recipients together, as RCPT's limit counts them. */
    int recipientCount() {
        return recipients.size() + remote.size();
    }

    boolean hasAccount(long accountId) {
        return accounts.contains(accountId);
    }

    List<Long> mailboxIds() {
        return recipients.stream().map(Recipient::mailboxId).toList();
    }
}
