#!/usr/bin/env bash
# Load test (issue 12 point 9): the release binary's demo (the demo website with the gate in
# front, one process) on loopback ports, and wrk holding CONNECTIONS (1 000) keep-alive
# connections to the gate's home page for DURATION (60 s). Reports the errors (socket errors and
# non-2xx/3xx answers), the latency percentiles, the gate's peak RSS and its RSS when idle
# before and 10 s after. Loopback only; bounded in time (wrk stops after DURATION, everything is
# killed on exit) and in connections.
#
#   scripts/load-test.sh                      # 1 000 connections, 60 s
#   CONNECTIONS=200 DURATION=10 scripts/load-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-1000}
DURATION=${DURATION:-60}
THREADS=${THREADS:-2}
PUBLIC_PORT=${PUBLIC_PORT:-18080}
ADMIN_PORT=${ADMIN_PORT:-18081}

# shellcheck source=lib/tools.sh
source scripts/lib/tools.sh
need_debian load-test wrk:wrk curl:curl

# wrk and the gate each hold one descriptor per connection (the gate also one per upstream
# connection): raise the open-file limit for both, which inherit it from this shell.
raise_open_files load-test $((CONNECTIONS * 3 + 256))
bin=$(gate_binary load-test "$PWD")
log=$(mktemp)
samples=$(mktemp)
trap 'kill "$gate" 2>/dev/null || true; kill "$sampler" 2>/dev/null || true; rm -f "$log" "$samples"' EXIT

CONSENTGATE_LOG=warn "$bin" demo --public "127.0.0.1:$PUBLIC_PORT" --admin "127.0.0.1:$ADMIN_PORT" >"$log" 2>&1 &
gate=$!
url="http://127.0.0.1:$PUBLIC_PORT/"
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$url" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "$url" || { echo "load-test: the demo did not start:"; cat "$log"; exit 1; }

rss() { awk '/^VmRSS/ {print $2}' "/proc/$gate/status"; }
# Warm: the rewrite memo and the connection pool, as on a site that has been up a while.
for _ in $(seq 1 20); do curl -fsS -o /dev/null "$url"; done
idle_before=$(rss)

( while kill -0 "$gate" 2>/dev/null; do rss >>"$samples"; sleep 0.5; done ) &
sampler=$!

echo "load-test: $CONNECTIONS connections for ${DURATION}s against $url (wrk, $THREADS threads)"
out=$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency "$url")
echo "$out"

sleep 10
idle_after=$(rss)
kill "$sampler" 2>/dev/null || true
peak=$(sort -n "$samples" | tail -1)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$gate/status")

socket_errors=$(echo "$out" | awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}')
non_2xx=$(echo "$out" | awk '/Non-2xx or 3xx/ {print $NF}')
requests=$(echo "$out" | awk '/requests in/ {print $1}')
p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
errors=$(( ${socket_errors:-0} + ${non_2xx:-0} ))

echo
echo "load-test summary"
echo "  machine:       $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "  load:          $CONNECTIONS keep-alive connections, ${DURATION}s, wrk -t$THREADS"
echo "  requests:      ${requests:-?}"
echo "  errors:        $errors (socket errors ${socket_errors:-0}, non-2xx/3xx ${non_2xx:-0})"
echo "  latency:       p50 ${p50:-?}, p99 ${p99:-?}"
echo "  gate RSS:      idle before $((idle_before / 1024)) MiB, peak $((peak / 1024)) MiB (VmHWM $((hwm / 1024)) MiB), 10 s after $((idle_after / 1024)) MiB"
if grep -qiE "error|panick" "$log"; then
  echo "  gate log:" && grep -iE "error|panick" "$log" | head -20
fi
[ "$errors" -eq 0 ]
