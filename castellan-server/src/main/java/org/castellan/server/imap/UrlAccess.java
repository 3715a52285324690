package org.castellan.server.imap;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.castellan.protocol.imap.FetchAttribute;
import org.castellan.protocol.imap.ImapUrl;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Account;
import org.castellan.store.Directory;
import org.castellan.store.Mailbox;
import org.castellan.store.Mailboxes;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;

/**
 * Which message an IMAP URL (RFC 5092) reaches for a session, and the tokens of RFC 4467
 * URLAUTH. The INTERNAL mechanism is HMAC-SHA1 keyed with the mailbox's access key over the URL
 * rump, as RFC 4467 §2.4.1 recommends, in hex after a version mark.
 *
 * <p>SECURITY: a URL without URLAUTH reaches only the session's own mailboxes, looked up by name
 * within its account; naming another user makes it reach nothing. A URLAUTH URL may reach another
 * account's message, and only when the token matches what the owner's mailbox key gives for the
 * rump (compared in constant time), the access identifier admits this session, and it has not
 * expired (RFC 4467 §6). Every refusal looks the same to the client, so a URL tells nothing about
 * what exists. Access keys never leave this class; the log gets no token and no key.
 *
 * <p>Blocking: the methods that take a store call it; run them on the blocking executor.
 */
final class UrlAccess {

    private UrlAccess() {}

    /** RFC 4467 §2.4.1: the one mechanism, which every URLAUTH server implements. */
    static final String INTERNAL = "INTERNAL";

    /**
     * RFC 4467 §2.4.1: the server SHOULD be able to tell which algorithm made a token, so that it
     * can change the algorithm later; {@code 01} is HMAC-SHA1 over the rump.
     */
    private static final String TOKEN_VERSION = "01";

    /** A message, or a part of it, that a URL reaches. */
    record Target(long mailboxId, MessageMeta message, FetchAttribute.Section section, Optional<ImapUrl.Partial> partial) {}

    /** A message's bytes and structure, read once for all that a command takes from it. */
    record Loaded(byte[] content, MessageStructure structure) {}

    /** The INTERNAL token of {@code rump} under {@code key}: lower-case hex. */
    static String token(byte[] key, String rump) {
        try {
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(key, "HmacSHA1"));
            return TOKEN_VERSION + HexFormat.of().formatHex(mac.doFinal(rump.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA1 is part of every JDK", e);
        }
    }

    /** Whether the URL names this server (any port: the listeners share one store). */
    static boolean ourHost(ImapService service, ImapUrl url) {
        return url.server().map(s -> s.host().equalsIgnoreCase(service.hostname())).orElse(false);
    }

    /** Whether two user names are the same account (EmailAddress keys); false for anything that is no address. */
    static boolean sameAccount(String a, String b) {
        try {
            return EmailAddress.of(a).key().equals(EmailAddress.of(b).key());
        } catch (IllegalArgumentException notAnAddress) {
            return false;
        }
    }

    /**
     * The message an absolute URL reaches for this session: through its URLAUTH, or, when
     * {@code plain} allows it and the URL has none, within the session's own account (RFC 4469
     * §5). Empty for anything else, whatever the reason.
     */
    static Optional<Target> reach(ImapSession s, ImapUrl url, boolean plain, Instant now) {
        if (url.form() != ImapUrl.Form.ABSOLUTE || !url.messagePart() || !ourHost(s.service(), url)) return Optional.empty();
        Mailboxes store = s.service().store();
        Optional<String> user = url.server().orElseThrow().user();
        Optional<Mailbox> mailbox;
        if (url.urlAuth().isPresent()) {
            ImapUrl.UrlAuth auth = url.urlAuth().get();
            if (!auth.verified() || !auth.mechanism().orElseThrow().equalsIgnoreCase(INTERNAL)) return Optional.empty();
            // RFC 4467 §3: an expired URL is not valid.
            if (auth.expire().isPresent() && !now.isBefore(auth.expire().get().toInstant())) return Optional.empty();
            if (!admits(s, auth.access()) || user.isEmpty()) return Optional.empty();
            Optional<Account> owner = account(s.service().directory(), user.get());
            if (owner.isEmpty()) return Optional.empty();
            mailbox = store.getMailbox(owner.get().id(), url.mailbox().orElseThrow());
            if (mailbox.isEmpty() || !valid(store, mailbox.get(), auth)) return Optional.empty();
        } else {
            // The invariant: without URLAUTH, a URL is the session's own business only.
            if (!plain || user.isPresent() && !sameAccount(user.get(), s.account())) return Optional.empty();
            mailbox = store.getMailbox(s.accountId(), url.mailbox().orElseThrow());
            if (mailbox.isEmpty()) return Optional.empty();
        }
        Mailbox m = mailbox.get();
        if (url.uidValidity().isPresent() && url.uidValidity().getAsLong() != m.uidValidity()) return Optional.empty();
        long uid = url.uid().getAsLong();
        List<MessageMeta> found = store.listMessages(m.id(), UidRange.of(uid));
        if (found.isEmpty()) return Optional.empty();
        FetchAttribute.Section section = url.section()
                .orElse(new FetchAttribute.Section(List.of(), FetchAttribute.Section.Kind.ALL, List.of()));
        return Optional.of(new Target(m.id(), found.get(0), section, url.partial()));
    }

    /** RFC 4467 §3: who may use a URL with this access identifier. */
    private static boolean admits(ImapSession s, ImapUrl.Access access) {
        return switch (access.kind()) {
            // Every session that reaches a command is logged in; none is anonymous.
            case ANONYMOUS, AUTHUSER -> true;
            case USER -> sameAccount(access.user().orElseThrow(), s.account());
            case SUBMIT -> s.service().submitter(s.account());
        };
    }

    private static boolean valid(Mailboxes store, Mailbox mailbox, ImapUrl.UrlAuth auth) {
        Optional<byte[]> key = store.accessKey(mailbox.id());
        if (key.isEmpty()) return false;
        byte[] expected = token(key.get(), auth.rump()).getBytes(StandardCharsets.US_ASCII);
        // RFC 4467 §10: compare in constant time, so timing tells nothing of the token.
        return MessageDigest.isEqual(expected, auth.token().orElseThrow().getBytes(StandardCharsets.US_ASCII));
    }

    private static Optional<Account> account(Directory directory, String user) {
        try {
            return directory.getAccount(EmailAddress.of(user));
        } catch (IllegalArgumentException notAnAddress) {
            return Optional.empty();
        }
    }

    /** Reads the target's message and its structure. */
    static Loaded load(ImapSession s, Target t) {
        Mailboxes store = s.service().store();
        byte[] content;
        try (InputStream in = store.openMessage(t.mailboxId(), t.message().uid())) {
            content = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Loaded(content, s.service().structures().get(store, t.mailboxId(), t.message(), content));
    }

    /** The octets the URL names (RFC 5092 {@code ;SECTION=}, then {@code ;PARTIAL=}); empty without such a part. */
    static Optional<byte[]> section(Loaded m, Target t) {
        return m.structure().section(m.content(), t.section()).map(b -> partial(b, t.partial()));
    }

    /** RFC 5092 §6: {@code ;PARTIAL=offset.length} as FETCH's {@code <offset.length>}. */
    static byte[] partial(byte[] bytes, Optional<ImapUrl.Partial> partial) {
        if (partial.isEmpty()) return bytes;
        int from = (int) Math.min(bytes.length, partial.get().offset());
        int to = partial.get().length().isPresent()
                ? (int) Math.min(bytes.length, from + partial.get().length().getAsLong()) : bytes.length;
        return java.util.Arrays.copyOfRange(bytes, from, to);
    }
}
