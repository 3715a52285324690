package org.castellan.server.pop3;

import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The exclusive-access lock on each account's maildrop (RFC 1939 §4): one POP3 session per
 * account at a time, so two sessions never hand out message numbers over different snapshots and
 * delete each other's messages. In-process: one server owns its store.
 */
final class MaildropLocks {

    private final Set<String> held = ConcurrentHashMap.newKeySet();

    /** Takes the lock for {@code account}; false if another session holds it. */
    boolean tryLock(String account) {
        return held.add(key(account));
    }

    void unlock(String account) {
        held.remove(key(account));
    }

    private static String key(String account) {
        return account.toLowerCase(Locale.ROOT);
    }
}
