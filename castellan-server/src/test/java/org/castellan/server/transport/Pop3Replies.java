package org.castellan.server.transport;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.protocol.pop3.Pop3Command;
import org.castellan.protocol.pop3.Pop3Parser;

/**
 * Pairs what a POP3 client sent with what the server answered and fails on anything RFC 1939 §3
 * does not allow: one response per line the client completed, in order, each a status line
 * ("+OK" or "-ERR", printable ASCII, no Java exception) or, during AUTH, a continuation ("+ ");
 * after "+OK" to CAPA, LIST or UIDL without argument, RETR, TOP and AUTH without mechanism a
 * multi-line body that ends with a lone "." and has every other line starting with "." stuffed.
 * The client's lines are framed by the same pure {@link Pop3Parser} the server uses, in the mode
 * the server's answers show. Also keeps what a consistency check needs: whether the client logged
 * in, the deletions it marked, what STAT said, and whether QUIT committed them.
 */
final class Pop3Replies {

    private static final Pattern STATUS = Pattern.compile("(\\+OK|-ERR)( [\\x20-\\x7e]*)?");
    private static final Pattern STAT = Pattern.compile("\\+OK ([0-9]+) ([0-9]+)");

    private final Pop3Parser framing = new Pop3Parser();
    private final long messages;
    private Pop3Parser.Mode mode = Pop3Parser.Mode.COMMAND;
    private int sentRead;
    private int read;
    private boolean greeted;
    private boolean stopped;
    /** A line of the client's that the server has not answered yet. */
    private Pop3Parser.Result unanswered;
    private boolean loggedIn;
    private int marked;
    private boolean committed;

    /** @param messages how many messages the maildrop holds when the client logs in */
    Pop3Replies(long messages) {
        this.messages = messages;
    }

    /**
     * Reads the responses to the lines the client has completed. With {@code ended}, the server
     * has closed the connection and may have left the rest of the lines unanswered.
     */
    void next(byte[] sent, byte[] received, boolean ended) {
        if (!greeted) {
            String greeting = line(received);
            if (greeting == null) return;
            if (!greeting.startsWith("+OK")) throw new AssertionError("greeting is not +OK: " + greeting);
            greeted = true;
        }
        while (!stopped) {
            if (unanswered == null) {
                ByteBuffer in = ByteBuffer.wrap(sent, sentRead, sent.length - sentRead);
                Pop3Parser.Result r = framing.next(in, mode);
                sentRead = in.position();
                if (r instanceof Pop3Parser.NeedMore) return;
                unanswered = r;
            }
            if (!answer(received)) {
                if (!ended) throw new AssertionError("no answer to a complete line while the connection is open: " + unanswered);
                return;
            }
            unanswered = null;
        }
    }

    boolean loggedIn() {
        return loggedIn;
    }

    /** Whether QUIT in the TRANSACTION state was answered +OK: the marked messages are gone (RFC 1939 §6). */
    boolean committed() {
        return committed;
    }

    int marked() {
        return marked;
    }

    /** Reads the response to {@link #unanswered}; false if it is not all here. */
    private boolean answer(byte[] received) {
        int start = read;
        String status = line(received);
        if (status == null) return false;
        if (status.equals("+") || status.startsWith("+ ")) {
            // RFC 5034 §4: a challenge; the next line is the client's SASL response.
            if (!(unanswered instanceof Pop3Parser.SaslResponse || isAuth(unanswered))) {
                throw new AssertionError("a continuation outside AUTH: " + status);
            }
            mode = Pop3Parser.Mode.SASL_RESPONSE;
            return true;
        }
        Matcher m = STATUS.matcher(status);
        if (!m.matches()) throw new AssertionError("not a POP3 status line: " + status);
        if (ImapReplies.EXCEPTION.matcher(status).find()) throw new AssertionError("an exception in a response: " + status);
        boolean ok = m.group(1).equals("+OK");
        if (ok && unanswered instanceof Pop3Parser.Command c && multiLine(c.command()) && !body(received)) {
            read = start;
            return false;
        }
        if (unanswered instanceof Pop3Parser.Error e && e.kind() == Pop3Parser.ErrorKind.LINE_TOO_LONG) stopped = true;
        if (mode == Pop3Parser.Mode.SASL_RESPONSE || isAuth(unanswered)) {
            // The end of an AUTH exchange: +OK is a login (RFC 5034 §4).
            mode = Pop3Parser.Mode.COMMAND;
            loggedIn |= ok;
        }
        if (ok && unanswered instanceof Pop3Parser.Command c) effects(c.command(), status);
        return true;
    }

    private void effects(Pop3Command command, String status) {
        switch (command) {
            case Pop3Command.Pass p -> loggedIn = true;
            case Pop3Command.Dele d -> marked++;
            case Pop3Command.Rset r -> marked = 0;
            case Pop3Command.Stls s -> stopped = true; // RFC 2595 §4: TLS follows
            case Pop3Command.Quit q -> {
                committed = loggedIn;
                stopped = true;
            }
            case Pop3Command.Stat s -> {
                Matcher m = STAT.matcher(status);
                if (!m.matches()) throw new AssertionError("STAT answered " + status);
                // RFC 1939 §5: messages marked as deleted are not counted.
                long expected = messages - marked;
                if (Long.parseLong(m.group(1)) != expected) {
                    throw new AssertionError("STAT says " + m.group(1) + " messages, the maildrop has " + expected);
                }
            }
            default -> { }
        }
    }

    private static boolean isAuth(Pop3Parser.Result r) {
        return r instanceof Pop3Parser.Command c && c.command() instanceof Pop3Command.Auth a && a.mechanism().isPresent();
    }

    /** RFC 1939 §3 and RFC 2449 §5: the commands whose +OK is followed by a multi-line body. */
    private static boolean multiLine(Pop3Command c) {
        return switch (c) {
            case Pop3Command.Capa x -> true;
            case Pop3Command.List l -> l.message().isEmpty();
            case Pop3Command.Uidl u -> u.message().isEmpty();
            case Pop3Command.Retr x -> true;
            case Pop3Command.Top x -> true;
            case Pop3Command.Auth a -> a.mechanism().isEmpty();
            default -> false;
        };
    }

    /** Reads a multi-line body up to its lone "."; false if it is not all here. */
    private boolean body(byte[] received) {
        while (true) {
            int crlf = ImapReplies.indexOfCrlf(received, read);
            if (crlf < 0) return false;
            int from = read;
            read = crlf + 2;
            if (crlf - from == 1 && received[from] == '.') return true;
            if (received[from] == '.' && (crlf - from < 2 || received[from + 1] != '.')) {
                throw new AssertionError("a body line starting with '.' that is not stuffed");
            }
        }
    }

    /** The next line of the server's, without CRLF; null if it is not all here. */
    private String line(byte[] received) {
        int crlf = ImapReplies.indexOfCrlf(received, read);
        if (crlf < 0) return null;
        String line = new String(received, read, crlf - read, StandardCharsets.UTF_8);
        read = crlf + 2;
        return line;
    }
}
