# shellcheck shell=bash
# `scripts/bench.sh compare`: jobserver against the original Node stack and nginx.
# Sourced by scripts/bench.sh (uses its helpers: build, start_services, isolate,
# start_jobserver, start_nginx, run_wrk, write_section, ...).
#
# Every server of a round gets the same load, one server after the other, each started
# fresh on its own Postgres schema and Redis prefix:
#   1. bench/job_load throughput: CLIENTS keep-alive clients POST JOBS noop jobs; the clock
#      stops when Postgres counts them all completed; once for each client count in
#      CLIENTS (32 and 64), and each server's best run counts for the target;
#   2. bench/job_load seed: SEED completed jobs of user bench-reader;
#   3. wrk GET /jobs/:id and POST /jobs/poll (20 ids) over those jobs;
#   3b. bench/rate_get: GET /jobs/:id at the same fixed rate for every server (wrk measures
#      each at its own saturation, where p99 is mostly its own queue); jobserver also at
#      five times the best baseline's wrk req/s of the round (the baselines run first);
#   4. peak RSS: VmHWM of the server process (/proc/PID/status) after 1-3.
# nginx then serves a static copy of jobserver's GET answer (the HTTP ceiling).

NODE_APP="$ROOT/bench/baselines/node-bull"

# ---- packages -----------------------------------------------------------------------
# Installs Debian packages that are missing (as root); system services they would
# start (nginx on port 80) are kept from starting.
ensure_debs() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  [[ $(id -u) -eq 0 ]] || die "missing packages: ${missing[*]} (run as root, or apt-get install them)"
  log "installing ${missing[*]}"
  local policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy=1
  fi
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >&2
  local rc=$?
  ((policy)) && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || die "apt-get install ${missing[*]} failed"
}

# The baseline's npm packages, exactly as package-lock.json pins them (npm ci), again
# only when the lockfile changed since the last install.
ensure_node_baseline() {
  command -v nginx >/dev/null || ensure_debs nginx-light
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then ensure_debs nodejs npm; fi
  local stamp="$NODE_APP/node_modules/.bench-lock.sha256" want
  want=$(sha256sum "$NODE_APP/package-lock.json" | awk '{ print $1 }')
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then return 0; fi
  log "installing the baseline's npm packages (npm ci in ${NODE_APP#"$ROOT"/})"
  (cd "$NODE_APP" && timeout 900 npm ci --no-audit --no-fund --loglevel=error >&2) ||
    die "npm ci in $NODE_APP failed"
  echo "$want" >"$stamp"
}

# ---- the baseline server --------------------------------------------------------------
# start_node DIR CONCURRENCY: the baseline on a free port, on BENCH_SCHEMA / BENCH_PREFIX.
# Sets SERVER_PID, SERVER_URL.
start_node() {
  local dir=$1 concurrency=$2 port
  port=$(free_port)
  (cd "$NODE_APP" && exec env PORT="$port" BIND=127.0.0.1 DATABASE_URL="$BASE_DATABASE_URL" \
     PG_SCHEMA="$BENCH_SCHEMA" REDIS_URL="$REDIS_URL" BULL_PREFIX="$BENCH_PREFIX" \
     WORKER_CONCURRENCY="$concurrency" node server.js >"$dir/server.log" 2>&1) &
  SERVER_PID=$!
  on_exit stop_pid "$SERVER_PID" 20 node-bull
  SERVER_URL="http://127.0.0.1:$port"
  local deadline=$((SECONDS + 60))
  until curl -fsS --max-time 2 -o /dev/null "$SERVER_URL/health" 2>/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$dir/server.log" >&2; die "node-bull exited during start"; }
    ((SECONDS < deadline)) || die "node-bull not ready within 60 s"
    sleep 0.2
  done
  log "node-bull ready on $SERVER_URL (pid $SERVER_PID, worker concurrency $concurrency)"
}

# Peak and current resident memory of a process, in kB: "HWM RSS".
mem_kb() {
  awk '/^VmHWM:/ { h = $2 } /^VmRSS:/ { r = $2 } END { print h + 0, r + 0 }' "/proc/$1/status" 2>/dev/null
}

# ---- one server's run -------------------------------------------------------------------
declare -A CR=()   # results: CR[round.label.key]

# compare_server ROUND LABEL: start LABEL (jobserver, node-cN), load it, read its memory, stop it.
compare_server() {
  local round=$1 label=$2 dir="$CMP_DIR/round$1/$2" k=$1.$2
  local load=("$ROOT/$BUILD_DIR/bench/job_load")
  mkdir -p "$dir"
  isolate "cmp${round}_${label//-/_}"
  echo "==> round $round, $label"
  if [[ $label == jobserver ]]; then
    start_jobserver "$dir/server.log" ENABLE_TEST_JOBS=1 LOG_LEVEL=warn \
      TEST_JOB_CONCURRENCY="$CONCURRENCY" PER_USER_CONCURRENCY=64
  else
    start_node "$dir" "${label#node-c}"
  fi
  wait_for_idle "$IDLE_WAIT" 25
  CR[$k.busy]=$IDLE_BUSY_PCT
  local pid=$SERVER_PID

  local c
  for c in $CLIENTS; do
    echo "--> end-to-end: $JOBS noop jobs, $c clients"
    timeout 1200 "${load[@]}" throughput --url "$SERVER_URL" --db "$DATABASE_URL" --clients "$c" \
      --jobs "$JOBS" --users 32 --wait-timeout 900 >"$dir/throughput-c$c.txt" 2>&1 ||
      FAILURES+=("round $round, $label: end-to-end run with $c clients failed; see ${dir#"$ROOT"/}/throughput-c$c.txt")
    CR[$k.e2e.c$c]=$(grep '^RESULT ' "$dir/throughput-c$c.txt" | tail -n 1 || true)
    echo "${CR[$k.e2e.c$c]:-no result}"
  done
  best_e2e "$k"
  echo "--> seeding $SEED completed jobs"
  if timeout 900 "${load[@]}" seed --url "$SERVER_URL" --db "$DATABASE_URL" --clients 8 --jobs "$SEED" \
       --user bench-reader --wait-timeout 600 --ids-out "$dir/ids.txt" --sample-out "$dir/job.json" \
       >"$dir/seed.txt" 2>&1; then
    CR[$k.bytes]=$(kv_get "$(grep '^RESULT get_bytes' "$dir/seed.txt")" get_bytes)
    CR[$k.poll_bytes]=$(kv_get "$(grep '^RESULT get_bytes' "$dir/seed.txt")" poll_bytes)
    echo "--> wrk GET /jobs/:id"
    CR[$k.get]=$(run_wrk "$dir/wrk-get.txt" "$SERVER_URL" get_job.lua "$dir/ids.txt" bench-reader) ||
      FAILURES+=("round $round, $label: wrk GET failed")
    echo "${CR[$k.get]}"
    echo "--> GET /jobs/:id at a fixed $RATE req/s"
    CR[$k.rate]=$(run_rate "$dir/rate-get.txt" "$SERVER_URL" "$dir/ids.txt" bench-reader "$RATE") ||
      FAILURES+=("round $round, $label: fixed-rate GET failed; see ${dir#"$ROOT"/}/rate-get.txt")
    echo "${CR[$k.rate]}"
    if [[ $label == jobserver ]]; then compare_rate5 "$round" "$dir"; fi
    echo "--> wrk POST /jobs/poll"
    CR[$k.poll]=$(run_wrk "$dir/wrk-poll.txt" "$SERVER_URL" poll_jobs.lua "$dir/ids.txt" bench-reader 20) ||
      FAILURES+=("round $round, $label: wrk poll failed")
    echo "${CR[$k.poll]}"
  else
    FAILURES+=("round $round, $label: seeding failed; see ${dir#"$ROOT"/}/seed.txt")
  fi
  if kill -0 "$pid" 2>/dev/null; then
    local hwm rss
    read -r hwm rss <<<"$(mem_kb "$pid")"
    CR[$k.hwm]=$hwm CR[$k.rss]=$rss
    CR[$k.threads]=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status")
    echo "--> peak RSS $((hwm / 1024)) MiB (now $((rss / 1024)) MiB), ${CR[$k.threads]} threads"
  else
    FAILURES+=("round $round, $label: the server died during the run; see ${dir#"$ROOT"/}/server.log")
  fi
  stop_pid "$pid" 20 "$label"
}

# best_e2e ROUND.LABEL: CR[ROUND.LABEL.e2e] = the end-to-end run (of those with each client
# count) that completed the most jobs per second; CR[ROUND.LABEL.e2e_clients] = its client count.
best_e2e() {
  local k=$1 c pairs=()
  for c in $CLIENTS; do pairs+=("$c=$k.e2e.c$c"); done
  c=$(best_of e2e_jobs_per_s "${pairs[@]}")
  if [[ -n $c ]]; then CR[$k.e2e]=${CR[$k.e2e.c$c]} CR[$k.e2e_clients]=$c; fi
}

# run_rate OUT URL IDS USER RPS: bench/rate_get at RPS req/s for DURATION s (after 2 s not
# counted), at wrk's priority; prints its RATE line with the machine's idle and stolen CPU.
run_rate() {
  local out=$1 url=$2 ids=$3 user=$4 rps=$5 cpu0
  cpu0=$(cpu_counters)
  timeout $((DURATION + 60)) nice -n "$(wrk_nice)" "$ROOT/$BUILD_DIR/bench/rate_get" --url "$url" \
    --ids "$ids" --user "$user" --rate "$rps" --seconds "$DURATION" --warmup 2 >"$out" 2>&1 ||
    { cat "$out" >&2; return 1; }
  echo "$(grep '^RATE ' "$out" | tail -n 1) $(cpu_shares "$cpu0" "$(cpu_counters)")"
}

# compare_rate5 ROUND DIR: jobserver's GET /jobs/:id at five times the best baseline's
# saturated (wrk) req/s of the round, at a fixed rate: the target "5x the req/s with a
# lower p99" asked of one run. The baselines run before jobserver in a round for this.
compare_rate5() {
  local round=$1 dir=$2 best rps
  best=$(best_baseline "$round" get rps)
  rps=$(kv_get "${CR[$round.$best.get]:-}" rps)
  [[ -n $best && -n $rps ]] || { FAILURES+=("round $round: no baseline GET figure to take five times"); return; }
  CR[$round.rate5_rps]=$((5 * rps))
  echo "--> GET /jobs/:id at a fixed ${CR[$round.rate5_rps]} req/s (5x $(label_name "$best"))"
  CR[$round.jobserver.rate5]=$(run_rate "$dir/rate5-get.txt" "$SERVER_URL" "$dir/ids.txt" bench-reader \
    "${CR[$round.rate5_rps]}") ||
    FAILURES+=("round $round, jobserver: GET at 5x the baseline's rate failed; see ${dir#"$ROOT"/}/rate5-get.txt")
  echo "${CR[$round.jobserver.rate5]}"
}

# compare_nginx ROUND: wrk against nginx serving jobserver's GET answer of this round.
compare_nginx() {
  local round=$1 k=$1.nginx sample="$CMP_DIR/round$1/jobserver/job.json"
  [[ -s $sample ]] || { FAILURES+=("round $round: no jobserver GET answer for nginx to serve"); return; }
  echo "==> round $round, nginx static file ($(stat -c %s "$sample") bytes)"
  start_nginx "$CMP_DIR/round$round/nginx" "$sample"
  wait_for_idle "$IDLE_WAIT" 25
  CR[$k.busy]=$IDLE_BUSY_PCT
  CR[$k.bytes]=$(stat -c %s "$sample")
  CR[$k.get]=$(run_wrk "$CMP_DIR/round$round/nginx/wrk.txt" "$NGINX_URL" static.lua) ||
    FAILURES+=("round $round: wrk nginx failed")
  echo "${CR[$k.get]}"
  local worker
  worker=$(ps --ppid "$NGINX_PID" -o pid= 2>/dev/null | head -n 1 | tr -d ' ')
  if [[ -n $worker ]]; then
    local hwm rss
    read -r hwm rss <<<"$(mem_kb "$worker")"
    CR[$k.hwm]=$hwm CR[$k.rss]=$rss
  fi
  stop_pid "$NGINX_PID" 10 nginx
}

# ---- options, versions -------------------------------------------------------------------
compare_options() {
  # Two client counts: each client waits for an answer before its next POST, so with 32
  # a server's POST latency can set the pace; with 64 its processing does.
  JOBS=10000 CLIENTS="32 64" SEED=1000 DURATION=10 CONNECTIONS=64 WARMUP=5 IDLE_WAIT=60 WRITE=1
  # About half of what the baseline serves at saturation on this machine (~6,000 req/s).
  RATE=3000
  # The baseline also runs at our concurrency, so neither side is held to a smaller one.
  CONCURRENCY=256 ROUNDS=1 NODE_CONCURRENCY="1 8 256"
  while (($#)); do
    case $1 in
      --jobs) JOBS=$2; shift 2 ;;
      --clients) CLIENTS=$2; shift 2 ;;
      --concurrency) CONCURRENCY=$2; shift 2 ;;
      --node-concurrency) NODE_CONCURRENCY=$2; shift 2 ;;
      --seed) SEED=$2; shift 2 ;;
      --duration) DURATION=$2; shift 2 ;;
      --connections) CONNECTIONS=$2; shift 2 ;;
      --warmup) WARMUP=$2; shift 2 ;;
      --rounds) ROUNDS=$2; shift 2 ;;
      --idle-wait) IDLE_WAIT=$2; shift 2 ;;
      --rate) RATE=$2; shift 2 ;;
      --no-write) WRITE=0; shift ;;
      *) die "compare: unknown option $1 (see scripts/bench.sh --help)" ;;
    esac
  done
  local n
  for n in "$JOBS" $CLIENTS "$SEED" "$DURATION" "$CONNECTIONS" "$WARMUP" "$IDLE_WAIT" "$RATE" \
           "$CONCURRENCY" "$ROUNDS" $NODE_CONCURRENCY; do
    [[ $n =~ ^[0-9]+$ && $n -le 100000000 ]] || die "compare: options take whole numbers (got '$n')"
  done
  ((SEED >= 20)) || die "compare: --seed must be at least 20 (the poll asks for 20 ids)"
  ((ROUNDS >= 1 && ROUNDS <= 5)) || die "compare: --rounds must be 1..5"
  [[ -n $NODE_CONCURRENCY ]] || die "compare: --node-concurrency needs at least one value"
  [[ -n ${CLIENTS// /} ]] || die "compare: --clients needs at least one value"
}

compare_versions() {
  local compiler npmv pkg pg redis
  compiler=$(sed -n 's/^set(CMAKE_CXX_COMPILER_ID "\(.*\)")$/\1/p; s/^set(CMAKE_CXX_COMPILER_VERSION "\(.*\)")$/\1/p' \
    "$BUILD_DIR"/CMakeFiles/*/CMakeCXXCompiler.cmake 2>/dev/null | head -n 2 | paste -sd ' ')
  npmv=""
  for pkg in express bull pg ioredis; do
    npmv+="${npmv:+, }$pkg $(node -p "require('$NODE_APP/node_modules/$pkg/package.json').version" 2>/dev/null || echo '?')"
  done
  pg=$(psql_app -tA -c 'SHOW server_version' 2>/dev/null | awk '{ print $1 }')
  redis=$(redis_app INFO server 2>/dev/null | tr -d '\r' | sed -n 's/^redis_version://p')
  echo "jobserver $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')" \
       "($BUILD_DIR, Release, ${compiler:-unknown compiler}); Node $(node -v) ($npmv);" \
       "PostgreSQL ${pg:-?}; Redis ${redis:-?}; $(nginx -v 2>&1 | sed 's/^nginx version: //');" \
       "$(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }')"
}

# ---- command ------------------------------------------------------------------------------
cmd_compare() {
  compare_options "$@"
  ensure_node_baseline
  build job_load rate_get jobserver
  CMP_DIR="$ROOT/.run/bench/compare"
  rm -rf "$CMP_DIR"; mkdir -p "$CMP_DIR"
  chmod go+x "$ROOT/.run" "$ROOT/.run/bench"
  start_services
  local machine versions services_before round c labels=(jobserver)
  for c in $NODE_CONCURRENCY; do labels+=("node-c$c"); done
  machine=$(machine_line); versions=$(compare_versions)
  services_before=$(services_identity)
  CMP_STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
  CMP_LABELS=("${labels[@]}")  # jobserver first: the report's columns and best_baseline
  for ((round = 1; round <= ROUNDS; round++)); do
    # jobserver last: its GET at 5x the baselines' rate needs their figures of the round.
    for c in "${labels[@]:1}" jobserver; do compare_server "$round" "$c"; done
    compare_nginx "$round"
  done
  if [[ $(services_identity) != "$services_before" ]]; then
    FAILURES+=("Postgres or Redis was restarted during the run by another process; the figures are not valid")
  fi
  compare_report "$machine" "$versions" >"$CMP_DIR/section.md"
  echo
  cat "$CMP_DIR/section.md"
  if ((WRITE)); then write_section "Comparison with the original Node stack (scripts/bench.sh compare)" "$CMP_DIR/section.md"; fi
  if ((${#FAILURES[@]})); then
    log "finished with ${#FAILURES[@]} failure(s)"
    return 1
  fi
}

# shellcheck source=scripts/bench.d/compare_report.sh
source "$ROOT/scripts/bench.d/compare_report.sh"
