#!/usr/bin/env bash
# Installs every package jobserver needs to build, test and run (Debian 12, as root).
# Only what is missing is installed; `apt-get update` runs at most once, and only when
# something has to be installed. Quiet when everything is present.
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake pkg-config git
  libcaf-dev libpqxx-dev libhiredis-dev rapidjson-dev libpoppler-private-dev
  libcurl4-openssl-dev libcpp-httplib-dev libssl-dev catch2
  libspdlog-dev uuid-dev libjwt-dev
)
RUNTIME_PACKAGES=(
  postgresql redis-server curl ca-certificates procps
)
# Tools used by tests (PDF corpus generation), by scripts/bench.sh and by scripts/fuzz.sh
# (clang and its libFuzzer/sanitizer runtimes).
TOOL_PACKAGES=(
  qpdf ghostscript poppler-utils wrk nginx-light python3
  clang libclang-rt-14-dev
)
# Browser tests of the web UI (tests/browser): Debian's Chromium, driven by playwright-core
# from npm (never a downloaded browser). Node.js and npm come from Debian unless present.
TOOL_PACKAGES+=(chromium)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  TOOL_PACKAGES+=(nodejs npm)
fi

# tests/browser/node_modules from its package-lock.json (npm ci), only when missing or
# installed from another version of the lock file.
install_browser_test_modules() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)/tests/browser"
  [[ -f $dir/package-lock.json ]] || return 0
  local want stamp="$dir/node_modules/.jobserver-lock.sha256"
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    return 0
  fi
  echo "setup.sh: npm ci in tests/browser"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$stamp"
}

wanted=("${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "${TOOL_PACKAGES[@]}")
missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  install_browser_test_modules
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "setup.sh: missing packages: ${missing[*]}" >&2
  echo "setup.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The postgresql and redis packages would start system-wide services; jobserver never
# uses them (scripts/services.sh runs private instances), so keep them from starting.
policy_created=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  policy_created=1
fi
trap '[[ $policy_created == 1 ]] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_browser_test_modules
echo "setup.sh: done"
