#!/usr/bin/env bash
# Check the deployment files in deploy/ on this machine: the systemd unit with
# `systemd-analyze verify` (installing Debian's systemd package when it is missing), and the
# container file with the instruction checks of tests/deploy.rs; if a container engine with a
# running daemon is here, the image is also built and started with a read-only root.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=lib/tools.sh
source scripts/lib/tools.sh
need_debian check-deploy systemd-analyze:systemd

cargo build --release --bin consentgate
target="${CARGO_TARGET_DIR:-target}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# verify insists that ExecStart names an executable: use the one just built.
sed "s#/usr/local/bin/consentgate#$(cd "$target/release" && pwd)/consentgate#" \
  deploy/consentgate.service > "$tmp/consentgate.service"
if systemd-analyze verify "$tmp/consentgate.service"; then
  echo "check-deploy: systemd-analyze verify: OK"
else
  echo "check-deploy: systemd-analyze verify FAILED" >&2
  exit 1
fi
echo "check-deploy: the unit's exposure (lower is better):"
systemd-analyze security --offline=yes "$tmp/consentgate.service" 2>/dev/null | tail -1 || \
  echo "  (systemd-analyze security --offline needs systemd >= 252)"

cargo test --test deploy

engine=""
for e in podman docker; do
  if command -v "$e" >/dev/null 2>&1 && "$e" info >/dev/null 2>&1; then engine=$e; break; fi
done
if [ -z "$engine" ]; then
  echo "check-deploy: no container engine with a running daemon here: the Containerfile was" \
       "checked instruction by instruction (tests/deploy.rs) but not built."
  exit 0
fi
"$engine" build -f deploy/Containerfile -t consentgate:check .
"$engine" run --rm --read-only --cap-drop=all --security-opt=no-new-privileges \
  consentgate:check --version
echo "check-deploy: image built and started with a read-only root ($engine)."
