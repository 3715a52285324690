/** The TOML subset reader behind {@link org.castellan.server.config.CastellanConfig}; not API. */
package org.castellan.server.config.internal;
