/**
 * Pure codecs and state machines for Castellan's protocols. Nothing in this module does I/O,
 * reads the clock or touches storage: parsers take bytes and return values or error values.
 */
package org.castellan.protocol;
