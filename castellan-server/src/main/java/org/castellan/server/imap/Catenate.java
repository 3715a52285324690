package org.castellan.server.imap;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.ImapUrl;
import org.castellan.store.NewMessage;
import org.castellan.store.StoreException;

/**
 * RFC 4469 CATENATE, one message of an {@link Append}: the message is built from TEXT literals and
 * the octets IMAP URLs name, in order. A URL reaches the user's own messages, or another account's
 * through a valid URLAUTH (RFC 4469 §5, RFC 4467); relative URLs are read against the selected
 * mailbox.
 *
 * <p>Every URL is checked, and the size summed, before anything is stored: the first URL that
 * reaches nothing refuses the whole APPEND with {@code NO [BADURL url]}, a message larger than
 * APPENDLIMIT with {@code NO [TOOBIG]}, and in both cases nothing is appended (RFC 4469 §5, all of
 * a MULTIAPPEND with it, RFC 3502 §6.3.11). The store then reads the parts one after the other,
 * each opened only when its turn comes: a TEXT literal from where the session put it (memory or
 * spool), a URL's part from its message, loaded then. The literals are the caller's to release.
 */
final class Catenate {

    private Catenate() {}

    /** Why a CATENATE is refused: the response code and the text of the tagged NO. */
    record Refusal(String code, String text) {}

    /** A message checked and ready for the store, or the refusal. */
    record Built(NewMessage.Content content, Refusal refusal) {}

    /**
     * Checks every part of one CATENATE and sums its size; on the store's thread, since reaching a
     * URL reads the store.
     */
    static Built build(ImapSession s, ImapCommand.Append.Data.Catenated c, ImapUrl base, Instant now) {
        List<InputStream> streams = new ArrayList<>();
        long total = 0;
        for (ImapCommand.CatPart p : c.parts()) {
            switch (p) {
                case ImapCommand.CatPart.Text t -> {
                    total += t.octets().size();
                    streams.add(new Deferred(t.octets()::open));
                }
                case ImapCommand.CatPart.Url u -> {
                    if (!(ImapUrl.parse(u.url()) instanceof ImapUrl.Parsed(ImapUrl url))) {
                        return refused("BADURL " + echo(u.url()), "Invalid IMAP URL");
                    }
                    Optional<UrlAccess.Target> target = UrlAccess.reach(s, url.resolve(base), true, now);
                    Optional<byte[]> octets = target.flatMap(t -> UrlAccess.section(UrlAccess.load(s, t), t));
                    if (octets.isEmpty()) {
                        return refused("BADURL " + echo(u.url()), "CATENATE URL does not name a message part this session may read");
                    }
                    total += octets.get().length;
                    UrlAccess.Target t = target.get();
                    streams.add(new Deferred(() -> new ByteArrayInputStream(octets(s, t))));
                }
            }
            // RFC 4469 §5: larger than the server takes is TOOBIG, found before anything is stored.
            if (total > ImapSession.APPEND_LIMIT) {
                return refused("TOOBIG", "CATENATE message larger than APPENDLIMIT " + ImapSession.APPEND_LIMIT);
            }
        }
        return new Built(() -> new SequenceInputStream(Collections.enumeration(streams)), null);
    }

    private static Built refused(String code, String text) {
        return new Built(null, new Refusal(code, text));
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
    static ImapUrl base(ImapSession s) {
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
