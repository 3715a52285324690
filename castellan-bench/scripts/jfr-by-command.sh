#!/usr/bin/env bash
# Where an IMAP server's Java CPU samples and allocation went, by command and by what the command was doing:
# each sample is charged to the innermost IMAP command class on its stack (Fetch, StoreCommand,
# Append, ...) or, with none, to the event loop's own work (TLS, reading and parsing, writing), the
# group-commit writer or the authentication pool; then to the layer its innermost recognised frame
# belongs to (store reads, store writes, MIME structures, response encoding, notifications, SQL).
# These are Java samples only: time in native code (BoringSSL, SQLite's C, the kernel) is not in
# them (perf record shows that split, docs/performance.md). Allocation (jdk.ObjectAllocationSample,
# each sample standing for its weight in bytes) is charged to commands the same way.
#
#   jfr-by-command.sh RECORDING.jfr [FROM_HH:MM:SS]
#
# Record the server of a benchmark with, e.g.,
#   CASTELLAN_BENCH_SERVER_JVM="-XX:StartFlightRecording=filename=/tmp/server-%p.jfr,settings=profile" \
#     castellan-bench/run imap.MixedWorkloadBench 50 60 100 4096 no open 1
# and give FROM the time the measured window began, so that the logins and warm-up are left out.
set -euo pipefail
file=${1:?usage: jfr-by-command.sh RECORDING.jfr [FROM_HH:MM:SS]}
from=${2:-00:00:00}
for events in jdk.ExecutionSample jdk.ObjectAllocationSample; do
jfr print --stack-depth 96 --events "$events" "$file" | awk -v from="$from" -v events="$events" '
function command_of(f,   c) {
  if (f !~ /^org\.castellan\.server\.imap\./) return ""
  c = f; sub(/^org\.castellan\.server\.imap\./, "", c); sub(/[.$(].*/, "", c)
  if (c ~ /^(Append|Authenticate|Catenate|Check|Close|Compress|Copy|Create|Delete|Enable|Esearch|Expunge|Fetch|GenUrlAuth|GetQuota|GetQuotaRoot|Id|Idle|ListCommand|Login|Logout|Namespace|Noop|Notify|Rename|Search|Select|SetQuota|Sort|StartTls|Status|StoreCommand|Subscribe|ThreadCommand|UrlFetch)$/) return c
  return ""
}
function layer_of(f) {
  if (f ~ /^org\.castellan\.store\..*GroupCommitWriter|^org\.castellan\.store\.embedded\.EmbeddedMailStore\.write/) return "store write"
  if (f ~ /^org\.castellan\.store\..*(ReadPool|EmbeddedMailStore\.read\(|PgMailboxes)/) return "store read"
  if (f ~ /^org\.castellan\.store\..*BlobStore/) return "blobs"
  if (f ~ /^org\.castellan\.protocol\.imap\.MessageStructure/) return "MIME structure"
  if (f ~ /^org\.castellan\.server\.imap\.(FetchOutput|NewMessageFetches)|^org\.castellan\.protocol\.imap\.ImapStrings/) return "response encoding"
  if (f ~ /^org\.castellan\.server\.imap\.(SelectedMailbox|Notifier)|MailboxEvents|ChangeFeed/) return "notifications"
  if (f ~ /^org\.castellan\.protocol\.imap\.ImapParser|^org\.castellan\.server\.transport\.LineSession/) return "parsing"
  if (f ~ /SslHandler|OpenSsl|SSLEngine/) return "TLS"
  if (f ~ /^org\.sqlite\./) return "SQLite"
  if (f ~ /^org\.castellan\.security\./) return "authentication"
  return ""
}
function flush(   who, what) {
  if (ok && n > 0) {
    who = ""; what = ""
    for (i = 1; i <= n; i++) { if (who == "") who = command_of(st[i]); if (what == "") what = layer_of(st[i]) }
    if (who == "") {
      for (i = 1; i <= n; i++) {
        if (st[i] ~ /GroupCommitWriter/) { who = "(group commit)"; break }
        if (st[i] ~ /^org\.castellan\.security\.auth\./) { who = "(authentication)"; break }
        if (st[i] ~ /io\.netty\.channel\.SingleThreadIoEventLoop/) { who = "(event loop)"; break }
      }
      if (who == "") who = "(other)"
    }
    if (what == "") what = "other"
    total += w; by[who] += w; cell[who SUBSEP what] += w; layers[what] = 1
  }
  n = 0; ok = 0; w = 1
}
/^jdk\.(ExecutionSample|ObjectAllocationSample)/ { flush(); next }
/startTime =/ { ok = ($3 >= from); next }
/weight =/ { w = $3; if ($4 == "kB") w *= 1e3; else if ($4 == "MB") w *= 1e6; else if ($4 == "GB") w *= 1e9; next }
/line:/ { f = $0; sub(/^[ \t]+/, "", f); sub(/[ \t]+line:.*/, "", f); st[++n] = f }
BEGIN { w = 1 }
END {
  flush()
  alloc = events == "jdk.ObjectAllocationSample"
  if (alloc) printf "\n%.0f MB allocated from %s on, by command (%% of all), then by layer (%% of the command)\n", total / 1e6, from
  else printf "%d CPU samples from %s on, by command (%% of all), then by layer (%% of the command)\n", total, from
  for (c in by) {
    line = sprintf("%8.0f %5.1f%%  %-18s", alloc ? by[c] / 1e6 : by[c], 100 * by[c] / total, c)
    for (l in layers) if (cell[c SUBSEP l] > 0) line = line sprintf("  %s %d%%", l, 100 * cell[c SUBSEP l] / by[c] + 0.5)
    print line | "sort -rn"
  }
  close("sort -rn")
}'
done
