# shellcheck shell=bash disable=SC2317  # functions run in background loops
# `scripts/bench.sh soak MINUTES`: a mixed load for MINUTES, watching the server for leaks.
# Sourced by scripts/bench.sh (uses its helpers: build, start_services, isolate,
# start_jobserver, write_section, ...).
#
# Load: WORKERS client loops, each its own user, over and over (curl, loopback only):
#   - a lesson cycle: upload bench/soak/notes.pdf, follow the job (SSE stream when the
#     server has GET /jobs/:id/events, then POST /jobs/poll until it is finished), list the
#     sections, generate a lesson for one of them (offline provider), follow that job,
#     GET the upload job, delete the document;
#   - every third cycle a cancel cycle instead: four uploads of bench/soak/long.pdf (150
#     pages) at once, cancel all four at once, follow them, delete the documents.
# Samples (RSS, peak RSS, open fds, threads, the server's Postgres connections, Redis
# clients) at the start, every minute, and at two quiet points: after the warm-up and at
# the end (load stopped, no job queued or processing, keep-alive connections closed).
#
# The warm-up starts with a burst of more parallel connections than HTTP threads (see
# soak_prime), so per-thread Redis connections and the Postgres pools reach their size.
# Leak rule (the run fails when any holds), quiet end against quiet after warm-up:
#   RSS grew by more than --rss-growth percent (10); threads grew at all; Postgres
#   connections grew past the larger of their count after warm-up and the pools' bound
#   (DB_POOL_SIZE 8 + 4 engine + 2 creation connections); Redis clients grew past the larger of their
#   count after warm-up and their bound (the idle server's + one per HTTP thread + the
#   16 of the shared pool); open fds grew by more than those new connections; any
#   request failed (transport error, timeout, 5xx or an unexpected status) or any job
#   failed that was not cancelled; the server died.

SOAK_PDF="$ROOT/bench/soak/notes.pdf"
SOAK_LONG_PDF="$ROOT/bench/soak/long.pdf"   # 150 pages: still running when the cancel arrives

soak_options() {
  SOAK_MINUTES=${1:-}
  [[ $SOAK_MINUTES =~ ^[0-9]+$ ]] || die "soak: usage: scripts/bench.sh soak MINUTES [options]"
  shift
  ((SOAK_MINUTES >= 2 && SOAK_MINUTES <= 1440)) || die "soak: MINUTES must be 2..1440"
  SOAK_WORKERS=6 SOAK_WARMUP=$((SOAK_MINUTES / 5)) SOAK_RSS_PCT=10 WRITE=1
  ((SOAK_WARMUP >= 1)) || SOAK_WARMUP=1
  while (($#)); do
    case $1 in
      --workers) SOAK_WORKERS=$2; shift 2 ;;
      --warmup) SOAK_WARMUP=$2; shift 2 ;;
      --rss-growth) SOAK_RSS_PCT=$2; shift 2 ;;
      --no-write) WRITE=0; shift ;;
      *) die "soak: unknown option $1 (see scripts/bench.sh --help)" ;;
    esac
  done
  local n
  for n in "$SOAK_WORKERS" "$SOAK_WARMUP" "$SOAK_RSS_PCT"; do
    [[ $n =~ ^[0-9]+$ ]] || die "soak: options take whole numbers (got '$n')"
  done
  ((SOAK_WORKERS >= 1 && SOAK_WORKERS <= 64)) || die "soak: --workers must be 1..64"
  ((SOAK_WARMUP >= 1 && SOAK_WARMUP < SOAK_MINUTES)) || die "soak: --warmup must be 1..MINUTES-1"
}

# ---- one client loop ----------------------------------------------------------------------
# sreq OP CURL-ARGS...: one request as SOAK_USER; logs "OP CODE" to SOAK_OPS, prints CODE.
sreq() {
  local op=$1 code; shift
  code=$(curl -s -o "$SOAK_BODY" -w '%{http_code}' --connect-timeout 5 --max-time 30 \
           -H "X-User-ID: $SOAK_USER" "$@" 2>/dev/null) || code=${code:-000}
  [[ $code =~ ^[0-9]{3}$ ]] || code=000
  echo "$op $code" >>"$SOAK_OPS"
  echo "$code"
}
# The first string value of KEY in the last answer.
body_str() { grep -o "\"$1\" *: *\"[^\"]*\"" "$SOAK_BODY" 2>/dev/null | head -n 1 | sed 's/.*: *"\(.*\)"/\1/'; }

# soak_follow KIND JOB: SSE stream (if the server has one), then polls until the job is
# finished; logs "job-KIND completed|failed|cancelled|timeout".
soak_follow() {
  local kind=$1 job=$2 deadline=$((SECONDS + 180)) code
  if ((SOAK_SSE)); then
    code=$(curl -sN -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time 20 \
             -H "X-User-ID: $SOAK_USER" "$SOAK_URL/jobs/$job/events" 2>/dev/null) || true
    echo "events ${code:-000}" >>"$SOAK_OPS"
  fi
  while ((SECONDS < deadline)); do
    code=$(sreq poll -X POST -H 'Content-Type: application/json' -d "{\"job_ids\":[\"$job\"]}" "$SOAK_URL/jobs/poll")
    if [[ $code == 200 ]]; then
      if grep -q '"status":"completed"' "$SOAK_BODY"; then echo "job-$kind completed" >>"$SOAK_OPS"; return 0; fi
      if grep -q '"status":"failed"' "$SOAK_BODY"; then
        if grep -q '"cancelled":true' "$SOAK_BODY"; then echo "job-$kind cancelled" >>"$SOAK_OPS"
        else echo "job-$kind failed" >>"$SOAK_OPS"; cp "$SOAK_BODY" "$SOAK_DIR/failed-job.$SOAK_I.json"; fi
        return 1
      fi
    fi
    sleep 0.3
  done
  echo "job-$kind timeout" >>"$SOAK_OPS"
  return 1
}

soak_lesson_cycle() {
  local cycle=$1 job doc sections n sec code
  [[ $(sreq upload -F "file=@$SOAK_PDF;type=application/pdf" -F "title=soak $SOAK_I.$cycle" \
         "$SOAK_URL/upload/pdf-structured") == 202 ]] || return 0
  job=$(body_str job_id); doc=$(body_str document_id)
  soak_follow upload "$job" || { sreq delete -X DELETE "$SOAK_URL/documents/$doc" >/dev/null; return 0; }
  if [[ $(sreq sections "$SOAK_URL/sections?document_id=$doc") == 200 ]]; then
    mapfile -t sections < <(grep -o '"id" *: *"[^"]*"' "$SOAK_BODY" | sed 's/.*: *"\(.*\)"/\1/')
    n=${#sections[@]}
    if ((n > 0)); then
      sec=${sections[cycle % n]}
      code=$(sreq generate -X POST -H 'Content-Type: application/json' \
               -d "{\"document_id\":\"$doc\",\"section_id\":\"$sec\"}" "$SOAK_URL/lessons/generate")
      [[ $code == 202 ]] && soak_follow lesson "$(body_str job_id)"
    else
      echo "sections-empty 000" >>"$SOAK_OPS"
    fi
  fi
  sreq get "$SOAK_URL/jobs/$job" >/dev/null
  sreq delete -X DELETE "$SOAK_URL/documents/$doc" >/dev/null
}

# Four uploads of the 150-page PDF in one curl (the same form to each URL), then one curl
# cancelling them all: most are still queued or running when their cancel arrives.
soak_cancel_cycle() {
  local cycle=$1 out="$SOAK_BODY.multi" u="$SOAK_URL/upload/pdf-structured" code n k j d
  local jobs=() docs=() urls=()
  soak_multi() {  # OP CURL-ARGS...: one curl, several URLs; logs "OP CODE" per answer
    local op=$1; shift
    curl -s --connect-timeout 5 --max-time 60 -H "X-User-ID: $SOAK_USER" -w '\n%{http_code}\n' "$@" \
      >"$out" 2>/dev/null || true
    n=0
    while read -r code; do echo "$op $code" >>"$SOAK_OPS"; n=$((n + 1)); done < <(grep -E '^[0-9]{3}$' "$out")
  }
  soak_multi upload -F "file=@$SOAK_LONG_PDF;type=application/pdf" -F "title=soak cancel $SOAK_I.$cycle" \
    "$u" "$u" "$u" "$u"
  for ((k = n; k < 4; k++)); do echo "upload 000" >>"$SOAK_OPS"; done
  mapfile -t jobs < <(grep -o '"job_id" *: *"[^"]*"' "$out" | sed 's/.*: *"\(.*\)"/\1/')
  mapfile -t docs < <(grep -o '"document_id" *: *"[^"]*"' "$out" | sed 's/.*: *"\(.*\)"/\1/')
  ((${#jobs[@]})) || return 0
  for j in "${jobs[@]}"; do urls+=("$SOAK_URL/jobs/$j/cancel"); done
  soak_multi cancel -X POST -d '' "${urls[@]}"
  for ((k = n; k < ${#urls[@]}; k++)); do echo "cancel 000" >>"$SOAK_OPS"; done
  for j in "${jobs[@]}"; do soak_follow cancel "$j" || true; done
  for d in "${docs[@]}"; do sreq delete -X DELETE "$SOAK_URL/documents/$d" >/dev/null; done
}

# soak_worker I STOPFILE: cycles until STOPFILE exists.
soak_worker() {
  SOAK_I=$1
  SOAK_USER="soak-user-$1" SOAK_OPS="$SOAK_DIR/ops.$1" SOAK_BODY="$SOAK_DIR/body.$1"
  local cycle=0
  trap - EXIT INT TERM
  while [[ ! -e $2 ]]; do
    cycle=$((cycle + 1))
    if ((cycle % 3 == 0)); then soak_cancel_cycle "$cycle"; else soak_lesson_cycle "$cycle"; fi
    sleep 0.2
  done
}

# ---- samples ------------------------------------------------------------------------------
SOAK_ROWS=()   # Markdown table rows
# soak_sample LABEL: prints one line and sets S_RSS S_HWM S_FDS S_THREADS S_PG S_REDIS.
soak_sample() {
  local label=$1 st="/proc/$SERVER_PID/status"
  if [[ ! -r $st ]]; then S_RSS=""; return 1; fi
  S_RSS=$(awk '/^VmRSS:/ { print $2 }' "$st"); S_HWM=$(awk '/^VmHWM:/ { print $2 }' "$st")
  S_THREADS=$(awk '/^Threads:/ { print $2 }' "$st")
  S_FDS=$(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  S_PG=$(psql_app -tA -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'jobserver' AND datname = current_database()" 2>/dev/null || echo '?')
  S_REDIS=$(( $(redis_app INFO clients 2>/dev/null | tr -d '\r' | sed -n 's/^connected_clients://p') - 1 ))
  local counts; counts=$(soak_counts)
  local line
  line=$(printf '%-26s %9s %9s %5s %7s %6s %6s   %s' "$label" "$((S_RSS / 1024)) MiB" "$((S_HWM / 1024)) MiB" \
           "$S_FDS" "$S_THREADS" "$S_PG" "$S_REDIS" "$counts")
  echo "$line"
  SOAK_ROWS+=("| $label | $((S_RSS / 1024)) MiB | $((S_HWM / 1024)) MiB | $S_FDS | $S_THREADS | $S_PG | $S_REDIS | $counts |")
}

# "N requests, E errors, J jobs" so far.
soak_counts() {
  { cat "$SOAK_DIR"/ops.* 2>/dev/null || true; } | awk '
    $1 ~ /^job-/ { jobs++; if ($2 == "failed" || $2 == "timeout") bad++; next }
    { req++
      ok = ($2 == "200" || $2 == "202")
      if ($1 == "cancel" && $2 == "409") ok = 1   # finished before the cancel arrived
      if (!ok) bad++ }
    END { printf "%d requests, %d jobs, %d errors\n", req, jobs, bad }'
}

# Per operation: count and answers other than expected.
soak_ops_table() {
  { cat "$SOAK_DIR"/ops.* 2>/dev/null || true; } | awk '
    { n[$1]++; seen[$1 " " $2]++ }
    END { for (k in seen) { split(k, p, " "); c[p[1]] = c[p[1]] (c[p[1]] == "" ? "" : ", ") p[2] " x" seen[k] }
          for (o in n) printf "| %s | %d | %s |\n", o, n[o], c[o] }' | sort
}

# ---- phases -------------------------------------------------------------------------------
# Every HTTP thread opens its own Redis connection for status reads the first time it
# serves one (actors/node.cpp thread_redis), and the Postgres pools open connections up
# to their size on demand: bounded growth, not leaks. A burst of more parallel
# connections than HTTP threads at the start of the warm-up makes every thread serve a
# poll and a document list, so the warm-up ends in the steady state.
soak_prime() {
  local n=$((SOAK_HTTP_THREADS + 64)) dir="$SOAK_DIR/prime"
  ((n <= 300)) || n=300
  mkdir -p "$dir"
  log "priming: $n parallel connections to POST /jobs/poll, then to GET /documents"
  curl -s -Z --parallel-max "$n" --max-time 60 -H "X-User-ID: soak-probe" -H 'Content-Type: application/json' \
    -d "{\"job_ids\":[\"$SOAK_PROBE\"]}" -o "$dir/poll_#1" "$SOAK_URL/jobs/poll?i=[1-$n]" 2>/dev/null || true
  curl -s -Z --parallel-max "$n" --max-time 60 -H "X-User-ID: soak-probe" \
    -o "$dir/documents_#1" "$SOAK_URL/documents?i=[1-$n]" 2>/dev/null || true
  rm -rf "$dir"
}


# soak_load MINUTES LABEL: runs the workers for MINUTES with a sample every minute, then
# stops them and waits until the server is quiet.
soak_load() {
  local minutes=$1 label=$2 stop="$SOAK_DIR/stop" pids=() i m end
  rm -f "$stop"
  for ((i = 1; i <= SOAK_WORKERS; i++)); do
    soak_worker "$i" "$stop" &
    pids+=($!)
    on_exit stop_pid "$!" 5 "soak client $i"
  done
  for ((m = 1; m <= minutes; m++)); do
    end=$((SECONDS + 60))
    while ((SECONDS < end)); do
      server_alive || { server_death; FAILURES+=("$SERVER_DEATH"); touch "$stop"; return 1; }
      sleep 1
    done
    soak_sample "$label, minute $m" || true
  done
  touch "$stop"
  log "stopping the clients (each finishes its cycle)"
  local deadline=$((SECONDS + 240))
  for i in "${pids[@]}"; do
    while kill -0 "$i" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
    stop_pid "$i" 5 "soak client"
  done
  soak_quiet
}

# Waits until no job of the soak is queued or processing, then for idle keep-alive
# connections to close.
soak_quiet() {
  local deadline=$((SECONDS + 120)) busy
  while :; do
    # jobs has row-level security: app.system = on sees every row.
    busy=$(psql_app -tA -c "SELECT set_config('app.system', 'on', false)" \
             -c "SELECT count(*) FROM $BENCH_SCHEMA.jobs WHERE status IN ('queued', 'processing')" 2>/dev/null | tail -n 1)
    [[ $busy == 0 ]] && break
    ((SECONDS < deadline)) || { FAILURES+=("jobs still queued or processing 120 s after the load stopped (${busy:-?})"); break; }
    sleep 1
  done
  # Longer than the keep-alive timeout (5 s); with SSE, than the heartbeat (15 s), at
  # which the server notices a closed stream and frees its thread.
  sleep $((SOAK_SSE ? 17 : 8))
}

# ---- command ------------------------------------------------------------------------------
cmd_soak() {
  soak_options "$@"
  [[ -s $SOAK_PDF && -s $SOAK_LONG_PDF ]] || die "soak: $SOAK_PDF or $SOAK_LONG_PDF is missing"
  build jobserver
  SOAK_DIR="$ROOT/.run/bench/soak"
  rm -rf "$SOAK_DIR"; mkdir -p "$SOAK_DIR"
  chmod go+x "$ROOT/.run" "$ROOT/.run/bench"
  start_services
  isolate soak
  SOAK_HTTP_THREADS=128 SOAK_PG_BOUND=14   # HTTP_THREADS; DB_POOL_SIZE 8 + 4 engine + 2 creation connections
  start_jobserver "$SOAK_DIR/jobserver.log" LOG_LEVEL=warn LLM_PROVIDER=offline \
    HTTP_THREADS="$SOAK_HTTP_THREADS" DB_POOL_SIZE=8
  SOAK_URL=$SERVER_URL
  local started; started=$(date -u '+%Y-%m-%d %H:%M UTC')

  # Does the server stream job events? (A job of our own: 404 means no such route.)
  SOAK_SSE=0 SOAK_USER=soak-probe SOAK_OPS="$SOAK_DIR/probe.ops" SOAK_BODY="$SOAK_DIR/probe.body"
  [[ $(sreq upload -F "file=@$SOAK_PDF;type=application/pdf" "$SOAK_URL/upload/pdf-structured") == 202 ]] ||
    die "soak: the probe upload was refused: $(cat "$SOAK_BODY")"
  local code; SOAK_PROBE=$(body_str job_id)
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H "X-User-ID: soak-probe" \
           "$SOAK_URL/jobs/$SOAK_PROBE/events" 2>/dev/null) || true
  [[ $code == 200 ]] && SOAK_SSE=1
  log "GET /jobs/:id/events answered ${code:-nothing}: SSE streams $( ((SOAK_SSE)) && echo on || echo 'off (skipped)')"
  soak_quiet

  echo "==> soak: $SOAK_MINUTES min, $SOAK_WORKERS clients, warm-up $SOAK_WARMUP min (jobserver pid $SERVER_PID)"
  printf '%-26s %9s %9s %5s %7s %6s %6s   %s\n' "" RSS "peak RSS" fds threads "PG" Redis "load so far"
  soak_sample "start (idle)"
  SOAK_REDIS_IDLE=$S_REDIS
  local ok=1
  soak_prime
  soak_load "$SOAK_WARMUP" "warm-up" || ok=0
  local b_rss b_fds b_threads b_pg b_redis
  if ((ok)) && soak_sample "after warm-up (quiet)"; then
    b_rss=$S_RSS b_fds=$S_FDS b_threads=$S_THREADS b_pg=$S_PG b_redis=$S_REDIS
    soak_load $((SOAK_MINUTES - SOAK_WARMUP)) "soak" || ok=0
  else ok=0; fi
  local verdicts=()
  if ((ok)) && soak_sample "end (quiet)"; then
    local limit=$((b_rss + b_rss * SOAK_RSS_PCT / 100))
    local growth; growth=$(awk -v a="$S_RSS" -v b="$b_rss" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }')
    soak_check() {  # NAME BEFORE AFTER LIMIT
      if (($3 > $4)); then FAILURES+=("$1 grew from $2 to $3 (limit $4)"); verdicts+=("| $1 | $2 | $3 | ≤ $4 | **missed** |")
      else verdicts+=("| $1 | $2 | $3 | ≤ $4 | met |"); fi
    }
    soak_check "RSS (kB), $growth" "$b_rss" "$S_RSS" "$limit"
    # The pools may still grow to their bounds; each new connection is one more fd.
    local pg_limit=$((b_pg > SOAK_PG_BOUND ? b_pg : SOAK_PG_BOUND))
    local redis_bound=$((SOAK_REDIS_IDLE + SOAK_HTTP_THREADS + 16))
    local redis_limit=$((b_redis > redis_bound ? b_redis : redis_bound)) new=0
    ((S_PG > b_pg)) && new=$((S_PG - b_pg))
    ((S_REDIS > b_redis)) && new=$((new + S_REDIS - b_redis))
    soak_check "open fds (+ new connections)" "$b_fds" "$S_FDS" "$((b_fds + new))"
    soak_check "threads" "$b_threads" "$S_THREADS" "$b_threads"
    soak_check "Postgres connections (pools' bound $SOAK_PG_BOUND)" "$b_pg" "$S_PG" "$pg_limit"
    soak_check "Redis clients (bound: idle + $SOAK_HTTP_THREADS HTTP threads + 16 pooled)" "$b_redis" "$S_REDIS" "$redis_limit"
  else
    FAILURES+=("the run did not reach its end (see above)")
  fi
  local errors; errors=$(soak_counts | awk '{ print $(NF - 1) }')
  ((errors == 0)) || FAILURES+=("$errors request(s) or job(s) failed (see the operations table; logs in .run/bench/soak/)")
  local warn_lines; warn_lines=$(grep -ciE '\[(warning|warn|error|critical)\]' "$SOAK_DIR/jobserver.log" || true)

  {
    echo "## Soak (scripts/bench.sh soak)"
    echo
    echo "Measured $started by \`scripts/bench.sh soak $SOAK_MINUTES\` ($SOAK_WORKERS clients, warm-up"
    echo "$SOAK_WARMUP min) on $(machine_line), shared with other work."
    echo "jobserver $(git rev-parse --short HEAD 2>/dev/null) ($BUILD_DIR, Release), LLM_PROVIDER=offline,"
    echo "other settings default. SSE streams: $( ((SOAK_SSE)) && echo "followed (GET /jobs/:id/events)" || echo "skipped, the server has no GET /jobs/:id/events")."
    echo "Each client loops: upload a 3.5 KB PDF, follow the job, list sections, generate a lesson"
    echo "for one (offline provider), follow it, GET the job, delete the document; every third"
    echo "cycle uploads a 150-page PDF four times and cancels all four at once instead. Quiet samples are taken with the load stopped,"
    echo "no job queued or processing and keep-alive connections closed."
    echo
    echo "| when | RSS | peak RSS | open fds | threads | Postgres connections | Redis clients | load so far |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${SOAK_ROWS[@]}"
    echo
    echo "Leak rule, quiet end against quiet after warm-up:"
    echo
    echo "| figure | after warm-up | end | limit | |"
    echo "|---|---:|---:|---:|---|"
    printf '%s\n' "${verdicts[@]}"
    echo
    echo "| operation | count | answers |"
    echo "|---|---:|---|"
    soak_ops_table
    echo
    echo "The server logged ${warn_lines:-0} line(s) at warn level or above."
    if ((${#FAILURES[@]})); then
      echo
      echo "**The soak failed:**"
      local f
      for f in "${FAILURES[@]}"; do echo "- ${f//$ROOT\//}"; done
    else
      echo
      echo "**No leak found** by the rule above, no failed request or job."
    fi
  } >"$SOAK_DIR/section.md"
  echo
  cat "$SOAK_DIR/section.md"
  if ((WRITE)); then write_section "Soak (scripts/bench.sh soak)" "$SOAK_DIR/section.md"; fi
  if ((${#FAILURES[@]})); then
    log "soak failed: ${#FAILURES[@]} problem(s)"
    return 1
  fi
}
