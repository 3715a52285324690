/**
 * The configuration file {@code castellan.toml}: a strict TOML subset read into immutable,
 * validated records ({@link org.castellan.server.config.CastellanConfig}). Every key is described
 * once, in {@link org.castellan.server.config.ConfigKeys}; the reference documentation, the
 * commented template and the list of known keys are all generated from it.
 */
package org.castellan.server.config;
