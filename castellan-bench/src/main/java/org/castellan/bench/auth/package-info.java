/**
 * Login cost: PLAIN with and without the verification cache, SCRAM-SHA-256, and what a refused
 * attempt from a blocked source costs the server.
 */
package org.castellan.bench.auth;
