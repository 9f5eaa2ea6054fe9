#!/usr/bin/env bash
# Build jobserver and run its test suite against private Postgres/Redis instances.
#
# Usage: scripts/test.sh [extra ctest args...]     e.g. scripts/test.sh -R queue
#
# Steps: scripts/setup.sh -> cmake configure -> cmake build -> scripts/services.sh start
#        -> ctest. Exits with ctest's status.
# Env:   BUILD_DIR (default: build, relative to the repo root)
#        PG_PORT / REDIS_PORT are passed through to scripts/services.sh.
#        SANITIZERS=1 adds the ASan+UBSan run of the suite and the TSan run of the actor
#        and end-to-end tests, FUZZ_SECONDS=0 skips the
#        fuzzing (see below and docs/operations.md, "Hardening"); both only when no ctest
#        args are given.
# Services that were already running before this script are left running; the ones
# this script started are stopped again on exit.
# shellcheck disable=SC2317  # cleanup/start_services are called via trap and step()
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build}

# ---- helpers ------------------------------------------------------------------------
now_ms() { date +%s%3N; }

# step "title" cmd args... : banner, run, elapsed time. Fails the script if cmd fails.
step() {
  local title=$1; shift
  local t0 rc=0
  echo "==> $title"
  t0=$(now_ms)
  "$@" || rc=$?
  local ms=$(( $(now_ms) - t0 ))
  if ((rc != 0)); then
    printf '==> %s FAILED (exit %d) after %d.%03ds\n' "$title" "$rc" $((ms / 1000)) $((ms % 1000))
    exit "$rc"
  fi
  printf '==> %s done in %d.%03ds\n' "$title" $((ms / 1000)) $((ms % 1000))
}

# Is a service currently running? ("postgres" / "redis", per `services.sh status`)
service_running() {
  local status
  status=$(scripts/services.sh status 2>/dev/null) || true
  [[ $status == *"$1: running"* ]]
}

# ---- services: start, and stop on exit only what we started --------------------------
STARTED_PG=0
STARTED_REDIS=0

cleanup() {
  local rc=$?
  set +e   # a failing stop must not change the exit status
  if ((STARTED_PG && STARTED_REDIS)); then
    echo "==> stopping services started by test.sh"
    scripts/services.sh stop
  elif ((STARTED_REDIS)); then
    echo "==> stopping Redis started by test.sh"
    scripts/services.sh stop-redis
  elif ((STARTED_PG)); then
    echo "==> stopping Postgres started by test.sh"
    scripts/services.sh stop-postgres
  fi
  exit "$rc"
}
trap cleanup EXIT

start_services() {
  local pg_was=0 redis_was=0 out
  service_running postgres && pg_was=1
  service_running redis && redis_was=1
  # Set the flags before starting, so a start that fails halfway is cleaned up too.
  ((pg_was)) || STARTED_PG=1
  ((redis_was)) || STARTED_REDIS=1
  # Capture first (not `eval "$(...)"`) so that a failing start is noticed. Explicit
  # `|| return` because `set -e` does not apply inside functions run by step's `||`.
  out=$(scripts/services.sh start) || return $?
  eval "$out"
  echo "DATABASE_URL=$DATABASE_URL"
  echo "REDIS_URL=$REDIS_URL"
}

run_ctest() {
  cd "$BUILD_DIR" || return 1
  ctest --output-on-failure --timeout 600 "$@"
}

# ---- main ---------------------------------------------------------------------------
T_START=$(now_ms)
step "setup (scripts/setup.sh)" scripts/setup.sh
step "configure ($BUILD_DIR)" cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
step "build" cmake --build "$BUILD_DIR" -j"$(nproc)"
step "services" start_services
# The real-world PDFs of the [corpus] test (cached under .run/; a few seconds the first
# time). Without network the test warns and passes, so a failed fetch is not fatal.
echo "==> PDF corpus (scripts/fetch-pdfs.sh)"
scripts/fetch-pdfs.sh >/dev/null || echo "==> PDF corpus unavailable: the [corpus] test will only warn"

echo "==> ctest $*"
t0=$(now_ms)
ctest_rc=0
(run_ctest "$@") || ctest_rc=$?
ms=$(( $(now_ms) - t0 ))
printf '==> ctest finished (exit %d) in %d.%03ds\n' "$ctest_rc" $((ms / 1000)) $((ms % 1000))

# ---- hardening (issue 9): sanitizer build and fuzzing --------------------------------
# ASan+UBSan (SANITIZERS=1; .ci/run sets it, a plain run leaves it off): the whole suite
# again, in build-asan. A report from any process (the test
# binaries and every jobserver they spawn, which inherit the options) lands in $SAN_LOGS
# and fails the run, even from a server that a test killed afterwards.
# TSan (also SANITIZERS=1): CAF built with ThreadSanitizer from Debian's source
# (scripts/caf-tsan.sh; Debian's libcaf is not instrumented, and TSan would take every
# message between actors for a race: tests/sanitizers/tsan_caf_probe.cpp), then the actor
# tests and the end-to-end tests (the real server: engine, recovery, cluster, uploads,
# lessons, events) in build-tsan, reports collected the same way.
hardening_rc=0
if (($# == 0)) && [[ ${SANITIZERS:-0} != 0 ]]; then
  SAN_LOGS=$ROOT/.run/sanitizer-logs
  rm -rf "$SAN_LOGS" && mkdir -p "$SAN_LOGS"
  asan_tests() {
    local rc=0
    ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$SAN_LOGS/asan" \
    LSAN_OPTIONS="suppressions=$ROOT/tests/sanitizers/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$SAN_LOGS/ubsan:suppressions=$ROOT/tests/sanitizers/ubsan.supp" \
      BUILD_DIR=build-asan run_ctest || rc=$?
    if compgen -G "$SAN_LOGS/*" >/dev/null; then
      echo "==> sanitizer reports:" >&2
      head -n 60 "$SAN_LOGS"/* >&2
      rc=1
    fi
    return "$rc"
  }
  step "configure build-asan (ASan+UBSan)" cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS=-O1 -DJOBSERVER_SANITIZE=ON
  step "build build-asan" cmake --build build-asan -j"$(nproc)"
  (step "ctest under ASan+UBSan" asan_tests) || hardening_rc=1

  # The probe first: with CAF instrumented it must report its real race (a plain thread
  # and two actors writing one global) and nothing in CAF's own hand-offs, or the stage
  # would be blind (or drowned in false reports).
  tsan_probe() {
    local logs=$SAN_LOGS/probe rc=0 reports others
    mkdir -p "$logs"
    g++ -std=c++17 -O1 -g -fsanitize=thread -isystem "$CAF_TSAN/include" tests/sanitizers/tsan_caf_probe.cpp \
      -o build-tsan/tsan_caf_probe -L"$CAF_TSAN/lib" -Wl,-rpath,"$CAF_TSAN/lib" -lcaf_core -lpthread || return 1
    TSAN_OPTIONS="log_path=$logs/tsan" build-tsan/tsan_caf_probe >/dev/null 2>&1 || rc=$?
    reports=$(cat "$logs"/tsan* 2>/dev/null | grep -c '^SUMMARY: ThreadSanitizer' || true)
    others=$(cat "$logs"/tsan* 2>/dev/null | grep '^SUMMARY: ThreadSanitizer' | grep -vc 'tsan_caf_probe.cpp' || true)
    if ((reports == 0 || others != 0)); then
      echo "==> the TSan probe gave $reports report(s) (exit $rc), $others outside its own code;" \
           "expected only its race on shared_counter:" >&2
      head -n 60 "$logs"/tsan* >&2 2>/dev/null
      return 1
    fi
    rm -rf "$logs"
  }
  tsan_tests() {
    local rc=0
    export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:log_path=$SAN_LOGS/tsan"
    build-tsan/tests/actors_tests || rc=$?
    build-tsan/tests/e2e_tests || rc=$?
    if compgen -G "$SAN_LOGS/tsan*" >/dev/null; then
      echo "==> ThreadSanitizer reports:" >&2
      head -n 80 "$SAN_LOGS"/tsan* >&2
      rc=1
    fi
    return "$rc"
  }
  tsan_stage() {
    CAF_TSAN=$(scripts/caf-tsan.sh) || return 1
    cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DJOBSERVER_TSAN=ON \
      -DCMAKE_PREFIX_PATH="$CAF_TSAN" >/dev/null || return 1
    cmake --build build-tsan -j"$(nproc)" --target actors_tests e2e_tests jobserver || return 1
    (step "TSan probe" tsan_probe) || return 1
    (step "actor and end-to-end tests under TSan" tsan_tests)
  }
  (step "TSan stage (CAF and the actor and end-to-end tests, build-tsan)" tsan_stage) || hardening_rc=1
fi
if (($# == 0)) && [[ ${FUZZ_SECONDS:-60} != 0 ]]; then
  (step "fuzz each target for ${FUZZ_SECONDS:-60}s" scripts/fuzz.sh all "${FUZZ_SECONDS:-60}") || hardening_rc=1
fi

ms=$(( $(now_ms) - T_START ))
printf '==> total %d.%03ds\n' $((ms / 1000)) $((ms % 1000))
((ctest_rc == 0)) || exit "$ctest_rc"
exit "$hardening_rc"
