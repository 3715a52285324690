/**
 * IMAP (RFC 9051, with RFC 3501 forms) as pure values: the incremental command parser, sequence
 * sets, fetch attributes, search keys, string encoding for responses and the MIME structure a
 * FETCH reports. Nothing here does I/O.
 */
package org.castellan.protocol.imap;
