package org.castellan.server.pop3;

import static org.castellan.protocol.pop3.Pop3Keyword.AUTH;
import static org.castellan.protocol.pop3.Pop3Keyword.CAPA;
import static org.castellan.protocol.pop3.Pop3Keyword.DELE;
import static org.castellan.protocol.pop3.Pop3Keyword.LIST;
import static org.castellan.protocol.pop3.Pop3Keyword.NOOP;
import static org.castellan.protocol.pop3.Pop3Keyword.PASS;
import static org.castellan.protocol.pop3.Pop3Keyword.QUIT;
import static org.castellan.protocol.pop3.Pop3Keyword.RETR;
import static org.castellan.protocol.pop3.Pop3Keyword.RSET;
import static org.castellan.protocol.pop3.Pop3Keyword.STAT;
import static org.castellan.protocol.pop3.Pop3Keyword.STLS;
import static org.castellan.protocol.pop3.Pop3Keyword.TOP;
import static org.castellan.protocol.pop3.Pop3Keyword.UIDL;
import static org.castellan.protocol.pop3.Pop3Keyword.USER;

import java.util.EnumSet;
import java.util.Set;
import org.castellan.protocol.pop3.Pop3Keyword;

/**
 * The states of a POP3 session (RFC 1939 §3) and the commands each accepts. The dispatcher checks
 * this table once; command handlers never check the state again.
 */
enum Pop3State {
    /** RFC 1939 §4, RFC 2449 §5 (CAPA in both states), RFC 2595 §4 (STLS), RFC 5034 §4 (AUTH). */
    AUTHORIZATION(EnumSet.of(USER, PASS, AUTH, STLS, CAPA, QUIT)),
    /** RFC 1939 §5; TOP and UIDL are the optional commands of §7. */
    TRANSACTION(EnumSet.of(STAT, LIST, RETR, DELE, NOOP, RSET, TOP, UIDL, CAPA, QUIT)),
    /** RFC 1939 §6: the server is removing messages and then closes; nothing more is read. */
    UPDATE(EnumSet.noneOf(Pop3Keyword.class));

    private final Set<Pop3Keyword> allowed;

    Pop3State(Set<Pop3Keyword> allowed) {
        this.allowed = allowed;
    }

    boolean allows(Pop3Keyword keyword) {
        return allowed.contains(keyword);
    }
}
