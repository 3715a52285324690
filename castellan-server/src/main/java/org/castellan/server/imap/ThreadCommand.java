package org.castellan.server.imap;

import java.util.ArrayList;
import java.util.List;
import org.castellan.protocol.imap.ImapCommand;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.imap.Threading;

/**
 * RFC 5256 THREAD and UID THREAD, ORDEREDSUBJECT and REFERENCES. The messages come from
 * {@link Search}, the header fields threading needs from the structure stored with each
 * message; the algorithms are {@link Threading}'s.
 */
final class ThreadCommand {

    private ThreadCommand() {}

    static void run(ImapSession s, String tag, ImapCommand.Thread c) {
        Search.Matcher matcher = Search.matcherFor(s, tag, c.charset(), c.key());
        if (matcher == null) return;
        s.blocking(() -> {
            List<Threading.Message> messages = new ArrayList<>();
            for (Search.Hit h : matcher.matching()) {
                MessageStructure st = Sort.structure(matcher, h);
                messages.add(new Threading.Message(c.uid() ? h.meta().uid() : h.msn(), Sort.sentDate(st, h),
                        st.header("Subject").orElse(null), st.header("Message-ID").orElse(null),
                        st.header("References").orElse(null), st.header("In-Reply-To").orElse(null)));
            }
            return Threading.render(Threading.thread(c.algorithm(), messages));
        }, threads -> {
            s.untagged(threads.isEmpty() ? "THREAD" : "THREAD " + threads);
            s.finish(tag, "OK THREAD completed", c.uid());
        }, e -> s.storeFailure(tag, e));
    }
}
