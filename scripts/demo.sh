#!/usr/bin/env bash
# Bring up a local jobserver demo: packages, build, private Postgres/Redis, migrations,
# and the server itself in the background. The server is left running.
#
# Usage: scripts/demo.sh          set everything up and start the server
#        scripts/demo.sh stop     stop the demo server, then scripts/services.sh stop
#
# Env:   BUILD_DIR (default build), HTTP_PORT (default 8080),
#        PG_PORT / REDIS_PORT (passed through to scripts/services.sh).
# Files: .run/jobserver.log (server output), .run/jobserver.pid
#
# The work is split into step_* functions run in order by main(); add new steps there.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

BUILD_DIR=${BUILD_DIR:-build}
HTTP_PORT=${HTTP_PORT:-8080}
RUN_DIR="$ROOT/.run"
SERVER_LOG="$RUN_DIR/jobserver.log"
SERVER_PID="$RUN_DIR/jobserver.pid"
WAIT_SECONDS=30
if [[ $BUILD_DIR == /* ]]; then BIN="$BUILD_DIR/jobserver"; else BIN="$ROOT/$BUILD_DIR/jobserver"; fi
BASE_URL="http://127.0.0.1:$HTTP_PORT"

# ---- helpers ------------------------------------------------------------------------
now_ms() { date +%s%3N; }
die() { echo "demo.sh: ERROR: $*" >&2; exit 1; }

CURRENT_STEP=""
# Report which step failed (set -e aborts the script on the failing command).
on_exit() {
  local rc=$?
  if ((rc != 0)) && [[ -n $CURRENT_STEP ]]; then
    echo "==> $CURRENT_STEP FAILED (exit $rc)" >&2
  fi
}
trap on_exit EXIT

# run_step name: banner, run step_<name> in this shell (so exports persist), timing.
run_step() {
  local name=$1 t0 ms
  CURRENT_STEP=$name
  echo "==> $name"
  t0=$(now_ms)
  "step_$name"
  ms=$(( $(now_ms) - t0 ))
  printf '==> %s done in %d.%03ds\n' "$name" $((ms / 1000)) $((ms % 1000))
  CURRENT_STEP=""
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid of the demo server from our pid file, if alive and really our binary (checked
# via /proc, so a recycled pid is never signalled). The executable may show up as
# "... (deleted)" after a rebuild; argv[1] covers a wrapper script run by an interpreter.
server_pid() {
  [[ -r $SERVER_PID ]] || return 1
  local pid exe
  local -a argv
  pid=$(tr -dc '0-9' <"$SERVER_PID")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || exe=""
  mapfile -d '' -t argv <"/proc/$pid/cmdline" 2>/dev/null || return 1
  if [[ $exe == "$BIN" || $exe == "$BIN (deleted)" || ${argv[0]:-} == "$BIN" \
        || ${argv[1]:-} == "$BIN" ]]; then
    echo "$pid"
    return 0
  fi
  return 1
}

# Stop the demo server recorded in our pid file (TERM, then KILL after 15 s).
stop_server() {
  local pid
  if ! pid=$(server_pid); then
    [[ -e $SERVER_PID ]] && rm -f "$SERVER_PID"
    echo "demo.sh: no demo server running"
    return 0
  fi
  echo "demo.sh: stopping jobserver (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "demo.sh: jobserver (pid $pid) did not exit after 15 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$SERVER_PID"
}

# ---- steps --------------------------------------------------------------------------
step_setup() {
  scripts/setup.sh
}

step_build() {
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD_DIR" -j"$(nproc)"
  [[ -x $BIN ]] || die "build finished but $BIN does not exist"
}

step_services() {
  local out
  out=$(scripts/services.sh start)
  eval "$out"   # exports DATABASE_URL and REDIS_URL
}

step_migrate() {
  "$BIN" migrate
}

step_server() {
  mkdir -p "$RUN_DIR"
  stop_server   # a previous demo server from our pid file, if any
  if port_in_use "$HTTP_PORT"; then
    die "port $HTTP_PORT on 127.0.0.1 is already in use by another process; set HTTP_PORT"
  fi
  echo "==== $(date -Is) starting $BIN on port $HTTP_PORT" >>"$SERVER_LOG"
  # DATABASE_URL / REDIS_URL are exported by step_services.
  # The built-in test job types let the demo show a job's life without any input files.
  HTTP_PORT=$HTTP_PORT ENABLE_TEST_JOBS=${ENABLE_TEST_JOBS:-1} nohup "$BIN" </dev/null >>"$SERVER_LOG" 2>&1 &
  local pid=$!
  echo "$pid" >"$SERVER_PID"
  echo "demo.sh: jobserver started (pid $pid), waiting for $BASE_URL/ready"

  local deadline=$((SECONDS + WAIT_SECONDS))
  until curl -fsS --max-time 2 -o /dev/null "$BASE_URL/ready" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$SERVER_LOG" >&2 || true
      rm -f "$SERVER_PID"
      die "jobserver exited during startup (log above, full log: $SERVER_LOG)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$SERVER_LOG" >&2 || true
      stop_server
      die "jobserver did not answer $BASE_URL/ready within ${WAIT_SECONDS}s (full log: $SERVER_LOG)"
    fi
    sleep 0.3
  done
}

step_show() {
  local pid
  pid=$(server_pid) || die "jobserver is not running"
  cat <<EOF

jobserver demo is running (pid $pid)
  URL:        $BASE_URL
  Log:        $SERVER_LOG
  Postgres:   $DATABASE_URL
  Redis:      $REDIS_URL

EOF
  local path
  for path in /health /ready; do
    echo "\$ curl -sS $BASE_URL$path"
    curl -sS --max-time 5 -w '\n(HTTP %{http_code})\n' "$BASE_URL$path" || true
    echo
  done
  cat <<EOF
Stop everything with:
  scripts/demo.sh stop     # stops the server, then scripts/services.sh stop
EOF
}

# ---- main ---------------------------------------------------------------------------
cmd_stop() {
  stop_server
  scripts/services.sh stop
}

# json_field FIELD: reads one top-level field of the JSON document on stdin.
json_field() {
  python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"
}

# A background job from the client's side: created at once, then followed by polling
# (as the front end does every 2 s; here every 0.3 s) until it completes.
step_jobs() {
  local answer id status progress
  echo "\$ curl -sS -X POST $BASE_URL/jobs -H 'Content-Type: application/json' -d '{\"type\":\"sleep\",\"data\":{\"ms\":3000,\"steps\":10}}'"
  answer=$(curl -sS --max-time 5 -X POST "$BASE_URL/jobs" -H 'Content-Type: application/json' \
    -d '{"type":"sleep","data":{"ms":3000,"steps":10}}')
  echo "$answer"
  id=$(json_field job_id <<<"$answer")
  [[ -n $id ]] || die "no job_id in the answer"
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    answer=$(curl -sS --max-time 5 "$BASE_URL/jobs/$id")
    status=$(json_field status <<<"$answer")
    progress=$(json_field progress <<<"$answer")
    printf '  job %s: %-10s %3s%%\n' "${id:0:8}" "$status" "$progress"
    [[ $status == completed || $status == failed ]] && break
    sleep 0.3
  done
  echo "\$ curl -sS $BASE_URL/jobs/$id"
  echo "$answer"
}

# follow_job ID: polls the job until it finishes, printing its progress; leaves its final
# JSON in $JOB_JSON.
follow_job() {
  local id=$1 status progress last=""
  local deadline=$((SECONDS + 300))
  while ((SECONDS < deadline)); do
    JOB_JSON=$(curl -sS --max-time 5 "$BASE_URL/jobs/$id")
    status=$(json_field status <<<"$JOB_JSON")
    progress=$(json_field progress <<<"$JOB_JSON")
    if [[ "$status $progress" != "$last" ]]; then
      printf '  job %s: %-10s %3s%%\n' "${id:0:8}" "$status" "$progress"
      last="$status $progress"
    fi
    [[ $status == completed || $status == failed ]] && return 0
    sleep 0.2
  done
  die "job $id did not finish in time"
}

# A real PDF (the R manual "An Introduction to R" from Debian's r-doc-pdf package):
# upload it, watch it become sections, generate a lesson for one section offline.
step_document() {
  local corpus pdf answer job doc sections section lesson
  corpus=$("$ROOT/scripts/fetch-pdfs.sh") || die "could not fetch the demo PDF"
  pdf="$corpus/R-intro.pdf"
  echo "\$ curl -sS -F file=@R-intro.pdf -F title='An Introduction to R' $BASE_URL/upload/pdf-structured"
  answer=$(curl -sS --max-time 30 -F "file=@$pdf;type=application/pdf" \
    -F "title=An Introduction to R" "$BASE_URL/upload/pdf-structured")
  echo "$answer"
  job=$(json_field job_id <<<"$answer")
  doc=$(json_field document_id <<<"$answer")
  [[ -n $job && -n $doc ]] || die "the upload was not accepted"
  follow_job "$job"
  [[ $(json_field status <<<"$JOB_JSON") == completed ]] || die "the upload failed: $JOB_JSON"
  sections=$(curl -sS --max-time 5 "$BASE_URL/sections?document_id=$doc")
  echo "Sections of the document:"
  python3 -c 'import json,sys
for s in json.load(sys.stdin)["sections"][:12]:
    print("  %2d. %-50s pages %d-%d" % (s["section_number"], s["name"][:50], s["page_start"], s["page_end"]))' <<<"$sections"
  section=$(python3 -c 'import json,sys; s=json.load(sys.stdin)["sections"]; print(s[min(1,len(s)-1)]["id"])' <<<"$sections")
  echo
  echo "\$ curl -sS -X POST $BASE_URL/lessons/generate -H 'Content-Type: application/json' -d '{\"document_id\":\"$doc\",\"section_id\":\"$section\"}'"
  answer=$(curl -sS --max-time 10 -X POST "$BASE_URL/lessons/generate" -H 'Content-Type: application/json' \
    -d "{\"document_id\":\"$doc\",\"section_id\":\"$section\"}")
  echo "$answer"
  job=$(json_field job_id <<<"$answer")
  if [[ -n $job ]]; then follow_job "$job"; fi
  lesson=$(curl -sS --max-time 5 "$BASE_URL/lessons?section_id=$section")
  python3 -c 'import json,sys
l=json.load(sys.stdin)
print("Lesson: %s\n\nSummary: %s\n" % (l["topic"], l["summary"]))
for c in l["concepts"]:
    if c["check_ins"]:
        q=c["check_ins"][0]
        print("Check-in (%s): %s" % (c["name"], q["question"]))
        for i,o in enumerate(q["options"]): print("  %s) %s" % ("abcd"[i], o))
        print("  answer: %s   hint: %s" % (q["expected_answer"], q["hint"]))
        break' <<<"$lesson"
}

main() {
  case ${1:-} in
    "")
      run_step setup
      run_step build
      run_step services
      run_step migrate
      run_step server
      run_step jobs
      run_step document
      run_step show
      ;;
    stop) cmd_stop ;;
    -h | --help | help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
      ;;
    *) die "unknown command '$1' (usage: scripts/demo.sh [stop])" ;;
  esac
}

main "$@"
