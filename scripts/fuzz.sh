#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, in build-fuzz) and runs one or all.
#
# Usage: scripts/fuzz.sh TARGET [SECONDS]     TARGET: json_body | multipart | jwt | pdf | all
#        scripts/fuzz.sh list
# SECONDS defaults to 60 (per target). New inputs go to .run/fuzz/<target>/corpus (the
# committed seeds in tests/fuzz/corpus/<target> are read, never written); a crash leaves
# its input in .run/fuzz/<target>/ and fails the run: fix it, then add the input to
# tests/fuzz/regressions/<target>/ so the Catch2 replay test (fuzz_replay_tests) keeps it.
# Env:   FUZZ_BUILD_DIR (default build-fuzz), FUZZ_ARGS (extra libFuzzer flags, e.g.
#        "-runs=1000000" or "-fork=2").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
TARGETS=(json_body multipart jwt pdf)
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
target=$1
seconds=${2:-60}
[[ $seconds =~ ^[0-9]+$ ]] || usage
if [[ $target == list ]]; then printf '%s\n' "${TARGETS[@]}"; exit 0; fi
if [[ $target == all ]]; then
  selected=("${TARGETS[@]}")
elif [[ " ${TARGETS[*]} " == *" $target "* ]]; then
  selected=("$target")
else
  echo "fuzz.sh: unknown target '$target' (one of: ${TARGETS[*]} all)" >&2
  exit 2
fi

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/setup.sh installs it)" >&2; exit 1; }
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DJOBSERVER_FUZZ=ON -DJOBSERVER_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${selected[@]/#/fuzz_}" | grep -E 'error|warning|Linking' || true
for t in "${selected[@]}"; do
  [[ -x $BUILD_DIR/tests/fuzz/fuzz_$t ]] || { echo "fuzz.sh: build of fuzz_$t failed" >&2; exit 1; }
done

# halt on the first report; big allocations are an error only past libFuzzer's own limit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:suppressions=$ROOT/tests/sanitizers/ubsan.supp}

rc=0
for t in "${selected[@]}"; do
  work=.run/fuzz/$t
  mkdir -p "$work/corpus"
  dict=()
  [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
  echo "==> fuzz $t for ${seconds}s"
  log=$work/last.log
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  if "$BUILD_DIR/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=262144 -print_final_stats=1 -artifact_prefix="$work/" \
      "${dict[@]}" ${FUZZ_ARGS:-} \
      "$work/corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | awk '{s += $1} END {print s}' || true)
    echo "==> fuzz $t: no crash (${execs:-?} executions, corpus $(find "$work/corpus" -type f | wc -l) files)"
  else
    rc=1
    echo "==> fuzz $t FAILED; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null >&2 || true
  fi
done
exit "$rc"
