/** Castellan security module. */
package org.castellan.security;
