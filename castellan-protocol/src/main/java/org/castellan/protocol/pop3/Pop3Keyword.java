package org.castellan.protocol.pop3;

import java.util.Locale;
import java.util.Optional;

/** The POP3 commands Castellan knows. Keywords are case-insensitive (RFC 1939 §3). */
public enum Pop3Keyword {
    USER, PASS, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT, TOP, UIDL, CAPA, STLS, AUTH;

    /** The keyword spelled {@code word} in any case; empty for an unknown command. */
    public static Optional<Pop3Keyword> of(String word) {
        // RFC 1939 §3: keywords are three or four characters; longer words are never commands.
        if (word.length() < 3 || word.length() > 4) return Optional.empty();
        try {
            return Optional.of(valueOf(word.toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
