package org.castellan.protocol.pop3;

import java.util.Arrays;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A syntactically valid POP3 command, as {@link Pop3Parser} returns it. Message numbers are
 * positive; whether they name a message is the session's business.
 */
public sealed interface Pop3Command {

    Pop3Keyword keyword();

    /** RFC 1939 §7 USER name. */
    record User(String name) implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.USER; }
    }

    /**
     * RFC 1939 §7 PASS string: the rest of the line, spaces included. Held as characters so the
     * session can wipe them; {@link #toString()} never shows them.
     */
    record Pass(char[] password) implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.PASS; }

        @Override
        public String toString() { return "Pass[***]"; }

        @Override
        public boolean equals(Object o) { return o instanceof Pass p && Arrays.equals(password, p.password); }

        @Override
        public int hashCode() { return Arrays.hashCode(password); }
    }

    record Stat() implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.STAT; }
    }

    /** LIST with an optional message number. */
    record List(OptionalInt message) implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.LIST; }
    }

    record Retr(int message) implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.RETR; }
    }

    record Dele(int message) implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.DELE; }
    }

    record Noop() implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.NOOP; }
    }

    record Rset() implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.RSET; }
    }

    record Quit() implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.QUIT; }
    }

    /** RFC 1939 §7 TOP msg n: the header, the blank line and {@code lines} lines of the body. */
    record Top(int message, int lines) implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.TOP; }
    }

    /** UIDL with an optional message number. */
    record Uidl(OptionalInt message) implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.UIDL; }
    }

    record Capa() implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.CAPA; }
    }

    record Stls() implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.STLS; }
    }

    /**
     * RFC 5034 §4 AUTH: {@code mechanism} is upper-cased; without one, the client asks for the
     * list of mechanisms (a widespread extension of RFC 1734 clients).
     *
     * @param initialResponse the decoded initial response: empty when none was sent, an empty
     *     array for "=" (RFC 5034 §4)
     */
    record Auth(Optional<String> mechanism, Optional<byte[]> initialResponse) implements Pop3Command {
        public Pop3Keyword keyword() { return Pop3Keyword.AUTH; }

        @Override
        public String toString() { return "Auth[" + mechanism.orElse("") + (initialResponse.isPresent() ? " ***" : "") + "]"; }

        @Override
        public boolean equals(Object o) {
            return o instanceof Auth a && mechanism.equals(a.mechanism)
                    && initialResponse.isPresent() == a.initialResponse.isPresent()
                    && (initialResponse.isEmpty() || Arrays.equals(initialResponse.get(), a.initialResponse.get()));
        }

        @Override
        public int hashCode() { return mechanism.hashCode(); }
    }
}
