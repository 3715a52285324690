package org.castellan.server.imap;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ImapUrl;
import org.castellan.protocol.imap.Literal;
import org.castellan.store.AppendResult;
import org.castellan.store.Flags;
import org.castellan.store.StoreException;

/**
 * RFC 4469 APPEND with CATENATE: the message is built from TEXT literals and the octets IMAP
 * URLs name, in order. A URL reaches the user's own messages, or another account's through a
 * valid URLAUTH (RFC 4469 §5, RFC 4467); relative URLs are read against the selected mailbox.
 *
 * <p>Every URL is checked, and the size summed, before anything is stored: the first URL that
 * reaches nothing fails the command with {@code NO [BADURL url]}, a message larger than
 * APPENDLIMIT with {@code NO [TOOBIG]}, and in both cases nothing is appended. The store then
 * reads the parts one after the other, each opened only when its turn comes: a TEXT literal from
 * where the session put it (memory or spool), a URL's part from its message, loaded then.
 */
final class Catenate {

    private Catenate() {}

    /** One part: a TEXT literal, or a URL with the text it came as. */
    private record Part(Literal text, String url, ImapUrl parsed) {}

    /** What the store step came to: appended, or the refusal. */
    private record Outcome(AppendResult appended, String badUrl, boolean tooBig) {}

    static void run(ImapSession s, String tag, ImapCommand.Catenate c) {
        ImapUrl base = base(s);
        List<Part> parts = new ArrayList<>();
        for (ImapCommand.CatPart p : c.parts()) {
            switch (p) {
                case ImapCommand.CatPart.Text t -> parts.add(new Part(t.octets(), null, null));
                case ImapCommand.CatPart.Url u -> {
                    if (!(ImapUrl.parse(u.url()) instanceof ImapUrl.Parsed(ImapUrl url))) {
                        release(c);
                        s.no(tag, "BADURL " + echo(u.url()), "Invalid IMAP URL");
                        return;
                    }
                    parts.add(new Part(null, u.url(), url.resolve(base)));
                }
            }
        }
        Instant date = c.date().map(OffsetDateTime::toInstant).orElse(null);
        Instant now = Instant.now();
        var store = s.service().store();
        s.blocking(() -> {
            var flags = Flags.normalize(c.flags());
            var mailbox = store.getMailbox(s.accountId(), c.mailbox()).orElseThrow(() -> StoreException.notFound("no mailbox"));
            List<InputStream> streams = new ArrayList<>();
            long total = 0;
            for (Part p : parts) {
                if (p.text() != null) {
                    total += p.text().size();
                    streams.add(new Deferred(p.text()::open));
                } else {
                    Optional<UrlAccess.Target> target = UrlAccess.reach(s, p.parsed(), true, now);
                    Optional<byte[]> octets = target.flatMap(t -> UrlAccess.section(UrlAccess.load(s, t), t));
                    if (octets.isEmpty()) return new Outcome(null, p.url(), false);
                    total += octets.get().length;
                    UrlAccess.Target t = target.get();
                    streams.add(new Deferred(() -> new ByteArrayInputStream(octets(s, t))));
                }
                // RFC 4469 §5: larger than the server takes is TOOBIG, found before anything is stored.
                if (total > ImapSession.APPEND_LIMIT) return new Outcome(null, null, true);
            }
            try (InputStream message = new SequenceInputStream(Collections.enumeration(streams))) {
                return new Outcome(store.append(mailbox.id(), message, flags, date), null, false);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, o -> {
            release(c);
            if (o.badUrl() != null) {
                s.no(tag, "BADURL " + echo(o.badUrl()), "CATENATE URL does not name a message part this session may read");
            } else if (o.tooBig()) {
                s.no(tag, "TOOBIG", "CATENATE message larger than APPENDLIMIT " + ImapSession.APPEND_LIMIT);
            } else {
                AppendResult r = o.appended();
                s.afterOwnAddition(r.mailboxId(), r.uid(),
                        () -> s.ok(tag, "[APPENDUID " + r.uidValidity() + " " + r.uid() + "] CATENATE completed"));
            }
        }, e -> {
            release(c);
            s.targetFailure(tag, e);
        });
    }

    /** The TEXT literals are released whatever the outcome (a spooled one deletes its file). */
    private static void release(ImapCommand.Catenate c) {
        for (ImapCommand.CatPart p : c.parts()) if (p instanceof ImapCommand.CatPart.Text t) t.octets().close();
    }

    /** A URL's octets, read again when the store reaches them; a part gone meanwhile is an I/O failure. */
    private static byte[] octets(ImapSession s, UrlAccess.Target t) throws IOException {
        try {
            return UrlAccess.section(UrlAccess.load(s, t), t).orElseThrow(() -> new IOException("a CATENATE part is gone"));
        } catch (StoreException e) {
            throw new IOException("a CATENATE part is gone", e);
        }
    }

    /**
     * The base of relative URLs: this user on this server, in the selected mailbox if there is one
     * (RFC 4469 §5).
     */
    private static ImapUrl base(ImapSession s) {
        var server = new ImapUrl.Server(Optional.of(s.account()), Optional.empty(), s.service().hostname(), OptionalInt.empty());
        return new ImapUrl(ImapUrl.Form.ABSOLUTE, Optional.of(server), s.selected().map(v -> v.mailbox.name()),
                OptionalLong.empty(), OptionalLong.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** RFC 4469 §5 {@code url-resp-text}: the URL as given, without "]" (errata 2002) or control characters. */
    private static String echo(String url) {
        StringBuilder b = new StringBuilder();
        for (char ch : url.toCharArray()) {
            if (ch == ']') b.append("%5D");
            else if (ch < 0x20 || ch == 0x7f) b.append('?');
            else b.append(ch);
        }
        return b.toString();
    }

    /** Opens where a stream comes from only when the store reaches it, so one part is open at a time. */
    private interface Source {
        InputStream open() throws IOException;
    }

    private static final class Deferred extends InputStream {
        private final Source source;
        private InputStream in;

        Deferred(Source source) {
            this.source = source;
        }

        private InputStream in() throws IOException {
            if (in == null) in = source.open();
            return in;
        }

        @Override
        public int read() throws IOException {
            return in().read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return in().read(b, off, len);
        }

        @Override
        public void close() throws IOException {
            if (in != null) in.close();
        }
    }
}
