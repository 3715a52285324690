/**
 * The Castellan server. {@link org.castellan.server.Castellan} wires the parts together; the
 * subpackages hold the transport and connection path ({@code transport}), configuration
 * ({@code config}), data-directory initialisation ({@code setup}) and the command line
 * ({@code cli}).
 */
package org.castellan.server;
