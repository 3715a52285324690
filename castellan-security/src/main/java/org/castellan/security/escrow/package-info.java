/**
 * Key escrow: keys of encryption certificates kept encrypted to an escrow key whose private half
 * exists only as M-of-N shares ({@link org.castellan.security.escrow.Shamir}), recovered under a
 * hash-chained audit log ({@link org.castellan.security.escrow.EscrowAuditLog}). See docs/kms.md.
 */
package org.castellan.security.escrow;
