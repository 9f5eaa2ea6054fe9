#!/usr/bin/env bash
# Benchmarks of jobserver, each against a baseline measured in the same run. Results go
# to bench/RESULTS.md (one section per command; other sections are kept).
#
# Usage: scripts/bench.sh COMMAND [options]
#   engine    end-to-end noop throughput (bench/job_load), then wrk against
#             GET /jobs/:id and POST /jobs/poll, and nginx serving a static copy of one
#             GET answer as the baseline. Options:
#               --jobs N          noop jobs created in the throughput phase (20000)
#               --clients N       keep-alive clients of the throughput phase (32)
#               --concurrency N   the server's TEST_JOB_CONCURRENCY (256: noop jobs cost
#                                 nothing to hold, and the tracker's batches grow with
#                                 the jobs in flight; bench/RESULTS.md has a sweep)
#               --seed N          completed jobs that wrk reads (1000)
#               --duration S      seconds of each wrk run (10)
#               --connections N   wrk connections (64)
#               --warmup S        seconds of an unreported wrk run before each (2; 0 = none)
#               --idle-wait S     wait up to S s for other work to leave the CPUs < 25%
#                                 busy before measuring (120; the figure is reported)
#               --no-write        print the results, leave bench/RESULTS.md alone
#   pdf       PDF extraction on real manuals (scripts/fetch-pdfs.sh): share of outline
#             titles found as sections (on the right page), time and peak memory, against
#             pdftotext on the same files (bench/pdf_bench). Options:
#               --runs N          alternating runs of each program per PDF (5)
#               --idle-wait S     as for engine (120)
#               --no-write        print the results, leave bench/RESULTS.md alone
#   chaos     three clustered nodes on the private services; every round one worker
#             node is killed with kill -9 while it runs jobs, then restarted
#             (bench/chaos_bench). Reports the time from the kill to the node's jobs
#             being requeued (median, p90, max), jobs lost and jobs completed twice.
#             Options:
#               --rounds N        kill/restart rounds (20)
#               --jobs N          sleep jobs per round (24)
#               --no-write        print the results, leave bench/RESULTS.md alone
#   push      Server-Sent Events: GET /jobs/:id throughput with and without 1,000 open
#             event streams, and update-to-client latency on one and on two nodes
#             (scripts/bench-push.sh, bench/sse_bench). Options: --streams N (1000),
#             --duration S, --connections N, --latency-jobs N, --steps N, --no-write
#   compare   jobserver against the original Node stack (bench/baselines/node-bull:
#             Express + Bull + pg, worker concurrency 1, 8 and 256) and nginx, on the same
#             Postgres and Redis with the same client and load: end-to-end noop
#             throughput, wrk GET /jobs/:id and POST /jobs/poll, GET /jobs/:id at the
#             same fixed rate for every server (bench/rate_get) and jobserver's at five
#             times the best baseline's wrk req/s, peak RSS (VmHWM).
#             Installs nginx, Node and the baseline's npm packages when missing.
#             Options: --jobs N (10000), --clients "32 64" (one end-to-end run with each;
#               each server's best counts), --concurrency N (256),
#               --node-concurrency "1 8 256", --seed N (1000), --duration S (10),
#               --connections N (64), --warmup S (5), --rounds N (1), --idle-wait S (60),
#               --rate N (3000 req/s, the fixed-rate GET), --no-write
#   soak MINUTES  mixed load for MINUTES (uploads of bench/soak/notes.pdf, lesson
#             generations with the offline provider, polls, SSE streams when the server
#             has GET /jobs/:id/events, cancels); prints RSS, open fds, threads and
#             Postgres connections at the start and every minute; fails on a leak
#             (rule: docs/operations.md). Options: --workers N (6), --warmup M,
#               --rss-growth PCT (10), --no-write
#   upload    the answer latency of 20 MB PDF uploads (bench/upload_latency.sh) with
#             processor threads at PROCESSOR_NICE=0 and at the default, against
#             sending the same 20 MB over loopback TCP into a file; first the multipart
#             delimiter search alone against glibc's memmem (bench/multipart_bench). Options:
#               --uploads N (40), --idle-wait S (120), --no-write
#   indexes   the end-to-end noop run with the indexes of jobs as built against the same
#             schema with the former single-column indexes (owner_id, status, type,
#             created_at) added back, in alternating rounds (scripts/bench.d/indexes.sh).
#             The table is first filled with --prefill N finished jobs (500000).
#             Options: --rounds N (3), --jobs N (20000), --concurrency N (256),
#               --prefill N, --idle-wait S (120), --no-write
#
# Env: BUILD_DIR   build directory (default build; build-bench when build is not a
#                  Release build without sanitizers)
#      BUILD_JOBS  parallel compile jobs (default 2)
#      PG_PORT / REDIS_PORT are passed through to scripts/services.sh.
#
# Every run uses its own Postgres schema and Redis key prefix, drops/deletes them at
# exit, and stops every process it started (jobserver, nginx) via an EXIT trap.
# Services that were already running are left running. Logs of the last run of a
# command stay in .run/bench/<command>/ (jobserver.log, nginx/, wrk and job_load output).
# Everything listens on 127.0.0.1.
# shellcheck disable=SC2317  # functions run via the cleanup stack
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
RESULTS_FILE="$ROOT/bench/RESULTS.md"
WRK_DIR="$ROOT/bench/wrk"

# ---- helpers ------------------------------------------------------------------------
log() { echo "bench.sh: $*" >&2; }
die() { echo "bench.sh: ERROR: $*" >&2; exit 1; }

# Cleanup stack: `on_exit CMD...` registers a command; at exit they run newest first.
CLEANUPS=()
on_exit() { CLEANUPS+=("$(printf '%q ' "$@")"); }
run_cleanups() {
  local rc=$? i
  set +e
  trap - EXIT INT TERM
  for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${CLEANUPS[i]}"; done
  exit "$rc"
}
trap run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free port found"
}

# Kill one process we started: SIGTERM, wait up to $2 s, then SIGKILL.
# A pid it has stopped once is never signalled again (the number may have been reused).
declare -A STOPPED_PIDS=()
stop_pid() {
  local pid=$1 grace=$2 name=$3 deadline
  [[ -z ${STOPPED_PIDS[$pid]:-} ]] || return 0
  STOPPED_PIDS[$pid]=1
  kill -0 "$pid" 2>/dev/null || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null
  deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$name (pid $pid) still running after ${grace}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null
      break
    fi
    sleep 0.1
  done
  wait "$pid" 2>/dev/null || true
}

# Number formatting for the tables: fmt_int 12345.6 -> 12,346; fmt_ms 1234 (us) -> 1.23 ms
fmt_int() { awk -v v="$1" 'BEGIN { if (v == "") { print "n/a"; exit } s = sprintf("%.0f", v);
  n = length(s); o = ""; for (i = 1; i <= n; i++) { o = o substr(s, i, 1);
  if ((n - i) % 3 == 0 && i < n) o = o "," } print o }'; }
fmt_ms() { awk -v us="$1" 'BEGIN { if (us == "") { print "n/a"; exit } ms = us / 1000;
  if (ms < 10) printf "%.2f ms\n", ms; else if (ms < 100) printf "%.1f ms\n", ms;
  else printf "%.0f ms\n", ms }'; }
ratio_pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a";
  else printf "%.0f%%\n", 100 * a / b }'; }
# Is $1 >= $2 (floats)? / Is $1 < $2?
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 < b + 0) }'; }

# kv_get LINE KEY: the value of KEY=value in a `RESULT ...` / `WRK ...` line.
kv_get() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | tail -n 1; }

# ---- build --------------------------------------------------------------------------
is_release_build() {
  local cache=$1/CMakeCache.txt
  [[ -f $cache ]] || return 0   # not configured yet: we configure it as Release
  grep -qx 'CMAKE_BUILD_TYPE:STRING=Release' "$cache" && ! grep -qx 'JOBSERVER_SANITIZE:BOOL=ON' "$cache"
}

# build TARGET...: configure (Release) if needed, then build only the given targets.
build() {
  if [[ -z ${BUILD_DIR:-} ]]; then
    BUILD_DIR=build
    if ! is_release_build "$BUILD_DIR"; then
      log "build/ is not a Release build without sanitizers; using build-bench/"
      BUILD_DIR=build-bench
    fi
  fi
  is_release_build "$BUILD_DIR" || die "$BUILD_DIR is not a Release build without sanitizers"
  if [[ ! -f $BUILD_DIR/CMakeCache.txt || ! -d $BUILD_DIR/bench/CMakeFiles/job_load.dir ]]; then
    log "configuring $BUILD_DIR (Release)"
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >&2
  fi
  log "building $* in $BUILD_DIR"
  timeout 3600 cmake --build "$BUILD_DIR" -j"${BUILD_JOBS:-2}" --target "$@" >&2 ||
    die "building $* in $BUILD_DIR failed (a concurrent build in the same directory can cause this; run again)"
}

# ---- services (Postgres, Redis), schema and key prefix --------------------------------
service_running() {
  local status
  status=$(scripts/services.sh status 2>/dev/null) || true
  [[ $status == *"$1: running"* ]]
}

# Starts Postgres and Redis; stops at exit only those that were not running before.
start_services() {
  local out
  if ! service_running postgres && ! service_running redis; then
    on_exit scripts/services.sh stop
  elif ! service_running postgres; then
    on_exit scripts/services.sh stop-postgres
  elif ! service_running redis; then
    on_exit scripts/services.sh stop-redis
  fi
  out=$(scripts/services.sh start) || die "scripts/services.sh start failed"
  eval "$out"
  BASE_DATABASE_URL=$DATABASE_URL
}

psql_app() { PGCONNECT_TIMEOUT=10 timeout 120 psql "$BASE_DATABASE_URL" -X -q -w -v ON_ERROR_STOP=1 "$@"; }
redis_app() { timeout 60 redis-cli -u "$REDIS_URL" "$@"; }

# Identifies the running Postgres and Redis instances: if it changes during a run,
# someone restarted a service under the benchmark (tests share these services).
services_identity() {
  local pg redis
  pg=$(psql_app -tA -c 'SELECT pg_postmaster_start_time()' 2>/dev/null) || pg=down
  redis=$(redis_app INFO server 2>/dev/null | tr -d '\r' | sed -n 's/^run_id://p')
  echo "postgres started ${pg:-?}, redis run_id ${redis:-down}"
}

drop_schema() {
  log "dropping schema $1"
  psql_app -c "DROP SCHEMA IF EXISTS $1 CASCADE" >/dev/null 2>&1 || log "could not drop schema $1"
}

delete_redis_keys() {
  local prefix=$1 pattern n=0 c
  for pattern in "$prefix:*" "{$prefix:*"; do
    c=$(redis_app --scan --pattern "$pattern" |
        xargs -r -n 500 timeout 60 redis-cli -u "$REDIS_URL" UNLINK | awk '{ s += $1 } END { print s + 0 }')
    n=$((n + c))
  done
  log "deleted $n Redis key(s) of prefix $prefix"
}

# Creates schema bench_<name>_<pid> and a Redis prefix; both are removed at exit.
# Sets BENCH_SCHEMA, BENCH_PREFIX and DATABASE_URL (pointing at the schema).
isolate() {
  local name=$1 sep
  BENCH_SCHEMA="bench_${name}_$$"
  BENCH_PREFIX="bench-$name-$$-$RANDOM"
  psql_app -c "CREATE SCHEMA $BENCH_SCHEMA" >/dev/null || die "cannot create schema $BENCH_SCHEMA"
  on_exit drop_schema "$BENCH_SCHEMA"
  on_exit delete_redis_keys "$BENCH_PREFIX"
  sep='?'; [[ $BASE_DATABASE_URL == *\?* ]] && sep='&'
  DATABASE_URL="${BASE_DATABASE_URL}${sep}options=-csearch_path%3D$BENCH_SCHEMA"
  log "schema $BENCH_SCHEMA, Redis prefix $BENCH_PREFIX"
}

# ---- jobserver ----------------------------------------------------------------------
# start_jobserver LOGFILE [VAR=value...]: runs build/jobserver on a free port with the
# bench schema/prefix and the given settings; waits until /ready answers 200.
# Sets SERVER_PORT, SERVER_PID, SERVER_URL.
start_jobserver() {
  local logfile=$1; shift
  SERVER_PORT=$(free_port)
  SERVER_DIR=$(dirname "$logfile")
  # Runs in SERVER_DIR with core dumps on, so a crash leaves SERVER_DIR/core* behind.
  (cd "$SERVER_DIR" && { ulimit -c unlimited 2>/dev/null || true; } &&
    exec env -u JOBSERVER_CONFIG DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" \
      REDIS_PREFIX="$BENCH_PREFIX" HTTP_PORT="$SERVER_PORT" BIND=127.0.0.1 \
      STORAGE_DIR="$SERVER_DIR/storage" SHUTDOWN_GRACE_SECONDS=5 "$@" \
      "$ROOT/$BUILD_DIR/jobserver" >"$logfile" 2>&1) &
  SERVER_PID=$!
  on_exit stop_pid "$SERVER_PID" 20 jobserver
  SERVER_URL="http://127.0.0.1:$SERVER_PORT"
  local deadline=$((SECONDS + 60))
  until curl -fsS --max-time 2 -o /dev/null "$SERVER_URL/ready" 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 30 "$logfile" >&2
      die "jobserver exited during start (log: $logfile)"
    fi
    ((SECONDS < deadline)) || { tail -n 30 "$logfile" >&2; die "jobserver not ready within 60 s"; }
    sleep 0.2
  done
  log "jobserver ready on $SERVER_URL (pid $SERVER_PID, log $logfile)"
}

server_alive() { kill -0 "$SERVER_PID" 2>/dev/null; }

# After the server died: sets SERVER_DEATH to how it ended, plus where a backtrace from
# its core file is, if there is one (SERVER_DIR/crash-backtrace.txt). Not in a subshell:
# only this shell can `wait` for the server.
server_death() {
  local rc=0 core
  wait "$SERVER_PID" 2>/dev/null || rc=$?
  if ((rc > 128)); then
    SERVER_DEATH="jobserver was killed by signal $((rc - 128)) (SIG$(kill -l $((rc - 128)) 2>/dev/null))"
  elif ((rc == 0)); then
    # main() returns 0 only after sigwait() got SIGTERM or SIGINT: a signal from outside.
    SERVER_DEATH="jobserver exited with status 0, i.e. it received SIGTERM or SIGINT from another process"
  else
    SERVER_DEATH="jobserver exited with status $rc"
  fi
  core=$(find "$SERVER_DIR" -maxdepth 1 -name 'core*' -type f | head -n 1)
  if [[ -n $core ]] && command -v gdb >/dev/null; then
    timeout 120 gdb -q -batch -ex bt -ex 'thread apply all bt 12' "$ROOT/$BUILD_DIR/jobserver" \
      "$core" >"$SERVER_DIR/crash-backtrace.txt" 2>&1 || true
    SERVER_DEATH+="; core dump $core, backtrace in $SERVER_DIR/crash-backtrace.txt"
  fi
  log "$SERVER_DEATH"
}

# ---- nginx baseline -----------------------------------------------------------------
# start_nginx DIR FILE: a private nginx (1 worker, daemon off) serving FILE as
# /static.json from DIR/www. Sets NGINX_URL.
start_nginx() {
  local dir=$1 file=$2 port
  port=$(free_port)
  mkdir -p "$dir/www" "$dir/tmp"
  cp "$file" "$dir/www/static.json"
  chmod -R a+rX "$dir"   # the worker may run as nobody
  cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  keepalive_timeout 65;
  default_type application/json;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    root $dir/www;
  }
}
EOF
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stdout.log" 2>&1 &
  local pid=$!
  NGINX_PID=$pid
  on_exit stop_pid "$pid" 10 nginx
  NGINX_URL="http://127.0.0.1:$port/static.json"
  local deadline=$((SECONDS + 20))
  until curl -fsS --max-time 2 -o /dev/null "$NGINX_URL" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/stdout.log" "$dir/error.log" >&2; die "nginx exited"; }
    ((SECONDS < deadline)) || die "nginx not answering within 20 s"
    sleep 0.2
  done
  log "nginx ready on $NGINX_URL (pid $pid)"
}

# ---- wrk ----------------------------------------------------------------------------
# The kernel's count of connections dropped because a listen queue was full (all
# sockets of the machine; during our runs, normally ours).
listen_overflows() {
  awk '$1 == "TcpExt:" { if (!seen) { for (i = 2; i <= NF; i++) name[i] = $i; seen = 1 }
       else for (i = 2; i <= NF; i++) if (name[i] == "ListenOverflows") print $i }' /proc/net/netstat
}

# wrk's scheduling priority (a nice value), the same for every server it measures. The
# client shares the two cores with the server under test: at equal priority a server with
# many busy threads (one per connection) takes CPU time from wrk's two threads, and wrk
# then times its own wait for a CPU as the server's latency (same server, same minute:
# GET /health p99 27-62 ms at equal priority, 1.9-7.3 ms with wrk at -10). Lowering the
# nice value needs root; otherwise wrk runs at equal priority and the report says so.
wrk_nice() {
  if [[ $(id -u) == 0 ]]; then echo -10; else echo 0; fi
}

# The machine's CPU counters (/proc/stat, first line: user nice system idle iowait irq
# softirq steal).
cpu_counters() { head -n 1 /proc/stat | awk '{ print $2, $3, $4, $5, $6, $7, $8, $9 }'; }

# cpu_shares BEFORE AFTER: "busy_pct=N idle_pct=N steal_pct=N" between two cpu_counters
# readings (busy: all but idle and iowait). Steal is time the hypervisor gave the
# machine's CPUs to others while we had work.
cpu_shares() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); t = 0
    for (i = 1; i <= n; i++) { d[i] = y[i] - x[i]; t += d[i] }
    if (t <= 0) t = 1
    printf "busy_pct=%d idle_pct=%.0f steal_pct=%.1f", 100 * (t - d[4] - d[5]) / t,
           100 * d[4] / t, 100 * d[8] / t }'
}

# run_wrk OUTFILE URL SCRIPT [SCRIPT ARGS...]: optional warm-up, then the measured run.
# Prints wrk's `WRK ...` summary line (see bench/wrk/report.lua) plus
# listen_overflows=N, idle_pct=N and steal_pct=N for the measured run.
run_wrk() {
  local out=$1 url=$2 script=$3; shift 3
  local common=(-t2 -c"$CONNECTIONS" --timeout 5s -s "$WRK_DIR/$script")
  local client=(nice -n "$(wrk_nice)" wrk)
  if ((WARMUP > 0)); then
    timeout $((WARMUP + 30)) "${client[@]}" "${common[@]}" -d"${WARMUP}s" "$url" -- "$@" >"$out.warmup" 2>&1 || true
  fi
  local overflows cpu0; overflows=$(listen_overflows); cpu0=$(cpu_counters)
  timeout $((DURATION + 60)) "${client[@]}" "${common[@]}" -d"${DURATION}s" --latency "$url" -- "$@" >"$out" 2>&1 ||
    { cat "$out" >&2; return 1; }
  overflows=$(($(listen_overflows) - overflows))
  echo "$(grep '^WRK ' "$out" | tail -n 1) listen_overflows=$overflows $(cpu_shares "$cpu0" "$(cpu_counters)")"
}

# ---- RESULTS.md ---------------------------------------------------------------------
# write_section TITLE FILE: replaces the section "## TITLE" (up to the next "## ")
# of bench/RESULTS.md by the contents of FILE, or appends it.
write_section() {
  local title=$1 body=$2 tmp
  tmp=$(mktemp "$RESULTS_FILE.XXXXXX")
  if [[ ! -f $RESULTS_FILE ]]; then
    # shellcheck disable=SC2016  # backquotes are Markdown
    printf '# Benchmark results\n\nWritten by `scripts/bench.sh COMMAND`; each command replaces only its own section.\n' >"$RESULTS_FILE"
  fi
  awk -v head="## $title" -v body="$body" '
    function emit(  n, i, l) {   # the body without its trailing blank lines
      n = 0; while ((getline l < body) > 0) lines[++n] = l; close(body)
      while (n > 0 && lines[n] == "") n--
      for (i = 1; i <= n; i++) print lines[i]; done = 1 }
    $0 == head { if (!done) { if (NR > 1 && prev != "") print ""; emit() } skip = 1; next }
    skip && /^## / { skip = 0; print "" }
    !skip { print; prev = $0 }
    END { if (!done) { if (prev != "") print ""; emit() } }' "$RESULTS_FILE" >"$tmp"
  mv "$tmp" "$RESULTS_FILE"
  log "updated section \"$title\" of ${RESULTS_FILE#"$ROOT"/}"
}

machine_line() {
  local mem cpu
  mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
  echo "$(nproc) cores (nproc), $mem RAM, ${cpu:-unknown CPU}"
}

# Percent of all CPUs busy over the next $1 seconds (from /proc/stat).
cpu_busy_pct() {
  local before; before=$(cpu_counters)
  sleep "$1"
  kv_get "$(cpu_shares "$before" "$(cpu_counters)")" busy_pct
}

# Waits (at most $1 s) until other work leaves the CPUs mostly idle (< $2 % busy over
# 2 s): other engineers' builds and tests share this machine. Sets IDLE_BUSY_PCT.
wait_for_idle() {
  local deadline=$((SECONDS + $1)) limit=$2
  IDLE_BUSY_PCT=$(cpu_busy_pct 2)
  while ((IDLE_BUSY_PCT >= limit && SECONDS < deadline)); do
    log "CPUs ${IDLE_BUSY_PCT}% busy with other work; waiting (up to $1 s) for < ${limit}%"
    IDLE_BUSY_PCT=$(cpu_busy_pct 2)
  done
  log "CPUs ${IDLE_BUSY_PCT}% busy before the measurements"
}

versions_line() {
  local rev dirty=""
  rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  git diff --quiet HEAD 2>/dev/null || dirty=" + uncommitted changes"
  echo "jobserver $rev$dirty ($BUILD_DIR, Release), $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }')"
}

# ---- engine -------------------------------------------------------------------------
# Results of the phases, as `RESULT ...` (job_load) / `WRK ...` (wrk) lines.
E2E="" GET="" HEALTH="" POLL="" STATIC="" GET_BYTES="" FAILURES=()

engine_options() {
  JOBS=20000 CLIENTS=32 SEED=1000 DURATION=10 CONNECTIONS=64 WARMUP=2 IDLE_WAIT=120 WRITE=1
  CONCURRENCY=256
  while (($#)); do
    case $1 in
      --jobs) JOBS=$2; shift 2 ;;
      --concurrency) CONCURRENCY=$2; shift 2 ;;
      --clients) CLIENTS=$2; shift 2 ;;
      --seed) SEED=$2; shift 2 ;;
      --duration) DURATION=$2; shift 2 ;;
      --connections) CONNECTIONS=$2; shift 2 ;;
      --warmup) WARMUP=$2; shift 2 ;;
      --idle-wait) IDLE_WAIT=$2; shift 2 ;;
      --no-write) WRITE=0; shift ;;
      *) die "engine: unknown option $1 (see scripts/bench.sh --help)" ;;
    esac
  done
  local n
  for n in "$JOBS" "$CLIENTS" "$SEED" "$DURATION" "$CONNECTIONS" "$WARMUP" "$IDLE_WAIT" "$CONCURRENCY"; do
    [[ $n =~ ^[0-9]+$ ]] || die "engine: options take whole numbers (got '$n')"
  done
  ((SEED >= 20)) || die "engine: --seed must be at least 20 (the poll asks for 20 ids)"
}

# (a) end-to-end noop throughput, then seeding the jobs that (b) reads. Returns 1 when
# there is nothing to read.
engine_jobs() {
  local out_dir=$1 load=("$ROOT/$BUILD_DIR/bench/job_load")
  echo "==> (a) end-to-end: $JOBS noop jobs, $CLIENTS clients, 32 users"
  if timeout 900 "${load[@]}" throughput --url "$SERVER_URL" --db "$DATABASE_URL" \
       --clients "$CLIENTS" --jobs "$JOBS" --users 32 | tee "$out_dir/throughput.txt"; then :
  else FAILURES+=("end-to-end run failed (exit ${PIPESTATUS[0]}); see $out_dir/throughput.txt"); fi
  E2E=$(grep '^RESULT ' "$out_dir/throughput.txt" | tail -n 1 || true)
  server_alive || { server_death; FAILURES+=("during the end-to-end run: $SERVER_DEATH"); return 1; }

  echo "==> (b) seeding $SEED completed jobs for bench-reader"
  if ! timeout 600 "${load[@]}" seed --url "$SERVER_URL" --db "$DATABASE_URL" --clients 8 \
       --jobs "$SEED" --user bench-reader --ids-out "$out_dir/ids.txt" \
       --sample-out "$out_dir/job.json" | tee "$out_dir/seed.txt"; then
    FAILURES+=("seeding failed; see $out_dir/seed.txt")
    server_alive || { server_death; FAILURES+=("while seeding: $SERVER_DEATH"); }
    return 1
  fi
  GET_BYTES=$(kv_get "$(grep '^RESULT get_bytes' "$out_dir/seed.txt")" get_bytes)
}

# (b) wrk against the server, (c) the nginx baseline.
engine_http() {
  local out_dir=$1 ids=$1/ids.txt
  echo "==> (b) wrk GET /jobs/:id (${DURATION}s, $CONNECTIONS connections)"
  GET=$(run_wrk "$out_dir/wrk-get.txt" "$SERVER_URL" get_job.lua "$ids" bench-reader) ||
    FAILURES+=("wrk GET /jobs/:id failed")
  echo "$GET"
  echo "==> (b) wrk POST /jobs/poll, 20 ids"
  POLL=$(run_wrk "$out_dir/wrk-poll.txt" "$SERVER_URL" poll_jobs.lua "$ids" bench-reader 20) ||
    FAILURES+=("wrk POST /jobs/poll failed")
  echo "$POLL"
  echo "==> wrk GET /health (the server's HTTP layer without a handler that does work)"
  HEALTH=$(run_wrk "$out_dir/wrk-health.txt" "$SERVER_URL/health" static.lua) ||
    FAILURES+=("wrk GET /health failed")
  echo "$HEALTH"
  server_alive || { server_death; FAILURES+=("during the wrk runs against it: $SERVER_DEATH"); }

  echo "==> (c) nginx baseline: static file of $GET_BYTES bytes"
  start_nginx "$out_dir/nginx" "$out_dir/job.json"
  STATIC=$(run_wrk "$out_dir/wrk-nginx.txt" "$NGINX_URL" static.lua) || FAILURES+=("wrk nginx failed")
  echo "$STATIC"
}

# vm_rss_mib PID: the resident memory of a process in MiB.
vm_rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

cmd_engine() {
  engine_options "$@"
  build job_load jobserver
  local machine versions out_dir="$ROOT/.run/bench/engine" services_before warn_lines
  machine=$(machine_line); versions=$(versions_line)   # of what was just built
  rm -rf "$out_dir"; mkdir -p "$out_dir"
  chmod go+x "$ROOT/.run" "$ROOT/.run/bench"
  start_services
  isolate engine
  start_jobserver "$out_dir/jobserver.log" ENABLE_TEST_JOBS=1 LOG_LEVEL=warn \
    TEST_JOB_CONCURRENCY="$CONCURRENCY" PER_USER_CONCURRENCY=64
  services_before=$(services_identity)
  wait_for_idle "$IDLE_WAIT" 25
  local busy_before=$IDLE_BUSY_PCT busy_after

  # Server memory before and after the end-to-end jobs: per-job state that is never
  # released shows as growth here.
  RSS_START=$(vm_rss_mib "$SERVER_PID"); RSS_E2E=""
  if engine_jobs "$out_dir"; then
    RSS_E2E=$(vm_rss_mib "$SERVER_PID")
    engine_http "$out_dir"
  fi

  busy_after=$(cpu_busy_pct 2)   # our load has stopped: what is left is other work
  machine+="; CPUs busy with other work: ${busy_before}% just before the measurements, ${busy_after}% just after"
  if ((busy_before >= 25 || busy_after >= 25)); then
    FAILURES+=("other work kept the CPUs busy around the run (${busy_before}% before, ${busy_after}% after; more than 25% means the figures are disturbed)")
  fi
  if [[ $(services_identity) != "$services_before" ]]; then
    FAILURES+=("Postgres or Redis was restarted during the run by another process (before: $services_before; after: $(services_identity)); the figures are not valid")
  fi
  # Anything the server logged at warn or above is worth a look.
  warn_lines=$(grep -ciE '\[(warning|warn|error|critical)\]' "$out_dir/jobserver.log" || true)
  engine_report "$machine" "$versions" "$warn_lines" "$out_dir" >"$out_dir/section.md"
  echo
  cat "$out_dir/section.md"
  if ((WRITE)); then write_section "Engine (scripts/bench.sh engine)" "$out_dir/section.md"; fi
  if ((${#FAILURES[@]})); then
    log "finished with ${#FAILURES[@]} failure(s)"
    return 1
  fi
}

# engine_report MACHINE VERSIONS WARN_LINES OUT_DIR: the Markdown section (stdout),
# from the phase results (E2E, GET, ...) and FAILURES.
engine_report() {
  local machine=$1 versions=$2 warns=$3 out_dir=$4
  local e2e=$E2E get=$GET health=$HEALTH poll=$POLL stat=$STATIC bytes=$GET_BYTES
  local nginx_rps get_rps create_rps e2e_rate
  nginx_rps=$(kv_get "$stat" rps); get_rps=$(kv_get "$get" rps)
  create_rps=$(kv_get "$e2e" create_rps); e2e_rate=$(kv_get "$e2e" e2e_jobs_per_s)
  wrk_errors() {
    [[ -n $1 ]] || { echo n/a; return; }
    local s=0 k
    for k in non2xx connect_errors read_errors write_errors timeouts; do
      s=$((s + $(kv_get "$1" "$k")))
    done
    echo "$s"
  }
  ms_to_us() { awk -v m="$1" 'BEGIN { if (m != "") print m * 1000 }'; }
  verdict() { if "$@"; then echo "**met**"; else echo "**missed**"; fi; }

  echo "## Engine (scripts/bench.sh engine)"
  echo
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`scripts/bench.sh engine\` (one run; client,"
  echo "server, Postgres, Redis and nginx all share the machine, over loopback)."
  echo
  echo "- Machine: $machine"
  echo "- Versions: $versions"
  echo "- Server: ENABLE_TEST_JOBS=1 LOG_LEVEL=warn TEST_JOB_CONCURRENCY=$CONCURRENCY PER_USER_CONCURRENCY=64,"
  echo "  other settings default (HTTP_THREADS 128, DB_POOL_SIZE 8); own schema and Redis prefix."
  echo "- End-to-end: \`bench/job_load\`, $CLIENTS keep-alive clients (one client thread, epoll) POST $JOBS noop jobs"
  echo "  over 32 users; each client opens its connection first, then the clock runs from the"
  echo "  first POST until Postgres counts all jobs \`completed\`."
  echo "  req/s, p50 and p99 are those of the POSTs."
  local warm="no warm-up run"; ((WARMUP > 0)) && warm="after a ${WARMUP}s warm-up run"
  echo "- HTTP: \`wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency\` ($warm), at nice $(wrk_nice) for every"
  echo "  server alike (a client starved of CPU by the server under test times its own waiting);"
  echo "  GET rotates over $SEED completed jobs of one user, poll asks for 20 of them per request;"
  echo "  nginx (1 worker, access_log off) serves a static copy of one GET answer (${bytes:-?} bytes);"
  echo "  GET /health (fixed answer, no actor, Redis or Postgres) shows the server's HTTP layer alone."
  echo
  echo "| benchmark | jobs/s | req/s | p50 | p99 | errors | req/s vs nginx |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  echo "| end-to-end noop ($JOBS jobs, $CLIENTS clients) | $(fmt_int "$e2e_rate") | $(fmt_int "$create_rps") |" \
       "$(fmt_ms "$(ms_to_us "$(kv_get "$e2e" p50_ms)")") | $(fmt_ms "$(ms_to_us "$(kv_get "$e2e" p99_ms)")") |" \
       "$(kv_get "$e2e" errors) | $(ratio_pct "$create_rps" "$nginx_rps") |"
  local row name line
  for row in "GET /jobs/:id|$get" "POST /jobs/poll (20 ids)|$poll" \
             "GET /health (jobserver HTTP layer only)|$health" "nginx static file (baseline)|$stat"; do
    name=${row%%|*}; line=${row#*|}
    echo "| $name | – | $(fmt_int "$(kv_get "$line" rps)") | $(fmt_ms "$(kv_get "$line" p50_us)") |" \
         "$(fmt_ms "$(kv_get "$line" p99_us)") | $(wrk_errors "$line") | $(ratio_pct "$(kv_get "$line" rps)" "$nginx_rps") |"
  done
  echo
  echo "Errors: failed POSTs (end-to-end), or non-2xx answers + socket errors + timeouts (wrk)."
  echo "Kernel listen-queue overflows (TcpExt ListenOverflows) during each measured wrk run:"
  echo "GET $(kv_get "$get" listen_overflows), poll $(kv_get "$poll" listen_overflows)," \
       "health $(kv_get "$health" listen_overflows), nginx $(kv_get "$stat" listen_overflows)."
  echo "CPU idle / stolen by the hypervisor during each measured wrk run: GET"
  echo "$(kv_get "$get" idle_pct) / $(kv_get "$get" steal_pct) %, poll $(kv_get "$poll" idle_pct) / $(kv_get "$poll" steal_pct) %," \
       "health $(kv_get "$health" idle_pct) / $(kv_get "$health" steal_pct) %, nginx $(kv_get "$stat" idle_pct) / $(kv_get "$stat" steal_pct) %" \
       "(when a run leaves no CPU idle and the host steals, the stolen time comes as stops of"
  echo "up to ~100 ms, which then set the p99 of every server measured so)."
  if [[ -n $RSS_E2E ]]; then
    echo "Server memory (RSS): $RSS_START MiB started and idle, $RSS_E2E MiB right after the $JOBS"
    echo "end-to-end jobs."
  fi
  if [[ -n $(kv_get "$e2e" run_p50_ms) ]]; then
    echo "End-to-end jobs, from their timestamps: queue wait (created -> started) p50"
    echo "$(kv_get "$e2e" wait_p50_ms) ms, p99 $(kv_get "$e2e" wait_p99_ms) ms; run (started -> completed)" \
         "p50 $(kv_get "$e2e" run_p50_ms) ms, p99 $(kv_get "$e2e" run_p99_ms) ms."
  fi
  echo
  echo "| target | measured | |"
  echo "|---|---:|---|"
  echo "| GET /jobs/:id ≥ 50% of nginx req/s | $(ratio_pct "$get_rps" "$nginx_rps") |" \
       "$(verdict ge "$(awk -v a="$get_rps" -v b="$nginx_rps" 'BEGIN { if (a != "" && b > 0) print a / b }')" 0.5) |"
  echo "| GET /jobs/:id p99 < 10 ms | $(fmt_ms "$(kv_get "$get" p99_us)") |" \
       "$(verdict lt "$(kv_get "$get" p99_us)" 10000) |"
  echo "| end-to-end noop ≥ 4,000 jobs/s | $(fmt_int "$e2e_rate") | $(verdict ge "$e2e_rate" 4000) |"
  echo
  local connect_errors; connect_errors=$(kv_get "$e2e" connect_errors)
  if [[ -n $connect_errors && $connect_errors != 0 ]]; then
    echo "$connect_errors connection attempt(s) of the end-to-end clients failed and were retried"
    echo "before the clock started (see \`${out_dir#"$ROOT"/}/throughput.txt\`)."
    echo
  fi
  if [[ $warns != 0 && -n $warns ]]; then
    echo "The server logged $warns line(s) at warn level or above during the run (kept in"
    echo "\`${out_dir#"$ROOT"/}/jobserver.log\` until the next run)."
    echo
  fi
  if ((${#FAILURES[@]})); then
    echo "**This run is not clean:**"
    local f
    for f in "${FAILURES[@]}"; do echo "- ${f//$ROOT\//}"; done
    echo
  fi
}

# ---- pdf ----------------------------------------------------------------------------
cmd_pdf() {
  local runs=5 idle_wait=120 write=1 corpus dir table section
  while (($#)); do
    case $1 in
      --runs) runs=${2:?--runs needs a value}; shift 2 ;;
      --idle-wait) idle_wait=${2:?--idle-wait needs a value}; shift 2 ;;
      --no-write) write=0; shift ;;
      *) die "pdf: unknown option $1" ;;
    esac
  done
  command -v pdftotext >/dev/null || die "pdftotext not found (scripts/setup.sh installs poppler-utils)"
  corpus=$(scripts/fetch-pdfs.sh) || die "scripts/fetch-pdfs.sh failed"
  build pdf_bench
  dir="$ROOT/.run/bench/pdf"
  mkdir -p "$dir"
  table="$dir/table.md"
  section="$dir/section.md"
  wait_for_idle "$idle_wait" 25
  "$BUILD_DIR/bench/pdf_bench" run --runs "$runs" --out "$table" "$corpus"/*.pdf >&2 ||
    die "bench/pdf_bench failed"
  {
    echo "## PDF extraction (scripts/bench.sh pdf)"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC by \`scripts/bench.sh pdf\` (one run)."
    echo
    echo "- Machine: $(machine_line); CPUs ${IDLE_BUSY_PCT}% busy with other work just before the measurements"
    echo "- Versions: jobserver $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes') ($BUILD_DIR, Release), Poppler $(pkg-config --modversion poppler 2>/dev/null || echo '?'), $(pdftotext -v 2>&1 | head -n 1)"
    echo "- Corpus: manuals from Debian documentation packages (\`scripts/fetch-pdfs.sh\`); the"
    echo "  expected answer is each PDF's own outline, its top-level entries with their"
    echo "  destination pages as \`pdftohtml -xml\` resolves them. \"By title matching alone\""
    echo "  re-runs the structuring with the destinations dropped, so every title is placed by"
    echo "  matching it against the printed lines; \"by headings alone\" drops the outline, so"
    echo "  sections come from font size, weight and numbering (a name then also counts when it"
    echo "  ends with the title or the title with it, as in \"Part I Gnuplot\" for \"I Gnuplot\")."
    echo "- Speed: per PDF, $runs alternating runs of \`pdf_bench extract\` (extract_structure():"
    echo "  reading, structuring, markdown) and \`pdftotext FILE /dev/null\`, each a fresh process;"
    echo "  median wall and CPU time, largest peak RSS (wait4 ru_maxrss)."
    echo
    cat "$table"
    if ((IDLE_BUSY_PCT >= 25)); then
      echo
      echo "**This run is not clean:** other work kept the CPUs ${IDLE_BUSY_PCT}% busy before it, so"
      echo "the times are disturbed; the ratios, from alternating runs, less so."
    fi
  } >"$section"
  cat "$section"
  if ((write)); then write_section "PDF extraction (scripts/bench.sh pdf)" "$section"; fi
}

# ---- chaos ------------------------------------------------------------------------------
cmd_chaos() {
  local rounds=20 jobs=24 write=1 dir line section
  while (($#)); do
    case $1 in
      --rounds) rounds=${2:?--rounds needs a value}; shift 2 ;;
      --jobs) jobs=${2:?--jobs needs a value}; shift 2 ;;
      --no-write) write=0; shift ;;
      *) die "chaos: unknown option $1" ;;
    esac
  done
  build jobserver chaos_bench
  start_services
  dir="$ROOT/.run/bench/chaos"
  mkdir -p "$dir"
  rm -f "$dir/figures.txt"
  # The program makes its own schema and key prefix and stops every node it starts.
  CHAOS_ROUNDS=$rounds CHAOS_JOBS=$jobs CHAOS_OUT="$dir/figures.txt" \
    "$BUILD_DIR/bench/chaos_bench" "[chaos]" | tee "$dir/output.txt" >&2 ||
    die "bench/chaos_bench failed (see $dir/output.txt)"
  line=$(cat "$dir/figures.txt")
  section="$dir/section.md"
  {
    echo "## Cluster failover (scripts/bench.sh chaos)"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC by \`scripts/bench.sh chaos --rounds $rounds --jobs $jobs\` on"
    echo "$(machine_line); shared machine, other work running. Three nodes on loopback"
    echo "(one API-only, two workers with 4 slots each), heartbeat 500 ms, timeout 3 s, leases"
    echo "20 s (so lease expiry cannot explain a quick move); each round submits $jobs sleep jobs"
    echo "(0.8 s) from three users, kills a worker with \`kill -9\` while it runs some, restarts it."
    echo
    echo "| figure | value |"
    echo "|---|---|"
    echo "| rounds | $(kv_get "$line" rounds) |"
    echo "| jobs | $(kv_get "$line" jobs) |"
    echo "| jobs lost | $(kv_get "$line" lost) |"
    echo "| jobs completed twice | $(kv_get "$line" completed_twice) |"
    echo "| kill → jobs requeued, median | $(kv_get "$line" failover_median_ms) ms |"
    echo "| kill → jobs requeued, p90 | $(kv_get "$line" failover_p90_ms) ms |"
    echo "| kill → jobs requeued, max | $(kv_get "$line" failover_max_ms) ms |"
    echo "| rounds where the victim ran nothing yet | $(kv_get "$line" rounds_without_running_jobs) |"
    echo
    echo "Compare: without the cluster the same jobs would wait for lease expiry (\`LEASE_MS\`,"
    echo "10 s by default); Bull's stalled-job check runs every 30 s."
  } >"$section"
  cat "$section"
  if ((write)); then write_section "Cluster failover (scripts/bench.sh chaos)" "$section"; fi
}

# ---- compare, soak (scripts/bench.d/) --------------------------------------------------
# shellcheck source=scripts/bench.d/compare.sh
source "$ROOT/scripts/bench.d/compare.sh"
# shellcheck source=scripts/bench.d/soak.sh
source "$ROOT/scripts/bench.d/soak.sh"
# shellcheck source=scripts/bench.d/upload.sh
source "$ROOT/scripts/bench.d/upload.sh"
# shellcheck source=scripts/bench.d/indexes.sh
source "$ROOT/scripts/bench.d/indexes.sh"

# ---- main ---------------------------------------------------------------------------
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed '/^# shellcheck/d; s/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd=${1:-}
  [[ -n $cmd ]] || usage
  shift
  case $cmd in
    -h | --help | help) usage ;;
    engine) cmd_engine "$@" ;;
    pdf) cmd_pdf "$@" ;;
    chaos) cmd_chaos "$@" ;;
    push) source "$ROOT/scripts/bench-push.sh"; cmd_push "$@" ;;
    compare) cmd_compare "$@" ;;
    soak) cmd_soak "$@" ;;
    upload) cmd_upload "$@" ;;
    indexes) cmd_indexes "$@" ;;
    *) log "unknown command '$cmd'"; usage ;;
  esac
}

main "$@"
