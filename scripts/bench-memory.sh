#!/usr/bin/env bash
# bench-memory.sh — one command: the gate's memory (issue 18 point 4). Builds the release binary,
# serves the reference benchmark's pages (../shared/bench/proxy-anchor.sh's generator, or a
# plain 60 KB page when that harness is not beside the clone) from a static nginx on loopback,
# starts `consentgate serve` in front of it with a minimal configuration (defaults otherwise:
# embedded store, one worker per core, the default rewrite memo), and prints its RSS:
#
#   idle        right after start, nothing requested yet, and 12 s later (serving settings)
#   warm        after a few requests of each page (memo filled, upstream pool open)
#   1000 idle   while IDLE_CONNS (1 000) keep-alive connections are open and idle, each
#               having fetched the 60 KB page once
#   c50 / c1000 the peak while wrk -c50 and then wrk -c1000 ask for the 60 KB page (DURATION s)
#   after       SETTLE seconds after the load
#
# with the rewrite memo's own share (consentgate_rewrite_memo_bytes from the admin /metrics).
#
#   scripts/bench-memory.sh
#   DURATION=5 scripts/bench-memory.sh            # shorter loads
#   GATE_BIN=target/release/consentgate scripts/bench-memory.sh   # a prebuilt binary
#
# Loopback only (127.0.0.1, ports BASE_PORT..BASE_PORT+2), bounded: each load runs DURATION
# seconds, the idle connections are held until sampled, and every process started here is
# stopped by its PID on exit. Needs nginx, wrk, curl and python3 (the idle-connection holder);
# nginx and wrk come from Debian and are installed with apt-get when missing, after saying so.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HARNESS=${HARNESS:-$ROOT/../shared/bench/proxy-anchor.sh}
DURATION=${DURATION:-10}
SETTLE=${SETTLE:-5}
IDLE_CONNS=${IDLE_CONNS:-1000}
BASE_PORT=${BASE_PORT:-18180}
UP_PORT=$BASE_PORT
GATE_PORT=$((BASE_PORT + 1))
ADMIN_PORT=$((BASE_PORT + 2))

# shellcheck source=lib/tools.sh
source "$ROOT/scripts/lib/tools.sh"
need_debian bench-memory nginx:nginx wrk:wrk curl:curl
command -v python3 >/dev/null || { echo "bench-memory: python3 is needed to hold idle connections" >&2; exit 2; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# The gate and the idle-connection holder each need one descriptor per connection.
raise_open_files bench-memory $((IDLE_CONNS * 3 + 256))
BIN=$(gate_binary bench-memory "$ROOT")

W=$(mktemp -d /tmp/bench-memory.XXXXXX)
chmod 755 "$W"
mkdir -p "$W/www" "$W/nginx"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

# ---- pages: the reference harness's generator when it is there ---------------------------
if [[ -f $HARNESS ]]; then
  declare -A PAGE=([p2k]=p2k.html [p60k]=p60k.html [p500k]=p500k.html)
  declare -A TARGET=([p2k]=2048 [p60k]=61440 [p500k]=512000)
  # Its page functions only (gen_head … make_page), not the harness itself.
  # shellcheck disable=SC1090
  source <(sed -n '/^gen_head() {/,/^for s in p2k p60k p500k; do make_page/p' "$HARNESS" | sed '$d')
  for s in p2k p60k; do make_page "$s"; done
else
  echo "bench-memory: no reference harness at $HARNESS; serving a plain 60 KB page" >&2
  {
    echo '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Page</title>'
    echo '<script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST"></script>'
    echo '</head><body>'
    for i in $(seq 1 600); do echo "<p>Paragraph $i of a page that is about sixty kilobytes long.</p>"; done
    echo '</body></html>'
  } >"$W/www/p60k.html"
  head -c 2000 "$W/www/p60k.html" >"$W/www/p2k.html"
fi
chmod -R a+rX "$W/www"

# ---- upstream: static nginx, one worker, keep-alive ----------------------------------------
USER_LINE=""; [[ $EUID -eq 0 ]] && USER_LINE="user nobody nogroup;"
getent group nogroup >/dev/null 2>&1 || { [[ $EUID -eq 0 ]] && USER_LINE="user nobody;"; }
cat >"$W/nginx/up.conf" <<EOF
$USER_LINE
daemon off;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
  types { text/html html; }
  access_log off;
  keepalive_requests 100000;
  client_body_temp_path $W/nginx/body; proxy_temp_path $W/nginx/proxy;
  fastcgi_temp_path $W/nginx/fastcgi; uwsgi_temp_path $W/nginx/uwsgi; scgi_temp_path $W/nginx/scgi;
  server { listen 127.0.0.1:$UP_PORT backlog=4096; root $W/www; location / { try_files \$uri =404; } }
}
EOF
"$NGINX" -c "$W/nginx/up.conf" -p "$W/nginx" 2>"$W/nginx/stderr" &
PIDS+=($!)

# ---- the gate: the 9-line configuration of an operator's first start ---------------------
cat >"$W/gate.toml" <<EOF
[listen]
public = "127.0.0.1:$GATE_PORT"
admin = "127.0.0.1:$ADMIN_PORT"

[upstream]
url = "http://127.0.0.1:$UP_PORT/"

[log]
level = "warn"
EOF
CONSENTGATE_SECRET=${CONSENTGATE_SECRET:-bench-only-secret-0123456789abcdef0123456789} \
  "$BIN" serve --config "$W/gate.toml" >"$W/gate.log" 2>&1 &
GATE=$!
PIDS+=($GATE)

PAGE_URL="http://127.0.0.1:$GATE_PORT/p60k.html"
ready=0
for _ in $(seq 1 200); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$GATE_PORT/_gate/healthz" 2>/dev/null \
    && curl -fsS -o /dev/null "http://127.0.0.1:$UP_PORT/p60k.html" 2>/dev/null; then
    ready=1; break
  fi
  sleep 0.05
done
((ready)) || { echo "bench-memory: gate or upstream did not start:" >&2; cat "$W/gate.log" "$W/nginx/stderr" >&2; exit 1; }

kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$GATE/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
memo_bytes() {
  curl -fsS "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '$1 == "consentgate_rewrite_memo_bytes" {print $2}'
}
row() { # label
  local rss anon file memo
  rss=$(kib VmRSS); anon=$(kib RssAnon); file=$(kib RssFile); memo=$(memo_bytes)
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$(mib "$rss")" "$(mib "$anon")" "$(mib "$file")" \
    "$(awk -v b="${memo:-0}" 'BEGIN {printf "%.2f", b / 1048576}')"
}
# Peak VmRSS while a command runs (sampled every 0.2 s).
peak_during() { # label command...
  local label=$1 samples=$W/samples; shift
  : >"$samples"
  ( while kill -0 "$GATE" 2>/dev/null; do kib VmRSS >>"$samples"; sleep 0.2; done ) &
  local sampler=$!
  "$@" >"$W/load.out" 2>&1 || true
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  local peak rate
  peak=$(sort -n "$samples" | tail -1)
  rate=$(awk '/Requests\/sec/ {print $2}' "$W/load.out")
  printf '| %s (peak; %s req/s) | %s | | | %s |\n' "$label" "${rate:-?}" "$(mib "${peak:-0}")" \
    "$(awk -v b="$(memo_bytes)" 'BEGIN {printf "%.2f", b / 1048576}')"
}

sleep 1 # let start-up's temporaries be purged by the allocator, as on an idle server
echo
echo "consentgate memory, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "- machine: $(nproc) CPU ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo n/a)"
echo "- binary: $BIN ($(du -m "$BIN" | cut -f1) MiB); pages p60k $(wc -c <"$W/www/p60k.html") B, p2k $(wc -c <"$W/www/p2k.html") B"
echo
echo "| state | VmRSS MiB | RssAnon MiB | RssFile MiB | memo MiB |"
echo "|---|---:|---:|---:|---:|"
row "idle, right after start"
# The gate purges freed pages at once only while it starts (its first collection); from the
# second, 10 s after start, it serves with mimalloc's usual delay — measure from there.
sleep 11
row "idle, 12 s after start (serving from here)"

for _ in $(seq 1 5); do
  curl -fsS -o /dev/null "$PAGE_URL"
  curl -fsS -o /dev/null "http://127.0.0.1:$GATE_PORT/p2k.html"
  curl -fsS -o /dev/null -H 'Accept-Encoding: gzip, br' "$PAGE_URL"
done
sleep 1
row "warm (each page a few times, memo filled)"

# IDLE_CONNS keep-alive connections, each fetching the page once and then idle until stdin closes.
mkfifo "$W/hold"
python3 - "$GATE_PORT" "$IDLE_CONNS" "$W/held" <"$W/hold" <<'PY' &
import asyncio, sys
port, n, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
async def one():
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET /p60k.html HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n")
    await w.drain()
    head = await r.readuntil(b"\r\n\r\n")
    length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:"))
    await r.readexactly(length)
    return w
async def main():
    writers = []
    for i in range(0, n, 100):
        writers += await asyncio.gather(*(one() for _ in range(min(100, n - i))))
    open(flag, "w").write(str(len(writers)))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for w in writers:
        w.close()
asyncio.run(main())
PY
HOLDER=$!
PIDS+=($HOLDER)
exec {hold}>"$W/hold"
for _ in $(seq 1 600); do [[ -s $W/held ]] && break; kill -0 "$HOLDER" 2>/dev/null || break; sleep 0.1; done
if [[ -s $W/held ]]; then
  sleep 1
  row "$(cat "$W/held") idle keep-alive connections"
else
  echo "| $IDLE_CONNS idle keep-alive connections: not all opened | | | | |"
fi
exec {hold}>&-
wait "$HOLDER" 2>/dev/null || true

peak_during "wrk -c50, ${DURATION} s" wrk -t1 -c50 -d"${DURATION}s" -H 'Accept-Encoding: identity' "$PAGE_URL"
peak_during "wrk -c1000, ${DURATION} s" wrk -t2 -c1000 -d"${DURATION}s" --timeout 10s -H 'Accept-Encoding: identity' "$PAGE_URL"
sleep "$SETTLE"
row "after the load (${SETTLE} s later)"
echo
echo "The memo column is the rewrite memo's own byte count (input + output of each page it"
echo "holds, limits.rewrite_memo_bytes caps it; default 64 MiB). VmHWM: $(mib "$(kib VmHWM)") MiB."
