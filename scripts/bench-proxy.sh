#!/usr/bin/env bash
# bench-proxy.sh — one command: build consentgate in release mode and measure it against the
# upstream served directly and nginx proxy_pass + sub_filter, interleaved in one run, with the
# reference harness ../shared/bench/proxy-anchor.sh (relative to the repository root).
#
#   scripts/bench-proxy.sh                      # full run: every path below (~50 min)
#   DURATION=5 REPS=1 scripts/bench-proxy.sh    # the same, quick look (~12 min)
#   CONFIGS="a c" SIZES="p60k" scripts/bench-proxy.sh              # one pass: memo hit, identity
#   MEMO=off CONFIGS="a c e" scripts/bench-proxy.sh                # every page fully rewritten
#   CLIENT_GZIP=1 CONFIGS="a d" scripts/bench-proxy.sh             # the client accepts gzip
#   UPSTREAM_GZIP=1 CLIENT_GZIP=1 CONFIGS="a d" scripts/bench-proxy.sh   # a CMS that compresses
#
# The full run (no CONFIGS, MEMO, CLIENT_GZIP, UPSTREAM_GZIP, REWRITE_MEMO_BYTES or ACCEPT_ENCODING
# given, or FULL=1) is five harness runs, one per path, each interleaved with its nginx anchors:
#   hit          memo on, client sends Accept-Encoding: identity     a b c d e cand, SIZES
#   miss         MEMO=off (every page rewritten), identity          a c e cand, SIZES
#   gzip         memo on, client accepts gzip (the gate compresses)  a d cand, p60k
#   gzip-miss    MEMO=off, client accepts gzip                       a d cand, p60k
#   upstream-gzip  UPSTREAM_GZIP=1, client accepts gzip              a d cand, p60k
# and writes one table of all of them to $OUTDIR/full.md (the README's layout).
#
# Knobs: MEMO=off (limits.rewrite_memo_bytes = 0; REWRITE_MEMO_BYTES=<n> sets any size);
# CLIENT_GZIP=1 (wrk sends Accept-Encoding: gzip; default identity, so the memo-hit headline
# compares uncompressed pages with nginx config c); UPSTREAM_GZIP=<level> (the harness's
# upstream compresses; with request_identity the gate would ask it not to — the candidate's
# config keeps the default, so this measures a CMS that compresses what the gate decodes).
#
# Before/after in one run (the harness runs one candidate at a time, so the two variants take
# turns, ROUNDS times, each round with nginx config c beside it as the anchor):
#   BASELINE_BIN=/path/to/old/consentgate scripts/bench-proxy.sh          # another build
#   BASELINE_TOML=$'[stats]\ncount_page_views = false' scripts/bench-proxy.sh   # a config switch
#   (CANDIDATE_TOML adds lines to the candidate's config the same way; GATE_BIN uses a prebuilt
#   binary instead of building one.) The comparison table is $OUTDIR/compare.md.
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

# shellcheck source=lib/tools.sh
source "$ROOT/scripts/lib/tools.sh"
need_debian bench-proxy nginx:nginx wrk:wrk taskset:util-linux curl:curl
BIN=$(gate_binary bench-proxy "$ROOT")

WORK=$(mktemp -d /tmp/bench-proxy.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
BASE_PORT=${BASE_PORT:-18080}
ADMIN_PORT=$((BASE_PORT + 11))

# write_start NAME BINARY EXTRA_TOML: a wrapper the harness starts as its candidate. It writes
# the config per start (the harness substitutes {PORT} and {UPSTREAM}) and stays one foreground
# process (exec) that the harness can stop by PID.
write_start() {
  local name=$1 bin=$2 extra=$3
  cat >"$WORK/start-$name.sh" <<WRAP
#!/usr/bin/env bash
set -euo pipefail
cat >"$WORK/gate-$name.toml" <<TOML
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
$extra
TOML
export CONSENTGATE_SECRET=\${CONSENTGATE_SECRET:-bench-only-secret-0123456789abcdef0123456789}
exec "$bin" serve --config "$WORK/gate-$name.toml"
WRAP
  chmod +x "$WORK/start-$name.sh"
}

# MEMO=off: every page is rewritten in full (a page that differs per request).
[[ ${MEMO:-} == off ]] && REWRITE_MEMO_BYTES=0
# What the client accepts: identity unless CLIENT_GZIP=1 (or ACCEPT_ENCODING is set); the
# harness's own default (gzip) would make the gate compress every page.
if [[ -z ${ACCEPT_ENCODING:-} ]]; then
  if [[ ${CLIENT_GZIP:-} == 1 ]]; then ACCEPT_ENCODING=gzip; else ACCEPT_ENCODING=identity; fi
  USER_ACCEPT=""
else
  USER_ACCEPT=1
fi
export ACCEPT_ENCODING

BENCH_USER_AGENT=${BENCH_USER_AGENT-Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36}
if [[ -n $BENCH_USER_AGENT ]]; then
  REAL_WRK=${WRK:-$(command -v wrk)}
  printf '#!/usr/bin/env bash\nexec %q -H %q "$@"\n' "$REAL_WRK" "User-Agent: $BENCH_USER_AGENT" >"$WORK/wrk"
  chmod +x "$WORK/wrk"
  export WRK=$WORK/wrk
fi

export BASE_PORT
export CANDIDATE_NAME=${CANDIDATE_NAME:-consentgate}
write_start candidate "$BIN" "${CANDIDATE_TOML:-}"

full_run() {
  local out=${OUTDIR:-/tmp/proxy-anchor-out} sizes=${SIZES:-"p2k p60k p500k"}
  rm -rf "$out"; mkdir -p "$out"
  # pass: name memo-bytes accept-encoding upstream-gzip configs sizes
  local passes=(
    "hit||identity||a b c d e|$sizes"
    "miss|0|identity||a c e|$sizes"
    "gzip||gzip||a d|p60k"
    "gzip-miss|0|gzip||a d|p60k"
    "upstream-gzip||gzip|1|a d|p60k"
  )
  local spec name memo accept upgz configs psizes
  for spec in "${passes[@]}"; do
    IFS='|' read -r name memo accept upgz configs psizes <<<"$spec"
    echo "bench-proxy: pass $name" >&2
    REWRITE_MEMO_BYTES=$memo write_start "$name" "$BIN" "${CANDIDATE_TOML:-}"
    (export CANDIDATE_CMD="$WORK/start-$name.sh {PORT} {UPSTREAM}" OUTDIR="$out/$name" \
       ACCEPT_ENCODING=$accept CONFIGS=$configs SIZES=$psizes
     if [[ -n $upgz ]]; then export UPSTREAM_GZIP=$upgz; else unset UPSTREAM_GZIP; fi
     bash "$HARNESS") >"$out/$name.log" 2>&1 || { tail -20 "$out/$name.log" >&2; exit 1; }
  done
  {
    echo "## consentgate, every path ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "- host: $(nproc) CPU ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "- wrk -t1 -c${CONNS:-50} -d${DURATION:-15}s, reps ${REPS:-3}; one worker each, same pinning; medians over reps"
    echo
    echo "Ratios are medians of per-rep ratios in the same harness run: c = nginx + sub_filter"
    echo "inject, d = c + gzip level ${GZIP_LEVEL:-1} to the client, e = c + full-body sub_filter scan."
    echo
    echo "| path | size | consentgate req/s | vs c | vs d | vs e | p99 ms (gate / nginx) | CPU µs/req (gate / nginx) | RSS MiB |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    for spec in "${passes[@]}"; do
      IFS='|' read -r name _ _ _ configs _ <<<"$spec"
      awk -F'\t' -v pass="$name" -v tck="$(getconf CLK_TCK)" -v configs="$configs" '
        function median(str,   a, n, i, j, t) {
          n = split(str, a, " "); if (n == 0) return -1
          for (i = 2; i <= n; i++) { t = a[i] + 0; j = i - 1; while (j >= 1 && a[j] + 0 > t) { a[j+1] = a[j]; j-- } a[j+1] = t }
          return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
        NR > 1 && $5 > 0 { rps[$2, $3, $1] = $4 / ($5 / 1e6); p99[$2, $3, $1] = $8 / 1000
          cpu[$2, $3, $1] = $4 ? $13 / tck / $4 * 1e6 : 0; rss[$2, $3, $1] = $16 / 1024
          R[$2] = 1; S[$2] = 1; REP[$1] = 1 }
        END {
          n = split("p2k p60k p500k", order, " "); split(configs, cf, " ")
          ref = (configs ~ /(^| )c( |$)/) ? "c" : "d"
          for (k = 1; k <= n; k++) { s = order[k]; if (!(s in S)) continue
            g = ""; qc = ""; qd = ""; qe = ""; pg = ""; pr = ""; cg = ""; cr = ""; mg = ""
            for (r in REP) { if (!((s, "cand", r) in rps)) continue
              g = g " " rps[s, "cand", r]; pg = pg " " p99[s, "cand", r]; cg = cg " " cpu[s, "cand", r]; mg = mg " " rss[s, "cand", r]
              if ((s, ref, r) in rps) { pr = pr " " p99[s, ref, r]; cr = cr " " cpu[s, ref, r] }
              if ((s, "c", r) in rps && rps[s, "c", r] > 0) qc = qc " " rps[s, "cand", r] / rps[s, "c", r]
              if ((s, "d", r) in rps && rps[s, "d", r] > 0) qd = qd " " rps[s, "cand", r] / rps[s, "d", r]
              if ((s, "e", r) in rps && rps[s, "e", r] > 0) qe = qe " " rps[s, "cand", r] / rps[s, "e", r] }
            if (g == "") continue
            f = "%.2f"
            printf "| %s | %s | %.0f | %s | %s | %s | %.2f / %.2f (%s) | %.1f / %.1f (%s) | %.0f |\n", pass, s, median(g),
              (qc == "" ? "–" : sprintf(f, median(qc))), (qd == "" ? "–" : sprintf(f, median(qd))), (qe == "" ? "–" : sprintf(f, median(qe))),
              median(pg), median(pr), ref, median(cg), median(cr), ref, median(mg) } }' "$out/$name/runs.tsv"
    done
  } | tee "$out/full.md"
}

if [[ -z ${BASELINE_BIN:-} && -z ${BASELINE_TOML:-} ]]; then
  if [[ ${FULL:-} == 1 || -z ${CONFIGS:-}${MEMO:-}${CLIENT_GZIP:-}${UPSTREAM_GZIP:-}${REWRITE_MEMO_BYTES:-}${USER_ACCEPT} ]]; then
    full_run
    exit 0
  fi
  export CANDIDATE_CMD="$WORK/start-candidate.sh {PORT} {UPSTREAM}"
  exec bash "$HARNESS"
fi

# ---- before/after: the two variants take turns --------------------------------------------
write_start baseline "${BASELINE_BIN:-$BIN}" "${BASELINE_TOML:-}"
ROUNDS=${ROUNDS:-3}
OUT=${OUTDIR:-/tmp/proxy-anchor-out}
rm -rf "$OUT"; mkdir -p "$OUT"
export CONFIGS=${CONFIGS:-"a c"} SIZES=${SIZES:-p60k} REPS=1 LOW_DURATION=${LOW_DURATION:-0}
for round in $(seq 1 "$ROUNDS"); do
  order="baseline candidate"; ((round % 2 == 0)) && order="candidate baseline"
  for variant in $order; do
    echo "bench-proxy: round $round/$ROUNDS, $variant" >&2
    OUTDIR="$OUT/$round-$variant" CANDIDATE_CMD="$WORK/start-$variant.sh {PORT} {UPSTREAM}" \
      bash "$HARNESS" >"$OUT/$round-$variant.log" 2>&1 || { cat "$OUT/$round-$variant.log" >&2; exit 1; }
  done
done

{
  echo "## consentgate before/after ($(date -u +%Y-%m-%dT%H:%MZ), $ROUNDS rounds, variants alternating)"
  echo
  echo "- host: ${NCPU:-$(nproc)} CPU ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "- baseline: ${BASELINE_BIN:-$BIN} ${BASELINE_TOML:+(config: $(tr '\n' ' ' <<<"$BASELINE_TOML"))}"
  echo "- candidate: $BIN ${CANDIDATE_TOML:+(config: $(tr '\n' ' ' <<<"$CANDIDATE_TOML"))}"
  echo "- ${UPSTREAM_GZIP:+upstream gzip level $UPSTREAM_GZIP; }memo ${REWRITE_MEMO_BYTES:-default}; Accept-Encoding: $ACCEPT_ENCODING; configs $CONFIGS; wrk -c${CONNS:-50} -d${DURATION:-15}s"
  echo
  echo "Medians over rounds; \"vs c\" = consentgate req/s / nginx sub_filter (c) req/s in the same harness run."
  echo
  echo "| size | variant | req/s | vs c | p99 ms | px CPU us/req |"
  echo "|---|---|---:|---:|---:|---:|"
  for f in "$OUT"/*/runs.tsv; do
    v=$(basename "$(dirname "$f")"); awk -F'\t' -v v="${v#*-}" -v tck="$(getconf CLK_TCK)" \
      'NR > 1 { print v "\t" $2 "\t" $3 "\t" $4 / ($5 / 1e6) "\t" $8 / 1000 "\t" ($4 ? $13 / tck / $4 * 1e6 : 0) "\t" FILENAME }' "$f"
  done | awk -F'\t' '
    function median(str,   a, n, i, j, t) {
      n = split(str, a, " "); if (n == 0) return 0
      for (i = 2; i <= n; i++) { t = a[i] + 0; j = i - 1; while (j >= 1 && a[j] + 0 > t) { a[j+1] = a[j]; j-- } a[j+1] = t }
      return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
    { RPS[$7, $3] = $4; V[$1] = 1; S[$2] = 1; F[$7] = $1 SUBSEP $2
      if ($3 == "cand") { key = $1 SUBSEP $2; R[key] = R[key] " " $4; P[key] = P[key] " " $5; C[key] = C[key] " " $6 } }
    END {
      for (f in F) if (((f, "cand") in RPS) && ((f, "c") in RPS) && RPS[f, "c"] > 0) Q[F[f]] = Q[F[f]] " " RPS[f, "cand"] / RPS[f, "c"]
      for (s in S) for (v in V) { key = v SUBSEP s; if (R[key] == "") continue
        printf "| %s | %s | %.0f | %.3f | %.2f | %.1f |\n", s, v, median(R[key]), median(Q[key]), median(P[key]), median(C[key])
        M[v, s] = median(Q[key]) }
      for (s in S) if (M["baseline", s] > 0) printf "\n%s: candidate vs baseline (ratio to c): %+.1f %%\n", s, 100 * (M["candidate", s] / M["baseline", s] - 1) }'
} | tee "$OUT/compare.md"
