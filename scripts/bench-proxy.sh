#!/usr/bin/env bash
# bench-proxy.sh — one command: build consentgate in release mode and measure it against the
# upstream served directly and nginx proxy_pass + sub_filter, interleaved in one run, with the
# reference harness ../shared/bench/proxy-anchor.sh (relative to the repository root).
#
#   scripts/bench-proxy.sh                      # full run (3 sizes, 3 reps, 15 s each; ~15 min)
#   DURATION=5 REPS=1 scripts/bench-proxy.sh    # quick look (~3 min)
#   CONFIGS="a c" SIZES="p60k" scripts/bench-proxy.sh
#   REWRITE_MEMO_BYTES=0 CONFIGS="c cand" scripts/bench-proxy.sh   # every page fully rewritten
#   COUNT_PAGE_VIEWS=false CONFIGS="c cand" scripts/bench-proxy.sh  # page views not counted
#
# wrk sends no User-Agent, and the gate counts a request without one as a bot, not as a page
# view; so wrk is run with a desktop browser's User-Agent (BENCH_USER_AGENT; empty: none) and
# every request takes the whole page-view path when counting is on.
#
# Loopback only (127.0.0.1), bounded by the harness's MAX_TOTAL_S, one worker for consentgate
# and for nginx, same CPU pinning (PROXY_CPU). nginx and wrk come from Debian; when missing they
# are installed with apt-get (needs root) after saying so. Results: $OUTDIR/summary.md
# (default /tmp/proxy-anchor-out); copy the tables into README.md with the machine line.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HARNESS=${HARNESS:-$ROOT/../shared/bench/proxy-anchor.sh}
[[ -f $HARNESS ]] || { echo "reference harness not found at $HARNESS (expected ../shared/bench beside the clone)" >&2; exit 2; }

need=()
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v taskset >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  echo "bench-proxy: installing missing Debian packages: ${need[*]}" >&2
  if [[ $(id -u) -eq 0 ]]; then apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq "${need[@]}" >/dev/null; fi
fi

echo "bench-proxy: building consentgate (release)" >&2
(cd "$ROOT" && cargo build --release --bin consentgate)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/consentgate
[[ -x $BIN ]] || { echo "no binary at $BIN" >&2; exit 2; }

WORK=$(mktemp -d /tmp/bench-proxy.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
BASE_PORT=${BASE_PORT:-18080}
ADMIN_PORT=$((BASE_PORT + 11))
# The harness substitutes {PORT} and {UPSTREAM}; the config is written per start by a wrapper so
# the candidate stays one foreground process (exec) that the harness can stop by PID.
cat >"$WORK/start.sh" <<WRAP
#!/usr/bin/env bash
set -euo pipefail
cat >"$WORK/gate.toml" <<TOML
[listen]
public = "127.0.0.1:\$1"
admin = "127.0.0.1:$ADMIN_PORT"
workers = 1

[upstream]
url = "\$2"

[log]
level = "warn"
${REWRITE_MEMO_BYTES:+
[limits]
rewrite_memo_bytes = $REWRITE_MEMO_BYTES}
${COUNT_PAGE_VIEWS:+
[stats]
count_page_views = $COUNT_PAGE_VIEWS}
TOML
export CONSENTGATE_SECRET=\${CONSENTGATE_SECRET:-bench-only-secret-0123456789abcdef0123456789}
exec "$BIN" serve --config "$WORK/gate.toml"
WRAP
chmod +x "$WORK/start.sh"

BENCH_USER_AGENT=${BENCH_USER_AGENT-Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36}
if [[ -n $BENCH_USER_AGENT ]]; then
  REAL_WRK=${WRK:-$(command -v wrk)}
  printf '#!/usr/bin/env bash\nexec %q -H %q "$@"\n' "$REAL_WRK" "User-Agent: $BENCH_USER_AGENT" >"$WORK/wrk"
  chmod +x "$WORK/wrk"
  export WRK=$WORK/wrk
fi

export BASE_PORT
export CANDIDATE_NAME=${CANDIDATE_NAME:-consentgate}
export CANDIDATE_CMD="$WORK/start.sh {PORT} {UPSTREAM}"
exec_harness() { bash "$HARNESS"; }
exec_harness
