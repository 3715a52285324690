/**
 * Benchmarks: each prints its figures and a ratio against a reference on the same machine.
 * Run with {@code castellan-bench/run NAME}; never part of the test run.
 */
package org.castellan.bench;
