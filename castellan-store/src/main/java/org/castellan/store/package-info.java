/** Castellan store module. */
package org.castellan.store;
