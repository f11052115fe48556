# scripts/lib/tools.sh — what the scripts share: the Debian tools they need, the open-file
# limit the load scripts raise and the gate binary they run. Sourced, not run; each function
# takes the calling script's name for its messages.

# need_debian NAME COMMAND:PACKAGE... — installs the packages whose commands are missing,
# saying so first (apt-get; sudo when not root).
need_debian() {
  local name=$1 pair missing=()
  shift
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || [[ -x /usr/sbin/${pair%%:*} ]] || missing+=("${pair#*:}")
  done
  ((${#missing[@]})) || return 0
  echo "$name: installing missing Debian packages: ${missing[*]}" >&2
  local sudo=
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "$name: installed ${missing[*]}." >&2
}

# raise_open_files NAME COUNT — at least COUNT descriptors for this shell and what it starts,
# or a clear exit.
raise_open_files() {
  ulimit -n "$2" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  if (($(ulimit -n) < $2)); then
    echo "$1: the open-file limit is $(ulimit -n), $2 needed (raise the hard limit)" >&2
    exit 1
  fi
}

# gate_binary NAME ROOT — prints the gate to run: $GATE_BIN when set, else a release build of
# the checkout at ROOT.
gate_binary() {
  local bin=${GATE_BIN:-}
  if [[ -z $bin ]]; then
    echo "$1: building consentgate (release)" >&2
    (cd "$2" && cargo build --release --bin consentgate >&2)
    bin=${CARGO_TARGET_DIR:-$2/target}/release/consentgate
  fi
  [[ -x $bin ]] || { echo "$1: no binary at $bin" >&2; exit 2; }
  echo "$bin"
}
