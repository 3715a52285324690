/** Castellan server module. */
package org.castellan.server;
