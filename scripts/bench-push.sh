# shellcheck shell=bash
# `scripts/bench.sh push`: Server-Sent Events at scale (sourced by scripts/bench.sh,
# whose helpers it uses). Measures, on one machine:
#   (a) wrk GET /jobs/:id with no event stream open (the baseline),
#   (b) the same while --streams streams are open (bench/sse_bench hold),
#   (c) update-to-client latency of events on one node, idle and with the streams open,
#   (d) the same across two nodes (the job runs on node A, the client listens on node B,
#       which runs no test jobs: TEST_JOB_CONCURRENCY=0).
# Options: --streams N (1000) --duration S (10) --connections N (64) --warmup S (2)
#          --latency-jobs N (10) --steps N (50, 20 ms apart) --idle-wait S (120) --no-write

push_options() {
  STREAMS=1000 DURATION=10 CONNECTIONS=64 WARMUP=2 LAT_JOBS=10 STEPS=50 IDLE_WAIT=120 WRITE=1
  while (($#)); do
    case $1 in
      --streams) STREAMS=$2; shift 2 ;;
      --duration) DURATION=$2; shift 2 ;;
      --connections) CONNECTIONS=$2; shift 2 ;;
      --warmup) WARMUP=$2; shift 2 ;;
      --latency-jobs) LAT_JOBS=$2; shift 2 ;;
      --steps) STEPS=$2; shift 2 ;;
      --idle-wait) IDLE_WAIT=$2; shift 2 ;;
      --no-write) WRITE=0; shift ;;
      *) die "push: unknown option $1" ;;
    esac
  done
}

threads_of() { find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

cmd_push() {
  push_options "$@"
  build job_load jobserver sse_bench
  local out_dir="$ROOT/.run/bench/push" sse="$ROOT/$BUILD_DIR/bench/sse_bench" machine versions
  machine=$(machine_line); versions=$(versions_line)
  rm -rf "$out_dir"; mkdir -p "$out_dir"
  chmod go+x "$ROOT/.run" "$ROOT/.run/bench"
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  start_services
  isolate push
  mkdir -p "$out_dir/a" "$out_dir/b"
  start_jobserver "$out_dir/a/jobserver.log" ENABLE_TEST_JOBS=1 LOG_LEVEL=warn NODE_ID=bench-a \
    TEST_JOB_CONCURRENCY=64 PER_USER_CONCURRENCY=64
  local a_port=$SERVER_PORT a_pid=$SERVER_PID a_url=$SERVER_URL

  echo "==> seeding 1000 completed jobs for wrk"
  timeout 600 "$ROOT/$BUILD_DIR/bench/job_load" seed --url "$a_url" --db "$DATABASE_URL" --clients 8 \
    --jobs 1000 --user bench-reader --ids-out "$out_dir/ids.txt" --sample-out "$out_dir/job.json" \
    >"$out_dir/seed.txt" || die "seeding failed; see $out_dir/seed.txt"
  # The job the held streams follow: it sleeps for an hour (cancelled at the end).
  local hold_job
  hold_job=$(curl -fsS -H 'X-User-ID: bench-stream' -H 'Content-Type: application/json' \
    -d '{"type":"sleep","data":{"ms":3600000,"steps":1}}' "$a_url/jobs" | sed -n 's/.*"job_id":"\([^"]*\)".*/\1/p')
  [[ -n $hold_job ]] || die "cannot create the job the streams follow"

  wait_for_idle "$IDLE_WAIT" 25
  local busy_before=$IDLE_BUSY_PCT threads0 threads1
  threads0=$(threads_of "$a_pid")
  echo "==> (a) wrk GET /jobs/:id, no stream open"
  local get0 get1 get2 lat0 lat1 lat2 hold
  get0=$(run_wrk "$out_dir/wrk-get-0.txt" "$a_url" get_job.lua "$out_dir/ids.txt" bench-reader) ||
    die "wrk failed"
  echo "$get0"
  echo "==> (c) latency on one node, no other stream open"
  lat0=$("$sse" latency --port "$a_port" --user bench-lat --jobs "$LAT_JOBS" --steps "$STEPS" --step-ms 20 |
    grep '^RESULT') || die "latency run failed"
  echo "$lat0"

  echo "==> (b) opening $STREAMS event streams"
  "$sse" hold --port "$a_port" --user bench-stream --job "$hold_job" --streams "$STREAMS" --seconds 3600 \
    >"$out_dir/hold.txt" 2>&1 &
  local hold_pid=$!
  on_exit stop_pid "$hold_pid" 5 sse_bench
  local deadline=$((SECONDS + 300))
  until grep -q '^RESULT' "$out_dir/hold.txt"; do
    kill -0 "$hold_pid" 2>/dev/null || die "sse_bench hold exited: $(cat "$out_dir/hold.txt")"
    ((SECONDS < deadline)) || die "streams not open within 300 s"
    sleep 0.5
  done
  hold=$(grep '^RESULT' "$out_dir/hold.txt")
  echo "$hold"
  threads1=$(threads_of "$a_pid")
  local open_gauge
  open_gauge=$(curl -fsS "$a_url/metrics" | sed -n 's/^jobserver_sse_streams_open //p')
  echo "==> (b) wrk GET /jobs/:id with the streams open (gauge: $open_gauge)"
  get1=$(run_wrk "$out_dir/wrk-get-1.txt" "$a_url" get_job.lua "$out_dir/ids.txt" bench-reader) ||
    die "wrk failed"
  echo "$get1"
  echo "==> (c) latency on one node with the streams open"
  lat1=$("$sse" latency --port "$a_port" --user bench-lat --jobs "$LAT_JOBS" --steps "$STEPS" --step-ms 20 |
    grep '^RESULT') || die "latency run failed"
  echo "$lat1"
  stop_pid "$hold_pid" 5 sse_bench
  # The baseline again: other work on the machine moves the figures; two baselines
  # around the run with streams show how much.
  echo "==> (a') wrk GET /jobs/:id after the streams closed"
  get2=$(run_wrk "$out_dir/wrk-get-2.txt" "$a_url" get_job.lua "$out_dir/ids.txt" bench-reader) ||
    die "wrk failed"
  echo "$get2"

  echo "==> (d) latency across two nodes"
  start_jobserver "$out_dir/b/jobserver.log" ENABLE_TEST_JOBS=1 LOG_LEVEL=warn NODE_ID=bench-b \
    TEST_JOB_CONCURRENCY=0
  local b_port=$SERVER_PORT
  lat2=$("$sse" latency --port "$b_port" --create-port "$b_port" --user bench-lat2 --jobs "$LAT_JOBS" \
    --steps "$STEPS" --step-ms 20 | grep '^RESULT') || die "latency run failed"
  echo "$lat2"
  local ran_on
  ran_on=$(psql_app -tA -c "SET app.system = 'on'" \
    -c "SELECT string_agg(DISTINCT node_id, ',') FROM $BENCH_SCHEMA.jobs WHERE owner_id = 'bench-lat2'" | tail -n 1)
  local busy_after; busy_after=$(cpu_busy_pct 2)

  local rps0 rps1 section="$out_dir/section.md"
  rps0=$(kv_get "$get0" rps); rps1=$(kv_get "$get1" rps)
  lat_row() {
    echo "| $1 | $(kv_get "$2" samples) | $(fmt_ms "$(kv_get "$2" p50_us)") | $(fmt_ms "$(kv_get "$2" p90_us)") | $(fmt_ms "$(kv_get "$2" p99_us)") | $(fmt_ms "$(kv_get "$2" max_us)") | $3 |"
  }
  {
    echo "## Push (SSE) (scripts/bench.sh push)"
    echo
    echo "- Machine: $machine; CPUs busy with other work: ${busy_before}% before, ${busy_after}% after"
    echo "- Build: $versions"
    echo "- Server: HTTP_THREADS=128 (default), SSE_MAX_STREAMS=10000; $(kv_get "$hold" opened) streams opened by \`bench/sse_bench hold\` in $(kv_get "$hold" open_ms) ms ($(kv_get "$hold" failed) failed), \`jobserver_sse_streams_open\` = $open_gauge; server threads $threads0 -> $threads1"
    echo "- wrk: -t2 -c$CONNECTIONS, ${DURATION} s after a ${WARMUP} s warm-up, GET /jobs/:id over 1000 completed jobs"
    echo
    echo "| GET /jobs/:id | req/s | p50 | p99 | errors |"
    echo "|---|---|---|---|---|"
    for row in "no stream open (before)|$get0" "$STREAMS streams open|$get1" "no stream open (after; the closed streams are noticed within 15 s)|$get2"; do
      local name=${row%%|*} r=${row#*|}
      echo "| $name | $(fmt_int "$(kv_get "$r" rps)") | $(fmt_ms "$(kv_get "$r" p50_us)") | $(fmt_ms "$(kv_get "$r" p99_us)") | $(( $(kv_get "$r" non2xx) + $(kv_get "$r" timeouts) + $(kv_get "$r" read_errors) )) |"
    done
    echo
    local rps2 base; rps2=$(kv_get "$get2" rps)
    base=$(awk -v a="$rps0" -v b="$rps2" 'BEGIN { print (a + b) / 2 }')
    echo "Throughput with the streams open: $(ratio_pct "$rps1" "$base") of the mean of the two baselines ($(ratio_pct "$rps1" "$rps0") of the first; target: at least 80%)."
    echo
    echo "Update-to-client latency: a \`sleep\` job with \`\"stamp\": true\` streams its wall clock as partial text at each of $STEPS steps (20 ms apart); \`bench/sse_bench latency\` subtracts it from the time it reads the event ($LAT_JOBS jobs one after another). The path is the one of every event: processor -> job actor -> tracker -> Redis (EVALSHA + PUBLISH, pipelined with the status write) -> the subscriber thread of the listening node -> the stream's thread -> socket."
    echo
    echo "| latency | samples | p50 | p90 | p99 | max | target (p99) |"
    echo "|---|---|---|---|---|---|---|"
    lat_row "one node, no other stream" "$lat0" "< 50 ms"
    lat_row "one node, $STREAMS streams open" "$lat1" "< 50 ms"
    lat_row "two nodes (runs on ${ran_on:-?}, client on bench-b)" "$lat2" "< 100 ms"
  } >"$section"
  curl -fsS -X POST -H 'X-User-ID: bench-stream' "$a_url/jobs/$hold_job/cancel" >/dev/null || true
  echo
  cat "$section"
  if ((WRITE)); then write_section "Push (SSE) (scripts/bench.sh push)" "$section"; fi
}
