package org.castellan.server.config;

/** What a node does. Configuration values: {@code "all"}, {@code "edge"}, {@code "mailbox"}. */
public enum Role {
    /** Edge and mailbox in one process: the single-server deployment. */
    ALL,
    /** Terminates TLS, pre-authenticates and proxies to mailbox nodes; stores no mail. */
    EDGE,
    /** Stores mail and serves edges over mutually authenticated TLS. */
    MAILBOX
}
