#!/usr/bin/env bash
# Summarizes where a JFR recording's Java CPU samples went: the top frames (self time) and the
# frames most often on the stack (inclusive), optionally only from a time of day on, so that the
# warm-up can be left out.
#
#   jfr-top.sh RECORDING.jfr [FROM_HH:MM:SS] [ROWS=30]
#
# Record the benchmark's server with
#   CASTELLAN_JAVA_OPTS="-XX:StartFlightRecording=filename=/tmp/server.jfr,settings=profile" \
#     castellan-bench/run smtp.SmtpSubmissionBench 16 25 postfix=no
# Native code (BoringSSL, SQLite, the kernel) is not in these samples: `perf record -g -p PID`
# with `perf report --sort comm,dso` shows that split.
set -euo pipefail
file=${1:?usage: jfr-top.sh RECORDING.jfr [FROM_HH:MM:SS] [ROWS]}
from=${2:-00:00:00}
rows=${3:-30}
jfr print --stack-depth 64 --events jdk.ExecutionSample "$file" | awk -v from="$from" -v rows="$rows" '
function flush() {
  if (ok) { total++; if (top != "") self[top]++; for (k in seen) incl[k]++ }
  delete seen; ok = 0; top = ""; first = 0
}
/jdk.ExecutionSample/ { flush(); next }
/startTime =/ { ok = ($3 >= from); next }
/stackTrace = \[/ { first = 1; next }
/line:/ {
  f = $0; sub(/^[ \t]+/, "", f); sub(/[ \t]+line:.*/, "", f)
  seen[f] = 1
  if (first) { top = f; first = 0 }
}
END {
  flush()
  printf "%d samples from %s on\n", total, from
  print "== self (top frame)"
  for (k in self) printf "%6d %5.1f%%  %s\n", self[k], 100 * self[k] / total, k | "sort -rn | head -" rows
  close("sort -rn | head -" rows)
  print "== on the stack (inclusive)"
  for (k in incl) printf "%6d %5.1f%%  %s\n", incl[k], 100 * incl[k] / total, k | "sort -rn | head -" rows
}'
