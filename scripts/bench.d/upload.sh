# shellcheck shell=bash
# `scripts/bench.sh upload`: the upload answer latency of a 20 MB PDF (bench/upload_latency.sh)
# with processors at PROCESSOR_NICE=0 and at the default, each on a fresh server and
# schema, against the same 20 MB over loopback TCP into a file as the baseline. Sourced by
# scripts/bench.sh (uses its helpers).

cmd_upload() {
  local uploads=40 idle_wait=120 write=1 corpus pdf dir section nice line results=()
  while (($#)); do
    case $1 in
      --uploads) uploads=${2:?--uploads needs a value}; shift 2 ;;
      --idle-wait) idle_wait=${2:?--idle-wait needs a value}; shift 2 ;;
      --no-write) write=0; shift ;;
      *) die "upload: unknown option $1" ;;
    esac
  done
  corpus=$(scripts/fetch-pdfs.sh) || die "scripts/fetch-pdfs.sh failed"
  pdf="$corpus/R-exts.pdf"
  [[ -f $pdf ]] || die "$pdf missing"
  build jobserver
  start_services
  dir="$ROOT/.run/bench/upload"
  rm -rf "$dir" && mkdir -p "$dir"
  wait_for_idle "$idle_wait" 25
  for nice in 0 10; do
    isolate "upload$nice"
    mkdir -p "$dir/nice$nice"
    start_jobserver "$dir/nice$nice/server.log" LOG_LEVEL=warn PROCESSOR_NICE="$nice"
    line=$(bench/upload_latency.sh "$SERVER_URL" "$pdf" "$uploads" "$dir/nice$nice/storage") ||
      die "bench/upload_latency.sh failed"
    log "PROCESSOR_NICE=$nice: $line"
    results+=("$line")
    stop_pid "$SERVER_PID" 20 jobserver
  done
  section="$dir/section.md"
  local r0 r10 b0 b10
  r0=$(grep '^RESULT' <<<"${results[0]}"); b0=$(grep '^BASELINE' <<<"${results[0]}")
  r10=$(grep '^RESULT' <<<"${results[1]}"); b10=$(grep '^BASELINE' <<<"${results[1]}")
  row() {  # label RESULT BASELINE
    local p99 base
    p99=$(kv_get "$2" p99_ms); base=$(kv_get "$3" p99_ms)
    echo "| $1 | $(kv_get "$2" accepted)/$(kv_get "$2" n) | $(kv_get "$2" p50_ms) ms | $p99 ms | $(kv_get "$3" p50_ms) ms / $base ms | $(awk -v a="$p99" -v b="$base" 'BEGIN { printf "%.1fx", a / b }') |"
  }
  {
    echo "## Upload answer latency (scripts/bench.sh upload)"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC by \`scripts/bench.sh upload\`: $uploads uploads, one after the"
    echo "other, of a 20 MB PDF (R-exts.pdf padded after \`%%EOF\`) to \`POST /upload/pdf-structured\`"
    echo "on loopback, timed by curl (first byte sent to last byte of the 202). Every upload queues a"
    echo "parse job (about 1.6 s of CPU each), so the later uploads compete with parsing on both"
    echo "cores — once with processor threads at the server's priority, once at the default"
    echo "\`PROCESSOR_NICE\`. Baseline, in the same run: the same 20 MB sent over loopback TCP by"
    echo "Python and written to a new file (64 KB reads, rename, a two-byte answer) — moving and"
    echo "storing the bytes without HTTP or multipart."
    echo
    echo "- Machine: $(machine_line); CPUs ${IDLE_BUSY_PCT}% busy with other work just before the measurements"
    echo "- Versions: jobserver $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes') ($BUILD_DIR, Release)"
    echo
    echo "| server | accepted | p50 | p99 | loopback + file baseline p50 / p99 | p99 vs baseline |"
    echo "|---|---:|---:|---:|---:|---:|"
    row "PROCESSOR_NICE=0" "$r0" "$b0"
    row "PROCESSOR_NICE=10 (default)" "$r10" "$b10"
    echo
    local p99; p99=$(kv_get "$r10" p99_ms)
    if lt "$p99" 50; then echo "Target p99 < 50 ms: met ($p99 ms)."; else echo "Target p99 < 50 ms: **missed** ($p99 ms)."; fi
  } >"$section"
  cat "$section"
  if ((write)); then write_section "Upload answer latency (scripts/bench.sh upload)" "$section"; fi
}
