#!/usr/bin/env bash
# Builds CAF 0.17.6 -- the version of Debian's libcaf-dev -- with ThreadSanitizer, for the
# TSan stage of scripts/test.sh (docs/operations.md, "Hardening").
#
#   scripts/caf-tsan.sh [PREFIX]     (default: .run/caf-tsan; prints PREFIX when done)
#
# ThreadSanitizer sees the happens-before of a hand-off between threads only in code it
# instrumented; Debian's libcaf_core is not, so every message sent between actors would be
# reported as a race (tests/sanitizers/tsan_caf_probe.cpp). The source is Debian's own
# source package (the upstream tarball of actor-framework 0.17.6-2.1, from the Debian
# mirror, checked against the SHA-256 in bookworm's signed source index). Debian's patch
# that adds `#include <limits>` for GCC 12 is applied here the same way. Only libcaf_core
# and libcaf_io are built (about 2.5 minutes on 2 cores); a build already in PREFIX for the
# same tarball is reused.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${1:-$ROOT/.run/caf-tsan}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
TARBALL=actor-framework_0.17.6.orig.tar.gz
SHA256=e2bf5bd243f08bb7d8adde197cfe3e6d71314ed3378fe0692f8932f4c3b3928c

log() { echo "caf-tsan.sh: $*" >&2; }

if [[ -f $PREFIX/.built && $(cat "$PREFIX/.built") == "$SHA256" ]]; then
  echo "$PREFIX"
  exit 0
fi
command -v curl >/dev/null || { log "curl not found; run scripts/setup.sh"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/caf-tsan.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "fetching $TARBALL from $MIRROR"
curl -fsS --retry 3 --max-time 300 -o "$work/$TARBALL" \
  "$MIRROR/pool/main/a/actor-framework/$TARBALL" ||
  { log "cannot fetch $MIRROR/pool/main/a/actor-framework/$TARBALL"; exit 1; }
echo "$SHA256  $work/$TARBALL" | sha256sum -c --quiet - ||
  { log "$TARBALL does not match its SHA-256"; exit 1; }
tar -xzf "$work/$TARBALL" -C "$work"
src=$work/actor-framework-0.17.6
sed -i 's|^#include <cstddef>$|#include <cstddef>\n#include <limits>|' \
  "$src/libcaf_io/caf/io/network/receive_buffer.hpp"
grep -q '^#include <limits>$' "$src/libcaf_io/caf/io/network/receive_buffer.hpp" ||
  { log "cannot patch receive_buffer.hpp"; exit 1; }

log "building libcaf_core and libcaf_io with -fsanitize=thread into $PREFIX"
rm -rf "$PREFIX"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -O1" -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DCAF_NO_EXAMPLES=yes -DCAF_NO_TOOLS=yes -DCAF_NO_UNIT_TESTS=yes -DCAF_NO_OPENSSL=yes \
  -DCAF_NO_OPENCL=yes -DCAF_NO_PYTHON=yes -DCAF_NO_SUMMARY=yes >"$work/cmake.log" 2>&1 ||
  { tail -n 30 "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/build" -j"$(nproc)" >"$work/build.log" 2>&1 ||
  { grep -m 20 -B2 -A5 'error' "$work/build.log" >&2; exit 1; }
cmake --install "$work/build" >/dev/null
echo "$SHA256" >"$PREFIX/.built"
echo "$PREFIX"
