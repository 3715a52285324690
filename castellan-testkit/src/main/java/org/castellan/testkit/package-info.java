/** Castellan testkit module. */
package org.castellan.testkit;
