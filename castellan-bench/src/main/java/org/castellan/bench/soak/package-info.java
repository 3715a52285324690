/**
 * The soak: a Castellan server under an hour of mixed IMAP load from well-behaved clients while
 * attackers guess passwords, hog output, flood, trickle and harvest recipients, with the server's
 * memory, CPU, descriptors and the clients' latency sampled over time. Not part of the test run.
 */
package org.castellan.bench.soak;
