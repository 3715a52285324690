/** Castellan bench module. */
package org.castellan.bench;
